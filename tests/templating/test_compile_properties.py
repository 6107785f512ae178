"""Property tests over generated template shapes (issue 22): loops run 0 to n times,
branches taken both ways, values in attributes (style, href, bgcolor) under a stylesheet with
attribute selectors. Compiled once, every rendering is the document render-then-premailer
makes of it, compared parsed (emailkit.templating.documents)."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emailkit import Email
from emailkit.templating.documents import canonical
from emailkit.templating.inline import inject_css, inline_css, inline_fast

CSS = """
body { margin: 0 }
p { color: #333; margin: 0 0 10px }
.lead { font-size: 18px }
td { padding: 4px }
ul li { margin-left: 5px }
a { color: #348eda }
.box { border: 1px solid #ddd }
div[style*="margin: 16px 0;"] { margin: 0 !important }
a[href^="tel"] { color: inherit }
table.items td.price { text-align: right }
@media (max-width: 600px) { p { margin: 0 !important } }
"""

BLOCKS = {
    "lead": '<p class="lead">Hello {{ name }}</p>',
    "loop": "<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>",
    "branch": '{% if flag %}<div class="box">{{ name }}</div>{% else %}<p>none</p>{% endif %}',
    "style": '<table><tr><td style="background-color: {{ colour }}; padding: 8px">x</td>'
    "</tr></table>",
    "href": '<p><a href="{{ url }}">{{ name }}</a></p>',
    "rows": '<table class="items">{% for item in items %}<tr><td>{{ item }}</td>'
    '<td class="price">{{ price }}</td></tr>{% endfor %}</table>',
    "nested": '{% for item in items %}{% if flag %}<p class="lead">{{ item }}</p>'
    '{% else %}<div style="margin: 16px 0;">{{ item }}</div>{% endif %}{% endfor %}',
}
_counter = itertools.count()


def build(root: Path, blocks: tuple[str, ...]) -> type[Email]:
    name = f"shape{next(_counter)}"
    folder = root / name
    folder.mkdir()
    body = "\n".join(BLOCKS[block] for block in blocks)
    (folder / "body.html").write_text(
        f"<html><head><style>{CSS}</style></head><body>\n{body}\n</body></html>",
        encoding="utf-8",
    )
    (folder / "subject.txt").write_text("Hi", encoding="utf-8")
    annotations = {
        "name": "str",
        "items": "list",
        "flag": "bool",
        "colour": "str",
        "url": "str",
        "price": "str",
    }
    return type(name.title(), (Email,), {"template": folder, "__annotations__": annotations})


TEXT = st.text(alphabet="ab é<&\"'", max_size=6)
CONTEXTS = st.fixed_dictionaries(
    {
        "name": TEXT,
        "items": st.lists(TEXT, max_size=4),
        "flag": st.booleans(),
        "colour": st.sampled_from(["#c00", "red", "rgb(0, 128, 0)", "transparent"]),
        "url": st.sampled_from(["https://example.com/a?b=1&c=2", "tel:+123", "mailto:a@b.c"]),
        "price": st.sampled_from(["$1.00", "€ 2,50", ""]),
    }
)
SHAPES = st.lists(st.sampled_from(sorted(BLOCKS)), min_size=1, max_size=4).map(tuple)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(shape=SHAPES, contexts=st.lists(CONTEXTS, min_size=1, max_size=3))
def test_compiled_renders_are_the_documents_render_then_premailer_makes(
    tmp_path_factory, shape, contexts
):
    root = tmp_path_factory.mktemp("shapes")
    cls = build(root, shape)
    compiled = cls.templates().compiled(cls.email_name)
    if compiled.inline_reason is not None:
        # Only a value that decides whether a rule applies to its own element falls back:
        # the <a href="{{ url }}"> a[href^="tel"] can match (never the td's style value).
        assert "href" in shape and "'a[href^=\"tel\"]' applies" in compiled.inline_reason
    for context in contexts:
        email = cls(**context)
        html = compiled.html_source.render(email.template_context())
        if compiled.inline_reason is not None:
            assert email.render().html == inline_fast(inject_css(html, compiled.css))
            continue
        expected = inline_css(inject_css(html, compiled.css))
        assert canonical(email.render().html) == canonical(expected)


def test_a_style_value_on_a_td_compiles_once_beside_a_div_style_selector(tmp_path):
    cls = build(tmp_path, ("style", "lead"))
    assert cls.templates().compiled(cls.email_name).inline_reason is None
