"""MJML emails compiled once: ``body.mjml`` becomes a Jinja HTML template at compile time.

Every Jinja tag of the flattened template is swapped for a placeholder word (an HTML comment
where it stands between MJML elements), the markup is checked (:mod:`.mjml_validate`), MRML
(``mjml-python``, no Node) compiles it to HTML once, and the tags go back where MRML wrote
their placeholders. The result is inlined like any ``body.html``, so rendering an MJML email
is one Jinja render. :mod:`.mjml_probe` first tries the result against "render, then
compile"; where a construct cannot be compiled once (a value MRML reads, a loop whose
iterations MRML lays out together) :class:`~emailkit.templating.tags.Unflattenable` says why and
the email is compiled with :func:`to_html` after each render instead.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jinja2 import Environment

from ...errors import TemplateError
from ..flatten import Flattened
from ..tags import Tag, Unflattenable

SUFFIX = ".mjml"
INSTALL = "pip install 'Flask-EmailKit[mjml]'"
_POSITION = re.compile(r" at position (\d+):(\d+)")
_DOCTYPE = re.compile(r"^<!doctype html>", re.IGNORECASE)
# MRML refuses text in <mj-head>, even spaces left between two of its elements by a tag that
# trim_blocks took the newline after ({% include %} on its own line): such gaps become a newline.
_HEAD = re.compile(r"<mj-head\b.*?</mj-head\s*>", re.DOTALL | re.IGNORECASE)
_HEAD_GAP = re.compile(r">[ \t]+<")
_CONTROL = ("for", "if", "elif", "else", "endfor", "endif", "block", "endblock")


def is_mjml(name: str | None) -> bool:
    return bool(name) and str(name).endswith(SUFFIX)


def compiler() -> Callable[[str], str]:
    """MRML's ``mjml2html``, or the error saying how to install it.

    Its ``<!doctype html>`` is written ``<!DOCTYPE html>``: lxml (under premailer) drops the
    lower-case one, and without a doctype browsers lay the email out in quirks mode.
    """
    try:
        from mjml import mjml2html
    except ImportError:
        raise TemplateError(
            "body.mjml needs mjml-python (MRML), which is not installed",
            hint=f"Install it with {INSTALL}",
        ) from None

    def compile_mjml(source: str) -> str:
        source = _HEAD.sub(lambda head: _HEAD_GAP.sub(">\n<", head.group()), source, count=1)
        return _DOCTYPE.sub("<!DOCTYPE html>", mjml2html(source), count=1)

    return compile_mjml


def to_html(source: str, filename: str) -> str:
    """Rendered MJML as HTML: the per-render way, for emails that cannot be compiled once."""
    compile_mjml = compiler()
    try:
        return compile_mjml(source)
    except ValueError as error:
        message = _POSITION.sub("", str(error))
        hint = (
            "Check that every element is closed in every branch of the template, and that "
            "no value holds a control character (MRML refuses them)."
        )
        if "unexpected token" in message:
            hint = (
                "MRML refuses text where only elements may stand (inside <mj-head>, between "
                "sections or columns): check what the template or a value writes there."
            )
        raise TemplateError(
            f"MJML does not compile once rendered: {message}", filename=filename, hint=hint
        ) from None


@dataclass
class _Protected:
    """MJML with placeholders, and where each stretch of it came from."""

    text: str
    starts: list[int]  # offset in ``text`` where each stretch starts
    origins: list[tuple[str, int]]  # (file, line) of that stretch's first character

    def where(self, offset: int) -> tuple[str, int]:
        at = max(0, bisect.bisect_right(self.starts, offset) - 1)
        origin, line = self.origins[at]
        return origin, line + self.text.count("\n", self.starts[at], offset)


def compile_flattened(
    flattened: Flattened, get_source: Callable[[str], str], env: Environment
) -> Flattened:
    """The HTML template MRML makes of ``flattened`` MJML, with its Jinja tags back in place.

    Raises :class:`TemplateError` for MJML mistakes (at their file and line) and
    :class:`Unflattenable` when the template must be compiled after each render.
    """
    # The checker and the probe (with lxml) only compile: rendering from the compile cache
    # imports this module for ``to_html`` and ``is_mjml`` and should not pay for them.
    from . import probe as mjml_probe
    from .validate import MjmlProblem, check

    compile_mjml = compiler()
    flattened = _without_blocks(flattened)
    tags = [part for part in flattened.parts if isinstance(part, Tag) and part.kind != "raw"]
    source = "".join(part if isinstance(part, str) else part.text for part in flattened.parts)
    prefix = "ekmjml"
    while prefix in source:
        prefix += "z"
    token = re.compile(rf"{prefix}\d+x")
    protected = _protect(flattened, prefix, get_source)
    try:
        checked = check(
            protected.text, token, lambda at: "{}, line {}".format(*protected.where(at))
        )
    except MjmlProblem as problem:
        if problem.structural and any(tag.keyword in _CONTROL for tag in tags):
            where = "{}, line {}".format(*protected.where(problem.offset))
            raise Unflattenable(
                f"{where}: {problem.message} once the Jinja tags are set aside (elements "
                "opened and closed in different branches)"
            ) from None
        raise _error(problem.message, problem.hint, protected, problem.offset) from None
    mrml_input = _as_comments(protected.text, checked.between_elements, token)
    try:
        html = compile_mjml(mrml_input)
    except ValueError as error:
        position = _POSITION.search(str(error))
        raise _error(
            f"MJML does not compile: {_POSITION.sub('', str(error))}",
            "Fix the markup near there.",
            protected,
            int(position.group(1)) if position else None,
        ) from None
    compiled = _restore(html, prefix, tags)
    mjml_probe.verify(_indexed(flattened.parts, tags), compiled, tags, env, compile_mjml)
    parts = tuple(tags[part] if isinstance(part, int) else part for part in compiled)
    return Flattened(flattened.prelude, parts, flattened.names)


def _without_blocks(flattened: Flattened) -> Flattened:
    """The template without its ``{% block %}`` tags, which output nothing once inheritance
    is flattened, and which MRML would copy (a block in ``<mj-title>`` ends up in ``<title>``
    and in an ``aria-label``). Kept where a block holds a ``{% set %}``: it keeps that local."""
    depth = 0
    for part in flattened.parts:
        if isinstance(part, Tag):
            depth += {"block": 1, "endblock": -1}.get(part.keyword, 0)
            if depth and part.keyword == "set":
                return flattened
    parts = tuple(
        part
        for part in flattened.parts
        if not (isinstance(part, Tag) and part.keyword in ("block", "endblock"))
    )
    return Flattened(flattened.prelude, parts, flattened.names)


def _protect(flattened: Flattened, prefix: str, get_source: Callable[[str], str]) -> _Protected:
    sources = {name: get_source(name) for name in flattened.names}
    first = flattened.names[0] if flattened.names else ""
    out: list[str] = []
    starts: list[int] = []
    origins: list[tuple[str, int]] = []
    origin, line = first, 1
    length = 0
    index = 0
    for part in flattened.parts:
        if isinstance(part, Tag):
            origin, line = part.origin or origin, part.lineno
            text = part.raw_content if part.kind == "raw" else f"{prefix}{index}x"
            if part.kind != "raw":
                index += 1
        else:
            origin, line = _locate_text(part, origin, line, sources)
            text = part
        starts.append(length)
        origins.append((origin, line))
        out.append(text)
        length += len(text)
        line += (part.text if isinstance(part, Tag) else part).count("\n")
    return _Protected("".join(out), starts or [0], origins or [(first, 1)])


def _locate_text(text: str, origin: str, line: int, sources: dict[str, str]) -> tuple[str, int]:
    """The file and line a stretch of literal text comes from: where the previous tag was,
    unless that file does not hold it (the start of an included file)."""
    if not text.strip() or text in sources.get(origin, ""):
        return origin, line
    for name, source in sources.items():
        at = source.find(text)
        if at >= 0:
            return name, source.count("\n", 0, at) + 1
    return origin, line


def _as_comments(text: str, between: Sequence[int], token: re.Pattern[str]) -> str:
    """Placeholders between MJML elements become comments, which MRML keeps in place."""
    wanted = set(between)
    return token.sub(lambda m: f"<!--{m.group()}-->" if m.start() in wanted else m.group(), text)


def _restore(html: str, prefix: str, tags: Sequence[Tag]) -> list[str | int]:
    """MRML's output as literal text and tag indices, checking MRML kept the structure."""
    found = re.compile(rf"<!--({prefix}(\d+)x)-->|{prefix}(\d+)x")
    out: list[str | int] = []
    seen = [0] * len(tags)
    last_statement = -1
    pos = 0
    for match in found.finditer(html):
        index = int(match.group(2) or match.group(3))
        if index >= len(tags):
            continue
        tag = tags[index]
        seen[index] += 1
        if tag.kind == "stmt":
            if index <= last_statement:
                raise Unflattenable(f"{tag.where}: MJML moved {tag.text} out of its place")
            last_statement = index
        if match.start() > pos:
            out.append(html[pos : match.start()])
        out.append(index)
        pos = match.end()
    if pos < len(html):
        out.append(html[pos:])
    for index, tag in enumerate(tags):
        if tag.kind == "stmt" and seen[index] != 1:
            raise Unflattenable(f"{tag.where}: MJML dropped or copied {tag.text}")
        if tag.kind in ("var", "trans") and seen[index] == 0:
            raise Unflattenable(
                f"{tag.where}: MJML drops {tag.text} (it reads that attribute's value), "
                "so it is compiled after each render"
            )
    return out


def _indexed(parts: Sequence[str | Tag], tags: Sequence[Tag]) -> list[str | int]:
    """The source as literal text (raw blocks included) and tag indices."""
    positions = {id(tag): index for index, tag in enumerate(tags)}
    return [
        part
        if isinstance(part, str)
        else (part.raw_content if part.kind == "raw" else positions[id(part)])
        for part in parts
    ]


def _error(message: str, hint: str, protected: _Protected, offset: int | None) -> TemplateError:
    filename, line = protected.where(offset or 0)
    return TemplateError(
        message, filename=filename, lineno=line if offset is not None else None, hint=hint
    )
