from __future__ import annotations

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emailkit import Email
from emailkit.templating.cssrules import inlined_selectors, sibling_sensitive
from emailkit.templating.inline import inject_css, inline_css, inline_fast

from ..conftest import EmailsRoot

STRUCTURAL_CSS = """
u + #body a { color: inherit }
p:first-child { margin-top: 0 }
td:last-child { text-align: right }
p + .stat { font-weight: bold }
ol > li:first-child { color: blue }
.note ~ p { color: gray }
"""

# Every structural rule above tests elements whose siblings the control flow leaves alone.
SAFE = """<html><head><style>{css}</style></head><body><div id="body">
<div class="intro"><p>Hello {{ name }}</p><p class="stat">{{ rows|length }} rows</p></div>
<table>{% for row in rows %}
  <tr><td>{{ row }}</td><td>{{ loop.index }}</td></tr>
{% endfor %}</table>
<ul>{% for row in rows %}<li><ol><li>first</li><li>{{ row }}</li></ol></li>{% endfor %}</ul>
<div>{% if flag %}<div><p>yes</p><p class="stat">s</p></div>
{% else %}<div><p>no</p></div>{% endif %}</div>
<div><p class="note">n</p><p>after</p></div>
</div></body></html>"""

# Each of these puts control flow among the siblings a structural rule tests.
UNSAFE = [
    "<div>{% if flag %}<p>maybe</p>{% endif %}<p class='stat'>s</p></div>",
    "<ol>{% for row in rows %}<li>{{ row }}</li>{% endfor %}</ol>",
    "<table><tr>{% for row in rows %}<td>{{ row }}</td>{% endfor %}</tr></table>",
    "<div><p class='note'>n</p>{% if flag %}<p>x</p>{% endif %}</div>",
    "<div>{% for row in rows %}<p>{{ row }}</p>{% endfor %}</div>",
]


def make_email(root: EmailsRoot, name: str, body_html: str) -> type[Email]:
    folder = root.email(name, subject_txt="Hi", body_html=body_html)
    namespace = {
        "template": folder,
        "__annotations__": {"name": "str", "rows": "list", "flag": "bool"},
    }
    return type(f"E{name}", (Email,), namespace)


def normalized(html: str) -> str:
    document = lxml.html.document_fromstring(html)
    return " ".join(lxml.html.tostring(document, encoding="unicode").split()).replace("> <", "><")


def render_then_premailer(email: Email) -> str:
    compiled = type(email).templates().compiled(type(email).email_name)
    return inline_css(inject_css(compiled.html_source.render(email.template_context()), ""))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> EmailsRoot:
    path = tmp_path_factory.mktemp("structural") / "emails"
    path.mkdir()
    return EmailsRoot(path)


contexts = st.fixed_dictionaries(
    {
        "name": st.text(max_size=8),
        "rows": st.lists(st.text(max_size=5), max_size=4),
        "flag": st.booleans(),
    }
)


def test_structural_rules_away_from_control_flow_compile_once(root):
    cls = make_email(root, "safe", SAFE.replace("{css}", STRUCTURAL_CSS))
    assert cls.templates().compiled("safe").inline_reason is None

    @settings(max_examples=40, deadline=None)
    @given(contexts)
    def renders_like_premailer(values):
        email = cls(**values)
        assert normalized(email.render().html) == normalized(render_then_premailer(email))

    renders_like_premailer()


@pytest.mark.parametrize("body", UNSAFE, ids=range(len(UNSAFE)))
def test_structural_rules_among_control_flow_fall_back_and_stay_equal(root, body):
    name = f"unsafe{UNSAFE.index(body)}"
    page = f"<html><head><style>{STRUCTURAL_CSS}</style></head><body>{body}</body></html>"
    cls = make_email(root, name, page)
    reason = cls.templates().compiled(name).inline_reason
    assert reason is not None and "matches differently" in reason
    assert f"{name}/body.html, line 8" in reason

    @settings(max_examples=15, deadline=None)
    @given(contexts)
    def renders_like_css_inline(values):
        # Never compiled once, so nothing to match: inlined after each render by css_inline.
        email = cls(**values)
        compiled = cls.templates().compiled(name)
        source = compiled.html_source.render(email.template_context())
        assert email.render().html == inline_fast(inject_css(source, compiled.css))

    renders_like_css_inline()


def test_only_rules_premailer_inlines_are_listed():
    css = "@import url('x.css'); @media (max-width:600px){p{color:red}} a:hover{color:red} "
    css += "p:first-child, .a + .b {margin:0} li:nth-child(2){color:red} * {x:y} p:not(.a){c:d}"
    assert list(inlined_selectors(css)) == ["p:first-child", ".a + .b"]


def test_sibling_sensitive_elements_err_towards_too_many():
    document = lxml.html.document_fromstring(
        "<div><p class='a'>1</p><p class='b'>2</p></div><span>3</span>"
    )
    found = {e.text for e, _ in sibling_sensitive(".a + p.b:first-child", document)}
    assert found == {"1", "2"}
    assert not list(sibling_sensitive("div p", document))
