"""The public face that the package layout must not move: what users import and call."""

from __future__ import annotations

import inspect
from importlib import metadata

import click
import pytest

import emailkit
from emailkit import Email, EmailKit
from emailkit.mime.options import MESSAGE_OPTIONS, QUEUE_OPTIONS

from .conftest import SHIPPED_ROOT

PUBLIC = {
    "AddressError",
    "ConfigError",
    "ContextError",
    "Email",
    "EmailError",
    "EmailKit",
    "FailedMessage",
    "HeaderError",
    "LoadError",
    "Message",
    "Rendered",
    "SampleError",
    "SendError",
    "SendReport",
    "SuppressedError",
    "TemplateError",
    "attachment",
    "default_root",
    "discover",
    "inline_image",
}


def test_the_top_level_names_import():
    assert set(emailkit.__all__) >= PUBLIC
    for name in PUBLIC:
        assert getattr(emailkit, name) is not None, name
    assert issubclass(emailkit.SuppressedError, emailkit.EmailError)


def test_the_entry_points_and_documented_modules_resolve():
    from emailkit.celery import register_tasks, send_later
    from emailkit.preview import create_preview_app, preview_blueprint

    assert callable(register_tasks) and callable(send_later)
    assert callable(preview_blueprint) and callable(create_preview_app)
    points = {(p.group, p.name): p for p in metadata.distribution("Flask-EmailKit").entry_points}
    command = points[("console_scripts", "emailkit")].load()
    assert isinstance(command, click.Group)
    assert {"list", "render", "check", "preview", "send", "suppress", "activity"} <= set(
        command.commands
    )
    plugin = points[("pytest11", "emailkit")].load()
    assert callable(plugin.pytest_configure) and callable(plugin.pytest_addoption)


def test_the_sending_methods_take_the_options_they_always_took():
    assert {
        "cc",
        "bcc",
        "reply_to",
        "sender",
        "attachments",
        "headers",
        "locale",
        "idempotency_key",
    } == MESSAGE_OPTIONS
    assert {"attachments"} == MESSAGE_OPTIONS - QUEUE_OPTIONS  # a queued email is JSON
    for method in (Email.message, Email.send, Email.send_async):
        kinds = {p.name: p.kind for p in inspect.signature(method).parameters.values()}
        assert kinds["options"] is inspect.Parameter.VAR_KEYWORD
    later = inspect.signature(Email.send_later).parameters
    assert {"countdown", "eta", "queue"} <= set(later)


@pytest.fixture
def welcome(tmp_path):
    from flask import Flask

    emails = emailkit.discover(SHIPPED_ROOT)
    app = Flask("public_api", instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, MAIL_DEFAULT_SENDER="shop@example.com")
    EmailKit(app)
    with app.app_context():
        yield emails["welcome"].previews()["default"]


def test_options_are_passed_as_keywords_and_an_unknown_one_is_a_type_error(welcome):
    message = welcome.message(
        "ada@example.com", cc=["bob@example.com"], reply_to="help@example.com", locale="fr"
    )
    assert message.cc == ["bob@example.com"] and message.reply_to == "help@example.com"
    assert message.locale == "fr"
    for call in (welcome.message, welcome.send, welcome.send_async):
        with pytest.raises(TypeError, match=r"unexpected keyword argument 'replyto'.*reply_to"):
            call("ada@example.com", replyto="help@example.com")
    with pytest.raises(TypeError, match="'attachments'"):
        welcome.send_later("ada@example.com", attachments=[])
