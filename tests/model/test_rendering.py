from __future__ import annotations

import pytest

from emailkit import Email, EmailError, HeaderError, Rendered


def email_class(folder, **annotations):
    namespace = {"template": folder, "__annotations__": annotations or {"name": "str"}}
    return type("Note", (Email,), namespace)


def test_subject_collapses_the_templates_own_line_breaks_and_spaces(emails_root):
    folder = emails_root.email(
        "note",
        subject_txt="""
        {% if name %}
        Hello   {{ name }},
           welcome
        {% endif %}
        """,
        body_txt="x",
    )
    assert email_class(folder)(name="Ada").render().subject == "Hello Ada, welcome"


@pytest.mark.parametrize("value", ["Ada\nBcc: victim@example.com", "Ada\rX", "Ada\r\n"])
def test_line_break_from_a_field_in_the_subject_is_refused_naming_the_field(emails_root, value):
    folder = emails_root.email("note", subject_txt="Hello {{ name }}", body_txt="x")
    with pytest.raises(HeaderError, match=r"Note: subject.txt takes field 'name'.*line break"):
        email_class(folder)(name=value).render()


def test_line_break_through_a_property_is_refused_too(emails_root):
    folder = emails_root.email("note", subject_txt="Hello {{ email.shout }}", body_txt="x")

    class Shouty(Email):
        template = folder
        name: str

        @property
        def shout(self) -> str:
            return self.name.upper()

    with pytest.raises(HeaderError, match=r"value 'ADA\\nX'") as caught:
        Shouty(name="Ada\nx").render()
    assert isinstance(caught.value, EmailError)


def test_line_breaks_in_fields_the_subject_does_not_use_are_fine(emails_root):
    folder = emails_root.email(
        "note", subject_txt="Hello", body_txt="{{ address }}", body_html="<p>{{ address }}</p>"
    )
    rendered = email_class(folder, address="str")(address="1 Main St\nSpringfield").render()
    assert rendered.text == "1 Main St\nSpringfield"


def test_text_part_is_generated_from_html_when_body_txt_is_missing(emails_root):
    folder = emails_root.email(
        "note",
        subject_txt="Hi",
        body_html="""
        <html><head><style>p{color:red}</style><title>T</title></head><body>
        <div style="display:none">preheader text</div>
        <h1>Hello {{ name }}</h1>
        <p>Please <a href="https://acme.example.com/c/1">confirm your address</a>.</p>
        <p>Or visit <a href="https://acme.example.com">https://acme.example.com</a>.</p>
        <table><tr><td>Widget</td><td>$10.00</td></tr><tr><td>Gadget</td><td>$5.00</td></tr></table>
        </body></html>
        """,
    )
    text = email_class(folder)(name="Ada").render().text
    assert "Hello Ada" in text
    assert "confirm your address (https://acme.example.com/c/1)" in text
    assert "Or visit https://acme.example.com." in text
    assert "preheader" not in text
    assert "color:red" not in text and "<" not in text
    assert "Widget  $10.00" in text


def test_rendered_is_plain_data():
    rendered = Rendered(email="note", subject="S", html="<p>x</p>", text_part="x")
    assert (rendered.email, rendered.subject, rendered.html, rendered.text) == (
        "note",
        "S",
        "<p>x</p>",
        "x",
    )


def test_errors_raised_by_email_code_are_template_errors_naming_the_line(emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_txt="line\n{{ email.broken }}")

    class Broken(Email):
        template = folder

        @property
        def broken(self) -> str:
            raise ZeroDivisionError("oops")

    with pytest.raises(EmailError, match=r"note/body.txt, line 2: ZeroDivisionError: oops"):
        Broken().render()
