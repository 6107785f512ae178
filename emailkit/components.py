"""Components: Jinja macros expanded in place, so the inliner sees the markup they output.

A team keeps its buttons, callouts and columns as macros in ``_components/``
(``{% from "_components/button.html" import button %}``). A call, ``{{ button(url, "Go") }}``
or a ``{% call callout("info") %}...{% endcall %}`` block, becomes the macro's body inside a
``{% with %}`` that binds its parameters, and ``{{ caller() }}`` becomes the call block's body;
whitespace-control marks are chosen so the expansion renders the same text as the call. What
cannot be expanded exactly (a macro used inside an expression, a computed default, ``varargs``,
a caller taking arguments, a call block reading a name the macro binds) raises
:class:`~emailkit.flatten.Unflattenable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from jinja2 import Environment, TemplateSyntaxError, meta, nodes
from markupsafe import escape

from .flatten import Flattened, Tag, Unflattenable, scan

_PARSER = Environment(extensions=["jinja2.ext.i18n"])
# Names a macro body may read besides its parameters: Jinja's and emailkit's globals.
_GLOBALS = {*_PARSER.globals, "_", "gettext", "ngettext", "pgettext", "npgettext"}
_DEPTH = 16
_NOT_CONSTANT = object()


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...]
    defaults: dict[str, str]
    opening: Tag
    body: tuple[str | Tag, ...]
    closing: Tag
    with_context: bool


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
            macros.update(_imported(tag, get_source))
    parts = _take_local_macros(parts, macros)
    if not macros:
        return parts
    expanded = list(_expand(parts, macros, 0))
    for part in expanded:
        if isinstance(part, Tag) and part.kind in ("var", "stmt") and part.keyword != "macro":
            used = _names(part) & {name.split(".")[0] for name in macros}
            if used and part.keyword not in ("from", "import"):
                raise Unflattenable(f"{part.where}: {part.text} uses a macro in a way not expanded")
    return [_neutral(p) if _imports_macros(p) else p for p in expanded]


def _imports_macros(part: str | Tag) -> bool:
    return isinstance(part, Tag) and part.kind == "stmt" and part.keyword in ("from", "import")


def _neutral(tag: str | Tag) -> Tag:
    """A statement outputting nothing with the same whitespace behaviour as ``tag``."""
    assert isinstance(tag, Tag)
    lead, trail = _marks(tag)
    return Tag(
        "stmt", f"{{%{lead} set __emailkit_expanded = none {trail}%}}", tag.lineno, tag.origin
    )


def _marks(tag: Tag) -> tuple[str, str]:
    inner = tag.text[2:-2]
    lead = inner[0] if inner[:1] in ("-", "+") else ""
    trail = inner[-1] if inner[-1:] in ("-", "+") else ""
    return lead, trail


def _parse(text: str, tag: Tag) -> nodes.Template:
    try:
        return _PARSER.parse(text)
    except TemplateSyntaxError as error:
        raise Unflattenable(f"{tag.where}: {tag.text}: {error.message}") from None


def _names(tag: Tag) -> set[str]:
    return {value for _, kind, value in _PARSER.lex(tag.text) if kind == "name"}


def _imported(tag: Tag, get_source: Callable[[str], str]) -> dict[str, Macro]:
    node = _parse(tag.text, tag).body[0]
    if not isinstance(node, (nodes.FromImport, nodes.Import)):
        raise Unflattenable(f"{tag.where}: {tag.text} is not a plain import")
    if not isinstance(node.template, nodes.Const) or not isinstance(node.template.value, str):
        raise Unflattenable(f"{tag.where}: {tag.text} imports a computed name")
    name = node.template.value
    defined = {m.name: m for m in _macros_in(scan(get_source(name), name), node.with_context)}
    if isinstance(node, nodes.Import):
        return {f"{node.target}.{key}": macro for key, macro in defined.items()}
    found = {}
    for entry in node.names:
        original, alias = entry if isinstance(entry, tuple) else (entry, entry)
        if original not in defined:
            raise Unflattenable(f"{tag.where}: {name} defines no macro {original!r}")
        found[alias] = defined[original]
    return found


def _macros_in(parts: list[str | Tag], with_context: bool) -> Iterator[Macro]:
    index = 0
    while index < len(parts):
        part = parts[index]
        if isinstance(part, Tag) and part.keyword == "macro":
            end = _closing(parts, index, "macro", "endmacro")
            yield _macro(part, parts[index + 1 : end], parts[end], with_context)  # type: ignore[arg-type]
            index = end
        index += 1


def _closing(parts: list[str | Tag], start: int, opener: str, closer: str) -> int:
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


def _macro(opening: Tag, body: list[str | Tag], closing: Tag, with_context: bool) -> Macro:
    node = _parse(opening.text + closing.text, opening).body[0]
    assert isinstance(node, nodes.Macro)
    params = tuple(arg.name for arg in node.args)
    texts = _arguments(opening, node.name)
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
    free = meta.find_undeclared_variables(_parse(body_text, opening))
    if free & {"varargs", "kwargs"}:
        raise Unflattenable(f"{opening.where}: macro {node.name!r} reads varargs or kwargs")
    strangers = free - set(params) - _GLOBALS - {"caller"}
    if strangers and not with_context:
        raise Unflattenable(
            f"{opening.where}: macro {node.name!r} reads {sorted(strangers)[0]!r}, "
            "which it is not passed"
        )
    return Macro(node.name, params, defaults, opening, tuple(body), closing, with_context)


def _take_local_macros(parts: list[str | Tag], macros: dict[str, Macro]) -> list[str | Tag]:
    """Macros defined in the template itself join ``macros``; each definition becomes a
    statement that outputs nothing."""
    out: list[str | Tag] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        if isinstance(part, Tag) and part.keyword == "macro":
            end = _closing(parts, index, "macro", "endmacro")
            closing = parts[end]
            assert isinstance(closing, Tag)
            macro = _macro(part, parts[index + 1 : end], closing, with_context=True)
            macros[macro.name] = macro
            lead, _ = _marks(part)
            _, trail = _marks(closing)
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


def _arguments(tag: Tag, callee: str) -> list[str]:
    """The argument texts of the first call in ``tag`` after the name ``callee``."""
    tokens = list(_PARSER.lex(tag.text))
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


def _output_of(tag: Tag) -> nodes.Node | None:
    """The one expression a ``{{ ... }}`` tag outputs."""
    output = _parse(tag.text, tag).body[0]
    if isinstance(output, nodes.Output) and len(output.nodes) == 1:
        return output.nodes[0]
    return None


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
        if part.kind == "var" and (_names(part) & {n.split(".")[0] for n in macros}):
            expression = _output_of(part)
            callee = None if expression is None else _callee(expression, macros)
            if callee is None:
                yield part
                continue
            lead, trail = _marks(part)
            yield from _call_site(
                macros[callee],
                callee,
                part,
                macros,
                depth,
                outer=("-" if lead == "-" else "+", "-" if trail == "-" else "+"),
            )
        elif part.keyword == "call":
            end = _closing(parts, index - 1, "call", "endcall")
            closing = parts[end]
            assert isinstance(closing, Tag)
            block = _parse(part.text + "{% endcall %}", part).body[0]
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
                outer=(_marks(part)[0], _marks(closing)[1]),
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
    bindings = _bind(macro, call, _arguments(call, callee))
    body = list(macro.body)
    if caller is not None:
        body = list(_with_caller(macro, body, caller))
    elif any(isinstance(p, Tag) and "caller" in _names(p) for p in body):
        raise Unflattenable(
            f"{call.where}: macro {macro.name!r} calls caller() but {call.text} passes none"
        )
    body = _with_constants(body, bindings)
    _, macro_trail = _marks(macro.opening)
    end_lead, _ = _marks(macro.closing)
    assignments = ", ".join(f"{name} = ({text})" for name, text in bindings.items())
    yield Tag(
        "stmt", f"{{%{outer[0]} with {assignments} {macro_trail}%}}", call.lineno, call.origin
    )
    yield from _expand(body, macros, depth + 1)
    yield Tag("stmt", f"{{%{end_lead} endwith {outer[1]}%}}", call.lineno, call.origin)


def _constant(text: str) -> object:
    """The value of an argument that is a literal, else ``_NOT_CONSTANT``."""
    try:
        output = _PARSER.parse("{{ " + text + " }}").body[0]
        assert isinstance(output, nodes.Output) and len(output.nodes) == 1
        return output.nodes[0].as_const()
    except Exception:
        return _NOT_CONSTANT


def _with_constants(body: list[str | Tag], bindings: dict[str, str]) -> list[str | Tag]:
    """``{{ param }}`` written as its value where the call passes a literal, so a variant
    class (``class="button {{ kind }}"``) is plain markup the inliner can match."""
    text = "".join(p if isinstance(p, str) else p.text for p in body)
    stored = {n.name for n in _PARSER.parse(text).find_all(nodes.Name) if n.ctx != "load"}
    constants = {
        name: value
        for name, argument in bindings.items()
        if name not in stored and (value := _constant(argument)) is not _NOT_CONSTANT
    }
    if not constants:
        return body
    out: list[str | Tag] = []
    for part in body:
        node = _output_of(part) if isinstance(part, Tag) and part.kind == "var" else None
        if (
            isinstance(part, Tag)
            and isinstance(node, nodes.Name)
            and _marks(part) == ("", "")
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
    free = meta.find_undeclared_variables(_parse(inside_text, opening))
    body_text = "".join(p if isinstance(p, str) else p.text for p in body)
    bound = set(macro.params) | {
        node.name
        for node in _parse(body_text, macro.opening).find_all(nodes.Name)
        if node.ctx == "store"
    }
    if free & bound:
        raise Unflattenable(
            f"{opening.where}: the body of {opening.text} reads {sorted(free & bound)[0]!r}, "
            f"which macro {macro.name!r} binds"
        )
    _, call_trail = _marks(opening)
    end_lead, _ = _marks(closing)
    for part in body:
        if isinstance(part, Tag) and part.kind == "var" and "caller" in _names(part):
            node = _output_of(part)
            if not (
                isinstance(node, nodes.Call)
                and isinstance(node.node, nodes.Name)
                and node.node.name == "caller"
                and not node.args
                and not node.kwargs
            ):
                raise Unflattenable(f"{part.where}: {part.text} is not a plain caller()")
            lead, trail = _marks(part)
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
        elif isinstance(part, Tag) and "caller" in _names(part):
            raise Unflattenable(f"{part.where}: {part.text} uses caller other than as caller()")
        else:
            yield part
