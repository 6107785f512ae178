"""CSS inlining with premailer, once per template instead of once per message.

:func:`inline_css` is the per-render way: premailer on finished HTML. :func:`inline_template`
does the same work on template source: every Jinja tag is swapped for a placeholder that the
HTML parser keeps in place (an HTML comment between elements, a bare word inside a tag),
premailer inlines the CSS, and the tags are put back. Rendering the result gives the HTML that
render-then-premailer gives, at the cost of a plain Jinja render. Where that cannot be promised
(a ``class="{{ ... }}"`` attribute, markup produced by ``|safe`` or macros, structural
selectors around loops) it raises :class:`~emailkit.flatten.Unflattenable` naming the reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import lxml.html
import premailer

from .flatten import Flattened, Tag, Unflattenable

# Leftover rules (@media, :hover) keep their !important: without it they cannot beat inline styles.
PREMAILER_OPTIONS = {
    "allow_network": False,
    "strip_important": False,
    "keep_style_tags": False,
    "remove_classes": False,
    "exclude_pseudoclasses": True,
    "cssutils_logging_level": logging.CRITICAL,
}

_RAW_TEXT = {"style", "script", "title", "textarea"}
_TAG_NAME = re.compile(r"</?([A-Za-z][\w:-]*)")
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_BODY_START = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_JINJA_OPENER = re.compile(r"\{[{%#]")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_DECLARATIONS = re.compile(r"\{[^{}]*\}")
_STRUCTURAL = re.compile(r"[+~]|:(?:first|last|nth|only)-[\w-]+|:empty|:not\(|:has\(")
_ATTRIBUTE_SELECTOR = re.compile(r"\[\s*([\w-]+)")
_MARKUP_SOURCES = re.compile(r"\|\s*safe\b|\bcaller\s*\(|\bself\.|\bsuper\s*\(|\bMarkup\s*\(")
_UNSAFE_STATEMENTS = {"macro", "call", "filter", "autoescape", "import", "from", "include"}
_SELECTOR_ATTRIBUTES = {"class", "id", "style"}
_TOKEN = re.compile(r"ekjinjaz*(\d+)x")


def inline_css(html: str) -> str:
    """Move the CSS of ``<style>`` blocks into ``style=`` attributes (premailer)."""
    return premailer.Premailer(**PREMAILER_OPTIONS).transform(html, pretty_print=False)


def inject_css(html: str, css: str) -> str:
    """Add ``css`` as a ``<style>`` at the end of ``<head>`` (or the start of the body)."""
    if not css:
        return html
    style = f"<style>{css}</style>"
    match = _HEAD_END.search(html)
    if match:
        return html[: match.start()] + style + html[match.start() :]
    match = _BODY_START.search(html)
    if match:
        return html[: match.end()] + style + html[match.end() :]
    return style + html


def inline_template(flattened: Flattened, extra_css: str = "") -> str:
    """Template source with the CSS inlined, rendering like render-then-:func:`inline_css`."""
    for tag in flattened.prelude:
        _refuse_markup_source(tag)
    parts = _inject_into_parts(flattened.parts, extra_css)
    protected = _Protector(parts)
    _refuse_unsafe_css(protected.html, protected.tags)
    inlined = inline_css(protected.html)
    body = protected.restore(inlined)
    return "".join(tag.text for tag in flattened.prelude) + body


def _inject_into_parts(parts: Iterable[str | Tag], css: str) -> list[str | Tag]:
    parts = list(parts)
    if not css:
        return parts
    for pattern, after in ((_HEAD_END, False), (_BODY_START, True)):
        for index, part in enumerate(parts):
            if isinstance(part, str) and (match := pattern.search(part)):
                at = match.end() if after else match.start()
                # CSS may hold "{#" (as in "{#id"): keep Jinja from reading it as a tag.
                style = Tag("raw", "{% raw %}<style>" + css + "</style>{% endraw %}", 0)
                parts[index : index + 1] = [part[:at], style, part[at:]]
                return parts
    raise Unflattenable("the HTML has neither </head> nor <body> to put style.css into")


def _refuse_markup_source(tag: Tag) -> None:
    if tag.kind in ("var", "stmt") and _MARKUP_SOURCES.search(tag.text):
        raise Unflattenable(f"{tag.where}: {tag.text} may output markup the inliner cannot see")
    if tag.kind == "stmt" and tag.keyword in _UNSAFE_STATEMENTS:
        raise Unflattenable(f"{tag.where}: {{% {tag.keyword} %}} is not inlined at compile time")
    if tag.kind == "stmt" and tag.keyword == "set" and "=" not in tag.body:
        raise Unflattenable(f"{tag.where}: a block {{% set %}} captures markup")


class _HtmlContext:
    """Tracks where in the HTML grammar the text fed so far ends."""

    CONTENT, TAG_OPEN, TAG, COMMENT, RAW_TEXT = range(5)

    def __init__(self) -> None:
        self.state = self.CONTENT
        self.element = ""
        self._quote = ""
        self._closing = False

    def feed(self, data: str) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if self.state == self.CONTENT:
                pos = data.find("<", pos)
                if pos < 0:
                    return
                if data.startswith("<!--", pos):
                    self.state, pos = self.COMMENT, pos + 4
                elif pos + 1 == end:
                    self.state, pos = self.TAG_OPEN, end
                else:
                    pos = self._open_tag(data, pos + 1)
            elif self.state == self.TAG_OPEN:
                self.state = self.CONTENT
                pos = self._open_tag("<" + data, 1) - 1
            elif self.state == self.TAG:
                pos = self._in_tag(data, pos)
            elif self.state == self.COMMENT:
                found = data.find("-->", pos)
                if found < 0:
                    return
                self.state, pos = self.CONTENT, found + 3
            else:
                closing = re.compile(rf"</{self.element}\b", re.IGNORECASE).search(data, pos)
                if closing is None:
                    return
                self.state, self._closing, self._quote = self.TAG, True, ""
                pos = closing.end()

    def _open_tag(self, data: str, pos: int) -> int:
        """``pos`` is just after a ``<``; enter a tag if one starts there."""
        char = data[pos]
        if not (char.isalpha() or char in "/!?"):
            return pos
        match = _TAG_NAME.match(data, pos - 1)
        self.element = match.group(1).lower() if match else ""
        self._closing = char == "/"
        self._quote = ""
        self.state = self.TAG
        return match.end() if match else pos + 1

    def _in_tag(self, data: str, pos: int) -> int:
        for index in range(pos, len(data)):
            char = data[index]
            if self._quote:
                if char == self._quote:
                    self._quote = ""
            elif char in "\"'":
                self._quote = char
            elif char == ">":
                opens_raw = not self._closing and self.element in _RAW_TEXT
                self.state = self.RAW_TEXT if opens_raw else self.CONTENT
                return index + 1
        return len(data)


class _Protector:
    """Replaces Jinja tags by placeholders the HTML parser keeps, and puts them back."""

    def __init__(self, parts: list[str | Tag]) -> None:
        source = "".join(part if isinstance(part, str) else part.text for part in parts)
        prefix = "ekjinja"
        while prefix in source:
            prefix += "z"  # _TOKEN matches any number of z's
        self._token = re.compile(rf"<!--({prefix}\d+x)-->|({prefix}\d+x)")
        self.tags: list[Tag] = []
        self._as_comment: list[bool] = []
        context = _HtmlContext()
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                context.feed(part)
                out.append(part)
                continue
            _refuse_markup_source(part)
            if part.kind == "raw" and context.state in (context.CONTENT, context.RAW_TEXT):
                content = part.raw_content
                context.feed(content)
                out.append(content)
                continue
            if part.kind == "trans" and "<" in part.text:
                raise Unflattenable(f"{part.where}: markup inside {{% trans %}} is not inlined")
            if context.state == context.TAG_OPEN:
                raise Unflattenable(f"{part.where}: {part.text} right after '<' names an element")
            if context.state == context.RAW_TEXT and context.element == "style":
                raise Unflattenable(f"{part.where}: {part.text} inside <style>")
            token = f"{prefix}{len(self.tags)}x"
            as_comment = context.state == context.CONTENT
            self.tags.append(part)
            self._as_comment.append(as_comment)
            out.append(f"<!--{token}-->" if as_comment else token)
        self.html = "".join(out)
        self._prefix = prefix

    def restore(self, inlined: str) -> str:
        """Put the Jinja tags back into premailer's output, checking each came through once."""
        seen = [0] * len(self.tags)
        out: list[str] = []
        pos = 0
        for match in self._token.finditer(inlined):
            index = int((match.group(1) or match.group(2))[len(self._prefix) : -1])
            if index >= len(self.tags):
                continue
            seen[index] += 1
            if bool(match.group(1)) != self._as_comment[index]:
                tag = self.tags[index]
                raise Unflattenable(f"{tag.where}: the HTML parser moved {tag.text}")
            out.append(_literal(inlined[pos : match.start()]))
            out.append(self.tags[index].text)
            pos = match.end()
        out.append(_literal(inlined[pos:]))
        for index, count in enumerate(seen):
            if count != 1:
                tag = self.tags[index]
                raise Unflattenable(f"{tag.where}: the HTML parser dropped or copied {tag.text}")
        return "".join(out)


def _literal(text: str) -> str:
    """Literal HTML for a template: text that reads like a Jinja tag is kept raw."""
    if not _JINJA_OPENER.search(text):
        return text
    if "endraw" in text:
        raise Unflattenable("literal text contains 'endraw'")
    return "{% raw %}" + text + "{% endraw %}"


def _refuse_unsafe_css(html: str, tags: list[Tag]) -> None:
    """Refuse selectors whose matches depend on values or on how often a loop runs."""
    document = lxml.html.document_fromstring(html)
    selectors = " ".join(
        _strip_declarations(_CSS_COMMENT.sub("", style.text or ""))
        for style in document.iter("style")
    )
    watched = _SELECTOR_ATTRIBUTES | set(_ATTRIBUTE_SELECTOR.findall(selectors))
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            token = _TOKEN.search(value)
            if name.lower() in watched and token:
                tag = tags[int(token.group(1))]
                raise Unflattenable(
                    f"{tag.where}: {tag.text} in the {name}= attribute of <{element.tag}> "
                    "decides which CSS rules apply"
                )
    structural = _STRUCTURAL.search(selectors)
    control_flow = next((tag for tag in tags if tag.keyword in ("for", "if")), None)
    if structural and control_flow:
        raise Unflattenable(
            f"{control_flow.where}: the CSS selector part {structural.group()!r} matches "
            f"differently depending on how {control_flow.text} turns out"
        )


def _strip_declarations(css: str) -> str:
    previous = None
    while previous != css:
        previous, css = css, _CSS_DECLARATIONS.sub(" ", css)
    return css
