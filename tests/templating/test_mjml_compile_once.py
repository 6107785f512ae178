"""MJML constructs that used to send an email to the per-render path (issue 22): an include
inside <mj-head>, and elements, column widths and fonts used only inside a loop or branch."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emailkit import Email, TemplateError
from emailkit.templating.documents import canonical, covers_head
from emailkit.templating.inline import inject_css, inline_css
from emailkit.templating.mjml import compiler as mjml

DIGEST = """<mjml>
  <mj-head>
    {% include "_partials/head.mjml" %}
  </mj-head>
  <mj-body>
    <mj-section><mj-column><mj-text>{{ title }}</mj-text></mj-column></mj-section>
    {% for row in rows %}
    <mj-section>
      {% for story in row %}
      <mj-column width="33%">
        <mj-image src="{{ story.image }}" alt="" />
        <mj-text font-family="Lobster, cursive">{{ story.title }}</mj-text>
        {% if story.url %}
        <mj-divider border-color="#ddd" />
        {% endif %}
      </mj-column>
      {% endfor %}
    </mj-section>
    {% endfor %}
  </mj-body>
</mjml>
"""
HEAD = """<mj-font name="Lobster" href="https://fonts.example.com/css?family=Lobster" />
<mj-style inline="inline">
  .lead { color: #123456; }
</mj-style>
"""


@dataclass(frozen=True)
class Story:
    title: str
    image: str
    url: str = ""


def digest_class(emails_root):
    emails_root.write("_partials/head.mjml", HEAD)
    folder = emails_root.email("digest", subject_txt="{{ title }}")
    (folder / "body.mjml").write_text(DIGEST, encoding="utf-8")
    annotations = {"title": "str", "rows": "list"}
    return type("Digest", (Email,), {"template": folder, "__annotations__": annotations})


def render_then_compile(email: Email) -> str:
    """Render, compile with MRML (as emailkit calls it: gaps in <mj-head> made newlines,
    which MRML would otherwise refuse), inline with premailer."""
    compiled = type(email).templates().compiled(type(email).email_name)
    html = mjml.compiler()(compiled.html_source.render(email.template_context()))
    return inline_css(inject_css(html, ""))


def test_include_on_its_own_line_in_mj_head_compiles_once(emails_root):
    cls = digest_class(emails_root)
    compiled = cls.templates().compiled("digest")
    assert compiled.inline_reason is None
    assert "fonts.example.com" in cls(title="Hi", rows=[]).render().html


def test_whitespace_trim_blocks_leaves_in_mj_head_is_accepted():
    source = "<mjml><mj-head><mj-title>t</mj-title>  </mj-head><mj-body></mj-body></mjml>"
    assert "<title>t</title>" in mjml.compiler()(source)


def test_columns_fonts_and_elements_only_in_loops_and_branches_compile_once(emails_root):
    cls = digest_class(emails_root)
    assert cls.templates().compiled("digest").inline_reason is None


STORIES = st.lists(
    st.builds(
        Story,
        st.text(alphabet="abc <&é", max_size=8),
        st.sampled_from(["a.png", "https://img.example.com/b.png"]),
        st.sampled_from(["", "https://example.com/s"]),
    ),
    max_size=3,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(STORIES, max_size=3))
def test_compiled_digest_is_the_document_mrml_makes_with_head_styles_for_all(emails_root, rows):
    cls = digest_class(emails_root)
    email = cls(title="Digest", rows=rows)
    compiled, expected = email.render().html, render_then_compile(email)
    body = lambda html: canonical(html[html.find("<body") :])  # noqa: E731
    assert body(compiled) == body(expected)
    assert covers_head(compiled, expected)


def test_mrml_refusing_text_in_the_head_names_it_in_the_hint(emails_root):
    folder = emails_root.email("bad", subject_txt="x")
    (folder / "body.mjml").write_text(
        "<mjml><mj-head>{% if x %}{{ x }}{% endif %}</mj-head><mj-body></mj-body></mjml>",
        encoding="utf-8",
    )
    cls = type("Bad", (Email,), {"template": folder, "__annotations__": {"x": "str"}})
    with pytest.raises(TemplateError) as raised:
        cls(x="oops").render()
    assert "mj-head" in str(raised.value) or "mj-head" in (raised.value.hint or "")
