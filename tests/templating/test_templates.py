from __future__ import annotations

import os

import pytest

from emailkit import Email, EmailError, TemplateError
from emailkit.templating.templates import Templates, for_root

LAYOUT = """
<!DOCTYPE html>
<html><head><title>{% block title %}{% endblock %}</title></head>
<body>{% block content %}{% endblock %}
<p class="footer">{{ footer_note }}</p></body></html>
"""


def email_class(folder, **annotations):
    namespace = {"template": folder, "__annotations__": annotations or {"name": "str"}}
    return type("Note", (Email,), namespace)


def touch_later(path, content):
    """Rewrite a file with an mtime certainly different from the previous one."""
    stat = path.stat()
    path.write_text(content, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_html_is_autoescaped_and_text_is_not(emails_root):
    folder = emails_root.email(
        "note", subject_txt="{{ name }}", body_txt="{{ name }}", body_html="<p>{{ name }}</p>"
    )
    rendered = email_class(folder)(name="<b>&</b>").render()
    assert "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>" in rendered.html
    assert rendered.text == "<b>&</b>"
    assert rendered.subject == "<b>&</b>"


def test_layouts_and_partials_come_from_underscore_folders(emails_root):
    emails_root.write("_layouts/base.html", LAYOUT.replace("{{ footer_note }}", "Base"))
    emails_root.write("_partials/sig.html", "<p>Signed {{ name }}</p>")
    folder = emails_root.email(
        "note",
        subject_txt="Hi",
        body_html="""
        {% extends "_layouts/base.html" %}
        {% block content %}<h1>{{ name }}</h1>{% include "_partials/sig.html" %}{% endblock %}
        """,
    )
    html = email_class(folder)(name="Ada").render().html
    assert "<h1>Ada</h1>" in html
    assert "<p>Signed Ada</p>" in html
    assert "Base" in html


def test_undefined_variable_names_email_file_and_line(emails_root):
    folder = emails_root.email(
        "note", subject_txt="Hi", body_html="<p>fine</p>\n<p>{{ nmae }}</p>\n"
    )
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="Ada").render()
    error = caught.value
    assert (error.email, error.filename, error.lineno) == ("note", "note/body.html", 2)
    assert "'nmae' is undefined" in str(error)
    assert "declare the missing one as a field" in str(error)
    assert isinstance(error, EmailError)


def test_undefined_variable_in_layout_is_traced_to_the_layout(emails_root):
    emails_root.write("_layouts/base.html", LAYOUT)
    folder = emails_root.email(
        "note",
        subject_txt="Hi",
        body_html='{% extends "_layouts/base.html" %}{% block content %}x{% endblock %}',
    )
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="Ada").render()
    assert caught.value.filename == "_layouts/base.html"
    assert caught.value.lineno == 4
    assert "'footer_note' is undefined" in str(caught.value)


def test_undefined_in_text_part_is_traced_to_body_txt(emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_txt="a\nb\n{{ missing }}")
    with pytest.raises(TemplateError, match=r"note/body.txt, line 3: 'missing' is undefined"):
        email_class(folder)(name="Ada").render()


def test_syntax_error_names_file_and_line(emails_root):
    folder = emails_root.email(
        "note", subject_txt="Hi", body_html="<p>one</p>\n<p>two</p>\n{% if name %}<p>x</p>\n"
    )
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="Ada").render()
    assert caught.value.filename == "note/body.html"
    assert caught.value.lineno == 3
    assert "syntax error" in str(caught.value)


def test_syntax_error_in_layout_names_the_layout(emails_root):
    emails_root.write("_layouts/base.html", "<html>\n<body>\n{{ oops( }}\n</body></html>")
    folder = emails_root.email(
        "note", subject_txt="Hi", body_html='{% extends "_layouts/base.html" %}'
    )
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="Ada").render()
    assert (caught.value.filename, caught.value.lineno) == ("_layouts/base.html", 3)


def test_missing_layout_names_the_file_and_line_that_extends_it(emails_root):
    folder = emails_root.email(
        "note", subject_txt="Hi", body_html='{# layout #}\n{% extends "_layouts/nope.html" %}'
    )
    with pytest.raises(TemplateError) as caught:
        email_class(folder)(name="Ada").render()
    error = caught.value
    assert "'_layouts/nope.html' not found" in str(error)
    assert (error.email, error.filename, error.lineno) == ("note", "note/body.html", 2)


def test_missing_subject_says_which_file_to_create(emails_root):
    folder = emails_root.email("note", body_html="<p>x</p>")
    with pytest.raises(TemplateError, match=r"note: subject.txt is missing. Create .*subject.txt"):
        email_class(folder)(name="Ada").render()


def test_email_without_any_body_is_an_error(emails_root):
    folder = emails_root.email("note", subject_txt="Hi")
    with pytest.raises(TemplateError, match=r"neither body\.html nor body\.txt"):
        email_class(folder)(name="Ada").render()


def test_text_only_email_has_no_html(emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_txt="Just text")
    rendered = email_class(folder)(name="Ada").render()
    assert rendered.html is None
    assert rendered.text == "Just text"


def test_templates_compile_once(emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_html="<p>{{ name }}</p>")
    cls = email_class(folder)
    cls(name="a").render()
    first = cls.templates().compiled("note")
    cls(name="b").render()
    assert cls.templates().compiled("note") is first


def test_changed_file_is_reloaded_without_restart_when_auto_reload_is_on(emails_root):
    folder = emails_root.email(
        "note", subject_txt="Hi", body_html="<style>p{color:red}</style><p>{{ name }} v1</p>"
    )
    cls = email_class(folder)
    cls.templates().auto_reload = True
    assert "v1" in cls(name="Ada").render().html
    touch_later(folder / "body.html", "<style>p{color:blue}</style><p>{{ name }} v2</p>")
    html = cls(name="Ada").render().html
    assert "v2" in html
    assert "color:blue" in html


def test_changed_layout_css_and_new_style_file_are_reloaded(emails_root):
    css = emails_root.write("_layouts/base.css", "p { color: red }")
    emails_root.write(
        "_layouts/base.html",
        '<html><head><link rel="stylesheet" href="base.css"></head>'
        "<body>{% block content %}{% endblock %}</body></html>",
    )
    folder = emails_root.email(
        "note",
        subject_txt="Hi",
        body_html='{% extends "_layouts/base.html" %}{% block content %}<p>x</p>{% endblock %}',
    )
    cls = email_class(folder)
    cls.templates().auto_reload = True
    assert 'style="color:red"' in cls(name="a").render().html
    touch_later(css, "p { color: green }")
    assert 'style="color:green"' in cls(name="a").render().html
    (folder / "style.css").write_text("p { font-weight: bold }")
    assert "font-weight:bold" in cls(name="a").render().html


def test_without_auto_reload_the_compiled_email_stays(emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_html="<p>v1</p>")
    cls = email_class(folder)
    assert "v1" in cls(name="a").render().html
    touch_later(folder / "body.html", "<p>v2</p>")
    assert "v1" in cls(name="a").render().html


def test_one_templates_object_per_root(emails_root):
    assert for_root(emails_root.path) is for_root(emails_root.path / ".." / "emails")
    assert isinstance(for_root(emails_root.path), Templates)


def test_template_names_cannot_leave_the_root(emails_root):
    emails_root.write("../secret.html", "secret")
    folder = emails_root.email("note", subject_txt="Hi", body_html='{% include "../secret.html" %}')
    with pytest.raises(TemplateError, match="not found"):
        email_class(folder)(name="a").render()


def test_a_template_that_is_not_utf8_names_email_file_and_line(emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_html="<p>one</p>\n<p>two</p>\n")
    (folder / "body.html").write_bytes("<p>one</p>\n<p>caf\xe9</p>\n".encode("latin-1"))
    with pytest.raises(TemplateError) as raised:
        email_class(folder)(name="Ada").render()
    assert str(raised.value).startswith(
        "note: note/body.html, line 2: not UTF-8 text (byte 0xe9 cannot be decoded). Save the file"
    )


def test_a_stylesheet_that_is_not_utf8_names_the_stylesheet(emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_html="<p>one</p>\n")
    (folder / "style.css").write_bytes("p { color: red }\n/* caf\xe9 */\n".encode("latin-1"))
    with pytest.raises(TemplateError, match=r"^note: note/style.css, line 2: not UTF-8 text"):
        email_class(folder)(name="Ada").render()


def test_a_tried_include_that_appears_later_is_picked_up_on_reload(emails_root):
    from emailkit import Email

    emails_root.write("_parts/b.html", "<b>B</b>")
    folder = emails_root.email(
        "pick",
        subject_txt="Hi",
        body_html='<html><body>{% include ["_parts/a.html", "_parts/b.html"] %}</body></html>',
    )
    cls = type("Pick", (Email,), {"template": folder, "__annotations__": {}})
    cls.templates().auto_reload = True
    assert "<b>B</b>" in cls().render().html
    emails_root.write("_parts/a.html", "<i>A</i>")
    assert "<i>A</i>" in cls().render().html
