"""Sending through a real SMTP server (aiosmtpd on 127.0.0.1) that injects faults."""

from __future__ import annotations

import json
import logging
from email import message_from_bytes
from email.policy import default as default_policy

import flask_mail
import pytest
from flask import Flask

from emailkit import (
    AddressError,
    ConfigError,
    ContextError,
    Email,
    EmailKit,
    HeaderError,
    SendError,
    attachment,
    inline_image,
)
from emailkit.extension import kit

from ..conftest import SHIPPED_ROOT


def digest(period: str):
    from emails.digest import Digest

    return Digest(user_name="Ada", period=period, notifications=[])


def welcome(name: str = "Ada"):
    from emails.welcome import Welcome

    return Welcome(user_name=name, confirm_url="https://acme.example.com/c/1")


def make_app(tmp_path, server=None, **config) -> Flask:
    app = Flask("sending_test", instance_path=str(tmp_path / "instance"))
    app.config.update(
        TESTING=True,
        MAIL_DEFAULT_SENDER="Acme <noreply@acme.example.com>",
        MAIL_SUPPRESS_SEND=False,
        EMAILKIT_RETRY_DELAY=0.01,
        EMAILKIT_RETRY_MAX_DELAY=0.02,
        EMAILKIT_SMTP_TIMEOUT=5,
        EMAILKIT_ROOT=str(SHIPPED_ROOT),
    )
    if server is not None:
        app.config.update(MAIL_SERVER=server.host, MAIL_PORT=server.port)
    app.config.update(config)
    EmailKit(app)
    return app


@pytest.fixture
def app(request, tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, **getattr(request, "param", {}))
    with app.app_context():
        yield app


def failed_files(app):
    return sorted(kit.failed.path.glob("*.eml")) if kit.failed.path.exists() else []


def test_send_delivers_and_returns_the_message_id(app, smtp_server):
    message_id = welcome().send(
        to="ada@example.com", cc="carol@example.com", bcc=["boss@example.com"]
    )
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "noreply@acme.example.com"
    assert sorted(envelope.rcpt_tos) == ["ada@example.com", "boss@example.com", "carol@example.com"]
    received = smtp_server.messages[0]
    assert received["Message-ID"] == message_id
    assert received["Subject"] == "Welcome to Acme, Ada! Please confirm your address"
    assert received["Bcc"] is None
    # the shipped layout's logo (emails/_assets/logo.png) travels as an inline part
    assert received.get_content_type() == "multipart/related"
    assert received.get_payload(0).get_content_type() == "multipart/alternative"
    assert failed_files(app) == []


def test_malformed_address_is_refused_before_anything_is_sent(app, smtp_server):
    with pytest.raises(AddressError, match=r"to address 'ada@@example\.com' is not valid"):
        welcome().send(to="ada@@example.com")
    with pytest.raises(AddressError, match="cc address"):
        welcome().send(to="ada@example.com", cc="not-an-address")
    assert smtp_server.connections == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"to": "ada@example.com\r\nBcc: victim@example.com"},
        {"to": ("Ada\nBcc: victim@example.com", "ada@example.com")},
        {"to": "ada@example.com", "headers": {"X-Note": "hi\r\nBcc: victim@example.com"}},
        {"to": "ada@example.com", "reply_to": "help@example.com\nX-Evil: 1"},
    ],
)
def test_header_injection_is_refused_and_nothing_is_sent(app, smtp_server, kwargs):
    with pytest.raises(HeaderError):
        welcome().send(**kwargs)
    assert smtp_server.connections == 0


def test_header_injection_through_the_subject_is_refused(app, smtp_server):
    with pytest.raises(HeaderError, match="field 'period'"):
        digest("this week\r\nBcc: victim@example.com").send(to="ada@example.com")
    assert smtp_server.connections == 0


@pytest.mark.parametrize(
    ("stage", "fault"),
    [
        ("connect", "drop"),
        ("ehlo", "421"),
        ("rcpt", "452"),
        ("data", "451"),
        ("data", "drop"),
    ],
)
def test_transient_failures_are_retried_until_delivered(app, smtp_server, stage, fault, caplog):
    smtp_server.fail(stage, fault, times=2)
    with caplog.at_level(logging.WARNING, logger="emailkit"):
        message_id = welcome().send(to="ada@example.com")
    assert [m["Message-ID"] for m in smtp_server.messages] == [message_id]
    assert smtp_server.connections == 3
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert "welcome to ada@example.com" in retries[0].getMessage()
    assert failed_files(app) == []


def test_stalled_server_times_out_and_is_retried(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, EMAILKIT_SMTP_TIMEOUT=0.5)
    smtp_server.fail("data", "stall")
    with app.app_context():
        message_id = welcome().send(to="ada@example.com")
    assert [m["Message-ID"] for m in smtp_server.messages] == [message_id]


def test_permanent_failure_is_not_retried_and_is_kept(app, smtp_server):
    smtp_server.fail("rcpt", "550")
    with pytest.raises(SendError) as caught:
        welcome().send(to="ada@example.com")
    error = caught.value
    assert (error.smtp_code, error.attempts, error.email) == (550, 1, "welcome")
    assert "No such user" in error.smtp_reply
    assert "permanent failure after 1 attempt" in str(error)
    assert smtp_server.connections == 1
    (kept,) = failed_files(app)
    assert error.saved_to == str(kept)
    meta = json.loads(kept.with_suffix(".json").read_text())
    assert meta["recipients"] == ["ada@example.com"]
    assert meta["smtp_code"] == 550
    assert message_from_bytes(kept.read_bytes())["Message-ID"] == error.message_id


def test_transient_failure_that_never_clears_is_kept_after_all_attempts(app, smtp_server):
    smtp_server.fail("data", "451", times=4)
    with pytest.raises(SendError, match="transient failure after 4 attempt") as caught:
        welcome().send(to="ada@example.com", bcc="audit@example.com")
    assert caught.value.smtp_code == 451
    assert smtp_server.envelopes == []
    (kept,) = failed_files(app)
    meta = json.loads(kept.with_suffix(".json").read_text())
    assert meta["recipients"] == ["ada@example.com", "audit@example.com"]


def test_refused_connection_is_kept_and_resent_later_from_the_cli(tmp_path, free_port, smtp_server):
    class Dead:
        host, port = "127.0.0.1", free_port

    down = make_app(tmp_path, Dead, EMAILKIT_SEND_ATTEMPTS=2)
    with down.app_context(), pytest.raises(SendError, match="ConnectionRefusedError"):
        welcome().send(to="ada@example.com", bcc="audit@example.com")
    with down.app_context():
        assert len(kit.failed) == 1

    up = make_app(tmp_path, smtp_server)  # same instance folder, a working server
    result = up.test_cli_runner().invoke(args=["emailkit", "resend-failed"])
    assert result.exit_code == 0, result.output
    assert "Resent 1 of 1 message(s)" in result.output
    (envelope,) = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == ["ada@example.com", "audit@example.com"]
    with up.app_context():
        assert len(kit.failed) == 0
    again = up.test_cli_runner().invoke(args=["emailkit", "resend-failed"])
    assert "No failed mail" in again.output


def test_smtp_login_uses_credentials_from_the_environment_and_never_shows_them(
    tmp_path, smtp_server, monkeypatch, caplog
):
    monkeypatch.setenv("MAIL_USERNAME", "mailer")
    monkeypatch.setenv("MAIL_PASSWORD", "s3cret-Pa55")
    app = make_app(tmp_path, smtp_server)
    assert app.config["MAIL_PASSWORD"] == "s3cret-Pa55"
    smtp_server.fail("data", "550")
    with app.app_context(), caplog.at_level(logging.DEBUG):
        with pytest.raises(SendError) as caught:
            welcome().send(to="ada@example.com")
        welcome().send(to="ada@example.com")
    assert smtp_server.logins == [("mailer", "s3cret-Pa55")] * 2
    assert len(smtp_server.envelopes) == 1
    # Every file kept, the delivery log's database too (binary: read as bytes).
    kept = "".join(
        p.read_bytes().decode(errors="replace") for p in (tmp_path / "instance").rglob("*.*")
    )
    for text in (str(caught.value), caplog.text, kept):
        assert "s3cret-Pa55" not in text


def test_wrong_credentials_fail_permanently(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, MAIL_USERNAME="mailer", MAIL_PASSWORD="Wr0ng-Pa55")
    with app.app_context(), pytest.raises(SendError) as caught:
        welcome().send(to="ada@example.com")
    assert caught.value.smtp_code == 535
    assert "Wr0ng-Pa55" not in str(caught.value)


def test_send_async_resolves_to_message_ids(app, smtp_server):
    futures = [welcome(f"User{i}").send_async(to=f"u{i}@example.com") for i in range(5)]
    ids = [future.result(timeout=10) for future in futures]
    assert sorted(m["Message-ID"] for m in smtp_server.messages) == sorted(ids)


def test_send_async_failure_is_logged_and_set_on_the_future(app, smtp_server, caplog):
    smtp_server.fail("rcpt", "550")
    with caplog.at_level(logging.ERROR, logger="emailkit"):
        future = welcome().send_async(to="ada@example.com")
        assert isinstance(future.exception(timeout=10), SendError)
    (record,) = [r for r in caplog.records if "ada@example.com" in r.getMessage()]  # once
    assert "welcome to ada@example.com failed after 1 attempt(s)" in record.getMessage()
    assert "kept in" in record.getMessage()


def test_send_async_refuses_bad_input_at_once(app, smtp_server):
    with pytest.raises(AddressError):
        welcome().send_async(to="nope")


def test_queued_async_mail_is_sent_when_the_process_exits(tmp_path, smtp_server):
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "burst.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(SHIPPED_ROOT.parent)!r})
            from flask import Flask
            from emailkit import EmailKit
            from emails.welcome import Welcome
            app = Flask("burst", instance_path={str(tmp_path / "instance")!r})
            app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT={smtp_server.port},
                              MAIL_DEFAULT_SENDER="noreply@acme.example.com",
                              EMAILKIT_ASYNC_WORKERS=2)
            EmailKit(app)
            with app.app_context():
                for i in range(20):
                    Welcome(user_name=f"U{{i}}", confirm_url="https://x.example.com").send_async(
                        to=f"u{{i}}@example.com")
            print("queued", flush=True)
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(smtp_server.envelopes) == 20


def test_send_many_reuses_connections_up_to_max_emails(tmp_path, smtp_server):
    # One connection at a time (the pool's parallel connections have tests of their own).
    app = make_app(tmp_path, smtp_server, MAIL_MAX_EMAILS=20, EMAILKIT_SMTP_CONNECTIONS=1)
    with app.app_context():
        report = kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(45))
    assert (report.sent, report.retried, report.failed) == (45, 0, [])
    assert len(smtp_server.envelopes) == 45
    assert smtp_server.connections == 3


def test_send_many_streams_its_input(app, smtp_server):
    from emailkit.sending.bulk import PIPELINE_DEPTH

    ahead: list[int] = []

    def items():
        for i in range(40):
            ahead.append(i - len(smtp_server.envelopes))
            yield welcome(f"U{i}"), f"u{i}@example.com"

    assert kit.send_many(items()).sent == 40
    # Messages are built at most a queue's depth (+ the one in hand and the one on the wire)
    # before the server has them: the input is never read ahead into memory.
    assert max(ahead) <= PIPELINE_DEPTH + 2


@pytest.mark.parametrize("app", [{"EMAILKIT_SMTP_CONNECTIONS": 1}], indirect=True)
def test_send_many_reconnects_when_the_server_drops_the_connection(app, smtp_server):
    smtp_server.faults["data"] = [None, None, "drop"]  # the third is dropped once
    report = kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(6))
    assert (report.sent, report.retried, report.failed) == (6, 1, [])
    assert len(smtp_server.envelopes) == 6
    assert smtp_server.connections == 2


@pytest.mark.parametrize("app", [{"EMAILKIT_SMTP_CONNECTIONS": 1}], indirect=True)
def test_send_many_reports_failures_and_goes_on(app, smtp_server):
    smtp_server.faults["rcpt"] = [None, "550"]
    items = [
        (welcome("A"), "a@example.com"),
        (welcome("B"), "b@example.com"),  # refused by the server: kept
        (welcome("C"), "not an address"),  # refused before sending: nothing to keep
        (digest("week\nBcc: x@example.com"), "d@example.com"),  # injection through the subject
        (welcome("E"), "e@example.com", {"cc": "boss@example.com"}),
    ]
    report = kit.send_many(items)
    assert report.sent == 2
    assert [f.recipients for f in report.failed] == [
        ["b@example.com"],
        ["not an address"],
        ["d@example.com"],
    ]
    assert "550" in report.failed[0].reason and report.failed[0].saved_to
    assert report.failed[1].saved_to is None and "not valid" in report.failed[1].reason
    assert "line break" in report.failed[2].reason
    assert len(failed_files(app)) == 1
    assert sorted(smtp_server.envelopes[-1].rcpt_tos) == ["boss@example.com", "e@example.com"]


def test_unsubscribe_url_adds_one_click_headers(app, smtp_server, emails_root):
    folder = emails_root.email("news", subject_txt="News", body_html="<p>Hi</p>")

    class News(Email):
        template = folder
        unsubscribe_url: str

    News(unsubscribe_url="https://acme.example.com/u/1").send(to="ada@example.com")
    received = smtp_server.messages[0]
    assert received["List-Unsubscribe"] == "<https://acme.example.com/u/1>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Message-ID"]
    message = welcome().message("ada@example.com")
    assert "List-Unsubscribe" not in message.extra_headers


def test_inline_images_and_attachments_get_the_right_structure(app, smtp_server, emails_root):
    folder = emails_root.email(
        "logo", subject_txt="Logo", body_html='<p><img src="cid:logo" alt="Acme"></p>'
    )
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    (emails_root.path / "terms.pdf").write_bytes(b"%PDF-1.4 terms")

    class Logo(Email):
        template = folder

    Logo().send(
        to="ada@example.com",
        attachments=[
            inline_image("logo", png, "image/png"),
            emails_root.path / "terms.pdf",
            attachment(b"a,b\n", filename="data.csv"),
        ],
    )
    received = message_from_bytes(smtp_server.envelopes[0].original_content, policy=default_policy)
    assert received.get_content_type() == "multipart/mixed"
    related, pdf, csv = received.get_payload()
    assert related.get_content_type() == "multipart/related"
    alternative, image = related.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert image["Content-ID"] == "<logo>" and image.get_content() == png
    assert (pdf.get_filename(), pdf.get_content_type()) == ("terms.pdf", "application/pdf")
    assert (csv.get_filename(), csv.get_content()) == ("data.csv", "a,b\n")

    with pytest.raises(ContextError, match="cid:logo but no inline image"):
        Logo().send(to="ada@example.com")


def test_without_mail_server_debug_and_testing_apps_write_to_the_outbox(tmp_path):
    app = make_app(tmp_path)
    with app.app_context(), flask_mail.Mail(app).record_messages() as recorded:
        message_id = welcome().send(to="ada@example.com")
        (stored,) = list(kit.outbox)
    assert stored.path.parent == tmp_path / "instance" / "emailkit" / "outbox"
    assert message_from_bytes(stored.read())["Message-ID"] == message_id
    assert stored.meta["email"] == "welcome"
    assert [m.msgId for m in recorded] == [message_id]


def test_production_app_without_mail_server_is_a_clear_error_at_start(tmp_path, monkeypatch):
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    app = Flask("prod", instance_path=str(tmp_path))
    with pytest.raises(ConfigError, match="No MAIL_SERVER is configured"):
        EmailKit(app)


def test_mail_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_SERVER", "smtp.acme.example.com")
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    app = Flask("prod", instance_path=str(tmp_path))
    app.config["MAIL_PORT"] = 587  # the config wins over the environment
    EmailKit(app)
    assert app.config["MAIL_SERVER"] == "smtp.acme.example.com"
    assert app.config["MAIL_PORT"] == 587
    assert app.config["MAIL_USE_TLS"] is True
    assert app.extensions["mail"].server == "smtp.acme.example.com"


def test_sending_without_emailkit_or_app_context_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="application context"):
        welcome().send(to="ada@example.com")
    with Flask("bare").app_context(), pytest.raises(ConfigError, match=r"call EmailKit\(app\)"):
        welcome().send(to="ada@example.com")


def test_lines_starting_with_a_dot_arrive_intact(app, smtp_server, emails_root):
    folder = emails_root.email("dots", subject_txt="Dots", body_txt=".\n.hidden\n..two\nend.")

    class Dots(Email):
        template = folder

    Dots().send(to="ada@example.com")
    body = smtp_server.messages[0].get_payload(decode=True).decode()
    assert body.replace("\r\n", "\n").rstrip("\n") == ".\n.hidden\n..two\nend."


def test_send_many_into_the_outbox(tmp_path):
    app = make_app(tmp_path)  # no MAIL_SERVER: a testing app writes to the outbox
    with app.app_context():
        report = kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(20))
        stored = list(kit.outbox)
    assert (report.sent, report.failed) == (20, [])
    assert sorted(s.recipients[0] for s in stored) == sorted(f"u{i}@example.com" for i in range(20))


# Nothing lost, nothing doubled: each recipient's answer counts.


def received_by(sink) -> list[tuple[str, str]]:
    """(Message-ID, recipient) for every copy the sink took."""
    return sorted(
        (message_from_bytes(e.original_content)["Message-ID"], r)
        for e in sink.envelopes
        for r in e.rcpt_tos
    )


def kept(app) -> list[dict]:
    with app.app_context():
        return [stored.meta for stored in kit.failed]


TEAM = ["ada@example.com", "busy@example.com", "gone@example.com"]


def test_send_retries_4xx_recipients_and_reports_5xx_ones(app, smtp_server):
    smtp_server.refuse("busy@example.com", "450", times=2)
    smtp_server.refuse("gone@example.com", "550")
    with pytest.raises(SendError) as caught:
        welcome().send(to=TEAM[0], cc=TEAM[1], bcc=TEAM[2])
    error = caught.value
    assert error.recipients == ["gone@example.com"]
    assert (error.smtp_code, error.attempts) == (550, 3)
    assert "It was delivered to ada@example.com, busy@example.com" in str(error)
    # Each accepted recipient got it exactly once; the refused one never.
    assert received_by(smtp_server) == [
        (error.message_id, "ada@example.com"),
        (error.message_id, "busy@example.com"),
    ]
    (meta,) = kept(app)
    assert meta["recipients"] == ["gone@example.com"]
    assert meta["delivered"] == ["ada@example.com", "busy@example.com"]


def test_send_many_reports_just_the_refused_recipients(app, smtp_server):
    smtp_server.refuse("busy@example.com", "452", times=1)
    smtp_server.refuse("gone@example.com", "550")
    items = [
        (welcome("A"), "solo@example.com"),
        (welcome("T"), TEAM[0], {"cc": TEAM[1:]}),
    ]
    report = kit.send_many(items)
    assert report.sent == 1
    (failure,) = report.failed
    assert failure.recipients == ["gone@example.com"]
    assert "550" in failure.reason and failure.saved_to
    delivered = [r for _, r in received_by(smtp_server)]
    assert sorted(delivered) == ["ada@example.com", "busy@example.com", "solo@example.com"]
    assert [m["recipients"] for m in kept(app)] == [["gone@example.com"]]


@pytest.mark.parametrize("app", [{"EMAILKIT_SMTP_CONNECTIONS": 4}], indirect=True)
def test_send_many_lists_failures_in_the_order_of_its_items(app, smtp_server):
    """Four connections finish in any order (an address that does not parse fails at once,
    a refusal after a round trip); the report follows the items."""
    smtp_server.data_delay = 0.01
    for n in range(0, 24, 5):
        smtp_server.refuse(f"gone{n}@example.com", "550")
    items = [
        (welcome(str(n)), f"gone{n}@example.com" if n % 5 == 0 else f"u{n}@example.com")
        if n % 7 != 3
        else (welcome(str(n)), f"not an address {n}")
        for n in range(24)
    ]
    report = kit.send_many(items)
    expected = [
        f"not an address {n}" if n % 7 == 3 else f"gone{n}@example.com"
        for n in range(24)
        if n % 5 == 0 or n % 7 == 3
    ]
    assert [failure.recipients[0] for failure in report.failed] == expected
    assert report.sent == 24 - len(expected)


def test_send_async_future_carries_the_refused_recipients(app, smtp_server):
    smtp_server.refuse("gone@example.com", "550")
    future = welcome().send_async(to=TEAM[0], cc=TEAM[2])
    error = future.exception(timeout=10)
    assert isinstance(error, SendError) and error.recipients == ["gone@example.com"]
    assert [r for _, r in received_by(smtp_server)] == ["ada@example.com"]


def test_4xx_recipient_that_never_clears_is_kept_alone(app, smtp_server):
    smtp_server.refuse("busy@example.com", "451")
    with pytest.raises(SendError, match="transient failure after 4 attempt") as caught:
        welcome().send(to=TEAM[0], cc=TEAM[1])
    assert caught.value.recipients == ["busy@example.com"]
    assert [r for _, r in received_by(smtp_server)] == ["ada@example.com"]


def test_accepted_message_is_not_failed_when_the_max_emails_reconnect_fails(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, MAIL_MAX_EMAILS=2, EMAILKIT_SMTP_CONNECTIONS=1)
    smtp_server.faults["connect"] = [None, "drop", "drop", "drop", "drop"]
    with app.app_context():
        report = kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(3))
    # The 2nd message was accepted; the new session after it never came up. That failure
    # belongs to the 3rd message, which is kept; the 2nd is neither failed nor kept.
    assert report.sent == 2
    assert [f.recipients for f in report.failed] == [["u2@example.com"]]
    assert [m["recipients"] for m in kept(app)] == [["u2@example.com"]]
    result = app.test_cli_runner().invoke(args=["emailkit", "resend-failed"])
    assert result.exit_code == 0, result.output
    delivered = [r for _, r in received_by(smtp_server)]
    assert sorted(delivered) == ["u0@example.com", "u1@example.com", "u2@example.com"]


def test_resend_failed_sends_to_non_ascii_domains(app, smtp_server):
    smtp_server.fail("data", "451", times=4)
    with pytest.raises(SendError):
        welcome().send(to="ada@bücher.de")
    report = kit.resend_failed()
    assert (report.sent, report.failed) == (1, [])
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["ada@xn--bcher-kva.de"]
    assert len(kit.failed) == 0


def test_resend_failed_reuses_pooled_connections_and_fails_over(tmp_path, smtp_server, free_port):
    """A relay that is down is skipped for the next, and a folder of kept messages goes out
    over the pool's connections, not a connection each."""
    app = make_app(
        tmp_path,
        smtp_server,
        EMAILKIT_SEND_ATTEMPTS=1,
        EMAILKIT_RELAYS=[
            {"server": "127.0.0.1", "port": free_port},  # nothing listens: refused
            {"server": smtp_server.host, "port": smtp_server.port},
        ],
    )
    with app.app_context():
        smtp_server.fail("data", "451", times=6)
        for n in range(6):
            with pytest.raises(SendError):
                welcome(f"U{n}").send(to=f"u{n}@example.com")
        before = smtp_server.connections
        report = kit.resend_failed()
        assert (report.sent, report.failed) == (6, [])
        assert smtp_server.connections - before <= 1  # six messages, one connection at most
        assert sorted(r for _, r in received_by(smtp_server)) == [
            f"u{n}@example.com" for n in range(6)
        ]
        logged = {m.relay for m in kit.log.find(limit=10, with_events=False)}
        assert logged == {f"{smtp_server.host}:{smtp_server.port}"}


def test_resend_failed_never_resends_to_recipients_that_got_it(app, smtp_server):
    smtp_server.fail("data", "451", times=4)
    with pytest.raises(SendError):
        welcome().send(to=TEAM[0], cc=TEAM[2])
    smtp_server.refuse("gone@example.com", "550")
    report = kit.resend_failed()
    assert report.sent == 0 and report.failed[0].recipients == TEAM[::2]
    assert [r for _, r in received_by(smtp_server)] == ["ada@example.com"]
    (stored,) = list(kit.failed)
    assert stored.recipients == ["gone@example.com"]
    assert stored.meta["delivered"] == ["ada@example.com"]
    kit.resend_failed()
    assert [r for _, r in received_by(smtp_server)] == ["ada@example.com"]  # not again
