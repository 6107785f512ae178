"""The text template compiled from the HTML gives the text of converting each rendered HTML."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emailkit import discover
from emailkit.templating.flatten import Flattened
from emailkit.templating.inline import inline_template
from emailkit.templating.tags import Unflattenable, scan
from emailkit.templating.text.html2text import html_to_text
from emailkit.templating.text.source import NotCompilable
from emailkit.templating.text.template import compile_text
from emailkit.templating.text.values import Irregular, finish, text_value

from ..conftest import REPO, SHIPPED_ROOT

CORPUS = REPO / "tests" / "corpus"


def _roots_without_text(tmp_path: Path) -> list[Path]:
    """Copies of the shipped emails and the corpus without any body.txt, so that every
    email's text is generated from its HTML."""
    roots = []
    sources = [SHIPPED_ROOT] + ([CORPUS] if CORPUS.is_dir() else [])
    for number, source in enumerate(sources):
        copy = tmp_path / f"root{number}" / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        for text in copy.rglob("body*.txt"):
            text.unlink()
        roots.append(copy)
    return roots


def _compiled_text(compiled, context) -> str | None:
    """The compiled template's text, or None where the value check sends it per render."""
    try:
        return finish(compiled.generated_text.template.render(context))
    except Irregular:
        return None


def test_every_shipped_and_corpus_sample_gets_the_text_of_its_html(tmp_path):
    compiled_emails, reasons = [], {}
    for root in _roots_without_text(tmp_path):
        for name, cls in discover(root).items():
            for locale in [None, *cls.locales()]:
                compiled = cls.templates().compiled(name, locale)
                if compiled.generated_text is None:
                    reasons[name] = compiled.text_reason
                    continue
                compiled_emails.append(name)
                for sample_name, sample in cls.previews().items():
                    rendered = sample.render(locale)
                    context = sample.template_context(locale)
                    if compiled.content_locale != compiled.locale:
                        continue  # render() adjusts lang/dir; rendered.text covers it below
                    ours = _compiled_text(compiled, context)
                    expected = html_to_text(rendered.html)
                    assert ours is None or ours == expected, (name, locale, sample_name)
                    assert rendered.text == expected
    assert "digest" in compiled_emails
    assert all(reason for reason in reasons.values())
    assert "wide" in reasons.get("receipt", "wide")  # its items table has three columns


def test_the_digest_text_is_compiled_and_verified_on_first_render():
    from emails.digest import Digest

    compiled = Digest.templates().compiled("digest")
    assert compiled.generated_text is not None, compiled.text_reason
    for sample in Digest.previews().values():
        rendered = sample.render()
        assert rendered.text_part is not None  # came from the template, not a conversion
        assert rendered.text == html_to_text(rendered.html)
    assert compiled.generated_text.verified
    assert compiled.generated_text.mismatch is None


def test_a_value_with_markup_or_entities_is_converted_per_render():
    from markupsafe import Markup

    for value in (Markup("<b>x</b>"), "AT&T", "a\x0cb", "\ue000"):
        with pytest.raises(Irregular):
            text_value(value)
    assert text_value("a  b\nc") == "a\ue003\ue003b\ue003c"
    assert text_value(12) == "12"


def test_a_mismatch_turns_the_generated_text_off_with_a_warning(emails_root, caplog):
    emails_root.email(
        "note",
        subject_txt="Note",
        body_html="<html><body><p>Hello {{ name }}</p></body></html>",
        __init___py=("from emailkit import Email\n\nclass Note(Email):\n    name: str\n"),
    )
    from emailkit.templating.templates import Templates

    templates = Templates(emails_root.path)
    compiled = templates.compiled("note")
    generated = compiled.generated_text
    assert generated is not None
    generated.template = templates.text_env.from_string("Goodbye {{ name }}")
    with caplog.at_level(logging.WARNING, logger="emailkit"):
        assert generated.render({"name": "Ada"}, "<p>Hello Ada</p>") == "Hello Ada\n"
    assert generated.mismatch and "Goodbye" in generated.mismatch
    assert generated.render({"name": "Ada"}, "<p>Hello Ada</p>") is None
    assert "differs" in caplog.text


# Generated template shapes: blocks of markup with tags in them, and values to render.

words = st.text(st.sampled_from("ab é"), min_size=0, max_size=6)
values = st.one_of(
    words,
    st.text(max_size=8),
    st.sampled_from(["", " ", "x  y", "\tTab", "a\nb", "&amp;", "R&D", "<b>", "日本"]),
    st.sampled_from(["a\u2028b", "x\xa0", "\xa0y", "end ", " start", "#top"]),
    st.integers(-5, 5),
)

BLOCKS = [
    "<p>Hello {{ v1 }}, {{ v2 }}!</p>",
    "<h1>{{ v1 }}</h1>",
    "<p>{{ v1 }} {{ v2 }}</p>",
    "<div>{% if flag %}<p>yes {{ v1 }}</p>{% else %}<p>no</p>{% endif %}</div>",
    "{% if flag %}<p>on</p>{% endif %}",
    "<p>a {% if flag %}b{% endif %} c</p>",
    "<ul>{% for x in items %}<li>{{ x }}</li>{% endfor %}</ul>",
    "{% for x in items %}<p>{{ x }}</p>{% endfor %}",
    '<table role="presentation"><tr><td>head</td></tr>{% for x in items %}'
    "<tr><td><p>{{ x }}</p><p>{{ v2 }}</p></td></tr>{% endfor %}</table>",
    '<p><a href="{{ url }}">{{ v1 }}</a></p>',
    '<p>See <a href="https://x.test/{{ v2 }}">the page</a>.</p>',
    '<p><a href="{{ url }}">{{ url }}</a></p>',
    '<p><a href="https://s.test/">https://s.test/</a> or <a href="mailto:a@s.test">mail</a></p>',
    "<p>Line\u2028break {{ v1 }}</p>",
    '<div style="display:none">{% if flag %}{{ v1 }}{% endif %}</div>',
    "<table><tr><td>{{ v1 }}</td><td>{{ v2 }}</td></tr></table>",
    "<blockquote>{{ v1 }}</blockquote>",
    "<p>{{ v1 }}<br>{{ v2 }}</p>",
    "<pre>{{ v1 }}</pre>",
    '<table><tr><td align="center">{{ v1 }}<br>long static line here</td></tr></table>',
]

shapes = st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=4)
contexts = st.fixed_dictionaries(
    {
        "v1": values,
        "v2": values,
        "flag": st.booleans(),
        "items": st.lists(values, max_size=3),
        "url": st.sampled_from(["https://a.test/x", "mailto:ann@a.test", "#top", "", " u "]),
    }
)


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    from emailkit.templating.templates import Templates

    return Templates(tmp_path_factory.mktemp("emails"))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shapes, st.lists(contexts, min_size=1, max_size=4))
def test_generated_shapes_give_the_text_of_their_html(environment, blocks, renders):
    source = "<html><head></head><body>" + "\n".join(blocks) + "</body></html>"
    try:
        inlined = inline_template(Flattened((), tuple(scan(source)), ()), "")
        text_source = compile_text(inlined)
    except (NotCompilable, Unflattenable):
        return
    html_template = environment.env.overlay(autoescape=True).from_string(inlined)
    text_template = environment.text_env.from_string(text_source)
    for context in renders:
        html = html_template.render(context)
        try:
            ours = finish(text_template.render(context))
        except Irregular:
            continue
        assert ours == html_to_text(html), (text_source, context)


def test_check_says_when_the_text_is_converted_on_every_render(emails_root):
    from emailkit import Email
    from emailkit.checks import run_checks

    def email(name, body):
        folder = emails_root.email(
            name,
            subject_txt="Hi",
            body_html=f"<!DOCTYPE html><html><head></head><body>{body}</body></html>",
        )
        namespace = {
            "template": folder,
            "__annotations__": {"name": "str"},
            "previews": classmethod(lambda cls: {"default": cls(name="Ada")}),
        }
        return type(name.title(), (Email,), namespace)

    columns = email(
        "columns",
        '<table><tr><td colspan="2">{{ name }}</td></tr><tr><td>a</td><td>b</td></tr></table>',
    )
    plain = email("plain", "<p>Hello {{ name }}</p>")
    report = run_checks({"columns": columns, "plain": plain})
    per_render = [f for f in report.findings if f.check.startswith("text.")]
    assert [(f.email, f.check, f.severity) for f in per_render] == [
        ("columns", "text.per-render", "info")
    ]
    assert "several columns" in per_render[0].message


def test_the_soft_space_table_holds_every_whitespace_character_up_to_u3000():
    from emailkit.templating.text.values import _SOFTEN, SOFT

    assert {code: SOFT for code in range(0x3000 + 1) if chr(code).isspace()} == _SOFTEN


# What soft spaces become, written as the two regular expressions that defined it: at a
# line's start the indentation stays and the run after it goes; elsewhere a run of spaces
# holding a soft space is one space. collapse_soft() does it without them (a regex retried
# at every space of a padded table row), and finish() trims lines with str methods.
def _collapse_by_regex(text: str) -> str:
    import re

    from emailkit.templating.text.values import SOFT

    text = re.sub(f"^( *){SOFT}[ {SOFT}]*", r"\1", text, flags=re.MULTILINE)
    return re.sub(f"[ {SOFT}]*{SOFT}[ {SOFT}]*", " ", text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from([" ", " ", "\n", "\ue003", "a", "b", "\x1d"]), max_size=60))
def test_soft_spaces_collapse_as_the_regular_expressions_say(text):
    from emailkit.templating.text.values import collapse_soft

    assert collapse_soft(text) == _collapse_by_regex(text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from([" ", "\n", "\ue003", "a", "\ue000"]), max_size=60))
def test_finish_trims_lines_and_blank_runs_as_before(text):
    import re

    rendered = _collapse_by_regex(text) if "\ue003" in text else text
    expected = re.sub(r" +(?=\n|\Z)", "", rendered)
    expected = re.sub("\n{3,}", "\n\n", expected).strip("\n") + "\n"
    if "\ue000" not in text:  # link markers are spelled by finish(); not what this checks
        assert finish(text) == expected


def _lay_out_by_reference(rendered: str, indent: str) -> str:
    """The table layout as it was first written (each cell: soft spaces as the regexes say,
    edge lines dropped, lines right-stripped; columns as wide as their widest line; rows of
    several lines aligned by their cells' vertical alignment; no spaces ending a line)."""
    from emailkit.templating.text.tables import _ALIGNED, CELL, CELL_START, ROW

    def cell(text: str) -> tuple[str, int, list[str]]:
        text = text[text.index(CELL_START) + 1 :]
        align, valign, text = text[0], int(text[1]), _collapse_by_regex(text[2:]).strip("\n")
        return align, valign, [line.rstrip() for line in text.split("\n")]

    rows = [[cell(c) for c in row.split(CELL)[:-1]] for row in rendered.split(ROW)[:-1]]
    widths: dict[int, int] = {}
    for row in rows:
        for column, (_, _, lines) in enumerate(row):
            widths[column] = max(widths.get(column, 0), *map(len, lines))
    out = []
    for row in rows:
        height = max([len(lines) for _, _, lines in row], default=1)
        columns = []
        for column, (align, valign, lines) in enumerate(row):
            width = widths[column]
            top = (height - len(lines)) * valign // 2
            padded = [" " * width] * top + [_ALIGNED[align](line, width) for line in lines]
            columns.append(padded + [" " * width] * (height - len(padded)))
        out.extend("  ".join(parts).rstrip(" ") for parts in zip(*columns, strict=True))
    return ("\n" + indent).join(out)


_CELL_TEXT = st.text(st.sampled_from([" ", "\n", "\ue003", "a", "é"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.sampled_from("<>^"), st.sampled_from("012"), _CELL_TEXT),
            min_size=3,
            max_size=3,
        ),
        max_size=5,
    )
)
def test_tables_are_laid_out_as_the_reference_lays_them_out(rows):
    from emailkit.templating.text.tables import CELL, CELL_START, ROW, lay_out

    rendered = "".join(
        "".join(f"{CELL_START}{a}{v}{text}{CELL}" for a, v, text in row) + ROW for row in rows
    )
    assert lay_out(rendered, "  ") == _lay_out_by_reference(rendered, "  ")
