"""What a compiled text template does at render time (see :mod:`emailkit.templating.text.template`).

Values are checked as they are printed (:func:`text_value`): one that inscriptis would read
differently from its plain text (markup, entities, control characters) raises
:class:`Irregular` and that message is converted per render. Whitespace around values
collapses as inscriptis collapses it: spaces next to a tag and whitespace inside values become
soft spaces, which :func:`finish` turns into one space inside a line and none at its start.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from jinja2 import Template

from .html2text import MARKED_LINK, OPEN, html_to_text, spell_link, tidy

logger = logging.getLogger("emailkit")

SOFT = "\ue003"
_OTHER_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Characters that do not reach the text as they are: "&" (inscriptis unescapes entities a
# second time), controls, our link and soft-space markers, surrogates and non-characters.
_IRREGULAR = re.compile(
    "[&\x00-\x08\x0b\x0c\x0e-\x1b\x7f-\x84\x86-\x9f\ue000-\ue00f\ud800-\udfff\ufffe\uffff]"
)
# _IRREGULAR and every whitespace character but the space (those str.isspace() knows).
_SPECIAL = re.compile(
    _IRREGULAR.pattern[:-1]
    + "\t\n\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
# Every character up to U+3000 that str.isspace() knows (a literal: scanning 12,289 code
# points cost each new process ~1 ms; tests compare it with the scan).
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_SOFTEN = dict.fromkeys(map(ord, _WHITESPACE), SOFT)


class Irregular(Exception):
    """A value that the compiled text cannot show as inscriptis would; convert per render."""


def _checker(name: str, *, solid_start: bool, solid_end: bool) -> Callable[[Any], str]:
    """A check of the values printed where the text has a space (or a line's start) before
    (``solid_start``) or after (``solid_end``) them: there a value must not begin or end
    with whitespace, nor be empty if both, for the spaces to come out as inscriptis'."""

    def check(value: Any) -> str:
        if type(value) is str:
            text = value
        elif type(value) is int:  # digits and a sign: nothing to check
            return str(value)
        elif hasattr(value, "__html__"):
            raise Irregular(value)  # markup: inscriptis would read its tags
        else:
            text = str(value)
        if not text:
            if solid_start and solid_end:
                raise Irregular(value)
            return text
        # The common case, one regex over a class of characters: no entity, control or
        # whitespace other than single spaces inside.
        if (
            _SPECIAL.search(text) is None
            and text[0] != " "
            and text[-1] != " "
            and "  " not in text
        ):
            return text
        if _IRREGULAR.search(text):
            raise Irregular(value)
        if (solid_start and text[0].isspace()) or (solid_end and text[-1].isspace()):
            raise Irregular(value)
        return text.translate(_SOFTEN)  # runs of whitespace collapse in finish()

    check.__name__ = name
    return check


# The widest value the compiler tried in a table with several columns: up to this width,
# it proved the layout of the text around the value does not depend on it.
NARROW = 160


def narrow(value: str) -> str:
    """A value in a table with several columns no wider than the compiler tried."""
    if len(value) > NARROW:
        raise Irregular(value)
    return value


text_value = _checker("text_value", solid_start=False, solid_end=False)
CHECKS = {
    "_ek_narrow": narrow,
    "_ek_text": text_value,
    "_ek_start": _checker("_ek_start", solid_start=True, solid_end=False),
    "_ek_end": _checker("_ek_end", solid_start=False, solid_end=True),
    "_ek_solid": _checker("_ek_solid", solid_start=True, solid_end=True),
}


def _spell_compiled(match: re.Match[str]) -> str:
    target = match.group(2).strip()
    if not target or target.startswith("#"):
        raise Irregular(target)  # inscriptis would not have marked this link at all
    return spell_link(match.group(1), target)


def finish(rendered: str) -> str:
    """The text part from a render of the compiled text template: what :func:`tidy` does
    to inscriptis' output, knowing that the template's own lines have no trailing spaces."""
    if SOFT in rendered:
        rendered = collapse_soft(rendered)
    if _OTHER_LINE_BREAKS.search(rendered):
        return tidy(rendered, _spell_compiled)  # str.splitlines() breaks there too
    if OPEN in rendered:
        rendered = MARKED_LINK.sub(_spell_compiled, rendered)
    # Whitespace reaches a line's end only as spaces: inscriptis (and the soft spaces
    # above) turn any other whitespace into one, and the template's lines were stripped.
    # (str methods, not regexes: a regex for trailing spaces retries at every space of a
    # padded table row, which cost more than the rest of the render.)
    if " \n" in rendered or rendered.endswith(" "):
        rendered = "\n".join([line.rstrip(" ") for line in rendered.split("\n")])
    while "\n\n\n" in rendered:
        rendered = rendered.replace("\n\n\n", "\n\n")
    return rendered.strip("\n") + "\n"


def collapse_soft(text: str) -> str:
    """Soft spaces as inscriptis lays whitespace out: at a line's start, the indentation
    (plain spaces) stays and the run of whitespace after it goes; elsewhere a run of spaces
    holding a soft space is one space. Found with ``str.find``: the texts hold few soft
    spaces and long runs of padding, where a regex retries at every space."""
    out: list[str] = []
    done = 0
    soft = text.find(SOFT)
    while soft != -1:
        start = soft
        while start > done and text[start - 1] == " ":
            start -= 1
        end = soft + 1
        while end < len(text) and text[end] in _RUN:
            end += 1
        out.append(text[done:start])
        out.append(text[start:soft] if start == 0 or text[start - 1] == "\n" else " ")
        done = end
        soft = text.find(SOFT, end)
    out.append(text[done:])
    return "".join(out)


_RUN = frozenset(" " + SOFT)


class GeneratedText:
    """The compiled text template of one email, checked against the per-render conversion
    on its first render (a mismatch turns it off for good, with a warning). A template
    checked once (``verified``, kept in the compile cache) skips that: the check catches
    a template shape the compiler gets wrong, which one render shows."""

    def __init__(
        self,
        template: Template,
        *,
        verified: bool = False,
        on_verified: Callable[[], None] | None = None,
    ) -> None:
        self.template = template
        self.verified = verified
        self.mismatch: str | None = None
        self._on_verified = on_verified

    def render(self, context: dict[str, Any], html: str) -> str | None:
        """The text of ``html`` rendered with ``context``, or None when this message's
        text must come from converting ``html``."""
        if self.mismatch is not None:
            return None
        if any(hasattr(value, "__next__") for value in context.values()):
            return None  # the HTML render may have consumed it
        try:
            text = finish(self.template.render(context))
        except Irregular:
            return None
        if not self.verified:
            expected = html_to_text(html)
            if text != expected:
                self.mismatch = _first_difference(text, expected)
                logger.warning(
                    "%s: the generated text differs from the HTML's (%s); converting the "
                    "HTML on every render instead",
                    self.template.name,
                    self.mismatch,
                )
                return expected
            self.verified = True
            if self._on_verified is not None:
                self._on_verified()
        return text


def _first_difference(got: str, expected: str) -> str:
    pairs = zip(got.split("\n"), expected.split("\n"), strict=False)
    for number, (ours, theirs) in enumerate(pairs, 1):
        if ours != theirs:
            return f"line {number}: {ours!r} instead of {theirs!r}"
    return "the number of lines differs"
