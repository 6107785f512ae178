from __future__ import annotations

import logging
import re

import lxml.html
import premailer
import pytest
from mjml import mjml2html

from emailkit import Email, TemplateError, discover
from emailkit.templating.documents import canonical
from emailkit.templating.inline import inject_css, inline_css, inline_fast

from ..conftest import SHIPPED_ROOT

PAGE = """
<!DOCTYPE html>
<html><head>
<style>
  p { color: red }
  .big { font-size: 20px }
  a:hover { color: green }
  @media (max-width: 600px) { .big { font-size: 14px !important } }
</style>
</head>
<body>{body}</body></html>
"""


def email_class(folder, **annotations):
    namespace = {"template": folder, "__annotations__": annotations or {"name": "str"}}
    return type("Styled", (Email,), namespace)


def normalized(html: str) -> str:
    """HTML re-serialised by one parser, whitespace collapsed: equal means the same document."""
    document = lxml.html.document_fromstring(html)
    text = lxml.html.tostring(document, encoding="unicode", method="html")
    return re.sub(r"\s+", " ", text).replace("> <", "><").strip()


def render_then_premailer(email: Email) -> str:
    """The naive way: render the template as written, then inline the result with premailer."""
    compiled = type(email).templates().compiled(type(email).email_name)
    html = compiled.html_source.render(email.template_context())
    if compiled.mjml:  # body.mjml: MRML makes the HTML (see tests/templating/test_mjml.py)
        html = mjml2html(html)
    return inline_css(inject_css(html, compiled.css))


def count_premailer_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = premailer.Premailer.transform

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(premailer.Premailer, "transform", counting)
    return calls


SHIPPED_SAMPLES = [
    pytest.param(cls, sample, id=f"{name}/{sample}")
    for name, cls in discover(SHIPPED_ROOT).items()
    for sample in cls.previews()
]


@pytest.mark.parametrize(("cls", "sample"), SHIPPED_SAMPLES)
def test_compiled_render_equals_render_then_premailer(cls, sample):
    email = cls.previews()[sample]
    compiled = cls.templates().compiled(cls.email_name)
    assert compiled.inline_reason is None, "shipped emails must take the compiled path"
    assert normalized(email.render().html) == normalized(render_then_premailer(email))


def test_compiled_render_runs_no_premailer(emails_root, monkeypatch):
    folder = emails_root.email(
        "styled", subject_txt="Hi", body_html=PAGE.replace("{body}", "<p>x</p>")
    )
    cls = email_class(folder)
    cls(name="a").render()  # compiles
    calls = count_premailer_calls(monkeypatch)
    for _ in range(3):
        cls(name="a").render()
    assert calls == []


def test_style_block_is_inlined_and_leftover_rules_stay_in_head(emails_root):
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html=PAGE.replace("{body}", '<p class="big">{{ name }}</p><a href="{{ name }}">l</a>'),
    )
    html = email_class(folder)(name="Ada").render().html
    assert '<p class="big" style="color:red; font-size:20px">Ada</p>' in html
    head = html[: html.index("</head>")]
    assert "@media (max-width: 600px)" in head
    assert "!important" in head
    assert "a:hover" in head
    assert "p { color: red }" not in html


def test_linked_stylesheet_inside_root_is_inlined(emails_root):
    emails_root.write("_layouts/base.css", "h1 { color: navy }")
    emails_root.write(
        "_layouts/base.html",
        '<html><head><link rel="stylesheet" href="base.css"></head>'
        "<body>{% block content %}{% endblock %}</body></html>",
    )
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html='{% extends "_layouts/base.html" %}{% block content %}<h1>{{ name }}</h1>'
        "{% endblock %}",
        style_css="h1 { font-weight: normal }",
    )
    html = email_class(folder)(name="Ada").render().html
    assert '<h1 style="color:navy; font-weight:normal">Ada</h1>' in html
    assert "<link" not in html


def test_root_relative_stylesheet_href(emails_root):
    emails_root.write("_styles/shared.css", "p { margin: 0 }")
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html='<html><head><link rel="stylesheet" href="/_styles/shared.css"></head>'
        "<body><p>x</p></body></html>",
    )
    assert '<p style="margin:0">x</p>' in email_class(folder)(name="a").render().html


def test_remote_stylesheet_is_left_alone_and_not_fetched(emails_root, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("premailer tried to fetch a stylesheet")

    monkeypatch.setattr(premailer.Premailer, "_load_external_url", no_network)
    link = '<link rel="stylesheet" href="https://fonts.example.com/css?family=Inter">'
    folder = emails_root.email(
        "styled", subject_txt="Hi", body_html=f"<html><head>{link}</head><body>x</body></html>"
    )
    assert link in email_class(folder)(name="a").render().html


def test_stylesheet_outside_root_is_refused_with_file_and_line(emails_root):
    emails_root.write("../outside.css", "p { color: red }")
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html='<html>\n<head><link rel="stylesheet" href="../../outside.css"></head>'
        "<body>x</body></html>",
    )
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="a").render()
    assert "outside the emails root" in str(caught.value)
    assert (caught.value.filename, caught.value.lineno) == ("styled/body.html", 2)


def test_missing_stylesheet_is_an_error(emails_root):
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html='<html><head><link rel="stylesheet" href="nope.css"></head></html>',
    )
    with pytest.raises(TemplateError, match=r"stylesheet 'nope\.css' not found"):
        email_class(folder)(name="a").render()


def test_css_that_looks_like_jinja_survives(emails_root):
    emails_root.write("_layouts/min.css", "@media screen{#main{color:red}} p{color:blue}")
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html='<html><head><link rel="stylesheet" href="/_layouts/min.css"></head>'
        '<body><p id="main">{{ name }}</p></body></html>',
    )
    cls = email_class(folder)
    assert cls.templates().compiled("styled").inline_reason is None
    html = cls(name="Ada").render().html
    assert '<p id="main" style="color:blue">Ada</p>' in html
    assert "#main" in html


def test_loops_conditions_and_blocks_keep_their_styles(emails_root):
    emails_root.write(
        "_layouts/base.html",
        PAGE.replace("{body}", "{% block content %}{% endblock %}<p class='big'>footer</p>"),
    )
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html="""
        {% extends "_layouts/base.html" %}
        {% block content %}
        <table>{% for item in items %}<tr><td class="big">{{ item }}</td></tr>{% endfor %}</table>
        {% if items %}<p>{{ items|length }} items</p>{% else %}<p class="big">none</p>{% endif %}
        {% endblock %}
        """,
    )
    cls = email_class(folder, items="list")
    assert cls.templates().compiled("styled").inline_reason is None
    for items in (["a", "b"], []):
        email = cls(items=items)
        assert normalized(email.render().html) == normalized(render_then_premailer(email))
    html = cls(items=["a", "b"]).render().html
    assert html.count('<td class="big" style="font-size:20px">') == 2


def test_super_and_nested_blocks_flatten(emails_root):
    emails_root.write(
        "_layouts/base.html",
        PAGE.replace(
            "{body}",
            "{% block content %}<p>base {% block inner %}i{% endblock %}</p>{% endblock %}",
        ),
    )
    emails_root.write(
        "_layouts/mid.html",
        '{% extends "_layouts/base.html" %}{% block content %}<p class="big">mid</p>'
        "{{ super() }}{% endblock %}",
    )
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html='{% extends "_layouts/mid.html" %}{% set who = name|upper %}'
        "{% block inner %}{{ who }}{% endblock %}",
    )
    cls = email_class(folder)
    assert cls.templates().compiled("styled").inline_reason is None
    html = cls(name="ada").render().html
    assert '<p class="big" style="color:red; font-size:20px">mid</p>' in html
    assert '<p style="color:red">base ADA</p>' in html


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('<p class="{{ name }}">x</p>', "class= attribute"),
        ("<p>{{ name|safe }}</p>", "brings markup whose place among its siblings"),
        ("<ul>{% for i in name %}<li>{{ i }}</li>{% endfor %}</ul>", "'li:first-child'"),
        ("<{{ name }}>x</{{ name }}>", "names an element"),
    ],
    ids=["class-attribute", "safe-filter", "structural-selector", "computed-element"],
)
def test_unsafe_templates_fall_back_to_inlining_per_render(emails_root, caplog, body, reason):
    css = "<style>.big{color:red} li:first-child{color:blue} p{margin:0}</style>"
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html=f"<html><head>{css}</head><body>{body}<p>end</p></body></html>",
    )
    cls = email_class(folder)
    with caplog.at_level(logging.WARNING, logger="emailkit"):
        compiled = cls.templates().compiled("styled")
    assert reason in compiled.inline_reason
    assert "styled/body.html, line 1" in compiled.inline_reason
    assert any("inlined on every render" in r.getMessage() for r in caplog.records)
    email = cls(name="big")
    source = cls.templates().compiled("styled").html_source.render(email.template_context())
    # Nothing compiled to match: the render is inlined with css_inline, not premailer.
    assert email.render().html == inline_fast(source)
    assert canonical(email.render().html)[1] == canonical(render_then_premailer(email))[1]


def test_fallback_output_is_inlined(emails_root):
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html="<html><head><style>.big{color:red}</style></head><body>"
        '<p class="{{ name }}">x</p></body></html>',
    )
    assert (
        '<p class="big" style="color: red;">x</p>' in email_class(folder)(name="big").render().html
    )


def test_css_from_a_value_is_inlined_with_css_inline(emails_root):
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html="<html><head><style>{{ css }}</style></head>"
        "<body><p class=big>x</p></body></html>",
    )
    cls = type("Styled", (Email,), {"template": folder, "__annotations__": {"css": "str"}})
    compiled = cls.templates().compiled("styled")
    assert "inside <style>" in compiled.inline_reason
    html = cls(css=".big { color: red } @media (max-width: 1px) { p { margin: 0 } }").render().html
    assert 'style="color: red;"' in html and "@media" in html


def test_jinja_tags_in_html_comments_and_attributes_survive(emails_root):
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html="""
        <html><head><title>{{ name }} mail</title><style>a{color:red}</style></head>
        <body><!--[if mso]><p>{{ name }} in outlook</p><![endif]-->
        <a href="https://x.example/{{ name }}?a=1&b=2" title='{{ "quoted" }}'>{{ name }}</a>
        </body></html>
        """,
    )
    cls = email_class(folder)
    assert cls.templates().compiled("styled").inline_reason is None
    html = cls(name="Ada").render().html
    assert "<title>Ada mail</title>" in html
    assert "<!--[if mso]><p>Ada in outlook</p><![endif]-->" in html
    assert 'href="https://x.example/Ada?a=1&amp;b=2"' in html
    assert 'title="quoted"' in html
    assert 'style="color:red">Ada</a>' in html


FONT_IMPORT = '@import url("https://fonts.googleapis.com/css?family=Nunito+Sans:400,700");'


def test_web_font_import_neither_falls_back_nor_is_fetched_and_stays(emails_root, no_network):
    folder = emails_root.email(
        "styled",
        subject_txt="Hi",
        body_html=f"<html><head><style>{FONT_IMPORT} p{{color:red}}</style></head><body>"
        "{% for i in items %}<p>{{ i }}</p>{% endfor %}</body></html>",
    )
    cls = email_class(folder, items="list")
    assert cls.templates().compiled("styled").inline_reason is None
    email = cls(items=["a"])
    html = email.render().html
    assert '<p style="color:red">a</p>' in html
    assert FONT_IMPORT.rstrip(";") in html
    assert normalized(html) == normalized(render_then_premailer(email))


def test_per_render_inlining_fetches_no_import(emails_root, no_network):
    html = f"<html><head><style>{FONT_IMPORT} p{{color:red}}</style></head><body><p>x</p>"
    for _ in range(2):  # premailer's own cache would fetch again on a later render
        out = inline_css(html + "</body></html>")
        assert FONT_IMPORT.rstrip(";") in out
        assert '<p style="color:red">x</p>' in out
