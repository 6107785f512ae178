from __future__ import annotations

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, StrictUndefined

from emailkit import Email
from emailkit.templating.components import expand_components
from emailkit.templating.flatten import flatten
from emailkit.templating.inline import inject_css, inline_css

from ..conftest import EmailsRoot

BUTTON = """{% macro button(url, label, kind="primary") -%}
<table role="presentation" class="button-table"><tr>
  <td class="button-cell {{ kind }}"><a href="{{ url }}" class="button">{{ label }}</a></td>
</tr></table>
{%- endmacro %}"""

CALLOUT = """{% macro callout(title) %}
<div class="callout">
  <h3>{{ title }}</h3>
  {{ caller() }}
</div>
{% endmacro %}"""

CSS = """
.button { color: #fff; background: #348eda }
.button-table td a { text-decoration: none }
.callout p { margin: 0 }
.callout h3 + p { font-weight: bold }
.callout { border: 1px solid #ccc }
p { color: #333 }
"""

PAGE = """{% from "_components/button.html" import button %}
{% from "_components/callout.html" import callout as box %}
<html><head><style>{css}</style></head><body>
{%- macro note(text) %}<p class="note">{{ text }}</p>{% endmacro %}
<p>Hi {{ name }}</p>
{{ button(url, "Open " ~ name) }}
{% for item in items %}
  {{- button(item, label=item|upper, kind="secondary") }}
{% endfor %}
{% call box("Heads up") %}
  <p>{{ name }}, your order ships soon.</p>
  {{ note("Thanks") }}
{% endcall %}
{% if urgent %}{% call box(title="Urgent") %}<p>Now</p>{% endcall %}{% endif %}
</body></html>"""


def make_email(root: EmailsRoot, name: str, body_html: str) -> type[Email]:
    folder = root.email(name, subject_txt="Hi", body_html=body_html)
    annotations = {"name": "str", "url": "str", "items": "list", "urgent": "bool"}
    return type(f"E{name}", (Email,), {"template": folder, "__annotations__": annotations})


def normalized(html: str) -> str:
    document = lxml.html.document_fromstring(html)
    return " ".join(lxml.html.tostring(document, encoding="unicode").split()).replace("> <", "><")


def render_then_premailer(email: Email) -> str:
    compiled = type(email).templates().compiled(type(email).email_name)
    return inline_css(inject_css(compiled.html_source.render(email.template_context()), ""))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> EmailsRoot:
    path = tmp_path_factory.mktemp("components") / "emails"
    path.mkdir()
    root = EmailsRoot(path)
    root.write("_components/button.html", BUTTON)
    root.write("_components/callout.html", CALLOUT)
    return root


contexts = st.fixed_dictionaries(
    {
        "name": st.text(alphabet="ab <&é", max_size=6),
        "url": st.text(alphabet="ab/&?=", max_size=6),
        "items": st.lists(st.text(alphabet="xy<", max_size=3), max_size=3),
        "urgent": st.booleans(),
    }
)


def test_macros_and_call_blocks_compile_once_and_render_like_premailer(root):
    cls = make_email(root, "components", PAGE.replace("{css}", CSS))
    assert cls.templates().compiled("components").inline_reason is None
    html = cls(name="Ada", url="https://x.example", items=[], urgent=False).render().html
    assert 'class="button" style="color:#fff; background:#348eda; text-decoration:none"' in html
    assert '<p style="color:#333; margin:0; font-weight:bold">Ada, your order' in html
    assert '<td class="button-cell primary">' in html

    @settings(max_examples=40, deadline=None)
    @given(contexts)
    def renders_like_premailer(values):
        email = cls(**values)
        assert normalized(email.render().html) == normalized(render_then_premailer(email))

    renders_like_premailer()


MARKS = st.sampled_from(["", "-", "+"])


@settings(max_examples=60, deadline=None)
@given(marks=st.lists(MARKS, min_size=10, max_size=10), name=st.text(alphabet="a <", max_size=3))
def test_expansion_renders_exactly_the_text_of_the_calls(marks, name):
    """Whitespace control on calls and macros is kept: the same output, byte for byte."""
    a, b, c, d, e, f, g, h, i, j = marks
    i, j = ("-" if i == "-" else ""), ("-" if j == "-" else "")  # {{+ is not a thing
    templates = {
        "m.html": f"{{%{a} macro m(x, y=2) {b}%}}\n  <b>{{{{ x }}}}{{{{ y }}}}</b>\n"
        f"  {{{{ caller() }}}}\n{{%{c} endmacro {d}%}}\n"
        "{% macro n(x) %}\n  <u>{{ x }}</u>\n{% endmacro %}",
        "page.html": '{% from "m.html" import m, n %}\n<p>\n'
        f"  {{%{e} call m(name) {f}%}}\n    <i>{{{{ name }}}}</i>\n  {{%{g} endcall {h}%}}\n"
        f"</p>\n<div>\n  {{{{{i} n(name) {j}}}}}\n</div>\n",
    }
    env = Environment(
        loader=DictLoader(templates),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        autoescape=True,
    )
    read = templates.__getitem__
    flattened = expand_components(flatten("page.html", read), read)
    source = "".join(t.text for t in flattened.prelude) + "".join(
        p if isinstance(p, str) else p.text for p in flattened.parts
    )
    assert "macro" not in source and "import" not in source
    expected = env.get_template("page.html").render(name=name)
    assert env.from_string(source).render(name=name) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{{ button(url, name)|upper }}", "uses a macro in a way not expanded"),
        ("{% call(x) box('t') %}{{ x }}{% endcall %}", "not a plain call of a macro"),
        ("{% call box('t') %}{{ title }}{% endcall %}", "which macro 'callout' binds"),
        ("{{ button(url) }}", "does not pass 'label'"),
    ],
    ids=["in-expression", "caller-arguments", "name-collision", "missing-argument"],
)
def test_calls_that_cannot_be_expanded_fall_back_and_say_why(root, body, reason):
    page = (
        '{% from "_components/button.html" import button %}'
        '{% from "_components/callout.html" import callout as box %}'
        f"<html><head><style>{CSS}</style></head><body>{body}</body></html>"
    )
    name = f"refused{len(body)}"
    cls = make_email(root, name, page)
    assert reason in cls.templates().compiled(name).inline_reason


def test_a_component_calling_another_it_imports_compiles_once(root):
    root.write(
        "_components/card.html",
        '{% import "_components/button.html" as ui %}\n'
        "{% macro card(title, url) %}\n"
        '<div class="callout"><h3>{{ title }}</h3>{{ ui.button(url, "Open", kind="card") }}</div>\n'
        "{% endmacro %}",
    )
    page = (
        '{% from "_components/card.html" import card %}'
        f"<html><head><style>{CSS}</style></head><body>"
        "{% for item in items %}{{ card(item, url) }}{% endfor %}</body></html>"
    )
    cls = make_email(root, "cards", page)
    assert cls.templates().compiled("cards").inline_reason is None
    email = cls(name="n", url="https://x.example", items=["a", "<b>"], urgent=False)
    html = email.render().html
    assert html.count('class="button" style="color:#fff;') == 2
    assert '<td class="button-cell card">' in html
    assert normalized(html) == normalized(render_then_premailer(email))
