"""What a new user's first emails get wrong, and the one clear error each gets: in the library,
the command line, the checks and the preview."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from emailkit import discover
from emailkit.checks import run_checks
from emailkit.cli import main
from emailkit.context import preview_samples
from emailkit.errors import SampleError, TemplateError
from emailkit.preview import create_preview_app

from .test_cli import emailkit, one_line_error

RAISING = """\
from emailkit import Email


class Broken(Email):
    name: str

    @classmethod
    def previews(cls):
        names = ["Ada"]
        return {"default": cls(name=names[3])}
"""

GOOD = """\
from emailkit import Email


class Good(Email):
    name: str = "Ada"

    @classmethod
    def previews(cls):
        return {"default": cls()}
"""


def make(emails_root, name, module, **files):
    emails_root.write(f"{name}/__init__.py", module)
    return emails_root.email(name, subject_txt="Hi", **files)


@pytest.fixture
def broken_root(emails_root):
    make(emails_root, "broken", RAISING, body_txt="Hi {{ name }}")
    make(emails_root, "good", GOOD, body_txt="Hi {{ name }}")
    return emails_root


def test_a_sample_that_raises_names_the_email_file_and_line(broken_root):
    emails = discover(broken_root.path)
    with pytest.raises(SampleError) as raised:
        preview_samples(emails["broken"])
    error = raised.value
    assert (error.email, error.filename, error.lineno) == ("broken", "broken/__init__.py", 10)
    assert "previews() raised IndexError: list index out of range" in str(error)
    assert list(preview_samples(emails["good"])) == ["default"]


def test_previews_returning_no_dict_of_samples_is_a_sample_error(emails_root):
    make(emails_root, "listed", GOOD.replace('{"default": cls()}', "[cls()]"), body_txt="Hi")
    with pytest.raises(SampleError, match=r"previews\(\) returned a list, not a dict"):
        preview_samples(discover(emails_root.path)["listed"])


def test_cli_list_render_and_check_report_the_raising_sample_in_one_line(broken_root):
    listing = emailkit("list", root=broken_root.path)
    assert listing.exit_code == 1, listing.output  # after listing the others
    assert "Traceback" not in listing.output
    assert "  (no samples: broken: broken/__init__.py, line 10: previews() raised IndexError" in (
        listing.output
    )
    assert "  default              Hi" in listing.output  # the other email is still listed
    line = one_line_error(emailkit("render", "broken", root=broken_root.path))
    assert line.startswith("Error: broken: broken/__init__.py, line 10: previews() raised ")
    assert emailkit("render", "good", "-p", "text", root=broken_root.path).output == "Hi Ada\n"
    report = run_checks(discover(broken_root.path))
    (finding,) = [f for f in report.findings if f.check == "render.previews"]
    assert (finding.severity, finding.file, finding.line) == ("error", "broken/__init__.py", 10)


def test_the_preview_shows_the_raising_sample_with_its_file_and_line(broken_root):
    client = create_preview_app(broken_root.path, TESTING=True).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "broken/__init__.py" in page and "IndexError" in page
    assert "list index out of range" in page
    assert client.get("/good/default").status_code == 200


def test_an_unclosed_block_says_where_it_was_opened(emails_root):
    make(
        emails_root,
        "open",
        GOOD,
        body_html="<p>one</p>\n{% for i in [1] %}\n{% if name %}\n<p>x</p>\n{% endfor %}\n",
    )
    cls = discover(emails_root.path)["open"]
    with pytest.raises(TemplateError) as raised:
        cls().render()
    message = str(raised.value)
    assert "open/body.html, line 5: syntax error: Encountered unknown tag 'endfor'" in message
    assert "is 'if' (the {% if %} opened at line 3). Fix the template syntax" in message
    assert ".." not in message
    emails_root.write("open/body.html", "<p>one</p>\n{% set x = 1 %}{% if name %}\n<p>x</p>\n")
    line = one_line_error(emailkit("render", "open", root=emails_root.path))
    assert "line 3: syntax error: Unexpected end of template." in line
    assert "is 'if' (the {% if %} opened at line 2). Fix" in line


@pytest.mark.parametrize("name", ["order-shipped", "café", "Ünïcode_2"])
def test_dashes_dots_and_non_ascii_name_an_email(emails_root, name):
    make(emails_root, name, GOOD, body_html="<p>{{ name }}</p>")
    result = emailkit("render", name, root=emails_root.path)
    assert result.exit_code == 0, result.output
    assert "<p>Ada</p>" in result.output


@pytest.mark.parametrize("name", ["order shipped", "promo!", "v2.reminder"])
def test_a_folder_name_that_cannot_name_an_email_is_one_line_saying_how_to_rename(
    emails_root, name
):
    make(emails_root, name, GOOD, body_html="<p>hi</p>")
    line = one_line_error(emailkit("render", name, root=emails_root.path))
    assert line.startswith(f"Error: {name}: the folder name {name!r} cannot name an email. ")
    listing = emailkit("list", root=emails_root.path)
    assert listing.exit_code == 1
    assert f"(does not load: {name}: the folder name {name!r} cannot name" in listing.output
    assert "Rename the folder with letters, digits, '_' and '-' only" in line
    errors: dict[str, Exception] = {}
    assert discover(emails_root.path, errors=errors) == {}
    assert isinstance(errors[name], TemplateError)


def test_cli_send_takes_the_sender_from_pyproject(smtp_server, tmp_path, monkeypatch, emails_root):
    make(emails_root, "good", GOOD, body_txt="Hi {{ name }}")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.emailkit]\nroot = "emails"\nsender = "Beta Mail <hello@beta.example.com>"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAIL_DEFAULT_SENDER", raising=False)
    env = {"MAIL_SERVER": smtp_server.host, "MAIL_PORT": str(smtp_server.port)}
    result = emailkit("send", "good", "--to", "qa@example.com", root=emails_root.path, env=env)
    assert result.exit_code == 0, result.output
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "hello@beta.example.com"
    assert b"From: Beta Mail <hello@beta.example.com>" in envelope.content


def test_a_text_only_email_opens_on_its_text_and_has_no_html_url(emails_root):
    make(emails_root, "note", GOOD, body_txt="Just {{ name }}.")
    client = create_preview_app(emails_root.path, TESTING=True).test_client()
    page = client.get("/note/default").get_data(as_text=True)
    assert 'data-tab="text"' in page
    assert 'data-tab="html"' in client.get("/note/default?tab=html").get_data(as_text=True)
    missing = client.get("/note/default.html")
    assert missing.status_code == 404
    assert "note has no HTML part: it is a text-only email" in missing.get_data(as_text=True)
    assert client.get("/note/default.txt").get_data(as_text=True) == "Just Ada."


def test_export_names_an_email_whose_samples_raise_and_exits_1(broken_root, tmp_path):
    result = CliRunner().invoke(
        main, ["--emails", str(broken_root.path), "export", str(tmp_path / "site")]
    )
    assert result.exit_code == 1, result.output
    assert (
        "does not load, left out (the index says why): broken: broken/__init__.py, line 10: "
        "previews() raised IndexError: list index out of range." in result.output
    )
    assert (tmp_path / "site" / "good" / "default.html").is_file()
    assert "list index out of range" in (tmp_path / "site" / "index.html").read_text()
