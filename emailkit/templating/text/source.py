"""The text template's source, written from the laid-out text: literal text as it is, each Jinja
tag with whitespace control off and its value checked, and the checks that every tag kept its
place (or vanished with its whole block)."""

from __future__ import annotations

import re

from ..tags import JINJA_OPENER, Tag
from .values import SOFT

_OPENERS = {"for", "if", "with", "filter", "macro", "call", "block", "autoescape", "trans"}
_MIDDLES = {"else", "elif"}


class NotCompilable(Exception):
    """The text of this HTML template cannot be a template; the message says why."""


def as_written(tag: Tag) -> str:
    # The tag as written: line numbers of the inlined template are not the file's.
    return tag.text


INDENT = "\x00indent\x00"


def check_order(tags: list[Tag], found: list[int]) -> None:
    """Every tag shows once at most, statements in their order, and each value between the
    same statements as in the HTML (so in the same loop and branch)."""
    if len(found) != len(set(found)):
        raise NotCompilable("the HTML parser copied a tag")
    statements = [index for index in found if tags[index].kind == "stmt"]
    if statements != sorted(statements):
        raise NotCompilable("the HTML parser moved a statement")
    surviving = set(statements)
    expected: dict[int, int] = {}
    last = -1
    for index in range(len(tags)):
        if index in surviving:
            last = index
        else:
            expected[index] = last
    last = -1
    for index in found:
        if index in surviving:
            last = index
        elif expected[index] != last:
            raise NotCompilable(f"{as_written(tags[index])} moves out of its block in the text")


def _delta(tag: Tag) -> int:
    keyword = tag.keyword
    if keyword in _OPENERS:
        return 1
    if keyword.startswith("end"):
        return -1
    return 0


def check_vanished(tags: list[Tag], found: set[int]) -> None:
    """Statements hidden from the text (in hidden elements, comments, the head) must go
    as whole blocks: an ``if`` with its ``endif``, never a ``set`` alone."""
    depth = 0
    run: list[Tag] = []
    for index, tag in enumerate(tags):
        if tag.kind != "stmt":
            continue
        if index in found:
            if run and depth != 0:
                raise NotCompilable(f"{as_written(run[0])} is hidden but its block is not")
            run, depth = [], 0
            continue
        if tag.keyword == "set" or (tag.keyword in _MIDDLES and depth == 0):
            raise NotCompilable(f"{as_written(tag)} is hidden from the text but not its block")
        run.append(tag)
        depth += _delta(tag)
        if depth < 0:
            raise NotCompilable(f"{as_written(tag)} is hidden from the text but not its block")
    if run and depth != 0:
        raise NotCompilable(f"{as_written(run[0])} is hidden but its block is not")


def write_template(
    laid_out: str,
    token: re.Pattern[str],
    tags: list[Tag],
    columned: frozenset[int] | set[int] = frozenset(),
    *,
    lenient: bool = False,
) -> str:
    out: list[str] = []
    for line in laid_out.split("\n"):
        matches = list(token.finditer(line))
        kinds = {tags[int(m.group(1))].kind == "stmt" for m in matches}
        only_tags = bool(matches) and not token.sub("", line).strip()
        if only_tags and kinds == {True}:
            out.extend(tag_source(tags[int(m.group(1))]) for m in matches)
            continue
        if only_tags and len(kinds) > 1 and not lenient:
            first = tags[int(matches[0].group(1))]
            raise NotCompilable(
                f"{as_written(first)} opens a line of tags only, which may be empty"
            )
        pos = 0
        for number, match in enumerate(matches):
            tag = tags[int(match.group(1))]
            before = line[pos : match.start()]
            previous = tags[int(matches[number - 1].group(1))] if number else None
            if pos > 0 or before.strip():  # spaces opening a line are indentation: kept
                before = _soften_edges(
                    before,
                    left=previous is not None and previous.kind == "stmt",
                    right=tag.kind == "stmt",
                )
            out.append(_literal(before))
            if tag.kind == "table":
                out.append(tag.text.replace(INDENT, repr(before)))
                pos = match.end()
                continue
            after = line[match.end() : match.end() + 1]
            following = number + 1 < len(matches) and matches[number + 1].start() == match.end()
            out.append(
                tag_source(
                    tag,
                    solid_start=not before.strip(" ") or before[-1] in (" ", SOFT),
                    # A line of values alone must not be empty: an empty element has no line.
                    solid_end=after == " " or following or only_tags,
                    narrow=int(match.group(1)) in columned,
                )
            )
            pos = match.end()
        rest = line[pos:]
        last = tags[int(matches[-1].group(1))] if matches else None
        if last is not None and last.kind == "stmt":
            rest = _soften_edges(rest, left=True, right=False)
        out.append(_literal(rest))
        out.append("\n")
    return "".join(out)


def _soften_edges(text: str, *, left: bool, right: bool) -> str:
    """Spaces next to a tag become soft: they collapse with what the tag prints."""
    if right:
        stripped = text.rstrip(" ")
        text = stripped + SOFT * (len(text) - len(stripped))
    if left:
        stripped = text.lstrip(" ")
        text = SOFT * (len(text) - len(stripped)) + stripped
    return text


def _literal(text: str) -> str:
    if not text:
        return ""
    if "{" not in text and not JINJA_OPENER.search(text):
        return text
    escaped = text.encode("unicode-escape").decode("ascii").replace("'", "\\'")
    return "{{ '" + escaped + "' }}"


def tag_source(
    tag: Tag, *, solid_start: bool = False, solid_end: bool = False, narrow: bool = False
) -> str:
    """The tag for the text template: whitespace control off, values checked (see
    :func:`_checker`; in a table with several columns, no wider than the compiler tried)."""
    check = {
        (False, False): "_ek_text",
        (True, False): "_ek_start",
        (False, True): "_ek_end",
        (True, True): "_ek_solid",
    }[solid_start, solid_end] + ("|_ek_narrow" if narrow else "")
    if tag.kind == "var":
        return "{{ (" + tag.body + ")|" + check + " }}"
    if tag.kind == "trans":
        return "{%+ filter " + check + " +%}" + tag.text + "{%+ endfilter +%}"
    return "{%+ " + tag.body + " +%}"
