"""CSS inlining with premailer, once per template instead of once per message.

:func:`inline_css` is the per-render way: premailer on finished HTML. :func:`inline_template`
does the same work on template source: every Jinja tag is swapped for a placeholder that the
HTML parser keeps in place (an HTML comment between elements, a bare word inside a tag),
premailer inlines the CSS, and the tags are put back. Rendering the result gives the HTML that
render-then-premailer gives, at the cost of a plain Jinja render. Values that bring markup
are routed through :mod:`emailkit.templating.fragments` (:func:`inline_template_with_fragments`).
Where equality cannot be promised (a ``class="{{ ... }}"`` attribute, a ``:first-child``/``+``/``~``
rule whose element has control flow among its siblings, such a rule with markup from a value) it
raises :class:`~emailkit.templating.tags.Unflattenable` naming the reason, file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import css_inline
import lxml.etree
import lxml.html

from .cssrules import (
    PREMAILER_OPTIONS,
    Premailer,
    attribute_tests,
    inlined_selectors,
    is_structural,
    may_match_whatever,
    reaches_new_children,
    sibling_sensitive,
)
from .cssrules import styles_premailer_reads as _styles_premailer_reads
from .flatten import Flattened
from .fragments import FILTER, Site, site_for
from .htmlcontext import HtmlContext
from .i18n.translated import Translate, bake
from .tags import Tag, Unflattenable, raw_literal

__all__ = [
    "PREMAILER_OPTIONS",
    "InlinedTemplate",
    "inject_css",
    "inline_css",
    "inline_fast",
    "inline_template",
    "inline_template_with_fragments",
]


@dataclass(frozen=True)
class InlinedTemplate:
    """Template source with the CSS inlined, and the sites where values bring markup (each
    rendered through the ``emailkit_fragment`` filter, see :mod:`emailkit.templating.fragments`)."""

    source: str
    sites: tuple[Site, ...]


_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_BODY_START = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_MARKUP_SOURCES = re.compile(r"\bcaller\s*\(|\bself\.|\bsuper\s*\(")
# Values that may bring markup at render time: inlined alone, where they land (fragments.py).
# Newstyle gettext returns Markup, so a message holding a tag brings markup too.
_MARKUP_VALUES = re.compile(
    r"\|\s*safe\b|\bMarkup\s*\("
    r"""|(?<![\w.])(?:_|gettext|ngettext|pgettext|npgettext)\s*\(\s*(?:"[^"]*<|'[^']*<)"""
)
_UNSAFE_STATEMENTS = {"macro", "call", "filter", "autoescape", "import", "from", "include"}
# A value in these attributes refuses compile-once wherever it is (class and id name rules).
_ALWAYS_REFUSED = {"class", "id"}
_TOKEN = re.compile(r"ekjinjaz*(\d+)x")


def inline_css(html: str) -> str:
    """Move the CSS of ``<style>`` blocks into ``style=`` attributes (premailer).

    Nothing is fetched: remote ``<link>`` and ``@import`` stay in the HTML for clients to load.
    """
    return Premailer().transform(html, pretty_print=False)


def inline_fast(html: str) -> str:
    """Inline with css_inline (Rust, 6-30x faster than premailer even with its stylesheet
    work kept): the way for templates that never compile once, where no compiled rendering
    has to be matched. Nothing is fetched; ``@media`` rules and remote ``<link>`` tags stay,
    as with :func:`inline_css`. Its document differs from premailer's in details (``*``
    rules applied, an HTML5 doctype, no ``bgcolor`` copied from styles)."""
    return _fast_inliner().inline(html)


def _fast_inliner() -> css_inline.CSSInliner:
    global _FAST
    if _FAST is None:
        _FAST = css_inline.CSSInliner(
            keep_at_rules=True, keep_link_tags=True, load_remote_stylesheets=False
        )
    return _FAST


_FAST: css_inline.CSSInliner | None = None


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
    """Template source with the CSS inlined, rendering like render-then-:func:`inline_css`.

    Markup from values is refused here (:class:`Unflattenable`); see
    :func:`inline_template_with_fragments` for templates that have some.
    """
    return _inline(flattened, extra_css, fragments=False).source


def inline_template_with_fragments(
    flattened: Flattened, extra_css: str = "", translate: Translate | None = None
) -> InlinedTemplate:
    """Like :func:`inline_template`, with values that bring markup (``|safe``, ``Markup``,
    gettext with markup in the message) inlined alone at render time; the environment needs
    a :class:`~emailkit.templating.fragments.FragmentInliner` knowing the sites as its
    ``emailkit_fragment`` filter. With ``translate`` (the compiled locale's gettext),
    ``{% trans %}`` blocks holding markup are written in
    (:mod:`emailkit.templating.i18n.translated`)."""
    return _inline(flattened, extra_css, fragments=True, translate=translate)


def _inline(
    flattened: Flattened, extra_css: str, *, fragments: bool, translate: Translate | None = None
) -> InlinedTemplate:
    for tag in flattened.prelude:
        _refuse_markup_source(tag, fragments=False)
    parts = _inject_into_parts(flattened.parts, extra_css)
    if translate is not None:
        parts = bake(parts, translate)
    leading, parts = _leading_statements(parts)
    protected = _Protector(parts, fragments=fragments)
    sites = _refuse_unsafe_css(protected.html, protected.tags, protected.fragments)
    for index, site in sites.items():
        protected.replace(index, _through_filter(protected.tags[index], site.key))
    inlined = inline_css(protected.html)
    body = protected.restore(inlined)
    source = "".join(tag.text for tag in (*flattened.prelude, *leading)) + body
    return InlinedTemplate(source, tuple(dict.fromkeys(sites.values())))


def _leading_statements(parts: list[str | Tag]) -> tuple[list[Tag], list[str | Tag]]:
    """Assignments before the document's first markup, kept out of the HTML parser's way (it
    drops anything before ``<html>``); the whitespace between them is not output either."""
    leading: list[Tag] = []
    for index, part in enumerate(parts):
        if isinstance(part, str) and not part.strip():
            continue
        if isinstance(part, Tag) and part.kind == "comment":
            continue
        if isinstance(part, Tag) and part.keyword == "set" and "=" in part.body:
            _refuse_markup_source(part, fragments=False)
            leading.append(part)
            continue
        return leading, parts[index:]
    return leading, []


def _through_filter(tag: Tag, key: str) -> str:
    """``{{ expr }}`` as ``{{ (expr)|emailkit_fragment('key') }}``, whitespace marks kept; a
    ``{% trans %}`` block inside a ``{% filter %}`` of it."""
    if tag.kind == "trans":
        return f"{{% filter {FILTER}('{key}') %}}{tag.text}{{% endfilter %}}"
    inner = tag.text[2:-2]
    lead = inner[0] if inner[:1] in ("-", "+") else ""
    trail = inner[-1] if inner[-1:] in ("-", "+") else ""
    expression = inner[len(lead) : len(inner) - len(trail)]
    return f"{{{{{lead} ({expression})|{FILTER}('{key}') {trail}}}}}"


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


def _brings_markup(tag: Tag) -> bool:
    if tag.kind == "trans":  # a message holding markup not written in, or a |safe variable
        return "<" in tag.text or bool(_MARKUP_VALUES.search(tag.text))
    return tag.kind == "var" and bool(_MARKUP_VALUES.search(tag.text))


def _refuse_markup_source(tag: Tag, *, fragments: bool) -> None:
    if tag.kind == "stmt" and _MARKUP_VALUES.search(tag.text):
        raise Unflattenable(f"{tag.where}: {tag.text} may output markup the inliner cannot see")
    if not fragments and _brings_markup(tag):
        raise Unflattenable(f"{tag.where}: {tag.text} may output markup the inliner cannot see")
    if tag.kind in ("var", "stmt") and _MARKUP_SOURCES.search(tag.text):
        raise Unflattenable(f"{tag.where}: {tag.text} may output markup the inliner cannot see")
    if tag.kind == "stmt" and tag.keyword in _UNSAFE_STATEMENTS:
        raise Unflattenable(f"{tag.where}: {{% {tag.keyword} %}} is not inlined at compile time")
    if tag.kind == "stmt" and tag.keyword == "set" and "=" not in tag.body:
        raise Unflattenable(f"{tag.where}: a block {{% set %}} captures markup")


class _Protector:
    """Replaces Jinja tags by placeholders the HTML parser keeps, and puts them back."""

    def __init__(self, parts: list[str | Tag], *, fragments: bool = False) -> None:
        source = "".join(part if isinstance(part, str) else part.text for part in parts)
        prefix = "ekjinja"
        while prefix in source:
            prefix += "z"  # _TOKEN matches any number of z's
        self._token = re.compile(rf"<!--({prefix}\d+x)-->|({prefix}\d+x)")
        self.tags: list[Tag] = []
        self.fragments: set[int] = set()
        self._texts: list[str] = []
        self._as_comment: list[bool] = []
        context = HtmlContext()
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                context.feed(part)
                out.append(part)
                continue
            _refuse_markup_source(part, fragments=fragments)
            if _brings_markup(part):
                if context.state != context.CONTENT:
                    raise Unflattenable(f"{part.where}: {part.text} may output markup inside a tag")
                self.fragments.add(len(self.tags))
            if part.kind == "comment":
                continue  # outputs nothing; the HTML parser might move or drop a placeholder
            if part.kind == "raw" and context.state in (context.CONTENT, context.RAW_TEXT):
                content = part.raw_content
                context.feed(content)
                out.append(content)
                continue
            if part.kind == "trans" and "<" in part.text and not fragments:
                raise Unflattenable(f"{part.where}: markup inside {{% trans %}} is not inlined")
            if context.state == context.TAG_OPEN:
                raise Unflattenable(f"{part.where}: {part.text} right after '<' names an element")
            if context.state == context.RAW_TEXT and context.element == "style":
                raise Unflattenable(f"{part.where}: {part.text} inside <style>")
            token = f"{prefix}{len(self.tags)}x"
            as_comment = context.state == context.CONTENT
            self.tags.append(part)
            self._texts.append(part.text)
            self._as_comment.append(as_comment)
            out.append(f"<!--{token}-->" if as_comment else token)
        self.html = "".join(out)
        self._prefix = prefix

    def replace(self, index: int, text: str) -> None:
        """Put ``text`` back in place of tag ``index``."""
        self._texts[index] = text

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
            out.append(raw_literal(inlined[pos : match.start()]))
            out.append(self._texts[index])
            pos = match.end()
        out.append(raw_literal(inlined[pos:]))
        for index, count in enumerate(seen):
            # premailer copies a style value into an attribute (background-color into
            # bgcolor): a value rendered twice is the same value, a statement is not.
            copied_value = self.tags[index].kind == "var" and not self._as_comment[index]
            if count == 0 or (count > 1 and not copied_value):
                tag = self.tags[index]
                raise Unflattenable(f"{tag.where}: the HTML parser dropped or copied {tag.text}")
        return "".join(out)


# Statements that render once, in place, and output no elements of their own.
_STRUCTURE_NEUTRAL = {"", "set", "with", "endwith", "block", "endblock"}


def _refuse_unsafe_css(html: str, tags: list[Tag], fragments: set[int]) -> dict[int, Site]:
    """Refuse selectors whose matches depend on values or on how control flow turns out;
    return the :class:`Site` of each value that brings markup."""
    document = lxml.html.document_fromstring(html)
    sheets = list(_styles_premailer_reads(document))
    selectors = [selector for sheet in sheets for selector in inlined_selectors(sheet)]
    tested: dict[str, list[str]] = {}  # attribute -> the selectors that test its value
    for selector in selectors:
        for name in attribute_tests(selector):
            tested.setdefault(name, []).append(selector)
    varying: dict[object, Tag] = {}
    sites: dict[int, Site] = {}
    site_parents: dict[int, object] = {}
    for element in list(document.iter()):
        if not isinstance(element.tag, str):
            token = _TOKEN.search(element.text or "") if element.tag is lxml.etree.Comment else None
            tag = tags[int(token.group(1))] if token else None
            if tag is not None and tag.keyword not in _STRUCTURE_NEUTRAL:
                varying.setdefault(element.getparent(), tag)
            if token and int(token.group(1)) in fragments:
                sites[int(token.group(1))] = _site(element, tags[int(token.group(1))], sheets)
                site_parents[int(token.group(1))] = element.getparent()
            continue
        conditional = next(
            (tags[int(m.group(1))] for m in map(_TOKEN.fullmatch, element.attrib) if m), None
        )
        for name, value in element.attrib.items():
            token = _TOKEN.search(value)
            if name.lower() in _ALWAYS_REFUSED and token:
                tag = tags[int(token.group(1))]
                raise Unflattenable(
                    f"{tag.where}: {tag.text} in the {name}= attribute of <{element.tag}> "
                    "decides which CSS rules apply"
                )
            if token is None and (conditional is None or conditional.keyword in _STRUCTURE_NEUTRAL):
                continue
            # A value (or a tag that may drop the attribute) decides only where a rule
            # testing this attribute could match this element whatever the value is.
            candidates = tested.get(name.lower(), []) + tested.get("*", [])
            culprit = next(
                (
                    selector
                    for selector in candidates
                    if may_match_whatever(selector, document, element, name.lower())
                ),
                None,
            )
            if culprit is None:
                continue
            if token is not None:
                tag = tags[int(token.group(1))]
                raise Unflattenable(
                    f"{tag.where}: {tag.text} in the {name}= attribute of <{element.tag}> "
                    f"decides whether the CSS selector {culprit!r} applies"
                )
            assert conditional is not None
            raise Unflattenable(
                f"{conditional.where}: {conditional.text} inside <{element.tag}> may "
                f"change its {name}= attribute, which decides whether the CSS selector "
                f"{culprit!r} applies"
            )
    for index, parent in site_parents.items():
        varying.setdefault(parent, tags[index])  # the template's elements beside the markup
        for selector in filter(is_structural, selectors):
            if reaches_new_children(selector, document, parent):
                raise Unflattenable(
                    f"{tags[index].where}: {tags[index].text} brings markup whose place among "
                    f"its siblings the CSS selector {selector!r} depends on"
                )
    if not varying:
        return sites
    for selector in selectors:
        for element, children_too in sibling_sensitive(selector, document):
            tag = varying.get(element if children_too else element.getparent())
            if tag is None and element is document:
                tag = next(iter(varying.values()))
            if tag is not None:
                raise Unflattenable(
                    f"{tag.where}: the CSS selector {selector!r} matches differently "
                    f"depending on how {tag.text} turns out"
                )
    return sites


def _site(placeholder: lxml.etree._Element, tag: Tag, sheets: list[str]) -> Site:
    parent = placeholder.getparent()
    chain = [] if parent is None else [parent, *parent.iterancestors()]
    if not any(node.tag == "body" for node in chain):
        raise Unflattenable(f"{tag.where}: {tag.text} brings markup outside <body>")
    return site_for(parent, sheets)
