"""The generated text part (no body.txt): hidden elements are skipped however the CSS hides
them, and values in style attributes that the layout does not read keep it compiled."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emailkit import Email
from emailkit.templating.text.html2text import html_to_text
from emailkit.templating.text.values import finish

PAGE = """<html><head><style>{css}</style></head><body>
<span class="preheader"{style}>Your order shipped, {{{{ name }}}}</span>
<p>Hello {{{{ name }}}},</p>
<p style="color: {{{{ colour }}}}; font-weight: bold">your order is on its way.</p>
</body></html>"""

HIDINGS = [
    (".preheader { display: none !important }", ""),
    (".preheader { display: none }", ""),
    ("", ' style="display:none !important"'),
    (".preheader { mso-hide: all }", ""),
    ("", ' style="max-height: 0; overflow: hidden"'),
    ("", ' style="color: transparent; MAX-HEIGHT:0px !important"'),
]


def make(emails_root, css: str, style: str) -> type[Email]:
    folder = emails_root.email(
        "shipped", subject_txt="Shipped", body_html=PAGE.format(css=css, style=style)
    )
    annotations = {"name": "str", "colour": "str"}
    return type("Shipped", (Email,), {"template": folder, "__annotations__": annotations})


@pytest.mark.parametrize(("css", "style"), HIDINGS)
def test_hidden_preheader_is_not_in_the_text_however_hidden(emails_root, css, style):
    cls = make(emails_root, css, style)
    compiled = cls.templates().compiled("shipped")
    assert compiled.generated_text is not None, compiled.text_reason
    rendered = cls(name="Ada", colour="#c00").render()
    assert "Your order shipped" not in rendered.text
    assert "Hello Ada," in rendered.text and "your order is on its way." in rendered.text
    assert rendered.text == html_to_text(rendered.html)


def test_per_render_conversion_skips_important_hidden_elements():
    html = '<p style="display: none !important">pre</p><p>body</p>'
    assert html_to_text(html) == "body\n"


def test_a_colour_from_a_value_in_a_style_keeps_the_text_compiled(emails_root):
    cls = make(emails_root, "", "")
    assert cls.templates().compiled("shipped").generated_text is not None


def test_a_value_setting_display_makes_the_text_per_render(emails_root):
    folder = emails_root.email(
        "shown",
        subject_txt="x",
        body_html='<html><body><p style="display: {{ how }}">a</p></body></html>',
    )
    cls = type("Shown", (Email,), {"template": folder, "__annotations__": {"how": "str"}})
    compiled = cls.templates().compiled("shown")
    assert compiled.generated_text is None and "decides the text layout" in compiled.text_reason
    assert cls(how="none").render().text == html_to_text(cls(how="none").render().html)


SPACER_LAYOUT = """<html><body><table><tr><td></td><td class="container">
<p>Hi {{ name }},</p><p>{{ note }}</p>
</td><td></td></tr></table></body></html>"""


@pytest.mark.parametrize("note", ["short", "x" * 170, "wide " * 50, ""])
def test_layout_tables_with_empty_side_columns_keep_the_text_compiled(emails_root, note):
    folder = emails_root.email("spaced", subject_txt="x", body_html=SPACER_LAYOUT)
    annotations = {"name": "str", "note": "str"}
    cls = type("Spaced", (Email,), {"template": folder, "__annotations__": annotations})
    compiled = cls.templates().compiled("spaced")
    assert compiled.generated_text is not None, compiled.text_reason
    rendered = cls(name="Ada", note=note).render()
    assert rendered.text == html_to_text(rendered.html)


RECEIPT = """<html><body><p>Order {{ number }}</p>
<table><tr><th align="left">Item</th><th align="center">Qty</th><th align="right">Amount</th></tr>
{% for item in items %}<tr>
<td>{{ item.name }}{% if item.variant %}<br><span>{{ item.variant }}</span>{% endif %}</td>
<td align="center">{{ item.qty }}</td>
<td align="right" style="vertical-align: top">{{ item.amount }}</td>
</tr>{% endfor %}
</table><p>Thanks</p></body></html>"""

ITEMS = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.text(alphabet="ab é«", min_size=1, max_size=12).map(str.strip).filter(bool),
            "variant": st.sampled_from(["", "Blue", "Extra large size"]),
            "qty": st.integers(0, 1000),
            "amount": st.sampled_from(["$1.00", "€ 1.234,50", "¥12"]),
        }
    ),
    max_size=5,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=ITEMS)
def test_tables_whose_columns_values_size_are_laid_out_at_render(emails_root, items):
    folder = emails_root.email("receipt", subject_txt="x", body_html=RECEIPT)
    annotations = {"number": "str", "items": "list"}
    cls = type("Receipt", (Email,), {"template": folder, "__annotations__": annotations})
    compiled = cls.templates().compiled("receipt")
    assert compiled.generated_text is not None, compiled.text_reason
    email = cls(number="A-1", items=items)
    text = finish(compiled.generated_text.template.render(email.template_context()))
    assert text == html_to_text(email.render().html)


def test_a_cell_spanning_columns_keeps_the_text_per_render(emails_root):
    folder = emails_root.email(
        "spanning",
        subject_txt="x",
        body_html='<html><body><table><tr><td colspan="2">{{ item }}</td></tr>'
        "<tr><td>Total</td><td>$2</td></tr></table></body></html>",
    )
    cls = type("Spanning", (Email,), {"template": folder, "__annotations__": {"item": "str"}})
    compiled = cls.templates().compiled("spanning")
    assert compiled.generated_text is None and "spanning columns" in compiled.text_reason
    rendered = cls(item="Tea").render()
    assert rendered.text == html_to_text(rendered.html)
