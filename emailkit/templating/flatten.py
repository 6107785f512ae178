"""Flatten a template's inheritance into one source, so CSS can be inlined into it once.

A child's ``{% block %}`` bodies are put in place of the parent's, ``{{ super() }}`` is
replaced by the parent's body and ``{% include "name" %}`` by the included source. The
result keeps every Jinja tag verbatim; only the structure that premailer cannot see through
(the inheritance) is resolved. Anything this cannot reproduce exactly raises
:class:`Unflattenable`, and the caller falls back to inlining after each render.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from jinja2 import TemplateNotFound, TemplateSyntaxError, nodes

from ..errors import TemplateError
from .tags import _LEXER, Tag, Unflattenable, scan, syntax_message

_STRING_ARG = re.compile(r"""\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*(?:with\s+context\s*)?$""")
_SUPER = re.compile(r"^\{\{[-+]?\s*super\(\)\s*[-+]?\}\}$")
_LAST_NEWLINE = re.compile(r"(?:\r\n|\r|\n)\Z")


# Statements whose names outlive an included template unless it is scoped.
_SCOPED = frozenset({"set", "macro", "import", "from"})


@dataclass
class _Block:
    name: str
    opening: Tag
    closing: Tag | None = None
    body: list[str | Tag | _Block] = field(default_factory=list)


@dataclass
class _Parsed:
    name: str
    top: list[str | Tag | _Block]
    blocks: dict[str, _Block]
    extends: str | None
    extends_lineno: int | None


def _parse(name: str, source: str) -> _Parsed:
    top: list[str | Tag | _Block] = []
    stack: list[_Block] = []
    blocks: dict[str, _Block] = {}
    extends: str | None = None
    extends_lineno: int | None = None
    for part in scan(source, name):
        target = stack[-1].body if stack else top
        if isinstance(part, str):
            target.append(part)
            continue
        keyword = part.keyword
        if keyword == "block":
            words = part.body.split()
            if len(words) < 2:
                raise Unflattenable(f"{part.where}: a block without a name")
            block = _Block(words[1], part)
            target.append(block)
            blocks[block.name] = block
            stack.append(block)
        elif keyword == "endblock":
            if not stack:
                raise Unflattenable(f"{part.where}: endblock without block")
            stack.pop().closing = part
        elif keyword == "extends":
            literal = _STRING_ARG.match(part.body[len("extends") :])
            if literal is None:
                raise Unflattenable(f"{part.where}: extends a computed name")
            if stack:
                raise Unflattenable(f"{part.where}: extends inside a block")
            extends = literal.group(1) or literal.group(2)
            extends_lineno = part.lineno
        else:
            target.append(part)
    if stack:
        raise Unflattenable(f"{name}: block {stack[-1].name!r} is never closed")
    return _Parsed(name, top, blocks, extends, extends_lineno)


@dataclass(frozen=True)
class Flattened:
    """A template with its inheritance resolved.

    ``prelude`` holds the statements a child runs before its parent renders (``set``,
    ``import``...), which produce no output; ``parts`` is the document itself;
    ``names`` lists every template that was read.
    """

    prelude: tuple[Tag, ...]
    parts: tuple[str | Tag, ...]
    names: tuple[str, ...]


def flatten(name: str, get_source: Callable[[str], str]) -> Flattened:
    """Resolve ``extends``, ``block``, ``super()`` and literal ``include`` for ``name``."""
    return _Flattener(get_source).run(name)


class _Flattener:
    def __init__(self, get_source: Callable[[str], str]) -> None:
        self._get_source = get_source
        self._names: list[str] = []

    def _load(self, name: str, referrer: str = "", lineno: int | None = None) -> _Parsed:
        try:
            source = self._get_source(name)
        except TemplateNotFound:
            raise TemplateError(
                f"template {name!r} not found",
                filename=referrer or name,
                lineno=lineno,
                hint="Create it under the emails root or fix the name.",
            ) from None
        self._names.append(name)
        # As Jinja does without keep_trailing_newline: a template's last newline is not output.
        source = _LAST_NEWLINE.sub("", source, count=1)
        try:
            return _parse(name, source)
        except TemplateSyntaxError as error:
            raise TemplateError(
                syntax_message(error),
                filename=error.name or name,
                lineno=error.lineno,
                hint="Fix the template syntax at that line.",
            ) from None

    def _exists(self, name: str) -> bool:
        try:
            self._get_source(name)
        except TemplateNotFound:
            return False
        return True

    def run(self, name: str) -> Flattened:
        chain = [self._load(name)]
        while chain[-1].extends is not None:
            child = chain[-1]
            if child.extends in {parsed.name for parsed in chain}:
                raise Unflattenable(f"{name}: templates extend each other in a cycle")
            chain.append(self._load(str(child.extends), child.name, child.extends_lineno))
        self._chain = chain
        prelude: list[Tag] = []
        for child in chain[:-1]:
            prelude.extend(self._child_prelude(child))
        parts = list(self._emit(chain[-1].top))
        return Flattened(tuple(prelude), tuple(parts), tuple(dict.fromkeys(self._names)))

    @staticmethod
    def _child_prelude(child: _Parsed) -> Iterator[Tag]:
        """A child's top level outputs nothing; keep only its silent statements."""
        for part in child.top:
            if isinstance(part, (str, _Block)):
                if isinstance(part, str) and part.strip():
                    raise Unflattenable(f"{child.name}: text outside blocks in a child template")
                continue
            if part.kind == "comment":
                continue
            if part.kind == "stmt" and part.keyword == "set" and "=" in part.body:
                yield part
            elif part.kind == "stmt" and part.keyword in ("from", "import"):
                yield part  # outputs nothing; components.expand_components resolves it
            elif part.kind == "stmt" and part.keyword == "extends":
                continue
            else:
                raise Unflattenable(f"{part.where}: {part.text} outside blocks in a child template")

    def _emit(self, parts: list[str | Tag | _Block]) -> Iterator[str | Tag]:
        for part in parts:
            if isinstance(part, _Block):
                yield from self._emit_block(part.name)
            elif isinstance(part, Tag) and part.keyword == "include":
                yield from self._emit_include(part)
            else:
                yield part

    def _emit_block(self, name: str) -> Iterator[str | Tag]:
        definitions = [parsed.blocks[name] for parsed in self._chain if name in parsed.blocks]
        chosen = definitions[0]
        if chosen.closing is None:  # pragma: no cover - _parse guarantees closing tags
            raise Unflattenable(f"block {name!r} is never closed")
        yield chosen.opening
        yield from self._emit_body(definitions)
        yield chosen.closing

    def _emit_body(self, definitions: list[_Block]) -> Iterator[str | Tag]:
        for part in definitions[0].body:
            if isinstance(part, Tag) and part.kind == "var" and _SUPER.match(part.text):
                if len(definitions) < 2:
                    raise Unflattenable(
                        f"{part.where}: super() in block {definitions[0].name!r}, "
                        "which no parent defines"
                    )
                yield from self._emit_body(definitions[1:])
            elif isinstance(part, _Block):
                yield from self._emit_block(part.name)
            elif isinstance(part, Tag) and part.keyword == "include":
                yield from self._emit_include(part)
            else:
                yield part

    def _emit_include(self, tag: Tag) -> Iterator[str | Tag]:
        candidates, ignore_missing = _include_arguments(tag)
        name = next((n for n in candidates if self._exists(n)), None)
        if name is None:
            if ignore_missing:
                return
            name = candidates[0]  # _load reports it missing, naming the referrer and line
        if len(self._names) > 64:
            raise Unflattenable(f"{tag.where}: includes nest too deep (a cycle?)")
        included = self._load(name, tag.origin, tag.lineno)
        if included.extends is not None or included.blocks:
            raise Unflattenable(f"{name}: an included template with blocks or extends")
        left = tag.text[2] if tag.text[2:3] in ("-", "+") else ""
        right = tag.text[-3] if tag.text[-3:-2] in ("-", "+") else ""
        if any(isinstance(part, Tag) and part.keyword in _SCOPED for part in included.top):
            # A with-scope keeps the included template's assignments from leaking, as include does.
            yield Tag("stmt", "{%" + left + " with %}", tag.lineno, tag.origin)
            yield from self._emit(included.top)
            yield Tag("stmt", "{% endwith " + right + "%}", tag.lineno, tag.origin)
            return
        # Nothing to scope: comments in the include's place output nothing and take its
        # whitespace control (trim_blocks and lstrip_blocks apply to comments too), so no
        # statement the author did not write appears in the template or in a reason.
        label = tag.body.replace("#", "")
        yield Tag("comment", "{#" + left + " " + label + " #}", tag.lineno, tag.origin)
        yield from self._emit(included.top)
        yield Tag("comment", "{# end of " + label + " " + right + "#}", tag.lineno, tag.origin)


def _include_arguments(tag: Tag) -> tuple[list[str], bool]:
    """The names an include tries, in order (a literal name or list), and ``ignore missing``."""
    try:
        node = _LEXER.parse(tag.text).body[0]
    except TemplateSyntaxError as error:
        raise Unflattenable(f"{tag.where}: {tag.text}: {error.message}") from None
    assert isinstance(node, nodes.Include)
    try:
        value = node.template.as_const()
    except nodes.Impossible:
        value = None
    names = [value] if isinstance(value, str) else value
    if (
        not isinstance(names, (list, tuple))
        or not names
        or not all(isinstance(n, str) for n in names)
    ):
        raise Unflattenable(f"{tag.where}: {tag.text} includes a name computed at render time")
    return list(names), node.ignore_missing
