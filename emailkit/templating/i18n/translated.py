"""Translated messages that hold markup, written into the template at compile time.

``{% trans url=link %}Pay at <a href="{{ url }}">{{ url }}</a>{% endtrans %}`` renders the
catalog's message for the locale with its variables escaped in: the values are text, so the
elements of the result are the message's own, fixed once the locale is. Compiling an email for
a locale therefore replaces the block by that translation as template source (each
``%(name)s`` a ``{{ name }}``, inside a ``{% with %}`` binding the block's variables), and the
CSS is inlined into its elements like any other markup. Plural blocks, whose message depends on
a count, and variables that may hold markup themselves (``|safe``) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from jinja2 import Environment, TemplateSyntaxError, nodes

from ..tags import Tag

_PARSER = Environment(extensions=["jinja2.ext.i18n"])
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_MARKUP = re.compile(r"\|\s*safe\b|\bMarkup\s*\(|\|\s*tojson\b")

Translate = Callable[[str], str]


def holds_markup(tag: Tag) -> bool:
    """A ``{% trans %}`` block whose message holds an element."""
    return tag.kind == "trans" and "<" in tag.text


def bake(parts: Iterable[str | Tag], translate: Translate) -> list[str | Tag]:
    """``parts`` with each ``{% trans %}`` block holding markup replaced by its translation
    as template source, where that gives what the block renders for every value."""
    out: list[str | Tag] = []
    for part in parts:
        baked = _baked(part, translate) if isinstance(part, Tag) and holds_markup(part) else None
        if baked is None:
            out.append(part)
        else:
            out.extend(baked)
    return out


def _baked(tag: Tag, translate: Translate) -> list[str | Tag] | None:
    try:
        node = _PARSER.parse(tag.text)
    except TemplateSyntaxError:
        return None
    calls = list(node.find_all(nodes.Call))
    if len(calls) != 1 or not isinstance(calls[0].node, nodes.Name):
        return None
    call = calls[0]
    assert isinstance(call.node, nodes.Name)
    if call.node.name != "gettext" or not call.args or not isinstance(call.args[0], nodes.Const):
        return None  # ngettext/pgettext: the message depends on more than the locale
    message = translate(str(call.args[0].value))
    header = tag.text[: tag.text.index("%}") + 2]
    bindings = _bindings(header)
    if bindings is None:
        return None
    left = tag.text[2] if tag.text[2:3] in ("-", "+") else ""
    right = tag.text[-3] if tag.text[-3:-2] in ("-", "+") else ""
    assigned = ", ".join(f"{name}=({expression})" for name, expression in bindings.items())
    out: list[str | Tag] = [
        Tag("stmt", "{%" + left + " with " + assigned + " %}", tag.lineno, tag.origin)
    ]
    pos = 0
    for match in _PLACEHOLDER.finditer(message):
        if match.start() > pos:
            out.append(message[pos : match.start()])
        if match.group(1) is None:
            out.append("%")
        else:
            out.append(Tag("var", "{{ " + match.group(1) + " }}", tag.lineno, tag.origin))
        pos = match.end()
    if pos < len(message):
        out.append(message[pos:])
    out.append(Tag("stmt", "{% endwith " + right + "%}", tag.lineno, tag.origin))
    return out


def _bindings(header: str) -> dict[str, str] | None:
    """The ``name=expression`` pairs of a ``{% trans %}`` header as source text (a bare name
    binds itself), or None where one may bring markup or the header has more than that."""
    try:
        tokens = [t for t in _PARSER.lex(header) if t[1] != "whitespace"]
    except TemplateSyntaxError:
        return None
    inner = tokens[2:-1]  # after block_begin and "trans", before block_end
    pieces: list[list[tuple[int, str, str]]] = [[]]
    depth = 0
    for token in inner:
        if token[1] == "operator" and token[2] in "([{":
            depth += 1
        elif token[1] == "operator" and token[2] in ")]}":
            depth -= 1
        if depth == 0 and token[1] == "operator" and token[2] == ",":
            pieces.append([])
        else:
            pieces[-1].append(token)
    bindings: dict[str, str] = {}
    for piece in pieces:
        if not piece:
            continue
        if len(piece) == 1 and piece[0][2] in ("trimmed", "notrimmed"):
            continue
        if piece[0][1] != "name":
            return None
        if len(piece) == 1:
            continue  # a bare name: the template's own variable
        if len(piece) < 3 or piece[1][2] != "=":
            return None
        source = "".join(" " + token[2] if token[1] == "name" else token[2] for token in piece[2:])
        if _MARKUP.search(source):
            return None
        bindings[piece[0][2]] = source.strip()
    return bindings
