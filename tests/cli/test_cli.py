"""The emailkit command line, standalone (click's CliRunner) and under ``flask emailkit``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask import Flask

from emailkit import EmailKit
from emailkit.cli import main

from ..conftest import SHIPPED_ROOT
from ..preview.test_preview import copy_of_shipped, rewrite


def emailkit(*args, root=SHIPPED_ROOT, env=None):
    result = CliRunner().invoke(main, ["--emails", str(root), *args], env=env)
    return result


def test_every_command_has_help():
    assert "list" in CliRunner().invoke(main, ["--help"]).output
    for command in ("list", "render", "new", "preview", "send", "resend-failed"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, command


def test_list_shows_emails_samples_and_subjects():
    result = emailkit("list")
    assert result.exit_code == 0
    assert (
        "receipt\n  default              Your Acme receipt for order A-10442 ($60.61)"
        in result.output
    )
    assert "  twenty-items " in result.output
    assert result.output.count("\n  ") == 16
    assert "password_reset  (locales: ar, fr)" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["render", "welcome", "--part", "subject"],
            "Welcome to Acme, Ada! Please confirm your address\n",
        ),
        (
            ["render", "welcome", "-s", "script-name", "-p", "text"],
            "Welcome, <script>alert('hi')</script>!",
        ),
        (["render", "welcome", "-s", "script-name"], "&lt;script&gt;alert(&#39;hi&#39;)"),
        (["render", "digest", "-p", "eml"], "Subject: 3 new notifications this week"),
    ],
)
def test_render_prints_a_part(args, expected):
    result = emailkit(*args)
    assert result.exit_code == 0, result.output
    assert expected in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "nope"], "Error: no email 'nope' under"),
        (
            ["render", "welcome", "-s", "nope"],
            "Error: welcome has no sample 'nope'; it has: default,",
        ),
        (["new", "bad name"], "Error: 'bad name' cannot name an email"),
        (["new", "welcome"], "already exists"),
    ],
)
def test_mistakes_print_one_line_and_exit_1(args, message):
    result = emailkit(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_template_error_names_email_file_and_line(tmp_path):
    root = copy_of_shipped(tmp_path)
    rewrite(root / "welcome" / "body.txt", "{{ confirm_url }}", "{{ confirm_ur }}")
    result = emailkit("render", "welcome", "-p", "text", root=root)
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: welcome: welcome/body.txt, line 6: 'confirm_ur' is undefined"
    )
    assert len(result.output.strip().splitlines()) == 1


def test_new_scaffolds_an_email_that_renders(tmp_path):
    root = copy_of_shipped(tmp_path)
    result = emailkit("new", "order_shipped", root=root)
    assert result.exit_code == 0, result.output
    assert {p.name for p in (root / "order_shipped").iterdir()} >= {
        "__init__.py",
        "subject.txt",
        "body.txt",
        "body.html",
        "style.css",
    }
    listed = emailkit("list", root=root).output
    assert "order_shipped\n  default              Order shipped for Ada Lovelace" in listed
    html = emailkit("render", "order_shipped", "-s", "long-name", root=root).output
    assert "Hi Maximiliana" in html and 'class="button" style="' in html  # _components/button
    assert "Acme" in html  # it uses the root's shared layout


def test_new_without_a_layout_makes_a_standalone_page(tmp_path):
    (tmp_path / "README.md").write_text("an emails root of our own making, no layout\n")
    result = emailkit("new", "note", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert "<h1 style=" in emailkit("render", "note", root=tmp_path).output


def test_send_uses_the_smtp_server_from_the_environment(smtp_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": str(smtp_server.port),
        "MAIL_DEFAULT_SENDER": "noreply@acme.example.com",
    }
    result = emailkit("send", "receipt", "-s", "twenty-items", "--to", "qa@example.com", env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Sent receipt/twenty-items to qa@example.com: <")
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["qa@example.com"]


def test_send_without_a_server_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    result = emailkit("send", "welcome", "--to", "qa@example.com")
    assert result.exit_code == 1
    assert "Error: No MAIL_SERVER is configured" in result.output


def test_preview_starts_the_server_on_the_root(monkeypatch):
    calls = []
    monkeypatch.setattr("emailkit.preview.serve", lambda root, **kw: calls.append((root, kw)))
    result = emailkit("preview", "--port", "5055")
    assert result.exit_code == 0, result.output
    assert calls == [(SHIPPED_ROOT, {"host": "127.0.0.1", "port": 5055, "allowed_hosts": ()})]


def test_root_comes_from_pyproject(tmp_path, monkeypatch):
    root = copy_of_shipped(tmp_path / "project")
    (tmp_path / "project" / "pyproject.toml").write_text('[tool.emailkit]\nroot = "emails"\n')
    monkeypatch.chdir(tmp_path / "project")
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0 and "password_reset" in result.output
    assert root.is_dir()


def test_flask_emailkit_commands_use_the_app(smtp_server, tmp_path):
    app = Flask("cli_app", instance_path=str(tmp_path / "instance"))
    app.config.update(
        EMAILKIT_ROOT=str(SHIPPED_ROOT),
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
    )
    EmailKit(app)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["emailkit", "list"])
    assert listed.exit_code == 0 and "digest" in listed.output
    sent = runner.invoke(
        args=["emailkit", "send", "digest", "-s", "empty", "--to", "a@example.com"]
    )
    assert sent.exit_code == 0, sent.output
    assert json.dumps(smtp_server.envelopes[0].rcpt_tos) == '["a@example.com"]'
    assert runner.invoke(args=["emailkit", "resend-failed"]).output.startswith("No failed mail")


def test_render_in_a_locale_and_list_shows_locales():
    assert emailkit("render", "welcome", "-l", "fr", "-p", "subject").output.startswith("Bienvenue")
    bad = emailkit("render", "welcome", "-l", "zz", "-p", "subject")
    assert bad.exit_code == 1 and "Error: unknown locale 'zz'" in bad.output
    assert "welcome  (locales: ar, fr)" in emailkit("list").output


def one_line_error(result):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_a_syntax_error_in_an_email_module_is_one_line_naming_file_and_line(tmp_path):
    root = copy_of_shipped(tmp_path)
    rewrite(
        root / "digest" / "__init__.py", "    user_name: str\n", "    user_name: str\n    oops(\n"
    )
    line = one_line_error(emailkit("render", "digest", root=root))
    assert line.startswith("Error: digest: digest/__init__.py, line "), line
    assert "SyntaxError" in line and "Fix the Python code at that line" in line
    # the broken email breaks only itself: the others list, render and get checked
    assert emailkit("render", "welcome", "-p", "subject", root=root).exit_code == 0
    listing = emailkit("list", root=root)
    assert listing.exit_code == 1
    assert "digest\n  (does not load: digest: digest/__init__.py, line " in listing.output
    assert "Fix the Python code at that line" in listing.output
    assert "  default              Welcome to Acme, Ada!" in listing.output
    checked = emailkit("check", root=root)
    assert checked.exit_code == 1
    assert "does not load: SyntaxError" in checked.output
    assert "welcome\n" in checked.output and "in 5 emails" in checked.output


def test_a_template_that_is_not_utf8_is_one_line_naming_file_and_line(tmp_path):
    root = copy_of_shipped(tmp_path)
    body = root / "welcome" / "body.txt"
    body.write_bytes(body.read_bytes().replace(b"confirm", "caf\xe9".encode("latin-1"), 1))
    line = one_line_error(emailkit("render", "welcome", "-p", "text", root=root))
    assert line.startswith("Error: welcome: welcome/body.txt, line "), line
    assert "not UTF-8 text (byte 0xe9 cannot be decoded). Save the file as UTF-8" in line


def test_rendering_the_html_of_a_text_only_email_says_so(emails_root):
    emails_root.write(
        "note/__init__.py",
        "from emailkit import Email\n\nclass Note(Email):\n"
        "    @classmethod\n    def previews(cls):\n        return {'default': cls()}\n",
    )
    emails_root.write("note/subject.txt", "Hi")
    emails_root.write("note/body.txt", "Just text")
    line = one_line_error(emailkit("render", "note", root=emails_root.path))
    assert line.startswith(
        "Error: note has no body.html (it is a text-only email); use --part text"
    )
    assert emailkit("render", "note", "-p", "text", root=emails_root.path).output == "Just text\n"


def test_render_eml_takes_the_sender_from_pyproject_or_says_how_to_set_one(tmp_path, monkeypatch):
    project = tmp_path / "project"
    copy_of_shipped(project)
    monkeypatch.chdir(project)
    monkeypatch.delenv("MAIL_DEFAULT_SENDER", raising=False)
    placeholder = CliRunner().invoke(main, ["render", "digest", "-p", "eml"])
    assert placeholder.exit_code == 0, placeholder.output
    unfolded = placeholder.output.replace("\n ", " ")  # a From over 78 characters is folded
    assert 'From: "Set [tool.emailkit] sender or MAIL_DEFAULT_SENDER" <sender@example.com>' in (
        unfolded
    )
    (project / "pyproject.toml").write_text(
        '[tool.emailkit]\nroot = "emails"\nsender = "Beta Mail <hello@beta.example.com>"\n'
    )
    configured = CliRunner().invoke(main, ["render", "digest", "-p", "eml"])
    assert "From: Beta Mail <hello@beta.example.com>" in configured.output


def test_a_folder_without_any_body_is_one_line_naming_the_file_to_create(emails_root):
    emails_root.write(
        "note/__init__.py",
        "from emailkit import Email\n\nclass Note(Email):\n"
        "    @classmethod\n    def previews(cls):\n        return {'default': cls()}\n",
    )
    emails_root.write("note/subject.txt", "Hi")
    line = one_line_error(emailkit("render", "note", root=emails_root.path))
    assert line.startswith("Error: note: neither body.html nor body.txt exists. Create ")
    assert line.endswith(
        "note/body.html (and optionally " + str(emails_root.path) + "/note/body.txt)."
    )
