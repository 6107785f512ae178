from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, TemplateNotFound, TemplateSyntaxError

from emailkit import TemplateError
from emailkit.templating.flatten import flatten
from emailkit.templating.tags import Tag, Unflattenable, scan


def source_of(templates: dict[str, str]):
    def get_source(name: str) -> str:
        if name not in templates:
            raise TemplateNotFound(name)
        return templates[name]

    return get_source


def text_of(flattened) -> str:
    return "".join(p if isinstance(p, str) else p.text for p in flattened.parts)


def test_scan_keeps_strings_with_closing_delimiters_inside_tags():
    parts = scan('<p>{{ "}}" ~ x }}</p>{% set y = "%}" %}{# c #}', "t.html")
    assert parts[0] == "<p>"
    assert parts[1] == Tag("var", '{{ "}}" ~ x }}', 1, "t.html")
    assert parts[2] == "</p>"
    assert parts[3].keyword == "set"
    assert parts[4].kind == "comment"


def test_scan_tracks_line_numbers_and_raw_blocks():
    parts = scan("a\nb {% raw %}{{ not }}\n{% endraw %}\n{{ x }}")
    raw = next(p for p in parts if isinstance(p, Tag) and p.kind == "raw")
    assert raw.lineno == 2 and raw.raw_content == "{{ not }}\n"
    assert parts[-1] == Tag("var", "{{ x }}", 4)


def test_child_blocks_replace_parent_blocks_three_levels_deep():
    flattened = flatten(
        "c.html",
        source_of(
            {
                "base.html": "<a>{% block x %}base{% endblock %}{% block y %}Y{% endblock %}</a>",
                "mid.html": '{% extends "base.html" %}{% block x %}mid+{{ super() }}{% endblock %}',
                "c.html": '{% extends "mid.html" %}{% block x %}c+{{ super() }}{% endblock %}',
            }
        ),
    )
    assert text_of(flattened) == (
        "<a>{% block x %}c+mid+base{% endblock %}{% block y %}Y{% endblock %}</a>"
    )
    assert flattened.names == ("c.html", "mid.html", "base.html")


def test_child_set_statements_run_first():
    flattened = flatten(
        "c.html",
        source_of({"b.html": "{{ v }}", "c.html": '{% extends "b.html" %}{% set v = 1 %}'}),
    )
    assert [t.text for t in flattened.prelude] == ["{% set v = 1 %}"]


def test_literal_include_is_expanded_between_comments_naming_it():
    flattened = flatten(
        "a.html", source_of({"a.html": '<p>{% include "p.html" %}</p>', "p.html": "<b>{{ x }}</b>"})
    )
    assert text_of(flattened) == (
        '<p>{# include "p.html" #}<b>{{ x }}</b>{# end of include "p.html" #}</p>'
    )


def test_include_with_assignments_is_expanded_in_its_own_scope():
    templates = {"a.html": '<p>{%- include "p.html" %}</p>', "p.html": "{% set x = 1 %}{{ x }}"}
    flattened = flatten("a.html", source_of(templates))
    assert text_of(flattened) == "<p>{%- with %}{% set x = 1 %}{{ x }}{% endwith %}</p>"


@pytest.mark.parametrize("marks", [("", ""), ("-", ""), ("", "-"), ("-", "-")])
def test_flattened_include_renders_like_the_include(marks):
    left, right = marks
    templates = {
        "a.html": f"<ul>\n  {{%{left} include 'p.html' {right}%}}\n  <li>b</li>\n</ul>",
        "p.html": "<li>{{ x }}</li>\n",
    }
    env = Environment(trim_blocks=True, lstrip_blocks=True, loader=DictLoader(templates))
    flattened = flatten("a.html", source_of(templates))
    assert env.from_string(text_of(flattened)).render(x=1) == env.get_template("a.html").render(x=1)


@pytest.mark.parametrize(
    "templates",
    [
        {"a.html": "{% extends name %}"},
        {"a.html": '{% extends "b.html" %}', "b.html": '{% extends "a.html" %}'},
        {"a.html": "{% block x %}{{ super() }}{% endblock %}"},
        {"a.html": '{% extends "b.html" %}{% if x %}{% endif %}', "b.html": ""},
        {"a.html": "{% block x %}open"},
    ],
    ids=["computed-extends", "cycle", "super-without-parent", "statement-outside-block", "open"],
)
def test_what_cannot_be_flattened_says_so(templates):
    with pytest.raises(Unflattenable):
        flatten("a.html", source_of(templates))


def test_missing_parent_names_the_child_and_line():
    with pytest.raises(TemplateError) as caught:
        flatten("a.html", source_of({"a.html": '\n\n{% extends "gone.html" %}'}))
    assert (caught.value.filename, caught.value.lineno) == ("a.html", 3)


TAG_PIECES = [
    ('{{ "}}" ~ x }}', "var"),
    ("{{- 'a %} b' -}}", "var"),
    ('{%- set y = "%}" -%}', "stmt"),
    ("{%+ if x %}", "stmt"),
    ("{% endif +%}", "stmt"),
    ("{#- a # comment %} -#}", "comment"),
    ("{% raw -%}{{ literal }}{%- endraw %}", "raw"),
    ("{{ x\n  |upper }}", "var"),
    ("{% trans n=x %}{{ n }} item{% pluralize %}{{ n }} items{% endtrans %}", "trans"),
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="ab <>\n\t%}#", max_size=5).filter(lambda t: "{" not in t),
            st.sampled_from(TAG_PIECES),
        ),
        max_size=8,
    )
)
def test_scan_finds_tags_with_jinjas_lexer_and_keeps_text_verbatim(pieces):
    source = "".join(p if isinstance(p, str) else p[0] for p in pieces)
    parts = scan(source, "t.html")
    assert "".join(p if isinstance(p, str) else p.text for p in parts) == source
    tags = [p for p in parts if isinstance(p, Tag)]
    assert [(t.text, t.kind) for t in tags] == [p for p in pieces if not isinstance(p, str)]
    for tag in tags:
        assert source.count("\n", 0, source.index(tag.text)) + 1 <= tag.lineno


def test_scan_reports_source_jinja_cannot_lex():
    with pytest.raises(TemplateSyntaxError) as caught:
        scan("a\n{{ x ", "t.html")
    assert (caught.value.name, caught.value.lineno) == ("t.html", 2)


def test_include_of_a_literal_list_takes_the_first_template_that_exists():
    flattened = flatten(
        "page.html",
        source_of(
            {
                "page.html": '<p>{% include ["missing.html", "b.html", "c.html"] %}</p>'
                '{% include "gone.html" ignore missing %}',
                "b.html": "<b>{{ x }}</b>",
                "c.html": "<i>c</i>",
            }
        ),
    )
    assert text_of(flattened) == (
        '<p>{# include ["missing.html", "b.html", "c.html"] #}<b>{{ x }}</b>'
        '{# end of include ["missing.html", "b.html", "c.html"] #}</p>'
    )
    assert "c.html" not in flattened.names


def test_include_of_a_name_computed_at_render_time_is_unflattenable():
    with pytest.raises(Unflattenable, match="computed at render time"):
        flatten("page.html", source_of({"page.html": '{% include "parts/" ~ kind ~ ".html" %}'}))
