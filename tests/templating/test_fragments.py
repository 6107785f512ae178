from __future__ import annotations

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from emailkit import Email
from emailkit.templating.cssrules import Premailer
from emailkit.templating.inline import inject_css, inline_css, inline_fast

from ..conftest import EmailsRoot

CSS = """
p { margin: 0 0 10px }
a { color: #348eda }
.content a { text-decoration: underline }
.content p.lead { font-size: 18px }
td.cell b, .note { font-weight: 700 }
ul li { margin-left: 5px }
#main .content span { color: red !important }
@media (max-width: 600px) { p { margin: 0 !important } }
"""

PAGE = """<!DOCTYPE html><html><head><style>{css}</style></head><body>
<table id="main"><tr><td class="cell"><div class="content">
<p class="lead">Hello {{ name }}</p>
{{ story|safe }}
<p>{{ _('Read <a href="%(url)s">the guide</a>.', url=url) }}</p>
</div></td></tr></table>
<p class="note">{{ footer|safe }}</p>
</body></html>"""

words = st.text(alphabet="abc <>&\"'é山", min_size=0, max_size=6)
leaf = st.one_of(
    words.map(lambda text: Markup.escape(text)),
    st.builds(lambda t: Markup("<b>%s</b>") % t, words),
    st.builds(lambda t: Markup('<a href="https://x.example/?a=1&amp;b=2">%s</a>') % t, words),
    st.builds(lambda t: Markup('<span class="note">%s</span>') % t, words),
)


def joined(template: str, parts: list[Markup], item: str = "%s") -> Markup:
    return Markup(template) % Markup("").join(Markup(item) % part for part in parts)


block = st.one_of(
    st.builds(lambda parts: joined("<p>%s</p>", parts), st.lists(leaf, max_size=3)),
    st.builds(lambda li: joined("<ul>%s</ul>", li, "<li>%s</li>"), st.lists(leaf, max_size=3)),
    leaf,
)
rich_text = st.lists(block, max_size=4).map(lambda blocks: Markup("").join(blocks))


def normalized(html: str) -> str:
    document = lxml.html.document_fromstring(html)
    return " ".join(lxml.html.tostring(document, encoding="unicode").split()).replace("> <", "><")


def render_then_premailer(email: Email) -> str:
    compiled = type(email).templates().compiled(type(email).email_name)
    return inline_css(inject_css(compiled.html_source.render(email.template_context()), ""))


def render_then_css_inline(email: Email) -> str:
    """What a template that never compiles once gives: css_inline after the render."""
    compiled = type(email).templates().compiled(type(email).email_name)
    return inline_fast(inject_css(compiled.html_source.render(email.template_context()), ""))


def make_email(root: EmailsRoot, name: str, body_html: str) -> type[Email]:
    folder = root.email(name, subject_txt="Hi", body_html=body_html)
    annotations = {"name": "str", "story": "str", "footer": "str", "url": "str"}
    return type(f"E{name}", (Email,), {"template": folder, "__annotations__": annotations})


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> type[Email]:
    path = tmp_path_factory.mktemp("fragments") / "emails"
    path.mkdir()
    return make_email(EmailsRoot(path), "rich", PAGE.replace("{css}", CSS))


def test_markup_from_values_compiles_once(rich):
    assert rich.templates().compiled("rich").inline_reason is None


@settings(max_examples=60, deadline=None)
@given(message=rich_text, footer=rich_text, name=words, url=words)
def test_markup_from_values_is_inlined_like_the_whole_document(rich, message, footer, name, url):
    email = rich(name=name, story=message, footer=footer, url=url)
    assert normalized(email.render().html) == normalized(render_then_premailer(email))


def test_fragment_inlining_costs_the_fragment_not_the_email(rich, monkeypatch):
    rich(name="a", story=Markup("<p>x</p>"), footer="", url="u").render()  # compiles
    seen: list[str] = []
    original = Premailer.transform

    def recording(self, html, *args, **kwargs):
        seen.append(html)
        return original(self, html, *args, **kwargs)

    monkeypatch.setattr(Premailer, "transform", recording)
    filler = "".join(f"<p>paragraph {n} of a long email</p>" for n in range(300))
    page = PAGE.replace("{css}", CSS).replace("</body>", filler + "</body>")
    email = rich(name="a", story=Markup("<p>rich <b>text</b> 1</p>"), footer="", url="u")
    source = rich.templates().compiled("rich").html_source.render(email.template_context())
    assert len(page) < len(source) + len(filler) + 1000
    email.render()
    assert seen and all(len(html) < len(CSS) + 1000 for html in seen)


def test_markup_bringing_a_stylesheet_inlines_the_whole_rendering(rich):
    message = Markup("<style>.content b { color: green }</style><p><b>x</b></p>")
    email = rich(name="a", story=message, footer="", url="u")
    html = email.render().html
    assert 'style="color:green' in html or "color:green" in html
    assert normalized(html) == normalized(render_then_premailer(email))


def test_markup_bringing_a_stylesheet_where_no_rule_applies_still_restyles_the_email(tmp_path):
    root = EmailsRoot(tmp_path)
    cls = make_email(root, "bare", "<html><body><p>{{ name }}</p>{{ story|safe }}</body></html>")
    assert cls.templates().compiled("bare").inline_reason is None
    email = cls(name="a", story=Markup("<style>p{color:red}</style>"), footer="", url="u")
    assert '<p style="color:red">a</p>' in email.render().html


SCOPED_CSS = (
    CSS
    + """
.callout p:first-child { margin-top: 0 }
.callout h3 + p { font-weight: bold }
ul.steps li + li { border-top: 1px solid #eee }
"""
)

SCOPED_PAGE = PAGE.replace(
    '<p class="note">',
    '<div class="callout"><h3>Note</h3><p>fixed</p></div>'
    '<ul class="steps"><li>one</li><li>two</li></ul><p class="note">',
)


def test_structural_rules_scoped_away_from_the_markup_still_compile_once(tmp_path):
    cls = make_email(EmailsRoot(tmp_path), "scoped", SCOPED_PAGE.replace("{css}", SCOPED_CSS))
    assert cls.templates().compiled("scoped").inline_reason is None

    @settings(max_examples=30, deadline=None)
    @given(message=rich_text, footer=rich_text)
    def renders_like_premailer(message, footer):
        email = cls(name="n", story=message, footer=footer, url="u")
        assert normalized(email.render().html) == normalized(render_then_premailer(email))

    renders_like_premailer()


@pytest.mark.parametrize(
    "rule", [".content p:first-child", ".content p + ul", "td.cell li:last-child", "p ~ .x"]
)
def test_structural_rules_that_reach_the_markup_fall_back(tmp_path, rule):
    page = SCOPED_PAGE.replace("{css}", SCOPED_CSS + rule + " { color: red }")
    cls = make_email(EmailsRoot(tmp_path), "reached", page)
    reason = cls.templates().compiled("reached").inline_reason
    assert reason is not None and "brings markup whose place among its siblings" in reason
    email = cls(name="n", story=Markup("<p>a</p><ul><li>1</li></ul>"), footer="", url="u")
    assert email.render().html == render_then_css_inline(email)
