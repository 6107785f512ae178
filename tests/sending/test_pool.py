"""The connection pool, pipelining, relay failover and rate limits, against real servers
(aiosmtpd, Postfix's smtp-sink) behind a proxy that delays each direction."""

from __future__ import annotations

import logging
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from email import message_from_bytes

import pytest

from emailkit import SendError
from emailkit.extension import kit
from emailkit.sending import transport as transport_module

from ..conftest import SHIPPED_ROOT, Chaos, running_sink, running_smtp_sink
from ..netproxy import DelayProxy
from .conftest import delivered_and_kept
from .test_chaos import RATES as CHAOS_RATES
from .test_sending import make_app, received_by, welcome


@pytest.fixture
def slow_link(smtp_server):
    """The aiosmtpd sink behind 5 ms each way (10 ms round trips)."""
    with DelayProxy((smtp_server.host, smtp_server.port), 0.005) as proxy:
        yield proxy


class Via:
    def __init__(self, port: int) -> None:
        self.host, self.port = "127.0.0.1", port


@pytest.fixture
def pipelined(monkeypatch):
    """Counts the transactions that went out pipelined."""
    calls: list[int] = []
    real = transport_module.pipelined_sendmail

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(transport_module, "pipelined_sendmail", counting)
    return calls


TEAM = ["ada@example.com", "busy@example.com", "gone@example.com"]


@pytest.mark.parametrize("pipelining", [True, False])
def test_pipelined_partial_refusals_retry_4xx_alone_and_keep_5xx(
    tmp_path, smtp_server, slow_link, pipelined, pipelining
):
    app = make_app(tmp_path, Via(slow_link.port), EMAILKIT_SMTP_PIPELINING=pipelining)
    smtp_server.refuse("busy@example.com", "450", times=2)
    smtp_server.refuse("gone@example.com", "550")
    with app.app_context(), pytest.raises(SendError) as caught:
        welcome().send(to=TEAM[0], cc=TEAM[1], bcc=TEAM[2])
    error = caught.value
    assert error.recipients == ["gone@example.com"]
    assert (error.smtp_code, error.attempts) == (550, 3)
    assert received_by(smtp_server) == [
        (error.message_id, "ada@example.com"),
        (error.message_id, "busy@example.com"),
    ]
    with app.app_context():
        (stored,) = list(kit.failed)
    assert stored.recipients == ["gone@example.com"]
    assert bool(pipelined) is pipelining


def test_all_recipients_refused_when_pipelined_sends_no_data(tmp_path, smtp_server, pipelined):
    app = make_app(tmp_path, smtp_server, EMAILKIT_SEND_ATTEMPTS=1)
    smtp_server.refuse("gone@example.com", "550")
    with app.app_context(), pytest.raises(SendError) as caught:
        welcome().send(to="gone@example.com")
    assert caught.value.smtp_code == 550 and smtp_server.envelopes == []
    with app.app_context():  # the connection is still good for the next message
        welcome().send(to="ada@example.com")
    assert pipelined and smtp_server.connections == 1


def test_smtp_sink_takes_pipelined_mail_over_several_connections(tmp_path, pipelined):
    with running_smtp_sink(tmp_path / "sink") as sink:
        app = make_app(tmp_path, sink, EMAILKIT_SMTP_CONNECTIONS=4)
        with app.app_context():
            report = kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(40))
        assert (report.sent, report.failed) == (40, [])
        rcpts = sorted(
            line.split(b"<")[1].split(b">")[0].decode()
            for message in sink.received
            for line in message.split(b"\n")
            if line.startswith(b"X-Rcpt-Args:")
        )
    assert rcpts == sorted(f"u{i}@example.com" for i in range(40))
    assert len(pipelined) == 40


@pytest.mark.parametrize(
    ("option", "code", "attempts"), [("-r", 450, 2), ("-f", 500, 1)]
)  # fmt: skip
def test_smtp_sink_refusing_every_recipient_keeps_the_message(
    tmp_path, option, code, attempts, pipelined
):
    with running_smtp_sink(tmp_path / "sink", option, "rcpt") as sink:
        app = make_app(tmp_path, sink, EMAILKIT_SEND_ATTEMPTS=2)
        with app.app_context(), pytest.raises(SendError) as caught:
            welcome().send(to="ada@example.com", cc="bob@example.com")
        assert sink.received == []
    assert (caught.value.smtp_code, caught.value.attempts) == (code, attempts)
    assert sorted(caught.value.recipients) == ["ada@example.com", "bob@example.com"]
    # smtp-sink stops offering PIPELINING when told to refuse: the plain path answered.
    assert not pipelined


def test_sequential_sends_reuse_one_logged_in_connection(tmp_path, smtp_server, slow_link):
    app = make_app(
        tmp_path, Via(slow_link.port), MAIL_USERNAME="mailer", MAIL_PASSWORD="s3cret-Pa55"
    )
    with app.app_context():
        for i in range(5):
            welcome(f"U{i}").send(to=f"u{i}@example.com")
    assert len(smtp_server.envelopes) == 5
    assert smtp_server.connections == 1
    assert smtp_server.logins == [("mailer", "s3cret-Pa55")]


def test_connection_dropped_while_idle_is_replaced_without_a_failed_send(
    tmp_path, smtp_server, caplog
):
    app = make_app(tmp_path, smtp_server, EMAILKIT_SEND_ATTEMPTS=1)
    with app.app_context():
        welcome("A").send(to="a@example.com")
        smtp_server.hang_up()  # the server's idle timeout
        deadline = time.monotonic() + 10
        pool = kit.state().deliverer.relays.relays[0].pool
        sock = pool._idle[0].host.sock  # wait until the hang-up reached our side
        while not select.select([sock], [], [], 0.05)[0]:
            assert time.monotonic() < deadline
        with caplog.at_level(logging.WARNING, logger="emailkit"):
            welcome("B").send(to="b@example.com")  # one attempt allowed: it must not fail
    assert [r for _, r in received_by(smtp_server)] == ["a@example.com", "b@example.com"]
    assert smtp_server.connections == 2
    assert "retrying" not in caplog.text


def test_idle_connection_is_checked_with_noop_before_reuse(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, EMAILKIT_SMTP_CHECK_AFTER=0)
    noops: list[int] = []
    original = smtp_server.handle_NOOP if hasattr(smtp_server, "handle_NOOP") else None
    assert original is None

    async def handle_NOOP(server, session, envelope, arg):  # type: ignore[no-untyped-def]
        noops.append(1)
        return "250 OK"

    smtp_server.handle_NOOP = handle_NOOP  # type: ignore[attr-defined]
    with app.app_context():
        welcome("A").send(to="a@example.com")
        welcome("B").send(to="b@example.com")
    assert noops == [1] and smtp_server.connections == 1


def test_idle_connections_are_closed_after_the_idle_timeout(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, EMAILKIT_SMTP_IDLE_TIMEOUT=0.2)
    with app.app_context():
        welcome().send(to="a@example.com")
    deadline = time.monotonic() + 20
    while smtp_server.quits < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)


# The chaos test's faults, less the stalls (each would hold a pooled connection for its timeout).
RATES = {**CHAOS_RATES, "data": [fault for fault in CHAOS_RATES["data"] if fault[0] != "stall"]}


def test_sixteen_connections_under_chaos_lose_nothing(tmp_path, smtp_server):
    count = 300
    # A generous timeout: a reply late under load must not look like a lost line here.
    app = make_app(
        tmp_path, smtp_server, EMAILKIT_SMTP_CONNECTIONS=16, MAIL_MAX_EMAILS=10,
        EMAILKIT_SMTP_TIMEOUT=10,
    )  # fmt: skip
    smtp_server.chaos = Chaos(21, RATES)
    to = {i: [f"u{i}@example.com", *([f"c{i}@example.com"] if i % 4 == 0 else [])]
          for i in range(count)}  # fmt: skip
    with app.app_context():
        report = kit.send_many(
            (welcome(f"U{i}"), to[i][0], {"cc": to[i][1:]}) for i in range(count)
        )
        kept_meta = [stored.meta for stored in kit.failed]
    smtp_server.chaos = None
    delivered = Counter(r for e in smtp_server.envelopes for r in e.rcpt_tos)
    kept = Counter(r for meta in kept_meta for r in meta["recipients"])
    everyone = {r for rs in to.values() for r in rs}
    assert set(delivered) | set(kept) == everyone  # nothing lost
    assert max(kept.values(), default=1) == 1
    taken_then_dropped = Counter(d for _, fault, d in smtp_server.log if fault == "accept_drop")
    ids = {
        r: message_from_bytes(e.original_content)["Message-ID"]
        for e in smtp_server.envelopes
        for r in e.rcpt_tos
    }
    for recipient, copies in delivered.items():
        extra = copies - 1 + (recipient in kept)
        if extra:
            assert taken_then_dropped[ids[recipient]] >= extra, recipient
    # The report's counts are exact.
    failed_messages = {i for i in to if any(kept[r] for r in to[i])}
    assert report.sent == count - len(failed_messages)
    assert sorted(r for f in report.failed for r in f.recipients) == sorted(kept)
    assert smtp_server.connections >= 16


def test_relay_killed_mid_batch_fails_over_and_delivers_everything_once(tmp_path):
    count = 60
    with running_sink() as first, running_sink() as second:
        first.data_delay = second.data_delay = 0.005
        relays = [{"server": s.host, "port": s.port} for s in (first, second)]
        app = make_app(
            tmp_path, first, EMAILKIT_RELAYS=relays, EMAILKIT_SMTP_CONNECTIONS=4,
            EMAILKIT_RELAY_COOLDOWN=60,
        )  # fmt: skip

        def kill_first() -> None:
            while len(first.envelopes) < 15:
                time.sleep(0.002)
            first.hang_up(stop_listening=True)

        killer = threading.Thread(target=kill_first)
        killer.start()
        with app.app_context():
            report = kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(count))
            logged = Counter(m.relay for m in kit.log.find(limit=count, with_events=False))
        killer.join()
        delivered = Counter(
            r for sink in (first, second) for e in sink.envelopes for r in e.rcpt_tos
        )
        assert (report.sent, report.failed) == (count, [])
        assert set(delivered) == {f"u{i}@example.com" for i in range(count)}
        # Sent twice only where the first relay took the message and hung up before its reply
        # reached us (as with any SMTP client): one copy on each relay, at most one per
        # connection that was in flight when it died.
        on_first = Counter(r for e in first.envelopes for r in e.rcpt_tos)
        on_second = Counter(r for e in second.envelopes for r in e.rcpt_tos)
        twice = {r for r, n in delivered.items() if n > 1}
        assert all(on_first[r] == on_second[r] == 1 for r in twice), delivered
        assert len(twice) <= 4, twice
        assert len(first.envelopes) >= 15 and second.envelopes
        # The delivery log names the relay each message went to, not the first configured.
        assert set(logged) == {f"{s.host}:{s.port}" for s in (first, second)}, logged
        assert logged[f"{second.host}:{second.port}"] >= len(on_second) - len(twice)


def test_relay_refusing_connections_is_skipped_until_its_cooldown_ends(tmp_path, free_port, caplog):
    with running_sink() as second:
        relays = [
            {"server": "127.0.0.1", "port": free_port},
            {"server": "127.0.0.1", "port": second.port},
        ]
        app = make_app(tmp_path, second, EMAILKIT_RELAYS=relays, EMAILKIT_RELAY_COOLDOWN=0.3,
                       EMAILKIT_SEND_ATTEMPTS=1)  # fmt: skip
        with app.app_context(), caplog.at_level(logging.WARNING, logger="emailkit"):
            welcome().send(to="a@example.com")
            welcome().send(to="b@example.com")
            assert len(second.envelopes) == 2
            assert caplog.text.count("is unavailable") == 1  # skipped while cooling down
            with running_sink(free_port) as first:
                time.sleep(0.35)  # the cool-down (a wait on configured time, not a race)
                welcome().send(to="c@example.com")
            assert [e.rcpt_tos for e in first.envelopes] == [["c@example.com"]]


def test_throttling_relay_slows_the_sender_and_fails_nothing(tmp_path, smtp_server, caplog):
    app = make_app(tmp_path, smtp_server, EMAILKIT_SEND_ATTEMPTS=1, EMAILKIT_SMTP_CONNECTIONS=4)
    smtp_server.fail("mail", "454", times=6)  # 454 4.x.x: SES's "Throttling failure"
    with app.app_context(), caplog.at_level(logging.WARNING, logger="emailkit"):
        report = kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(20))
        assert len(kit.failed) == 0
    assert (report.sent, report.failed, report.retried) == (20, [], 0)
    assert len(smtp_server.envelopes) == 20
    assert caplog.text.count("is throttling") == 6


def test_rate_limit_spaces_messages(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, EMAILKIT_SMTP_RATE=20)
    start = time.monotonic()
    with app.app_context():
        report = kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(30))
    # A lower bound only: 20 may go at once, the other 10 wait their turn.
    assert time.monotonic() - start >= 0.45
    assert report.sent == 30


def test_rate_limit_in_redis_holds_across_apps(tmp_path, smtp_server, redis_server):
    apps = [
        make_app(tmp_path / str(n), smtp_server, EMAILKIT_SMTP_RATE=10,
                 EMAILKIT_RATE_LIMIT_STORAGE=redis_server.url)
        for n in range(2)
    ]  # fmt: skip
    reports = []

    def send(app):  # type: ignore[no-untyped-def]
        with app.app_context():
            reports.append(
                kit.send_many((welcome(f"U{i}"), f"u{i}@example.com") for i in range(10))
            )

    start = time.monotonic()
    threads = [threading.Thread(target=send, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - start >= 0.9  # one shared budget of 10 a second, not two
    assert sum(r.sent for r in reports) == 20


FULL_POOL = """
import sys
sys.path.insert(0, {emails_parent!r})
from flask import Flask
from emailkit import EmailKit
from emails.welcome import Welcome

app = Flask("full", instance_path={instance!r})
app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT={port},
                  MAIL_DEFAULT_SENDER="noreply@acme.example.com",
                  EMAILKIT_SMTP_CONNECTIONS=4, EMAILKIT_SHUTDOWN_GRACE=0.3)
EmailKit(app)
with app.app_context():
    for i in range({count}):
        Welcome(user_name=f"U{{i}}", confirm_url="https://x.example.com").send_async(
            to=f"u{{i}}@example.com")
import os, select, signal
wakeup, awake = os.pipe()
os.set_blocking(awake, False)
signal.set_wakeup_fd(awake)
print("queued", flush=True)
while True:
    select.select([wakeup], [], [])
    os.read(wakeup, 512)
"""


def test_sigterm_with_a_full_pool_drains_then_quits_every_connection(tmp_path, smtp_server):
    count = 200
    smtp_server.data_delay = 0.01
    instance = tmp_path / "instance"
    script = tmp_path / "app.py"
    script.write_text(
        FULL_POOL.format(emails_parent=str(SHIPPED_ROOT.parent), instance=str(instance),
                         port=smtp_server.port, count=count)
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == "queued\n", process.stderr.read()
        deadline = time.monotonic() + 30
        while smtp_server.connections < 4:  # every pooled connection busy
            assert time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGTERM, errors
    delivered, kept = delivered_and_kept(smtp_server, instance)
    assert len(delivered) == len(set(delivered)) and not set(delivered) & set(kept)
    assert sorted(delivered + kept) == sorted(f"u{i}@example.com" for i in range(count))
    assert smtp_server.connections == 4
    deadline = time.monotonic() + 10
    while smtp_server.quits < 4:  # each connection ended with QUIT, none just dropped
        assert time.monotonic() < deadline, smtp_server.quits
        time.sleep(0.01)
