"""``emailkit suppress ...`` and ``emailkit activity``, standalone and under ``flask``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from emailkit import SuppressedError
from emailkit.cli import main
from emailkit.extension import kit
from emailkit.sending.deliverylog import DeliveryLog, messages

from ..sending.test_sending import make_app, welcome


@pytest.fixture
def url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    monkeypatch.setenv("EMAILKIT_DATABASE", url)
    return url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_suppress_add_list_and_remove(url):
    assert run("suppress", "add", "Ada@Example.COM") == (
        0,
        "Suppressed Ada@Example.COM for all mail.\n",
    )
    code, out = run("suppress", "add", "bob@example.com", "--category", "newsletter")
    assert (code, out) == (0, "Suppressed bob@example.com for newsletter mail.\n")
    assert "already suppressed" in run("suppress", "add", "Ada@example.com")[1]

    code, out = run("suppress", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Ada@example.com  (all mail)  manual")
    assert lines[1].startswith("bob@example.com  newsletter  manual")
    listed = json.loads(run("suppress", "list", "--format", "json")[1])
    assert [(e["address"], e["category"]) for e in listed] == [
        ("Ada@example.com", None),
        ("bob@example.com", "newsletter"),
    ]

    code, out = run("suppress", "remove", "bob@example.com")
    assert code == 1 and "not suppressed for all mail" in out
    assert run("suppress", "remove", "bob@example.com", "-c", "newsletter")[0] == 0
    assert run("suppress", "remove", "Ada@example.com")[0] == 0
    assert run("suppress", "list") == (0, "No suppressed addresses.\n")


def test_an_unknown_reason_is_refused_by_the_command_line(url):
    code, out = run("suppress", "add", "ada@example.com", "--reason", "whim")
    assert code == 2 and "whim" in out


def test_activity_shows_messages_with_their_events(url):
    log = DeliveryLog(url)
    log.queued("<1@x>", email="welcome", recipients=["ada@example.com"], locale="fr")
    log.sent("<1@x>", ["ada@example.com"], reply="250 OK", relay="127.0.0.1:25")
    log.queued("<2@x>", email="receipt", recipients=["bob@example.com"], idempotency_key="o-1")

    code, out = run("activity", "--to", "ada@example.com")
    assert code == 0
    assert "sent       welcome (fr)  <1@x>" in out
    assert "to ada@example.com  via 127.0.0.1:25" in out
    assert "sent ada@example.com: 250 OK" in out
    assert "receipt" not in out

    (found,) = json.loads(run("activity", "--message-id", "2@x", "--format", "json")[1])
    assert (found["email"], found["idempotency_key"]) == ("receipt", "o-1")
    assert [e["kind"] for e in found["events"]] == ["queued"]
    assert run("activity", "--to", "nobody@example.com")[1] == "No messages found.\n"


def test_activity_purge_deletes_entries_past_the_retention(url):
    log = DeliveryLog(url)
    log.queued("<old@x>", recipients=["ada@example.com"])
    log.queued("<new@x>", recipients=["ada@example.com"])
    with log.connect() as connection:
        connection.execute(
            messages.update()
            .where(messages.c.message_id == "<old@x>")
            .values(created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40))
        )
    result = CliRunner().invoke(main, ["activity", "--purge", "--format", "json"])
    assert result.exit_code == 0
    assert "Purged 1 message(s) older than 30 day(s)." in result.output
    assert [m.message_id for m in log.find()] == ["<new@x>"]


def test_the_commands_say_so_when_the_log_is_off(tmp_path, monkeypatch):
    monkeypatch.setenv("EMAILKIT_DELIVERY_LOG", "false")
    code, out = run("suppress", "list")
    assert code == 1 and "the delivery log is off" in out


def test_flask_emailkit_uses_the_apps_log(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["emailkit", "suppress", "add", "ada@example.com"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with pytest.raises(SuppressedError, match="suppressed"):
            welcome().send(to="ada@example.com")
        message_id = welcome().send(to="bob@example.com")
    result = runner.invoke(args=["emailkit", "activity", "--format", "json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found[0]["message_id"] == message_id
    assert found[1]["status"] == "suppressed"
    with app.app_context():
        kit.log.close()
