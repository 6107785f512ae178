"""Sending with the delivery log, against the aiosmtpd sink, on SQLite and PostgreSQL:
every path records its events, idempotency keys send once, suppressed recipients get
nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from emailkit import ConfigError, ContextError, SendError, SuppressedError
from emailkit.extension import kit

from ..conftest import REPO, SHIPPED_ROOT
from .test_sending import failed_files, make_app, welcome


def newsletter(name: str = "Ada"):
    from emails.welcome import Welcome

    class WelcomeNews(Welcome):
        template = str(SHIPPED_ROOT / "welcome")
        category = "newsletter"

    return WelcomeNews(user_name=name, confirm_url="https://acme.example.com/c/1")


@pytest.fixture
def app(tmp_path, smtp_server, database_url):
    app = make_app(tmp_path, smtp_server, EMAILKIT_DATABASE=database_url)
    with app.app_context():
        yield app
        kit.log.close()


def kinds(message_id: str) -> list[tuple[str, str | None]]:
    record = kit.log.message(message_id)
    assert record is not None
    return [(e.kind, e.recipient) for e in record.events]


def test_send_records_the_message_its_relay_and_the_relays_reply(app, smtp_server):
    message_id = welcome().send(to="Ada <ada@Example.COM>", locale="fr")
    record = kit.log.message(message_id)
    assert (record.email, record.locale, record.status) == ("welcome", "fr", "sent")
    assert record.recipients == ["ada@example.com"]
    assert record.sender == "noreply@acme.example.com"
    assert record.relay == f"{smtp_server.host}:{smtp_server.port}"
    assert record.last_reply == "250 OK"
    assert kinds(message_id) == [("queued", None), ("sent", "ada@example.com")]


def test_a_transient_failure_is_a_deferred_event_before_the_sent_one(app, smtp_server):
    smtp_server.fail("data", "451")
    message_id = welcome().send(to="ada@example.com")
    assert kinds(message_id) == [
        ("queued", None),
        ("deferred", "ada@example.com"),
        ("sent", "ada@example.com"),
    ]
    record = kit.log.message(message_id)
    assert record.attempts == 2
    assert "451" in record.events[1].detail


def test_a_5xx_refusal_at_rcpt_is_a_bounce_and_suppresses_the_address(app, smtp_server):
    smtp_server.refuse("gone@example.com", "550")
    with pytest.raises(SendError) as caught:
        welcome().send(to=["ada@example.com", "gone@example.com"])
    assert caught.value.recipients == ["gone@example.com"]
    events = kinds(caught.value.message_id)
    assert ("sent", "ada@example.com") in events
    assert ("failed", "gone@example.com") in events
    assert ("bounced", "gone@example.com") in events
    (entry,) = kit.log.suppressions.list()
    assert (entry.address, entry.category, entry.reason) == ("gone@example.com", None, "bounce")
    assert "550" in entry.detail
    assert kit.log.message(caught.value.message_id).status == "partial"

    kept = len(failed_files(app))
    with pytest.raises(SuppressedError) as suppressed:
        welcome().send(to="gone@example.com")
    assert "gone@example.com" in str(suppressed.value) and "bounced" in str(suppressed.value)
    assert suppressed.value.saved_to is None
    assert len(failed_files(app)) == kept  # nothing kept for a suppressed message
    assert len(smtp_server.envelopes) == 1


def test_a_suppressed_recipient_is_left_out_and_the_others_get_the_message(app, smtp_server):
    kit.log.suppressions.add("bob@example.com", reason="manual")
    message_id = welcome().send(to="ada@example.com", cc="bob@example.com")
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert ("suppressed", "bob@example.com") in kinds(message_id)
    assert kit.log.message(message_id).status == "partial"


def test_an_unsubscribe_blocks_its_category_but_not_mail_without_one(app, smtp_server):
    kit.log.unsubscribed("ada@example.com", "newsletter")
    with pytest.raises(SuppressedError, match="newsletter mail suppressed"):
        newsletter().send(to="ada@example.com")
    assert not smtp_server.envelopes
    welcome().send(to="ada@example.com")  # a transactional email still goes
    assert len(smtp_server.envelopes) == 1
    assert kit.log.find(to="ada@example.com")[1].category == "newsletter"


def test_a_second_send_with_the_same_key_returns_the_first_message_id(app, smtp_server):
    first = welcome().send(to="ada@example.com", idempotency_key="order-42")
    second = welcome("Bob").send(to="ada@example.com", idempotency_key="order-42")
    assert second == first
    assert len(smtp_server.envelopes) == 1
    future = welcome().send_async(to="ada@example.com", idempotency_key="order-42")
    assert future.result(timeout=30) == first
    assert len(smtp_server.envelopes) == 1


def test_a_key_whose_message_failed_for_good_may_send_again(app, smtp_server):
    smtp_server.fail("data", "554")
    with pytest.raises(SendError):
        welcome().send(to="ada@example.com", idempotency_key="retry-me")
    again = welcome().send(to="ada@example.com", idempotency_key="retry-me")
    assert smtp_server.messages[0]["Message-ID"] == again


def test_an_idempotency_key_must_be_a_short_non_empty_string(app):
    with pytest.raises(ContextError, match="idempotency_key"):
        welcome().send(to="ada@example.com", idempotency_key="")
    with pytest.raises(ContextError, match="idempotency_key"):
        welcome().send(to="ada@example.com", idempotency_key=42)  # type: ignore[arg-type]
    for unstorable in ("order\x00", "order\udcff", "order\r\n1"):  # NUL, a lone surrogate
        with pytest.raises(ContextError, match="printable"):
            welcome().send(to="ada@example.com", idempotency_key=unstorable)


def test_send_async_sets_the_suppressed_error_on_the_future(app, smtp_server):
    kit.log.suppressions.add("ada@example.com", reason="complaint")
    future = welcome().send_async(to="ada@example.com")
    with pytest.raises(SuppressedError, match="marked mail as spam"):
        future.result(timeout=30)
    assert not smtp_server.envelopes and not failed_files(app)


def test_send_many_reports_suppressed_recipients_and_duplicate_keys(app, smtp_server):
    kit.log.suppressions.add("gone@example.com", reason="bounce")
    kit.log.unsubscribed("carol@example.com", "newsletter")
    report = kit.send_many(
        [
            (welcome(), "ada@example.com", {"idempotency_key": "k1"}),
            (welcome(), "ada@example.com", {"idempotency_key": "k1"}),
            (welcome(), "gone@example.com"),
            (newsletter(), ["carol@example.com", "dave@example.com"]),
            (welcome(), "carol@example.com"),
        ]
    )
    assert (report.sent, report.duplicates, report.failed) == (3, 1, [])
    assert [s.recipients for s in report.suppressed] == [
        ["gone@example.com"],
        ["carol@example.com"],
    ]
    assert sorted(r for e in smtp_server.envelopes for r in e.rcpt_tos) == [
        "ada@example.com",
        "carol@example.com",
        "dave@example.com",
    ]
    assert not failed_files(app)


def test_resend_failed_skips_recipients_the_log_has_as_sent_or_suppressed(app, smtp_server):
    smtp_server.fail("data", "451", times=10)
    app.config["EMAILKIT_SEND_ATTEMPTS"] = 1
    kit.state().deliverer.policy = type(kit.state().deliverer.policy)(attempts=1, delay=0.01)
    with pytest.raises(SendError) as first:
        welcome().send(to="ada@example.com")
    with pytest.raises(SendError):
        welcome().send(to="bob@example.com")
    smtp_server.faults.clear()
    kit.log.sent(first.value.message_id, ["ada@example.com"])  # say the relay had taken it
    kit.log.suppressions.add("bob@example.com", reason="manual")
    report = kit.resend_failed()
    assert (report.sent, report.failed) == (1, [])
    assert [s.recipients for s in report.suppressed] == [["bob@example.com"]]
    assert not smtp_server.envelopes and not failed_files(app)


def test_resend_failed_records_its_delivery(app, smtp_server):
    smtp_server.fail("data", "451", times=10)
    kit.state().deliverer.policy = type(kit.state().deliverer.policy)(attempts=1, delay=0.01)
    with pytest.raises(SendError) as failed:
        welcome().send(to="ada@example.com")
    smtp_server.faults.clear()
    assert kit.resend_failed().sent == 1
    assert kinds(failed.value.message_id)[-1] == ("sent", "ada@example.com")
    assert kit.log.message(failed.value.message_id).status == "sent"


def test_the_log_can_be_turned_off(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, EMAILKIT_DELIVERY_LOG=False)
    with app.app_context():
        assert kit.log is None
        welcome().send(to="ada@example.com", idempotency_key="k")
        welcome().send(to="ada@example.com", idempotency_key="k")
    assert len(smtp_server.envelopes) == 2
    assert not (tmp_path / "instance" / "emailkit" / "delivery.sqlite3").exists()


def test_the_log_is_on_by_default_in_the_instance_folder(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server)
    with app.app_context():
        message_id = welcome().send(to="ada@example.com")
        assert kit.log.message(message_id).status == "sent"
        kit.log.close()
    assert (tmp_path / "instance" / "emailkit" / "delivery.sqlite3").is_file()


def test_an_unreachable_database_is_a_clear_error_and_nothing_is_sent(tmp_path, smtp_server):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    app = make_app(tmp_path, smtp_server, EMAILKIT_DATABASE=url)
    with app.app_context(), pytest.raises(ConfigError, match="cannot be reached") as caught:
        welcome().send(to="ada@example.com")
    assert "EMAILKIT_DELIVERY_LOG = False" in str(caught.value)
    assert not smtp_server.envelopes


_RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from flask import Flask
    from emailkit import EmailKit
    from emails.welcome import Welcome

    port, url, go, instance = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    app = Flask("racer", instance_path=instance)
    app.config.update(
        TESTING=True, MAIL_SERVER="127.0.0.1", MAIL_PORT=int(port), MAIL_SUPPRESS_SEND=False,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com", EMAILKIT_DATABASE=url,
    )
    EmailKit(app)
    with app.app_context():
        app.extensions["emailkit"].deliverer.log.log.engine  # connect and create tables now
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.001)
        email = Welcome(user_name="Ada", confirm_url="https://acme.example.com/c/1")
        print(email.send(to="ada@example.com", idempotency_key="race-1"), flush=True)
    """
)


def test_two_processes_racing_one_key_send_exactly_one_message(tmp_path, smtp_server, database_url):
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    racers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _RACER,
                str(smtp_server.port),
                database_url,
                str(go),
                str(tmp_path / f"instance{n}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        for n in range(2)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None
            line = racer.stdout.readline().strip()
            assert line == "ready", racer.stderr.read() if racer.stderr else line
        go.touch()
        results = [racer.communicate(timeout=120) for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
    assert [racer.returncode for racer in racers] == [0, 0], [err for _, err in results]
    ids = {out.strip() for out, _ in results}
    assert len(ids) == 1
    assert len(smtp_server.envelopes) == 1
    assert smtp_server.messages[0]["Message-ID"] == ids.pop()


def test_the_recorded_reply_never_holds_credentials(tmp_path, smtp_server, monkeypatch):
    monkeypatch.setenv("MAIL_USERNAME", "mailer")
    monkeypatch.setenv("MAIL_PASSWORD", "s3cret-Pa55")
    app = make_app(tmp_path, smtp_server)
    with app.app_context():
        message_id = welcome().send(to="ada@example.com")
        dumped = json.dumps([str(kit.log.message(message_id)), repr(kit.log)])
        kit.log.close()
    assert "s3cret-Pa55" not in dumped


def test_send_many_records_every_message_of_a_long_run_and_its_failures(app, smtp_server):
    smtp_server.refuse("gone@example.com", "550")
    items = [(welcome(), f"user{n}@example.com") for n in range(450)]
    items.insert(300, (welcome(), ["user300b@example.com", "gone@example.com"]))
    report = kit.send_many(items)
    assert report.sent == 450 and len(report.failed) == 1
    found = kit.log.find(limit=1000, with_events=False)
    assert len(found) == 451
    assert {m.status for m in found} == {"sent", "partial"}
    (partial,) = [m for m in found if m.status == "partial"]
    assert partial.recipients == ["user300b@example.com", "gone@example.com"]
    assert ("bounced", "gone@example.com") in kinds(partial.message_id)
    assert [s.address for s in kit.log.suppressions.list()] == ["gone@example.com"]
    assert kinds(found[0].message_id) == [("queued", None), ("sent", found[0].recipients[0])]


def test_send_many_leaves_no_writer_thread_behind(app, smtp_server):
    """Each run's log writer ends with the run: an app that sends in bulk every hour for
    months does not gather idle threads."""

    def writers() -> int:
        return sum(t.name == "emailkit-log-writer" for t in threading.enumerate())

    before = writers()
    for run in range(3):
        report = kit.send_many([(welcome(), f"run{run}-{n}@example.com") for n in range(5)])
        assert report.sent == 5
    assert writers() == before
    assert len(kit.log.find(limit=100, with_events=False)) == 15


def test_a_batch_written_while_a_message_is_on_its_way_keeps_its_row_back(app):
    """A batch handed to the writer mid-run leaves out the rows of messages still being
    sent: their senders bring the rows up to date in the buffer instead of waiting for the
    writer's commit and writing the update in a transaction of their own."""
    from emailkit.sending.delivery import Delivery

    recorder = kit.state().deliverer.log.buffered()
    recorder.size = 1
    first, second = _stub_message("Ada <ada@Example.COM>"), _stub_message("bob@example.com")
    recorder.queued(first)
    recorder.queued(second)
    done = Delivery(first)
    done.pending, done.reply = [], "250 first"
    recorder.sent(done)  # a full batch: the first message goes, the second stays
    assert list(recorder._rows) == [second.msgId]
    later = Delivery(second)
    later.pending, later.reply = [], "250 second"
    recorder.sent(later)
    recorder.flush()
    for sent, to, reply in (
        (first, "ada@example.com", "250 first"),
        (second, "bob@example.com", "250 second"),
    ):
        record = kit.log.message(sent.msgId)
        assert (record.status, record.recipients, record.last_reply) == ("sent", [to], reply)
        assert kinds(sent.msgId) == [("queued", None), ("sent", to)]


def _stub_message(to: str, locale: str | None = None):
    from email.utils import make_msgid
    from types import SimpleNamespace

    return SimpleNamespace(
        msgId=make_msgid(), envelope_recipients=[to], idempotency_key=None,
        email_name="welcome", category=None, locale=locale, envelope_sender="a@acme.example",
    )  # fmt: skip


def _record_sent(recorder, message, reply: str = "250 OK") -> None:
    from emailkit.sending.delivery import Delivery

    recorder.queued(message)
    done = Delivery(message)
    done.pending, done.reply = [], reply
    recorder.sent(done)


def test_a_value_the_database_refuses_costs_that_messages_record_not_the_batchs(app, caplog):
    """A relay's reply the database cannot store (a lone surrogate; a NUL on PostgreSQL):
    the batch's other messages are still recorded, and the one left out is named."""
    recorder = kit.state().deliverer.log.buffered()
    fine = [_stub_message(f"user{n}@example.com") for n in range(3)]
    bad = _stub_message("bad@example.com")
    for message in fine[:2]:
        _record_sent(recorder, message)
    _record_sent(recorder, bad, reply="250 queued \udcff\x00")
    _record_sent(recorder, fine[2])
    recorder.close()
    for message in fine:
        assert kit.log.message(message.msgId).status == "sent"
    assert kit.log.message(bad.msgId) is None
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert bad.msgId in line and "could not record" in line and "handled" in line


def test_the_writer_survives_its_own_failure_and_the_run_ends(app, caplog, monkeypatch):
    """A defect in the writer (here, an exception nobody expects) is logged with its
    traceback; the next batch is written and the run does not wait for ever."""
    recorder = kit.state().deliverer.log.buffered()
    recorder.size = 1
    calls = []
    write_many = kit.log.write_many

    def flaky(rows, events):
        calls.append(len(rows))
        if len(calls) == 1:
            raise KeyError("unexpected")
        write_many(rows, events)

    monkeypatch.setattr(kit.log, "write_many", flaky)
    first, second = _stub_message("ada@example.com"), _stub_message("bob@example.com")
    _record_sent(recorder, first)
    recorder.flush()
    _record_sent(recorder, second)
    closer = threading.Thread(target=recorder.close)
    closer.start()
    closer.join(timeout=30)
    assert not closer.is_alive()
    assert kit.log.message(first.msgId) is None and kit.log.message(second.msgId) is not None
    (failure,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "writer failed" in failure.getMessage() and failure.exc_info is not None


def test_a_run_reads_the_suppression_list_before_its_senders_start(app, monkeypatch):
    """In the caller's thread: read by the first sender instead, the others waited for it
    while the GIL was busy rendering (10 ms a run, measured)."""
    from emailkit.sending.deliverylog.suppression import Snapshot

    readers = []
    load = Snapshot._load

    def noting(self, now):
        readers.append(threading.current_thread().name)
        load(self, now)

    monkeypatch.setattr(Snapshot, "_load", noting)
    kit.log.suppressions.add("gone@example.com")
    report = kit.send_many([(welcome(), "ada@example.com"), (welcome(), "gone@example.com")])
    assert readers == [threading.current_thread().name]
    assert report.sent == 1 and [f.recipients for f in report.suppressed] == [["gone@example.com"]]


def test_a_suppression_added_during_a_bulk_run_is_honoured(app, smtp_server, monkeypatch):
    from emailkit.sending.deliverylog.suppression import Snapshot

    monkeypatch.setattr(Snapshot, "interval", 0.0)  # read new entries before every message

    def items():
        yield welcome(), "ada@example.com"
        # Another process suppresses bob while the run goes on.
        other = type(kit.log)(kit.log.url)
        other.suppressions.add("bob@example.com", reason="complaint")
        other.close()
        yield welcome(), "bob@example.com"

    report = kit.send_many(items())
    assert report.sent == 1
    assert [s.recipients for s in report.suppressed] == [["bob@example.com"]]
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["ada@example.com"]]


def test_a_category_must_be_a_non_empty_string():
    from emails.welcome import Welcome

    with pytest.raises(ContextError, match="category"):

        class Odd(Welcome):
            template = str(SHIPPED_ROOT / "welcome")
            category = 3
