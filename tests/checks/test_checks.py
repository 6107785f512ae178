"""Each check with a template that fails it and one that passes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from emailkit import Email, discover
from emailkit.checks import run_checks
from emailkit.cli import main

from ..conftest import SHIPPED_ROOT

PAGE = """<!DOCTYPE html>
<html lang="en"><head><title>T</title><style>p {{ margin: 0 }}</style></head>
<body>
{body}
</body></html>
"""


def make(
    emails_root,
    body="<p>{{ name }}</p>",
    *,
    name="note",
    text="Hi {{ name }}",
    samples=None,
    page=PAGE,
    extra=None,
):
    files = {"subject_txt": "Hi {{ name }}", "body_html": page.format(body=body)}
    if text is not None:
        files["body_txt"] = text
    folder = emails_root.email(name, **files)
    namespace = {
        "template": folder,
        "__annotations__": {"name": "str", **(extra or {})},
        "previews": classmethod(lambda cls: samples or {"default": cls(name="Ada")}),
    }
    return type("Note", (Email,), namespace)


def findings(cls, check=None, severity=None):
    report = run_checks({cls.email_name: cls})
    return [
        f
        for f in report.findings
        if (check is None or f.check == check or f.check.startswith(check + "."))
        and (severity is None or f.severity == severity)
    ]


def test_shipped_emails_have_no_errors():
    report = run_checks(discover(SHIPPED_ROOT))
    assert report.errors == []
    assert report.samples == 16
    assert set(report.scores) == {"welcome", "password_reset", "receipt", "digest", "newsletter"}


def test_undeclared_variable_is_found_without_rendering_naming_file_line_and_fix(emails_root):
    cls = make(emails_root, "<p>{{ name }}</p>\n{% if false %}<p>{{ nmae }}</p>{% endif %}")
    (finding,) = findings(cls, "context.undeclared")
    assert finding.severity == "error"
    assert (finding.file, finding.line) == ("note/body.html", 5)
    assert "'nmae'" in finding.message and "did you mean 'name'?" in finding.hint
    assert findings(make(emails_root, "<p>{{ name }}</p>", name="fine"), "context") == []


def test_layouts_includes_and_with_blocks_are_understood(emails_root):
    emails_root.write("_partials/sig.html", "<p>{{ signer }} for {{ name }}</p>")
    emails_root.write("_layouts/base.html", PAGE.format(body="{% block content %}{% endblock %}"))
    cls = make(
        emails_root,
        page='{{% extends "_layouts/base.html" %}}{{% block content %}}{body}{{% endblock %}}',
        body='{% with signer="Acme" %}{% include "_partials/sig.html" %}{% endwith %}'
        "{% for x in [1] %}{{ loop.index }}{{ x }}{% endfor %}{{ range(2)|list }}",
    )
    assert findings(cls, "context", "error") == []


def test_misspelled_email_attribute_is_an_error(emails_root):
    cls = make(emails_root, "<p>{{ email.shuot }}</p>")
    cls.shout = property(lambda self: self.name.upper())
    (finding,) = findings(cls, "context.attribute")
    assert "email.shuot" in finding.message and "did you mean 'shout'?" in finding.hint
    assert (finding.file, finding.line) == ("note/body.html", 4)
    good = make(emails_root, "<p>{{ email.shout }}</p>", name="good")
    good.shout = property(lambda self: self.name.upper())
    assert findings(good, "context.attribute") == []


def test_fields_no_template_reads_are_info(emails_root):
    cls = make(emails_root, extra={"unused_thing": "str"})
    (finding,) = findings(cls, "context.unused")
    assert finding.severity == "info" and "'unused_thing'" in finding.message


def test_sample_that_does_not_render_is_an_error_with_file_and_line(emails_root):
    cls = make(emails_root, "<p>{{ name }}</p>", text="line\n{{ 1 / 0 }}")
    (finding,) = findings(cls, "render.fails")
    assert (finding.severity, finding.sample) == ("error", "default")
    assert (finding.file, finding.line) == ("note/body.txt", 2)


def test_field_printed_empty_is_a_warning_unless_guarded(emails_root):
    samples = None
    cls = make(
        emails_root,
        "<p>{{ name }}</p><p>{{ nickname }}</p>",
        extra={"nickname": "str | None"},  # None for a plain str is refused at construction
        samples=samples,
    )
    cls.previews = classmethod(lambda c: {"default": c(name="Ada", nickname=None)})
    (finding,) = findings(cls, "render.empty-field")
    assert finding.message == "{{ nickname }} prints None in this sample"
    assert (finding.file, finding.line, finding.sample) == ("note/body.html", 4, "default")
    guarded = make(
        emails_root,
        "{% if nickname %}<p>{{ nickname }}</p>{% endif %}{{ name }}",
        name="guarded",
        extra={"nickname": "str"},
    )
    guarded.previews = classmethod(lambda c: {"default": c(name="Ada", nickname=None)})
    assert findings(guarded, "render.empty-field") == []


@pytest.mark.parametrize(
    ("size", "severity"), [(110 * 1024, "error"), (90 * 1024, "warning"), (10 * 1024, None)]
)
def test_html_size_against_gmail_clipping(emails_root, size, severity):
    cls = make(emails_root, "<p>{{ name }}</p><p>" + "x" * size + "</p>")
    found = findings(cls, "size.html")
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_client_support_warns_per_client_and_scores_each(emails_root):
    cls = make(emails_root, '<div style="display:flex; border-radius:4px">{{ name }}</div>')
    found = {f.check: f for f in findings(cls, "support")}
    assert "Outlook Windows" in found["support.css-display-flex"].message
    assert "Outlook Windows" in found["support.css-border-radius"].message
    assert found["support.css-display-flex"].severity == "warning"
    # square corners in Outlook are a fallback, not a failure: said, not warned
    assert found["support.css-border-radius"].severity == "info"
    assert "square corners" in found["support.css-border-radius"].hint
    assert (found["support.css-display-flex"].file, found["support.css-display-flex"].line) == (
        "note/body.html",
        4,  # make() wraps the markup in a document
    )
    assert "support.css-accent-color" not in found  # 'color' is not accent-color
    report = run_checks({cls.email_name: cls})
    scores = report.scores["note"]
    assert scores["Apple Mail macOS"] > scores["Outlook Windows"]
    plain = make(emails_root, "<p>{{ name }}</p>", name="plain")
    assert "support.css-display-flex" not in {f.check for f in findings(plain, "support")}


@pytest.mark.parametrize(
    ("anchor", "check", "severity"),
    [
        ('<a href="">x</a>', "links.empty", "warning"),
        ('<a href="#">x</a>', "links.empty", "warning"),
        ('<a href="http://acme.io/x">x</a>', "links.http", "warning"),
        ('<a href="/account">x</a>', "links.relative", "error"),
        ('<a href="https://localhost:5000/x">x</a>', "links.localhost", "warning"),
        ('<a href="https://shop.example.com/x">x</a>', "links.example-host", "info"),
        # a relative image is embedded when sent, so a missing file is the error
        ('<img src="logo.png" alt="Acme" width="10" height="10">', "images.missing", "error"),
        ('<a href="logo.html">x</a>', "links.relative", "error"),
        ('<img src="https://acme.io/l.png" width="10" height="10">', "images.alt", "warning"),
        ('<img src="https://acme.io/l.png" alt="Acme">', "images.size", "warning"),
    ],
)
def test_links_and_images(emails_root, anchor, check, severity):
    cls = make(emails_root, "<p>{{ name }}</p>\n" + anchor, text="Hi {{ name }} https://acme.io/x")
    found = findings(cls, check)
    assert [f.severity for f in found] == [severity]
    if check != "links.example-host":
        assert (found[0].file, found[0].line) == ("note/body.html", 5)
    good = make(
        emails_root,
        '<p>{{ name }}</p><a href="https://acme.io/x">x</a>'
        '<img src="https://acme.io/l.png" alt="Acme" width="10" height="10">',
        name="good",
        text="Hi {{ name }} https://acme.io/x",
    )
    assert findings(good, "links") == [] and findings(good, "images") == []


def test_accessibility(emails_root):
    bare = "<html><head><style>p {{ margin: 0 }}</style></head><body>{body}</body></html>"
    cls = make(emails_root, "<table><tr><td>{{ name }}</td></tr></table>", page=bare)
    assert {f.check for f in findings(cls, "a11y")} == {
        "a11y.lang",
        "a11y.title",
        "a11y.layout-table",
    }
    good = make(
        emails_root, '<table role="presentation"><tr><td>{{ name }}</td></tr></table>', name="good"
    )
    assert findings(good, "a11y") == []


def test_text_part_markup_missing_links_and_emptiness(emails_root):
    cls = make(
        emails_root,
        '<p>{{ name }} <a href="https://acme.io/go">Go</a></p>',
        text="Hi {{ name }}<br>\nA&nbsp;B",
    )
    markup = findings(cls, "text.markup")
    assert [(f.file, f.line) for f in markup] == [("note/body.txt", 1), ("note/body.txt", 2)]
    (missing,) = findings(cls, "text.link-missing")
    assert "'Go' (https://acme.io/go)" in missing.message
    empty = make(emails_root, "<p>{{ name }}</p>", name="empty", text="{{ '' }}")
    assert [f.severity for f in findings(empty, "text.empty")] == ["error"]
    generated = make(
        emails_root,
        '<p>{{ name }} <a href="https://acme.io/go">Go</a></p>',
        name="generated",
        text=None,
    )
    assert findings(generated, "text") == []


def test_templates_inlined_per_render_are_reported_with_file_and_line(emails_root):
    cls = make(emails_root, '<p>{{ name }}</p>\n<p class="{{ name }}">x</p>')
    (finding,) = findings(cls, "compile.per-render")
    assert finding.severity == "warning"
    assert (finding.file, finding.line) == ("note/body.html", 5)


def test_check_command_text_json_and_exit_code(emails_root):
    runner = CliRunner()
    shipped = runner.invoke(main, ["--emails", str(SHIPPED_ROOT), "check"])
    assert shipped.exit_code == 0, shipped.output
    assert shipped.output.strip().endswith("in 5 emails, 16 samples (info hidden: --all shows it)")
    assert "client support: Outlook Windows" in shipped.output
    as_json = json.loads(
        runner.invoke(
            main, ["--emails", str(SHIPPED_ROOT), "check", "--format", "json", "receipt"]
        ).output
    )
    assert as_json["summary"]["error"] == 0 and as_json["summary"]["samples"] == 3
    assert {"severity", "check", "email", "sample", "file", "line", "message", "hint"} <= set(
        as_json["findings"][0]
    )
    emails_root.write(
        "bad/__init__.py",
        "from emailkit import Email\nclass Bad(Email):\n    name: str\n"
        "    @classmethod\n    def previews(cls):\n        return {'default': cls(name='x')}\n",
    )
    emails_root.write("bad/subject.txt", "Hi")
    emails_root.write("bad/body.html", PAGE.format(body="<p>{{ nmae }}</p>"))
    failed = runner.invoke(main, ["--emails", str(emails_root.path), "check"])
    assert failed.exit_code == 1
    assert "'nmae', which is not a field of Bad" in failed.output
    assert "bad/body.html:4: did you mean 'name'?" in failed.output


def test_accepted_findings_are_left_out(emails_root, tmp_path, monkeypatch):
    cls = make(emails_root, '<div style="border-radius:4px">{{ name }}</div>')
    assert findings(cls, "support.css-border-radius")
    report = run_checks({"note": cls}, ignore=["support.css-border-*", "links.*"])
    assert not [f for f in report.findings if f.check.startswith(("support.css-border", "links."))]

    root = tmp_path / "project" / "emails"
    (root / "card").mkdir(parents=True)
    (root / "card" / "__init__.py").write_text(
        "from emailkit import Email\nclass Card(Email):\n    name: str\n    unused: str = ''\n"
        "    @classmethod\n    def previews(cls):\n        return {'default': cls(name='x')}\n"
    )
    (root / "card" / "subject.txt").write_text("Hi")
    (root / "card" / "body.html").write_text(
        PAGE.format(
            body='<div style="border-radius:4px">{{ name }}</div><img src="https://a.io/x.png">'
        )
    )
    monkeypatch.chdir(tmp_path / "project")
    everything = CliRunner().invoke(main, ["--emails", str(root), "check", "--all"]).output
    assert "support.css-border-radius" in everything and "images.alt" in everything
    (tmp_path / "project" / "pyproject.toml").write_text(
        '[tool.emailkit]\ncheck_ignore = ["support.*"]\n'
    )
    accepted = (
        CliRunner()
        .invoke(main, ["--emails", str(root), "check", "--all", "--ignore", "images.*"])
        .output
    )
    assert "support." not in accepted and "images." not in accepted
    assert "context.unused" in accepted  # findings not accepted still show


def property_email(emails_root):
    folder = emails_root.email(
        "order",
        subject_txt="Order of {{ email.total }}",
        body_txt="Total: {{ email.total }}",
        body_html=PAGE.format(body="<p>Items: {{ count }}</p>\n<p>Total: {{ total }}</p>"),
    )
    namespace = {
        "template": folder,
        "__annotations__": {"count": "int"},
        "total": property(lambda self: self.count * 2),
        "previews": classmethod(lambda cls: {"default": cls(count=3)}),
    }
    return type("Order", (Email,), namespace)


def test_a_property_read_as_a_bare_name_points_at_its_own_file_and_says_email_dot(emails_root):
    cls = property_email(emails_root)
    (finding,) = findings(cls, "context.undeclared")
    assert finding.where == "order/body.html:5"  # not subject.txt:1, which reads email.total
    assert (
        finding.hint
        == "'total' is a property of Order, not a field: templates reach it as `email.total`"
    )


def test_rendering_a_property_read_as_a_bare_name_says_email_dot(emails_root):
    from emailkit import TemplateError

    cls = property_email(emails_root)
    with pytest.raises(TemplateError) as raised:
        cls(count=3).render()
    message = str(raised.value)
    assert message.startswith("order: order/body.html, line 5: 'total' is undefined.")
    assert (
        "'total' is a property of Order, not a field: templates reach it as `email.total`"
        in message
    )
    assert "declare the missing one" not in message


def test_remote_import_and_link_stay_and_check_names_clients_that_ignore_them(
    emails_root, no_network
):
    page = PAGE.replace(
        "<style>",
        '<link rel="stylesheet" href="https://fonts.example.com/css?family=Inter">'
        '<style>@import url("https://fonts.example.com/css?family=Nunito+Sans"); ',
    )
    cls = make(emails_root, page=page)
    html = cls(name="Ada").render().html
    assert "@import url(" in html and "fonts.example.com/css?family=Nunito+Sans" in html
    assert 'href="https://fonts.example.com/css?family=Inter"' in html
    found = {f.check: f for f in findings(cls, "support")}
    assert "Gmail" in found["support.css-at-import"].message
    assert "support.html-link" in found
