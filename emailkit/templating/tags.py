"""A template source as text and Jinja tags, found with Jinja's own lexer so that every tag is where
Jinja sees it; :class:`Unflattenable`, the reason a template cannot be compiled once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from jinja2 import Environment, TemplateSyntaxError

# Tags are found with the default delimiters, which every emails environment uses.
_LEXER = Environment(extensions=["jinja2.ext.i18n"])

_WORD = re.compile(r"[{%#]-?\+?\s*([A-Za-z_]\w*)")

_ENDRAW = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")


class Unflattenable(Exception):
    """The template uses a construct that cannot be flattened; the message says which."""


JINJA_OPENER = re.compile(r"\{[{%#]")
"""Where text could be read as a Jinja variable, statement or comment."""


def raw_literal(text: str) -> str:
    """``text`` as literal template source: text that reads like a Jinja tag is kept raw."""
    if not JINJA_OPENER.search(text):
        return text
    if "endraw" in text:
        raise Unflattenable("literal text contains 'endraw'")
    return "{% raw %}" + text + "{% endraw %}"


@dataclass(frozen=True)
class Tag:
    """One Jinja tag as written: ``kind`` is ``var``, ``stmt``, ``comment``, ``raw`` or
    ``trans`` (a whole ``{% trans %}...{% endtrans %}`` block).

    ``origin`` and ``lineno`` say where it was written.
    """

    kind: str
    text: str
    lineno: int
    origin: str = ""

    @property
    def where(self) -> str:
        return f"{self.origin}, line {self.lineno}" if self.origin else f"line {self.lineno}"

    @property
    def keyword(self) -> str:
        """The statement's first word (``for``, ``block``, ...), or ``""``."""
        if self.kind != "stmt":
            return ""
        match = _WORD.match(self.text, 1)
        return match.group(1) if match else ""

    @property
    def body(self) -> str:
        """What stands between the delimiters, without whitespace-control marks."""
        return self.text[2:-2].strip("-+ \t\r\n")

    @property
    def raw_content(self) -> str:
        """For a ``raw`` tag, the literal text between ``{% raw %}`` and ``{% endraw %}``."""
        opening_end = self.text.index("%}") + 2
        closing = list(_ENDRAW.finditer(self.text))[-1]
        return self.text[opening_end : closing.start()]


_BLOCK_TAGS = frozenset(
    {"if", "for", "block", "macro", "call", "filter", "with", "trans", "autoescape", "set", "raw"}
)


def syntax_message(error: TemplateSyntaxError) -> str:
    """Jinja's message, plus the line where the block it says to close was opened: Jinja
    reports an unclosed ``{% if %}`` at the end of the file, which may be far below it."""
    message = f"syntax error: {error.message}"
    source = getattr(error, "source", None)
    text = error.message or ""
    if not source or "needs to be closed is" not in text:
        return message
    at_end = "Unexpected end of template" in text
    stack: list[tuple[str, int]] = []
    try:
        tokens = [token for token in _LEXER.lex(source) if token[1] != "whitespace"]
    except Exception:  # the lexer stops at the same mistake: say what Jinja said
        return message
    for index, (lineno, kind, _value) in enumerate(tokens):
        if lineno > error.lineno or (lineno == error.lineno and not at_end):
            break
        if kind != "block_begin" or index + 1 >= len(tokens):
            continue
        tag = tokens[index + 1][2]
        if tag == "set":  # {% set x = ... %} is no block; {% set x %}...{% endset %} is
            rest = (t for t in tokens[index + 2 :] if t[1] in ("assign", "block_end"))
            if next(rest, (0, "block_end", ""))[1] == "assign":
                continue
        if tag in _BLOCK_TAGS:
            stack.append((tag, lineno))
        elif tag.startswith("end") and stack and stack[-1][0] == tag[3:]:
            stack.pop()
    if not stack:
        return message
    tag, opened = stack[-1]
    return f"{message.rstrip('.')} (the {{% {tag} %}} opened at line {opened})."


def scan(source: str, origin: str = "") -> list[str | Tag]:
    """Split template source into literal text and Jinja tags (default delimiters).

    Tags are found by Jinja's own lexer, so a ``"%}"`` inside a string, whitespace control or
    a tag spanning lines cannot cut a tag short; the text between tags is kept verbatim.
    Source Jinja cannot lex raises its :class:`~jinja2.TemplateSyntaxError`.
    """
    parts: list[str | Tag] = []
    pos = 0
    for kind, start, end, lineno in _tag_spans(source, origin):
        if start > pos:
            parts.append(source[pos:start])
        parts.append(Tag(kind, source[start:end], lineno, origin))
        pos = end
    if pos < len(source):
        parts.append(source[pos:])
    return _join_trans_blocks(parts)


_KINDS = {"variable": "var", "block": "stmt", "comment": "comment", "raw": "raw"}


def _tag_spans(source: str, origin: str) -> Iterator[tuple[str, int, int, int]]:
    """``(kind, start, end, lineno)`` of each tag, located by walking the lexer's tokens."""
    try:
        tokens = list(_LEXER.lex(source, name=origin or None))
    except TemplateSyntaxError:
        # The lexer reads to the end; Jinja's parser stops at the first error, as a render would.
        _LEXER.parse(source, name=origin or None)
        raise
    pos, opened = 0, None
    for lineno, token, value in tokens:
        at = source.find(value, pos) if value else pos
        if at < 0:  # pragma: no cover - every token value is a slice of the source
            raise Unflattenable(f"{origin}, line {lineno}: cannot locate {value!r}")
        pos = at + len(value)
        name, _, edge = token.rpartition("_")
        if edge == "begin" and name in _KINDS:
            opened = (_KINDS[name], at, lineno)
        elif edge == "end" and name in _KINDS and opened is not None:
            # An end token also holds the whitespace a "-" strips after it: not the tag's.
            yield opened[0], opened[1], at + len(value.rstrip()), opened[2]
            opened = None
    if opened is not None:
        message = "unexpected end of template: a tag opened here is never closed"
        raise TemplateSyntaxError(message, opened[2], origin or None)


def _join_trans_blocks(parts: list[str | Tag]) -> list[str | Tag]:
    """A ``{% trans %}...{% endtrans %}`` block as one ``trans`` tag: its text is its message."""
    joined: list[str | Tag] = []
    opening: Tag | None = None
    inside: list[str] = []
    for part in parts:
        if opening is None:
            if isinstance(part, Tag) and part.keyword == "trans":
                opening, inside = part, [part.text]
            else:
                joined.append(part)
            continue
        inside.append(part if isinstance(part, str) else part.text)
        if isinstance(part, Tag) and part.keyword == "endtrans":
            joined.append(Tag("trans", "".join(inside), opening.lineno, opening.origin))
            opening = None
    if opening is not None:
        joined.append(Tag("trans", "".join(inside), opening.lineno, opening.origin))
    return joined
