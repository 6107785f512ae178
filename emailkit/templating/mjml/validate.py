"""Checking MJML markup before MRML compiles it: unknown elements and attributes, elements
where MJML does not allow them, tags left open.

MRML renders whatever it is given, typos included, so this is where an MJML mistake becomes
an error at its file and line. It reads MJML with its Jinja tags swapped for placeholder
words (see :mod:`emailkit.templating.mjml.compiler`) and says which placeholders stand between MJML
elements rather than in text or attributes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..tags import Unflattenable
from .spec import ATTRIBUTES, CHILDREN, ENDING_TAGS, ENUMS, EXTRA_ELEMENTS, GLOBAL_ATTRIBUTES

_TAG = re.compile(r"<(/?)([A-Za-z][\w:.-]*)")
_ATTRIBUTE = re.compile(r"""\s*([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_TAG_END = re.compile(r"\s*(/?)>")
_MJML_TAG = re.compile(r"</?mj(?:ml|-[\w-]+)")


class MjmlProblem(Exception):
    """A mistake in the MJML at ``offset`` of the checked source; the message says what."""

    def __init__(self, message: str, offset: int, hint: str, *, structural: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint
        self.structural = structural  # an element left open or closed twice


@dataclass
class _Open:
    name: str
    offset: int


@dataclass
class Checked:
    """What the check learnt: the offsets of placeholders standing between elements."""

    between_elements: list[int] = field(default_factory=list)


def check(source: str, token: re.Pattern[str], where: Callable[[int], str]) -> Checked:
    """Check ``source`` (MJML whose Jinja tags are ``token`` words); ``where`` names an
    offset's file and line for messages about an earlier element. Raises
    :class:`MjmlProblem`, or :class:`~emailkit.templating.tags.Unflattenable` when a placeholder
    stands for an element or attribute name (the MJML is only known after rendering)."""
    checked = Checked()
    stack: list[_Open] = []
    pos = 0
    root_seen = False
    while True:
        if stack and stack[-1].name in ENDING_TAGS:
            closing = re.compile(rf"</{re.escape(stack[-1].name)}\s*>").search(source, pos)
            if closing is None:
                opened = stack[-1]
                raise MjmlProblem(
                    f"<{opened.name}> is never closed",
                    opened.offset,
                    f"Add </{opened.name}> after its content.",
                    structural=True,
                )
            inner = _MJML_TAG.search(source, pos, closing.start())
            if inner is not None:
                opened = stack[-1]
                raise MjmlProblem(
                    f"<{opened.name}> is not closed before {inner.group()}",
                    opened.offset,
                    f"Close it with </{opened.name}>: its content is HTML, not MJML.",
                )
            stack.pop()
            pos = closing.end()
            continue
        start = source.find("<", pos)
        _between(source[pos : len(source) if start < 0 else start], pos, stack, token, checked)
        if start < 0:
            break
        if source.startswith("<!--", start):
            end = source.find("-->", start + 4)
            pos = len(source) if end < 0 else end + 3
            continue
        if source.startswith(("<!", "<?"), start):
            end = source.find(">", start)
            pos = len(source) if end < 0 else end + 1
            continue
        match = _TAG.match(source, start)
        if match is None:
            raise MjmlProblem(
                "a '<' that starts no element", start, "Write &lt; for a literal '<'."
            )
        closing_tag, name = match.group(1) == "/", match.group(2)
        if token.search(name):
            raise Unflattenable(f"a Jinja tag names the MJML element at <{name}")
        if closing_tag:
            end = source.find(">", match.end())
            pos = len(source) if end < 0 else end + 1
            _close(name, start, stack, where)
            continue
        attributes, pos, self_closing = _attributes(source, match.end(), name, token)
        if name != "mjml" and not root_seen:
            raise MjmlProblem(
                f"<{name}> outside <mjml>", start, "Put everything inside <mjml>...</mjml>."
            )
        root_seen = True
        _check_element(name, attributes, stack, start, token)
        if not self_closing:
            stack.append(_Open(name, start))
    if stack:
        opened = stack[-1]
        raise MjmlProblem(
            f"<{opened.name}> is never closed",
            opened.offset,
            f"Add </{opened.name}>.",
            structural=True,
        )
    if not root_seen:
        raise MjmlProblem("no <mjml> element", 0, "Start body.mjml with <mjml><mj-body>.")
    return checked


def _between(
    text: str, offset: int, stack: list[_Open], token: re.Pattern[str], checked: Checked
) -> None:
    """Text between elements: only placeholders and whitespace are allowed there."""
    if not stack or not text:
        return
    for match in token.finditer(text):
        checked.between_elements.append(offset + match.start())
    leftover = token.sub("", text).strip()
    if leftover:
        at = offset + text.index(leftover[0])
        raise MjmlProblem(
            f"text {leftover[:30]!r} directly inside <{stack[-1].name}>",
            at,
            "Put text in an <mj-text> (or markup in an <mj-raw>).",
        )


def _attributes(
    source: str, pos: int, name: str, token: re.Pattern[str]
) -> tuple[list[tuple[str, str, int]], int, bool]:
    found: list[tuple[str, str, int]] = []
    while True:
        end = _TAG_END.match(source, pos)
        if end is not None:
            return found, end.end(), bool(end.group(1))
        match = _ATTRIBUTE.match(source, pos)
        if match is None or match.end() == pos:
            raise MjmlProblem(
                f"<{name}> is not closed with '>'", pos, "Close the tag, or fix its quotes."
            )
        attribute = match.group(1)
        if token.search(attribute):
            raise Unflattenable(f"a Jinja tag writes attribute names of <{name}>")
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        found.append((attribute, value, match.start(1)))
        pos = match.end()


def _check_element(
    name: str,
    attributes: list[tuple[str, str, int]],
    stack: list[_Open],
    offset: int,
    token: re.Pattern[str],
) -> None:
    parent = stack[-1].name if stack else None
    if name == "mj-include":
        raise MjmlProblem(
            "<mj-include> is not supported",
            offset,
            'Use Jinja\'s {% include "_partials/name.mjml" %} instead.',
        )
    if name not in ATTRIBUTES and name not in EXTRA_ELEMENTS:
        known = name.startswith("mj-")
        raise MjmlProblem(
            f"unknown MJML element <{name}>" if known else f"<{name}> outside an MJML element",
            offset,
            _did_you_mean(name, [*ATTRIBUTES, *EXTRA_ELEMENTS])
            + "Fix the name (see https://documentation.mjml.io)."
            if known
            else "Put HTML inside an <mj-text> or <mj-raw>.",
        )
    if parent is not None and parent != "mj-attributes":
        allowed = CHILDREN.get(parent, frozenset())
        if name not in allowed and name not in EXTRA_ELEMENTS:
            places = sorted(p for p, children in CHILDREN.items() if name in children)
            raise MjmlProblem(
                f"<{name}> cannot be used inside <{parent}>",
                offset,
                f"Move it inside {', '.join(f'<{p}>' for p in places)}."
                if places
                else "Move it elsewhere.",
            )
    if name == "mj-class" or (name in EXTRA_ELEMENTS and EXTRA_ELEMENTS[name] is None):
        return
    allowed_attributes = ATTRIBUTES.get(name) or EXTRA_ELEMENTS.get(name) or frozenset()
    for attribute, value, at in attributes:
        if attribute not in allowed_attributes and attribute not in GLOBAL_ATTRIBUTES:
            raise MjmlProblem(
                f"<{name}> has no attribute {attribute!r}",
                at,
                _did_you_mean(attribute, allowed_attributes)
                + "Fix the name; "
                + (
                    f"<{name}> takes {', '.join(sorted(allowed_attributes))}."
                    if allowed_attributes
                    else f"<{name}> takes none but css-class and mj-class."
                ),
            )
        choices = ENUMS.get((name, attribute))
        if choices is not None and value not in choices and not token.search(value):
            raise MjmlProblem(
                f"<{name} {attribute}={value!r}> is not a valid value",
                at,
                f"Use one of {', '.join(repr(c) for c in choices if c)}.",
            )


def _did_you_mean(name: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    return f"Did you mean {close[0]!r}? " if close else ""


def _close(name: str, offset: int, stack: list[_Open], where: Callable[[int], str]) -> None:
    if not stack:
        raise MjmlProblem(f"</{name}> closes nothing", offset, "Remove it.", structural=True)
    opened = stack[-1]
    if opened.name != name:
        raise MjmlProblem(
            f"</{name}> where <{opened.name}> (opened at {where(opened.offset)}) must close",
            offset,
            f"Close <{opened.name}> first, or fix the tag names.",
            structural=True,
        )
    stack.pop()
