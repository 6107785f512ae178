"""Macro definitions as written: where a template's macros are, what they take, what they read.

:mod:`emailkit.templating.components` expands calls of these macros in place; this module reads them
(``{% macro %}`` blocks, ``{% from %}``/``{% import %}`` statements, call arguments) with
Jinja's own lexer and parser, keeping every tag's text as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from jinja2 import Environment, TemplateSyntaxError, meta, nodes

from .tags import Tag, Unflattenable, scan

PARSER = Environment(extensions=["jinja2.ext.i18n"])
# Names a macro body may read besides its parameters: Jinja's and emailkit's globals.


_GLOBALS = {*PARSER.globals, "_", "gettext", "ngettext", "pgettext", "npgettext"}


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...]
    defaults: dict[str, str]
    opening: Tag
    body: tuple[str | Tag, ...]
    closing: Tag
    with_context: bool


def marks(tag: Tag) -> tuple[str, str]:
    inner = tag.text[2:-2]
    lead = inner[0] if inner[:1] in ("-", "+") else ""
    trail = inner[-1] if inner[-1:] in ("-", "+") else ""
    return lead, trail


def parse_tag(text: str, tag: Tag) -> nodes.Template:
    try:
        return PARSER.parse(text)
    except TemplateSyntaxError as error:
        raise Unflattenable(f"{tag.where}: {tag.text}: {error.message}") from None


def names_in(tag: Tag) -> set[str]:
    return {value for _, kind, value in PARSER.lex(tag.text) if kind == "name"}


def imported(tag: Tag, get_source: Callable[[str], str], depth: int = 0) -> dict[str, Macro]:
    """The macros ``tag`` (``{% from %}``/``{% import %}``) makes callable, by the name they are
    called with; the macros those files import for their own use come along, so a component
    can call another."""
    node = parse_tag(tag.text, tag).body[0]
    if not isinstance(node, (nodes.FromImport, nodes.Import)):
        raise Unflattenable(f"{tag.where}: {tag.text} is not a plain import")
    if not isinstance(node.template, nodes.Const) or not isinstance(node.template.value, str):
        raise Unflattenable(f"{tag.where}: {tag.text} imports a computed name")
    if depth > 8:
        raise Unflattenable(f"{tag.where}: components import each other too deep (a cycle?)")
    name = node.template.value
    parts = scan(get_source(name), name)
    support: dict[str, Macro] = {}
    for part in parts:
        if isinstance(part, Tag) and part.kind == "stmt" and part.keyword in ("from", "import"):
            support.update(imported(part, get_source, depth + 1))
    visible = {alias.split(".")[0] for alias in support}
    defined = {m.name: m for m in macros_in(parts, node.with_context, visible)}
    if isinstance(node, nodes.Import):
        found = {f"{node.target}.{key}": macro for key, macro in defined.items()}
    else:
        found = {}
        for entry in node.names:
            original, alias = entry if isinstance(entry, tuple) else (entry, entry)
            if original not in defined:
                raise Unflattenable(f"{tag.where}: {name} defines no macro {original!r}")
            found[alias] = defined[original]
    for alias, macro in support.items():
        if found.setdefault(alias, macro) is not macro:
            raise Unflattenable(f"{tag.where}: {alias!r} names two different macros")
    return found


def macros_in(
    parts: list[str | Tag], with_context: bool, callable_names: set[str] | None = None
) -> Iterator[Macro]:
    index = 0
    while index < len(parts):
        part = parts[index]
        if isinstance(part, Tag) and part.keyword == "macro":
            end = closing_index(parts, index, "macro", "endmacro")
            closing = parts[end]
            assert isinstance(closing, Tag)
            body = parts[index + 1 : end]
            yield read_macro(part, body, closing, with_context, callable_names)
            index = end
        index += 1


def closing_index(parts: list[str | Tag], start: int, opener: str, closer: str) -> int:
    depth = 0
    for index in range(start, len(parts)):
        part = parts[index]
        if isinstance(part, Tag) and part.keyword == opener:
            depth += 1
        elif isinstance(part, Tag) and part.keyword == closer:
            depth -= 1
            if depth == 0:
                return index
    opening = parts[start]
    assert isinstance(opening, Tag)
    raise Unflattenable(f"{opening.where}: {opening.text} is never closed")


def read_macro(
    opening: Tag,
    body: list[str | Tag],
    closing: Tag,
    with_context: bool,
    callable_names: set[str] | None = None,
) -> Macro:
    node = parse_tag(opening.text + closing.text, opening).body[0]
    assert isinstance(node, nodes.Macro)
    params = tuple(arg.name for arg in node.args)
    texts = arguments(opening, node.name)
    defaults: dict[str, str] = {}
    for param, default, text in zip(
        params[len(params) - len(node.defaults) :],
        node.defaults,
        texts[len(params) - len(node.defaults) :],
        strict=True,
    ):
        try:
            default.as_const()
        except nodes.Impossible:
            raise Unflattenable(f"{opening.where}: the default of {param!r} is computed") from None
        defaults[param] = text.split("=", 1)[1].strip()
    body_text = "".join(p if isinstance(p, str) else p.text for p in body)
    free = meta.find_undeclared_variables(parse_tag(body_text, opening))
    if free & {"varargs", "kwargs"}:
        raise Unflattenable(f"{opening.where}: macro {node.name!r} reads varargs or kwargs")
    strangers = free - set(params) - _GLOBALS - {"caller"} - (callable_names or set())
    if strangers and not with_context:
        raise Unflattenable(
            f"{opening.where}: macro {node.name!r} reads {sorted(strangers)[0]!r}, "
            "which it is not passed"
        )
    return Macro(node.name, params, defaults, opening, tuple(body), closing, with_context)


def arguments(tag: Tag, callee: str) -> list[str]:
    """The argument texts of the first call in ``tag`` after the name ``callee``."""
    tokens = list(PARSER.lex(tag.text))
    start = next(
        (
            i
            for i, (_, kind, value) in enumerate(tokens)
            if kind == "name" and value == callee.split(".")[-1]
        ),
        None,
    )
    if start is None:
        raise Unflattenable(f"{tag.where}: cannot find {callee} in {tag.text}")
    depth = 0
    current: list[str] = []
    found: list[str] = []
    for _, kind, value in tokens[start + 1 :]:
        if kind == "operator" and value in "([{":
            depth += 1
            if depth == 1:
                continue
        elif kind == "operator" and value in ")]}":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and kind == "operator" and value == ",":
            found.append("".join(current).strip())
            current = []
        elif depth >= 1:
            current.append(value)
    if "".join(current).strip():
        found.append("".join(current).strip())
    return found


def output_of(tag: Tag) -> nodes.Node | None:
    """The one expression a ``{{ ... }}`` tag outputs."""
    output = parse_tag(tag.text, tag).body[0]
    if isinstance(output, nodes.Output) and len(output.nodes) == 1:
        return output.nodes[0]
    return None
