"""Components: Jinja macros expanded in place, so the inliner sees the markup they output.

A team keeps its buttons, callouts and columns as macros in ``_components/``
(``{% from "_components/button.html" import button %}``). A call, ``{{ button(url, "Go") }}``
or a ``{% call callout("info") %}...{% endcall %}`` block, becomes the macro's body inside a
``{% with %}`` that binds its parameters, and ``{{ caller() }}`` becomes the call block's body;
whitespace-control marks are chosen so the expansion renders the same text as the call. What
cannot be expanded exactly (a macro used inside an expression, a computed default, ``varargs``,
a caller taking arguments, a call block reading a name the macro binds) raises
:class:`~emailkit.templating.tags.Unflattenable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from jinja2 import meta, nodes
from markupsafe import escape

from .flatten import Flattened
from .macros import (
    PARSER,
    Macro,
    arguments,
    closing_index,
    imported,
    marks,
    names_in,
    output_of,
    parse_tag,
    read_macro,
)
from .tags import Tag, Unflattenable

_DEPTH = 16


_NOT_CONSTANT = object()


def expand_components(flattened: Flattened, get_source: Callable[[str], str]) -> Flattened:
    """``flattened`` with every component call expanded in place, and the ``import``,
    ``from`` and ``macro`` statements replaced by statements that output nothing."""
    read: list[str] = []

    def reading(name: str) -> str:
        read.append(name)
        return get_source(name)

    prelude = list(flattened.prelude)
    parts = expand(list(flattened.parts), prelude, reading)
    prelude = [_neutral(tag) if _imports_macros(tag) else tag for tag in prelude]
    return Flattened(tuple(prelude), tuple(parts), tuple(dict.fromkeys([*flattened.names, *read])))


def expand(
    parts: list[str | Tag], prelude: list[Tag], get_source: Callable[[str], str]
) -> list[str | Tag]:
    """``parts`` with every component call expanded; the ``import``/``from`` and ``macro``
    statements in them become statements that output nothing."""
    macros: dict[str, Macro] = {}
    for tag in [*prelude, *(p for p in parts if isinstance(p, Tag))]:
        if tag.kind == "stmt" and tag.keyword in ("from", "import"):
            macros.update(imported(tag, get_source))
    parts = _take_local_macros(parts, macros)
    if not macros:
        return parts
    expanded = list(_expand(parts, macros, 0))
    for part in expanded:
        if isinstance(part, Tag) and part.kind in ("var", "stmt") and part.keyword != "macro":
            used = names_in(part) & {name.split(".")[0] for name in macros}
            if used and part.keyword not in ("from", "import"):
                raise Unflattenable(f"{part.where}: {part.text} uses a macro in a way not expanded")
    return [_neutral(p) if _imports_macros(p) else p for p in expanded]


def _imports_macros(part: str | Tag) -> bool:
    return isinstance(part, Tag) and part.kind == "stmt" and part.keyword in ("from", "import")


def _neutral(tag: str | Tag) -> Tag:
    """A statement outputting nothing with the same whitespace behaviour as ``tag``."""
    assert isinstance(tag, Tag)
    lead, trail = marks(tag)
    return Tag(
        "stmt", f"{{%{lead} set __emailkit_expanded = none {trail}%}}", tag.lineno, tag.origin
    )


def _take_local_macros(parts: list[str | Tag], macros: dict[str, Macro]) -> list[str | Tag]:
    """Macros defined in the template itself join ``macros``; each definition becomes a
    statement that outputs nothing."""
    out: list[str | Tag] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        if isinstance(part, Tag) and part.keyword == "macro":
            end = closing_index(parts, index, "macro", "endmacro")
            closing = parts[end]
            assert isinstance(closing, Tag)
            macro = read_macro(part, parts[index + 1 : end], closing, with_context=True)
            macros[macro.name] = macro
            lead, _ = marks(part)
            _, trail = marks(closing)
            out.append(
                Tag(
                    "stmt",
                    f"{{%{lead} set __emailkit_expanded = none {trail}%}}",
                    part.lineno,
                    part.origin,
                )
            )
            index = end + 1
            continue
        out.append(part)
        index += 1
    return out


def _callee(node: nodes.Node, macros: dict[str, Macro]) -> str | None:
    if not isinstance(node, nodes.Call) or node.dyn_args or node.dyn_kwargs:
        return None
    if isinstance(node.node, nodes.Name):
        name = node.node.name
    elif isinstance(node.node, nodes.Getattr) and isinstance(node.node.node, nodes.Name):
        name = f"{node.node.node.name}.{node.node.attr}"
    else:
        return None
    return name if name in macros else None


def _expand(
    parts: list[str | Tag] | tuple[str | Tag, ...], macros: dict[str, Macro], depth: int
) -> Iterator[str | Tag]:
    parts = list(parts)
    index = 0
    while index < len(parts):
        part = parts[index]
        index += 1
        if isinstance(part, str) or part.kind not in ("var", "stmt"):
            yield part
            continue
        if part.kind == "var" and (names_in(part) & {n.split(".")[0] for n in macros}):
            expression = output_of(part)
            callee = None if expression is None else _callee(expression, macros)
            if callee is None:
                yield part
                continue
            lead, trail = marks(part)
            yield from _call_site(
                macros[callee],
                callee,
                part,
                macros,
                depth,
                outer=("-" if lead == "-" else "+", "-" if trail == "-" else "+"),
            )
        elif part.keyword == "call":
            end = closing_index(parts, index - 1, "call", "endcall")
            closing = parts[end]
            assert isinstance(closing, Tag)
            block = parse_tag(part.text + "{% endcall %}", part).body[0]
            assert isinstance(block, nodes.CallBlock)
            callee = _callee(block.call, macros)
            if callee is None or block.args:
                raise Unflattenable(f"{part.where}: {part.text} is not a plain call of a macro")
            caller = (part, parts[index:end], closing)
            yield from _call_site(
                macros[callee],
                callee,
                part,
                macros,
                depth,
                outer=(marks(part)[0], marks(closing)[1]),
                caller=caller,
            )
            index = end + 1
        else:
            yield part


def _call_site(
    macro: Macro,
    callee: str,
    call: Tag,
    macros: dict[str, Macro],
    depth: int,
    outer: tuple[str, str],
    caller: tuple[Tag, list[str | Tag], Tag] | None = None,
) -> Iterator[str | Tag]:
    if depth > _DEPTH:
        raise Unflattenable(f"{call.where}: macros call each other too deep (a cycle?)")
    bindings = _bind(macro, call, arguments(call, callee))
    body = list(macro.body)
    if caller is not None:
        body = list(_with_caller(macro, body, caller))
    elif any(isinstance(p, Tag) and "caller" in names_in(p) for p in body):
        raise Unflattenable(
            f"{call.where}: macro {macro.name!r} calls caller() but {call.text} passes none"
        )
    body = _with_constants(body, bindings)
    _, macro_trail = marks(macro.opening)
    end_lead, _ = marks(macro.closing)
    assignments = ", ".join(f"{name} = ({text})" for name, text in bindings.items())
    yield Tag(
        "stmt", f"{{%{outer[0]} with {assignments} {macro_trail}%}}", call.lineno, call.origin
    )
    yield from _expand(body, macros, depth + 1)
    yield Tag("stmt", f"{{%{end_lead} endwith {outer[1]}%}}", call.lineno, call.origin)


def _constant(text: str) -> object:
    """The value of an argument that is a literal, else ``_NOT_CONSTANT``."""
    try:
        output = PARSER.parse("{{ " + text + " }}").body[0]
        assert isinstance(output, nodes.Output) and len(output.nodes) == 1
        return output.nodes[0].as_const()
    except Exception:
        return _NOT_CONSTANT


def _with_constants(body: list[str | Tag], bindings: dict[str, str]) -> list[str | Tag]:
    """``{{ param }}`` written as its value where the call passes a literal, so a variant
    class (``class="button {{ kind }}"``) is plain markup the inliner can match."""
    text = "".join(p if isinstance(p, str) else p.text for p in body)
    stored = {n.name for n in PARSER.parse(text).find_all(nodes.Name) if n.ctx != "load"}
    constants = {
        name: value
        for name, argument in bindings.items()
        if name not in stored and (value := _constant(argument)) is not _NOT_CONSTANT
    }
    if not constants:
        return body
    out: list[str | Tag] = []
    for part in body:
        node = output_of(part) if isinstance(part, Tag) and part.kind == "var" else None
        if (
            isinstance(part, Tag)
            and isinstance(node, nodes.Name)
            and marks(part) == ("", "")
            and node.name in constants
        ):
            out.append(str(escape(constants[node.name])))
            continue
        out.append(part)
    return out


def _bind(macro: Macro, call: Tag, arguments: list[str]) -> dict[str, str]:
    bindings: dict[str, str] = {}
    positional = 0
    for text in arguments:
        name, equals, value = text.partition("=")
        keyword = equals and name.strip().isidentifier() and not value.startswith("=")
        if keyword:
            if name.strip() not in macro.params or name.strip() in bindings:
                raise Unflattenable(
                    f"{call.where}: {call.text} passes {name.strip()!r} twice or "
                    f"{macro.name} does not take it"
                )
            bindings[name.strip()] = value.strip()
        else:
            if positional >= len(macro.params):
                raise Unflattenable(
                    f"{call.where}: {call.text} passes more arguments than {macro.name} takes"
                )
            bindings[macro.params[positional]] = text
            positional += 1
    for param in macro.params:
        if param not in bindings:
            if param not in macro.defaults:
                raise Unflattenable(f"{call.where}: {call.text} does not pass {param!r}")
            bindings[param] = macro.defaults[param]
    return {param: bindings[param] for param in macro.params}


def _with_caller(
    macro: Macro, body: list[str | Tag], caller: tuple[Tag, list[str | Tag], Tag]
) -> Iterator[str | Tag]:
    opening, inside, closing = caller
    inside_text = "".join(p if isinstance(p, str) else p.text for p in inside)
    free = meta.find_undeclared_variables(parse_tag(inside_text, opening))
    body_text = "".join(p if isinstance(p, str) else p.text for p in body)
    bound = set(macro.params) | {
        node.name
        for node in parse_tag(body_text, macro.opening).find_all(nodes.Name)
        if node.ctx == "store"
    }
    if free & bound:
        raise Unflattenable(
            f"{opening.where}: the body of {opening.text} reads {sorted(free & bound)[0]!r}, "
            f"which macro {macro.name!r} binds"
        )
    _, call_trail = marks(opening)
    end_lead, _ = marks(closing)
    for part in body:
        if isinstance(part, Tag) and part.kind == "var" and "caller" in names_in(part):
            node = output_of(part)
            if not (
                isinstance(node, nodes.Call)
                and isinstance(node.node, nodes.Name)
                and node.node.name == "caller"
                and not node.args
                and not node.kwargs
            ):
                raise Unflattenable(f"{part.where}: {part.text} is not a plain caller()")
            lead, trail = marks(part)
            yield Tag(
                "stmt",
                f"{{%{'-' if lead == '-' else '+'} with {call_trail}%}}",
                part.lineno,
                part.origin,
            )
            yield from inside
            yield Tag(
                "stmt",
                f"{{%{end_lead} endwith {'-' if trail == '-' else '+'}%}}",
                part.lineno,
                part.origin,
            )
        elif isinstance(part, Tag) and "caller" in names_in(part):
            raise Unflattenable(f"{part.where}: {part.text} uses caller other than as caller()")
        else:
            yield part
