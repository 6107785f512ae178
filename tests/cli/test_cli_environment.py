"""Standalone, the command line reads ``MAIL_*`` from the environment, as the README says:
``render -p eml``, ``export``, ``send`` and ``resend-failed``. Under ``flask``, the app's."""

from __future__ import annotations

import os
import subprocess
import sys
from email import message_from_bytes
from email.policy import default as default_policy

from flask import Flask

from emailkit import EmailKit

from ..conftest import REPO, SHIPPED_ROOT
from ..preview.test_preview import copy_of_shipped

ENV_SENDER = "Env Mail <env@mail.example.com>"


def run(project, *args, **env):
    """``emailkit ARGS`` in its own process, in ``project``, with ``env`` added."""
    return subprocess.run(
        [sys.executable, "-c", "from emailkit.cli import main; main()", *args],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        timeout=120,
    )


def project_with_sender(tmp_path):
    project = tmp_path / "project"
    copy_of_shipped(project)
    (project / "pyproject.toml").write_text(
        '[tool.emailkit]\nroot = "emails"\nsender = "Beta Mail <hello@beta.example.com>"\n'
    )
    return project


def test_render_eml_takes_mail_default_sender_from_the_environment(tmp_path):
    project = project_with_sender(tmp_path)
    done = run(project, "render", "digest", "-p", "eml", MAIL_DEFAULT_SENDER=ENV_SENDER)
    assert done.returncode == 0, done.stderr
    parsed = message_from_bytes(done.stdout, policy=default_policy)
    assert str(parsed["From"]) == ENV_SENDER
    # Without it, the project's sender, as before.
    plain = run(project, "render", "digest", "-p", "eml", MAIL_DEFAULT_SENDER="")
    assert str(message_from_bytes(plain.stdout, policy=default_policy)["From"]) == (
        "Beta Mail <hello@beta.example.com>"
    )


def test_export_takes_mail_default_sender_from_the_environment(tmp_path):
    project = project_with_sender(tmp_path)
    done = run(project, "export", "site", MAIL_DEFAULT_SENDER=ENV_SENDER)
    assert done.returncode == 0, done.stderr
    emls = list((project / "site").rglob("*.eml"))
    assert emls
    for eml in emls:
        parsed = message_from_bytes(eml.read_bytes(), policy=default_policy)
        assert str(parsed["From"]) == ENV_SENDER, eml


def test_send_takes_server_and_sender_from_the_environment(tmp_path, smtp_server):
    project = project_with_sender(tmp_path)
    done = run(
        project,
        "send",
        "digest",
        "--to",
        "qa@example.com",
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=str(smtp_server.port),
        MAIL_DEFAULT_SENDER=ENV_SENDER,
    )
    assert done.returncode == 0, done.stderr
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "env@mail.example.com"
    parsed = message_from_bytes(envelope.original_content, policy=default_policy)
    assert str(parsed["From"]) == ENV_SENDER


def test_flask_render_eml_takes_the_apps_sender(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", ENV_SENDER)  # the app's config comes first
    app = Flask("cli_env", instance_path=str(tmp_path / "instance"))
    app.config.update(
        TESTING=True,
        EMAILKIT_ROOT=str(SHIPPED_ROOT),
        MAIL_DEFAULT_SENDER=("App Mail", "app@mail.example.com"),
    )
    EmailKit(app)
    result = app.test_cli_runner().invoke(args=["emailkit", "render", "digest", "-p", "eml"])
    assert result.exit_code == 0, result.output
    parsed = message_from_bytes(result.stdout_bytes, policy=default_policy)
    assert str(parsed["From"]) == "App Mail <app@mail.example.com>"
