"""MJML emails: body.mjml compiled once, equal to render-then-compile-then-inline."""

from __future__ import annotations

import builtins
import logging

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mjml import mjml2html

from emailkit import Email, TemplateError, discover
from emailkit.checks import run_checks
from emailkit.cli import main
from emailkit.preview.catalog import Catalog
from emailkit.templating.documents import canonical, covers_head
from emailkit.templating.i18n import locales
from emailkit.templating.inline import inject_css, inline_css, inline_fast
from emailkit.templating.mjml import compiler as mjml

from ..conftest import SHIPPED_ROOT
from .test_inline import count_premailer_calls, normalized

NEWSLETTER = discover(SHIPPED_ROOT)["newsletter"]
Story = type(NEWSLETTER.previews()["default"].lead)


def render_then_compile(email: Email, locale: str | None = None) -> str:
    """The naive way: render body.mjml, compile it with MRML, inline the CSS with premailer."""
    compiled = type(email).templates().compiled(type(email).email_name, locale)
    context = email.template_context(locale)
    if compiled.content_locale != compiled.locale:  # as rendering does: the text's language
        content = locales.template_context(compiled.content_locale)
        context["lang"], context["dir"] = content["lang"], content["dir"]
    mjml = compiled.html_source.render(context)
    return inline_css(inject_css(mjml2html(mjml), compiled.css))


# MRML refuses control characters, and writes attribute values with Rust's escape_debug:
# backslashes doubled, tabs, line breaks, combining marks and format characters as escapes
# ("\u{301}"). Compiled once, values keep their characters (HTML-escaped by Jinja), so the
# generated text is letters, digits, punctuation but the backslash, symbols and spaces.
TEXT = st.characters(categories=("L", "N", "P", "S"), exclude_characters="\\") | st.just(" ")


def email_class(folder, **annotations):
    namespace = {"template": folder, "__annotations__": annotations or {"name": "str"}}
    if not annotations:
        namespace["previews"] = classmethod(lambda cls: {"default": cls(name="ab")})
    return type("Mjml", (Email,), namespace)


def page(body: str, head: str = "") -> str:
    return f"<mjml>\n<mj-head>{head}</mj-head>\n<mj-body>\n{body}\n</mj-body>\n</mjml>\n"


def column(*content: str, width: str = "") -> str:
    attribute = f' width="{width}"' if width else ""
    return f"<mj-section><mj-column{attribute}>{''.join(content)}</mj-column></mj-section>"


# -- the shipped example ------------------------------------------------------------------


@pytest.mark.parametrize("sample", list(NEWSLETTER.previews()))
def test_shipped_newsletter_renders_like_render_then_compile(sample):
    email = NEWSLETTER.previews()[sample]
    assert normalized(email.render().html) == normalized(render_then_compile(email))


def test_shipped_newsletter_takes_the_compiled_path(monkeypatch):
    compiled = NEWSLETTER.templates().compiled("newsletter")
    assert compiled.mjml and compiled.inline_reason is None
    premailer_calls = count_premailer_calls(monkeypatch)
    mrml_calls = []
    monkeypatch.setattr(
        "mjml.mjml2html", lambda *a, **k: mrml_calls.append(1) or pytest.fail("MRML ran")
    )
    html = NEWSLETTER.previews()["default"].render().html
    assert premailer_calls == [] and mrml_calls == []
    assert "mj-column-per-50" in html and "{{" not in html and "ekmjml" not in html
    assert html.startswith("<!DOCTYPE html>")  # lxml drops MRML's lower-case doctype


stories = st.builds(
    Story,
    title=st.text(TEXT, max_size=12),
    summary=st.text(TEXT, max_size=12),
    url=st.sampled_from(["https://example.com/a?b=1&c=2", "", "x"]),
    image_url=st.sampled_from(["https://example.com/i.png", ""]),
    kicker=st.text(TEXT, max_size=6),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(TEXT, max_size=10),
    lead=stories,
    items=st.lists(stories, max_size=5),
    fr=st.booleans(),
)
def test_newsletter_over_generated_contexts(name, lead, items, fr):
    email = NEWSLETTER(user_name=name, issue=name, lead=lead, stories=items)
    locale = "fr" if fr else None
    html = email.render(locale).html
    assert normalized(html) == normalized(render_then_compile(email, locale))


GENERATED = page(
    """
<mj-section background-color="#f4f4f7">
  <mj-column><mj-image src="https://example.com/logo.png" alt="{{ colour }}" /></mj-column>
</mj-section>
<mj-section>
  <mj-column width="50%">
    <mj-text align="right">Hi {{ name }}{% if vip %} <b>VIP</b>{% endif %}</mj-text>
    {% for item in items %}
    <mj-text css-class="row">{{ loop.index }}. {{ item }}</mj-text>
    {% if loop.last %}<mj-divider />{% endif %}
    {% else %}
    <mj-text>nothing</mj-text>
    {% endfor %}
  </mj-column>
  <mj-column width="50%">
    {% if vip %}<mj-button href="{{ url }}">Go {{ name }}</mj-button>{% endif %}
    <mj-text><a href="{{ url }}" title="{{ name }}">{{ url }}</a></mj-text>
  </mj-column>
</mj-section>
{% for item in items %}
<mj-section><mj-column><mj-text>{{ item|upper }}</mj-text></mj-column></mj-section>
{% endfor %}
""",
    head="<mj-title>{{ name }}</mj-title><mj-preview>{{ items|length }} for {{ name }}</mj-preview>"
    "<mj-style>.row { color: red }</mj-style>",
)


@pytest.fixture
def generated(emails_root):
    folder = emails_root.email(
        "generated", subject_txt="Hi", body_mjml=GENERATED, style_css="a { color: #123456 }"
    )
    return email_class(folder, name="str", items="list", vip="bool", url="str", colour="str")


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    name=st.text(TEXT, max_size=8),
    items=st.lists(st.text(TEXT, max_size=6), max_size=4),
    vip=st.booleans(),
    url=st.sampled_from(["", "https://example.com/?a=1&b=2", "mailto:a@b.c"]),
    colour=st.sampled_from(["", "#fff", "red", "10px"]),
)
def test_loops_branches_and_values_over_generated_contexts(
    generated, name, items, vip, url, colour
):
    compiled = generated.templates().compiled("generated")
    assert compiled.inline_reason is None
    email = generated(name=name, items=items, vip=vip, url=url, colour=colour)
    assert normalized(email.render().html) == normalized(render_then_compile(email))


# -- what cannot be compiled once ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "<mj-section>\n{% for i in name %}<mj-column><mj-text>{{ i }}</mj-text></mj-column>"
            "{% endfor %}</mj-section>",
            "line 5: MJML lays out the elements around {% for i in name %} differently",
        ),
        (
            column('\n<mj-image src="a.png" width="{{ name }}" />'),
            "line 5: MJML drops {{ name }}",
        ),
        (column('\n<mj-text css-class="{{ name }}">x</mj-text>'), "class= attribute"),
    ],
    ids=["loop-of-columns", "value-mrml-reads", "class-attribute"],
)
def test_what_cannot_be_compiled_once_falls_back_and_says_why(emails_root, caplog, body, reason):
    folder = emails_root.email("fallback", subject_txt="Hi", body_mjml=page(body))
    cls = email_class(folder)
    with caplog.at_level(logging.WARNING, logger="emailkit"):
        compiled = cls.templates().compiled("fallback")
    assert compiled.inline_reason is not None and reason in compiled.inline_reason
    assert any(
        "body.mjml is compiled and inlined on every render" in r.getMessage()
        for r in caplog.records
    )
    for name in ("ab", "", "120px"):
        email = cls(name=name)
        # Nothing compiled to match: compiled by MRML, then inlined with css_inline.
        html = mjml.to_html(compiled.html_source.render(email.template_context()), "x")
        assert email.render().html == inline_fast(inject_css(html, compiled.css))
    findings = [
        f for f in run_checks({"fallback": cls}).findings if f.check == "compile.per-render"
    ]
    assert findings and "body.mjml is compiled and inlined on every render" in findings[0].message


def test_a_column_width_used_only_in_a_branch_compiles_once(emails_root):
    body = (
        column("<mj-text>x</mj-text>")
        + "\n{% if name %}"
        + column('<mj-image src="a.png" />', width="30%")
        + "{% endif %}"
    )
    cls = email_class(emails_root.email("branch", subject_txt="Hi", body_mjml=page(body)))
    assert cls.templates().compiled("branch").inline_reason is None
    for name in ("ab", ""):
        email = cls(name=name)
        html, expected = email.render().html, render_then_compile(email)
        assert canonical(html[html.find("<body") :]) == canonical(
            expected[expected.find("<body") :]
        )
        assert covers_head(html, expected)


# -- mistakes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        (
            column("\n<mj-txt>x</mj-txt>"),
            "unknown MJML element <mj-txt>. Did you mean 'mj-text'?",
            5,
        ),
        (column('\n<mj-text colour="red">x</mj-text>'), "<mj-text> has no attribute 'colour'", 5),
        (column('\n<mj-button align="middle">x</mj-button>'), "is not a valid value", 5),
        ("<mj-column>\n<mj-text>x</mj-text></mj-column>", "<mj-column> cannot be used inside", 4),
        ("<mj-section>\nhello<mj-column></mj-column></mj-section>", "text 'hello' directly", 5),
        (
            "<mj-section><mj-column>\n<mj-text>x\n</mj-column></mj-section>",
            "<mj-text> is never closed",
            5,
        ),
        ("<mj-section>\n<mj-column></mj-section>", "</mj-section> where <mj-column>", 5),
        ('<mj-include path="x.mjml" />', "<mj-include> is not supported", 4),
    ],
    ids=[
        "unknown-tag",
        "unknown-attribute",
        "bad-value",
        "misplaced",
        "text",
        "unclosed-text",
        "mismatched",
        "mj-include",
    ],
)
def test_mjml_mistakes_are_template_errors_at_their_line(emails_root, body, message, line):
    folder = emails_root.email("broken", subject_txt="Hi", body_mjml=page(body))
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="x").render()
    error = caught.value
    assert message in str(error)
    assert (error.email, error.filename, error.lineno) == ("broken", "broken/body.mjml", line)
    assert error.hint


def test_mistake_in_an_included_partial_names_the_partial(emails_root):
    emails_root.write("_partials/row.mjml", "<mj-section>\n  <mj-column>\n    <mj-img />\n")
    emails_root.write("_partials/row_end.mjml", "</mj-column></mj-section>")
    folder = emails_root.email(
        "broken",
        subject_txt="Hi",
        body_mjml=page('{% include "_partials/row.mjml" %}{% include "_partials/row_end.mjml" %}'),
    )
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="x").render()
    assert (caught.value.filename, caught.value.lineno) == ("_partials/row.mjml", 3)


def test_missing_mjml_python_says_what_to_install(emails_root, monkeypatch):
    folder = emails_root.email(
        "plain", subject_txt="Hi", body_mjml=page(column("<mj-text>x</mj-text>"))
    )
    real_import = builtins.__import__

    def no_mjml(name, *args, **kwargs):
        if name == "mjml":
            raise ImportError("No module named 'mjml'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mjml)
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="x").render()
    assert "pip install 'Flask-EmailKit[mjml]'" in str(caught.value)
    assert caught.value.email == "plain" and caught.value.__cause__ is None


def test_both_body_html_and_body_mjml_is_an_error(emails_root):
    folder = emails_root.email(
        "both", subject_txt="Hi", body_html="<p>x</p>", body_mjml=page(column())
    )
    with pytest.raises(TemplateError, match=r"both body\.html and body\.mjml exist"):
        email_class(folder)(name="x").render()


# -- the rest of emailkit, unchanged -------------------------------------------------------


def test_values_are_escaped(emails_root):
    folder = emails_root.email(
        "esc", subject_txt="Hi", body_mjml=page(column("<mj-text>{{ name }}</mj-text>"))
    )
    html = email_class(folder)(name="<b>&</b>").render().html
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>" not in html


def test_locale_variant_body_fr_mjml(emails_root):
    folder = emails_root.email(
        "hello", subject_txt="Hi", body_mjml=page(column("<mj-text>Hello {{ name }}</mj-text>"))
    )
    emails_root.write("hello/body.fr.mjml", page(column("<mj-text>Bonjour {{ name }}</mj-text>")))
    cls = email_class(folder)
    assert cls.locales() == ["fr"]
    assert "Bonjour Ada" in cls(name="Ada").render("fr").html
    assert "Hello Ada" in cls(name="Ada").render().html
    assert cls.templates().compiled("hello", "fr").inline_reason is None


def test_discovery_and_text_part(emails_root):
    emails_root.email(
        "only_mjml", subject_txt="Hi", body_mjml=page(column("<mj-text>Hello {{ name }}</mj-text>"))
    )
    emails_root.write(
        "only_mjml/__init__.py",
        "from emailkit import Email\nclass OnlyMjml(Email):\n    name: str\n",
    )
    cls = discover(emails_root.path)["only_mjml"]
    assert cls(name="Ada").render().text.strip() == "Hello Ada"


def test_preview_source_tab_shows_mjml_compiled_and_inlined_html(tmp_path):
    import shutil

    root = tmp_path / "emails"
    shutil.copytree(SHIPPED_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    from emailkit.preview import create_preview_app

    client = create_preview_app(root, TESTING=True).test_client()
    views = {}
    for which in ("mjml", "before", "after"):
        response = client.get(f"/newsletter/default?tab=source&source={which}")
        assert response.status_code == 200
        views[which] = response.get_data(as_text=True).split('data-panel="source"')[1]
    tag = '<span class="nt">{}</span>'.format
    assert "MJML source" in views["mjml"] and tag("mj-section") in views["mjml"]
    assert tag("mj-section") not in views["before"] and "mj-column-per-50" in views["before"]
    assert tag("style") in views["before"] and tag("style") not in views["mjml"]
    assert views["after"] != views["before"]


def test_preview_shows_an_mjml_mistake_and_recovers(tmp_path):
    import shutil

    root = tmp_path / "emails"
    shutil.copytree(SHIPPED_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    from ..preview.test_preview import rewrite

    catalog = Catalog(root)
    catalog.refresh()
    body = root / "newsletter" / "body.mjml"
    rewrite(body, '<mj-text align="right"', '<mj-text alinge="right"')
    catalog.refresh()
    view = catalog.view("newsletter", "default")
    assert view.problem is not None
    assert (view.problem.filename, view.problem.lineno) == ("newsletter/body.mjml", 18)
    assert "no attribute 'alinge'" in view.problem.message
    assert any("alinge" in line for _, line in view.problem.excerpt)
    rewrite(body, "alinge=", "align=")
    catalog.refresh()
    assert catalog.view("newsletter", "default").problem is None


def test_new_mjml_scaffolds_an_email_on_the_compiled_path(tmp_path):
    root = tmp_path / "emails"
    root.mkdir()
    result = CliRunner().invoke(main, ["--emails", str(root), "new", "promo", "--mjml"])
    assert result.exit_code == 0, result.output
    assert (root / "promo" / "body.mjml").is_file() and not (root / "promo" / "body.html").exists()
    cls = discover(root)["promo"]
    assert cls.templates().compiled("promo").inline_reason is None
    email = cls.previews()["default"]
    assert "Ada Lovelace" in email.render().html
    assert normalized(email.render().html) == normalized(render_then_compile(email))


def test_check_reports_an_mjml_part_missing_a_locale_variant(emails_root):
    folder = emails_root.email(
        "hello", subject_txt="Hi", body_mjml=page(column("<mj-text>Hello {{ name }}</mj-text>"))
    )
    emails_root.write("hello/subject.fr.txt", "Salut")
    findings = run_checks({"hello": email_class(folder)}).findings
    missing = [f for f in findings if f.check == "locale.missing-part"]
    assert [(f.message, f.file) for f in missing] == [
        ("body.mjml has no fr variant: fr readers get the default's", "hello/body.mjml")
    ]


LAYOUT = """<mjml lang="{{ lang }}">
  <mj-head><mj-title>{% block title %}Acme{% endblock %}</mj-title></mj-head>
  <mj-body>
    <mj-section><mj-column><mj-text>Acme</mj-text></mj-column></mj-section>
    {% block content %}{% endblock %}
    <mj-section><mj-column>
      <mj-raw><p>{% raw %}{{ not jinja }}{% endraw %} {{ footer }}</p></mj-raw>
    </mj-column></mj-section>
  </mj-body>
</mjml>
"""

CHILD = """{% extends "_layouts/base.mjml" %}
{% set shout = name|upper %}
{% block title %}Promo for {{ name }}{% endblock %}
{% block content %}
<mj-section>
  <mj-column>
    <mj-text>{% trans %}Hello {{ name }}!{% endtrans %} {{ shout }}</mj-text>
    {% for p in products %}<mj-text>{{ loop.index }} {{ p }}</mj-text>
    {% else %}<mj-text>none</mj-text>{% endfor %}
  </mj-column>
</mj-section>
{% endblock %}
"""


@pytest.mark.parametrize("products", [["a", "b & c"], []])
def test_layouts_blocks_trans_raw_and_for_else_compile_once(emails_root, products):
    emails_root.write("_layouts/base.mjml", LAYOUT)
    folder = emails_root.email("promo", subject_txt="Hi", body_mjml=CHILD)
    cls = email_class(folder, name="str", products="list", footer="str")
    assert cls.templates().compiled("promo").inline_reason is None
    email = cls(name="Ada", products=products, footer="bye")
    html = email.render().html
    assert "<title>Promo for Ada</title>" in html and "Hello Ada! ADA" in html
    assert "{{ not jinja }} bye" in html
    assert normalized(html) == normalized(render_then_compile(email))


def test_per_render_mjml_failure_is_a_template_error(emails_root):
    body = page(column('<mj-image src="a.png" width="{{ name }}" />'))
    folder = emails_root.email("fallback", subject_txt="Hi", body_mjml=body)
    cls = email_class(folder)
    assert cls.templates().compiled("fallback").inline_reason is not None
    with pytest.raises(TemplateError) as caught:
        cls(name="a\x08b").render()  # MRML refuses control characters
    assert caught.value.filename == "fallback/body.mjml"
    assert "MJML does not compile once rendered" in str(caught.value)
    assert "control character" in caught.value.hint
