"""Trying an MJML template compiled once against compiling after each render.

MJML is not a plain HTML transform: a section shares its width among however many columns
a loop writes, an image reads its ``width``, a button its ``href``. So before an MJML
template is compiled once, both ways are rendered side by side over probe scenarios: every
loop run 0 to 3 times (each loop alone, and all together), every condition true and false,
every ``{{ }}`` given values of different shapes (empty, spaces, lengths, colours, URLs).
Jinja renders both (so whitespace control is Jinja's own); only MRML's part differs. Any
difference raises :class:`~emailkit.templating.tags.Unflattenable` naming the Jinja tag that
makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from jinja2 import Environment
from markupsafe import Markup, escape

from ..documents import covers_head, same_document
from ..tags import Tag, Unflattenable, raw_literal

VALUES = (
    "ekprobe",
    "",
    "  a b  ",
    "10px 25px",
    "50%",
    "#1a2b3c",
    "https://example.com/p?a=1&b=2",
    "0",
    "Łódź «ü» 東",
)
# Scenarios that vary one construct at a time, at most this many constructs.
LIMIT = 60

Choice = Callable[[int, tuple[int, ...]], object]


@dataclass
class Scenario:
    """One way every construct turns out; the template sees it as ``ekprobe``."""

    counts: Choice
    branches: Choice
    values: Choice
    culprit: Tag | None = None
    what: str = ""

    def loop(self, index: int, *outer: int) -> range:
        return range(int(self.counts(index, outer)))  # type: ignore[call-overload]

    def b(self, index: int, *outer: int) -> bool:
        return bool(self.branches(index, outer))

    def v(self, index: int, *outer: int) -> Markup:
        return escape(str(self.values(index, outer)))


def verify(
    source: Sequence[str | int],
    compiled: Sequence[str | int],
    tags: Sequence[Tag],
    env: Environment,
    to_html: Callable[[str], str],
) -> None:
    """Check that ``compiled`` (MRML's output with tag indices where the tags went back)
    renders like ``source`` rendered then compiled by ``to_html``, in every scenario."""
    texts = probe_texts(tags)
    before = env.from_string(_template(source, texts))
    after = env.from_string(_template(compiled, texts))

    head_only = [False]

    def same(scenario: Scenario) -> bool:
        try:
            expected = to_html(before.render(ekprobe=scenario))
            actual = after.render(ekprobe=scenario)
        except Exception:  # MRML refused this shape, or a tag left its loop's scope
            return False
        if same_document(actual, expected):
            return True
        head_only[0] = same_document(_body(actual), _body(expected))
        # Compiled once, MRML saw every loop body and branch, so <head> has the styles of
        # all of them: rules for elements this render lacks are allowed, missing ones not.
        return head_only[0] and covers_head(actual, expected)

    for scenario in scenarios(tags):
        if same(scenario):
            continue
        if scenario.culprit is None and scenario.what == "values":
            _blame_value(tags, scenario, same)
        raise Unflattenable(_describe(scenario, head_only[0]))


def probe_texts(tags: Sequence[Tag]) -> list[str]:
    """Each tag as the probe template writes it: same whitespace control, probe values."""
    texts = []
    loops: list[int] = []
    for index, tag in enumerate(tags):
        outer = "".join(f", ekprobe_i{j}" for j in loops)
        left, right = _marks(tag.text)
        keyword = tag.keyword

        def statement(body: str, left: str = left, right: str = right) -> str:
            return "{%" + left + " " + body + " " + right + "%}"

        if tag.kind == "var":
            texts.append("{{" + left + f" ekprobe.v({index}{outer}) " + right + "}}")
        elif tag.kind == "comment":
            texts.append(tag.text)
        elif tag.kind == "trans":
            texts.append(
                statement("if true", right="")
                + f"{{{{ ekprobe.v({index}{outer}) }}}}"
                + statement("endif", left="")
            )
        elif keyword == "for" and " recursive" not in tag.body:
            texts.append(statement(f"for ekprobe_i{index} in ekprobe.loop({index}{outer})"))
            loops.append(index)
        elif keyword == "endfor" and loops:
            loops.pop()
            texts.append(statement("endfor"))
        elif keyword in ("if", "elif"):
            texts.append(statement(f"{keyword} ekprobe.b({index}{outer})"))
        elif keyword in ("else", "endif", "endwith", "with"):
            texts.append(statement(keyword))
        elif keyword in ("block", "endblock"):
            texts.append(statement("if true" if keyword == "block" else "endif"))
        elif keyword == "set" and "=" in tag.body:
            texts.append(statement("set ekprobe_sink = 0"))
        else:
            raise Unflattenable(f"{tag.where}: {tag.text} is not compiled once in MJML")
    return texts


def scenarios(tags: Sequence[Tag]) -> Iterator[Scenario]:
    """The base case, every value shape, each construct alone, then all together."""
    yield Scenario(_once, _true, partial(_shifted, 0))
    for shift in range(1, len(VALUES)):
        yield Scenario(_once, _true, partial(_shifted, shift), what="values")
    loops = [i for i, tag in enumerate(tags) if tag.keyword == "for"][:LIMIT]
    for index in loops:
        for times in (2, 3, 0):
            yield Scenario(
                partial(_only, index, times, 1),
                _true,
                partial(_shifted, 0),
                culprit=tags[index],
                what=f"runs {times} times",
            )
    branches = [i for i, tag in enumerate(tags) if tag.keyword in ("if", "elif")][:LIMIT]
    for index in branches:
        yield Scenario(
            _once,
            partial(_only, index, False, True),
            partial(_shifted, 0),
            culprit=tags[index],
            what="is false",
        )
    for times in (0, 2, 3):
        yield Scenario(
            partial(_always, times), partial(_alternate, times), partial(_shifted, times)
        )


def _once(index: int, outer: tuple[int, ...]) -> int:
    return 1


def _true(index: int, outer: tuple[int, ...]) -> bool:
    return True


def _always(value: object, index: int, outer: tuple[int, ...]) -> object:
    return value


def _only(
    chosen: int, value: object, otherwise: object, index: int, outer: tuple[int, ...]
) -> object:
    return value if index == chosen else otherwise


def _alternate(shift: int, index: int, outer: tuple[int, ...]) -> bool:
    return (index + shift + sum(outer)) % 2 == 0


def _shifted(shift: int, index: int, outer: tuple[int, ...]) -> str:
    return VALUES[(index + shift + sum(outer)) % len(VALUES)]


def _blame_value(tags: Sequence[Tag], failed: Scenario, same: Callable[[Scenario], bool]) -> None:
    """Find the ``{{ }}`` whose value made ``failed`` differ, and name it in ``failed``."""
    for index, tag in enumerate(tags):
        if tag.kind not in ("var", "trans"):
            continue
        value = failed.values(index, ())
        trial = Scenario(failed.counts, failed.branches, partial(_only, index, value, VALUES[0]))
        if not same(trial):
            failed.culprit, failed.what = tag, f"value {value!r}"
            return


def _describe(scenario: Scenario, head_only: bool) -> str:
    tag = scenario.culprit
    if head_only:
        where = f"{tag.where}: {tag.text} {scenario.what}" if tag else "a loop or condition"
        return (
            f"MRML writes <head> styles for the elements a render uses, and {where} decides "
            "which (a column width, image or font used only there)"
        )
    if tag is None:
        return "MJML writes different HTML when the template's loops and conditions vary"
    if tag.kind in ("var", "trans"):
        return (
            f"{tag.where}: MJML reads the value of {tag.text} (a {scenario.what} changes "
            "the HTML it writes around it), so it is compiled after each render"
        )
    return (
        f"{tag.where}: MJML lays out the elements around {tag.text} differently when it "
        f"{scenario.what} (as columns share their section's width)"
    )


def _template(parts: Sequence[str | int], texts: Sequence[str]) -> str:
    return "".join(texts[part] if isinstance(part, int) else raw_literal(part) for part in parts)


def _marks(text: str) -> tuple[str, str]:
    left = text[2] if len(text) > 4 and text[2] in "-+" else ""
    right = text[-3] if len(text) > 4 and text[-3] in "-+" else ""
    return left, right


def _body(html: str) -> str:
    return html[html.find("<body") :]
