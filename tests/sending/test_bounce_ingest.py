"""Recording bounces and complaints in the delivery log (emailkit.sending.deliverylog.ingest) and
the ``emailkit bounces ingest`` command: matching by VERP token and Message-ID, suppression, and
everything that must change nothing. Real parts: the log on SQLite (and PostgreSQL), the aiosmtpd
sink, the command run as a subprocess fed through a pipe."""

from __future__ import annotations

import datetime as dt
import mailbox
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emailkit.extension import kit
from emailkit.sending.deliverylog import DeliveryLog
from emailkit.sending.deliverylog.ingest import Ingester
from emailkit.sending.verp import make_token, read_token

from .test_bounces import BOUNCES, MESSAGE_ID, RCPT, SECRET, fixture

CONFIG = {"SECRET_KEY": SECRET, "EMAILKIT_BOUNCE_ADDRESS": BOUNCES}
OTHER = "grace@example.net"


def sent(log: DeliveryLog, message_id: str = MESSAGE_ID, to=(RCPT, OTHER)) -> str:
    log.queued(message_id, email="receipt", recipients=list(to), sender="noreply@acme.example.com")
    log.sent(message_id, list(to), reply="250 OK")
    return message_id


def kinds(log: DeliveryLog, message_id: str = MESSAGE_ID) -> list[tuple[str, str | None]]:
    return [(e.kind, e.recipient) for e in log.message(message_id).events]


def suppressed(log: DeliveryLog) -> list[tuple[str, str | None, str]]:
    return [(e.address, e.category, e.reason) for e in log.suppressions.list()]


def test_a_hard_bounce_matched_by_its_token_is_recorded_and_suppresses(log):
    sent(log)
    ingester = Ingester(log, CONFIG)
    ingester.ingest(fixture("postfix_hard.eml"), "postfix_hard.eml")
    assert kinds(log)[-1] == ("bounced", RCPT)
    assert suppressed(log) == [(RCPT, None, "bounce")]
    assert ingester.report.recorded == 1 and ingester.report.suppressed == [RCPT]
    assert "hard bounce 5.1.1 550 5.1.1" in log.message(MESSAGE_ID).events[-1].detail


def test_the_same_bounce_again_changes_nothing_and_says_so(log):
    sent(log)
    Ingester(log, CONFIG).ingest(fixture("postfix_hard.eml"), "first")
    log.suppressions.remove(RCPT)  # lifted by hand: a replay must not put it back
    again = Ingester(log, CONFIG)
    again.ingest(fixture("postfix_hard.eml"), "second")
    assert [k for k in kinds(log) if k[0] == "bounced"] == [("bounced", RCPT)]
    assert suppressed(log) == []
    assert again.report.ignored == 1
    assert "already recorded for this message" in again.report.lines[-1]


def test_a_forged_token_changes_nothing_and_is_logged(log, caplog):
    sent(log)
    real = make_token(SECRET, MESSAGE_ID, RCPT)
    forged = real[:-4] + ("aaaa" if not real.endswith("aaaa") else "bbbb")
    ingester = Ingester(log, CONFIG)
    with caplog.at_level("WARNING", logger="emailkit.bounces"):
        ingester.ingest(fixture("postfix_hard.eml", token=forged), "forged.eml")
    assert kinds(log) == [("queued", None), ("sent", RCPT), ("sent", OTHER)]
    assert suppressed(log) == []
    assert "forged or altered VERP token" in caplog.text and "nothing changed" in caplog.text


def test_a_token_signed_with_another_secret_is_forged(log):
    sent(log)
    token = make_token("someone-elses-key", MESSAGE_ID, RCPT)
    ingester = Ingester(log, CONFIG)
    ingester.ingest(fixture("exim_dsn.eml", token=token), "exim")
    assert suppressed(log) == [] and ingester.report.ignored == 1


def test_a_bounce_for_a_message_never_sent_changes_nothing(log):
    sent(log)
    ingester = Ingester(log, CONFIG)
    ingester.ingest(fixture("rfc3464_multi.eml", message_id="<not-ours@elsewhere.example>"), "x")
    assert suppressed(log) == []
    assert ingester.report.ignored == 3
    assert "the log has no message <not-ours@elsewhere.example>" in ingester.report.lines[-1]


def test_a_bounce_naming_another_senders_message_changes_nothing(log):
    """A DSN for mail someone else sent (backscatter): its Message-ID is not in our log."""
    sent(log)
    other_token = make_token(SECRET, "<theirs@spammer.example>", RCPT)
    ingester = Ingester(log, CONFIG)
    ingester.ingest(fixture("postfix_hard.eml", token=other_token), "backscatter")
    assert suppressed(log) == []
    assert "names a message the log does not have" in ingester.report.lines[-1]


def test_without_a_token_the_message_id_and_recipient_must_match_the_log(log):
    sent(log, to=["arathib@vnet.ibm.com", "wsnell@sdcc13.ucsd.edu"])
    ingester = Ingester(log, {})  # no bounce address: no VERP
    ingester.ingest(fixture("rfc3464_multi.eml"), "multi")
    # johnh was not a recipient of this message; the other two hard-bounced.
    assert ingester.report.recorded == 2 and ingester.report.ignored == 1
    assert sorted(a for a, _, _ in suppressed(log)) == [
        "arathib@vnet.ibm.com",
        "wsnell@sdcc13.ucsd.edu",
    ]
    assert any("was not sent to johnh@hpnjld.njd.hp.com" in line for line in ingester.report.lines)


def test_a_complaint_with_the_recipient_redacted_is_matched_by_its_token(log):
    sent(log)
    ingester = Ingester(log, CONFIG)
    ingester.ingest(fixture("arf_yahoo.eml"), "yahoo")
    assert kinds(log)[-1] == ("complained", RCPT)
    assert suppressed(log) == [(RCPT, None, "complaint")]


def test_a_complaint_without_a_token_is_matched_by_message_id_and_to(log):
    sent(log)
    ingester = Ingester(log, CONFIG)
    ingester.ingest(fixture("arf_hotmail.eml"), "jmrp")
    assert kinds(log)[-1] == ("complained", RCPT)
    assert suppressed(log) == [(RCPT, None, "complaint")]
    assert "complaint abuse Hotmail FBL" in log.message(MESSAGE_ID).events[-1].detail


def test_soft_bounces_suppress_only_after_the_limit_within_the_window(log):
    config = {**CONFIG, "EMAILKIT_SOFT_BOUNCE_LIMIT": 3}
    for number in range(3):
        message_id = sent(log, f"<m{number}@acme.example.com>")
        Ingester(log, config).ingest(
            fixture("postfix_delayed.eml", message_id=message_id), f"delay {number}"
        )
        assert suppressed(log) == ([] if number < 2 else [(RCPT, None, "bounce")])
    assert "3 messages soft-bounced within 7 days" in log.suppressions.list()[0].detail


def test_soft_bounces_outside_the_window_do_not_count(log):
    for number in range(3):
        sent(log, f"<m{number}@acme.example.com>")
    for number in range(2):  # two long ago
        log.bounced(f"<m{number}@acme.example.com>", RCPT, "soft bounce 4.4.1 old", hard=False)
    with log.connect() as connection:
        from emailkit.sending.deliverylog import events

        connection.execute(
            events.update().values(time=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))
        )
    Ingester(log, CONFIG).ingest(
        fixture("postfix_delayed.eml", message_id="<m2@acme.example.com>"), "recent"
    )
    assert suppressed(log) == []


def test_a_soft_bounce_reported_twice_counts_once(log):
    sent(log)
    for _ in range(3):
        Ingester(log, {**CONFIG, "EMAILKIT_SOFT_BOUNCE_LIMIT": 2}).ingest(
            fixture("postfix_delayed.eml"), "delay"
        )
    assert [k for k in kinds(log) if k[0] == "bounced"] == [("bounced", RCPT)]
    assert suppressed(log) == []


def test_an_unreadable_message_is_a_line_not_an_error(log):
    sent(log)
    ingester = Ingester(log, CONFIG)
    ingester.ingest(fixture("truncated.eml"), "truncated.eml")
    assert suppressed(log) == [] and ingester.report.not_bounces == 1
    assert any("CloseBoundaryNotFoundDefect" in line for line in ingester.report.lines)


# -- sent through a real SMTP server, bounced back ---------------------------------------


def test_each_recipient_gets_its_own_verp_envelope_and_its_bounce_finds_it(tmp_path, smtp_server):
    from .test_sending import make_app, welcome

    app = make_app(
        tmp_path,
        smtp_server,
        EMAILKIT_DATABASE=f"sqlite:///{tmp_path / 'log.sqlite3'}",
        SECRET_KEY=SECRET,
        EMAILKIT_BOUNCE_ADDRESS=BOUNCES,
    )
    with app.app_context():
        message_id = welcome().send(to=[RCPT, OTHER])
        envelopes = {e.rcpt_tos[0]: e.mail_from for e in smtp_server.envelopes}
        assert sorted(envelopes) == sorted([RCPT, OTHER])
        assert all(len(e.rcpt_tos) == 1 for e in smtp_server.envelopes)
        for rcpt, mail_from in envelopes.items():
            local, _, domain = mail_from.rpartition("@")
            assert domain == "mail.example.com"
            assert read_token(SECRET, local.removeprefix("bounces+")).names(message_id, rcpt)
        token = envelopes[RCPT].rpartition("@")[0].removeprefix("bounces+")
        bounce = fixture("exim_dsn.eml", token=token.lower(), message_id=message_id)
        Ingester(kit.log, app.config).ingest(bounce, "exim")
        assert [e.address for e in kit.log.suppressions.list()] == [RCPT]
        kit.log.close()


# -- the command ------------------------------------------------------------------------


def run_ingest(database_url: str, *args: str, stdin: bytes = b"", env=None):
    environment = {
        **os.environ,
        "EMAILKIT_DATABASE": database_url,
        "SECRET_KEY": SECRET,
        "EMAILKIT_BOUNCE_ADDRESS": BOUNCES,
        **(env or {}),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "emailkit"), "bounces", "ingest", *args],
        input=stdin,
        capture_output=True,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.fixture
def sqlite_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    log = DeliveryLog(url)
    sent(log)
    yield url, log
    log.close()


def test_ingest_reads_a_bounce_piped_to_stdin(sqlite_log):
    url, log = sqlite_log
    done = run_ingest(url, "-", stdin=fixture("postfix_hard.eml"))
    assert done.returncode == 0, done.stderr
    assert "1 message(s): 1 event(s) recorded, 0 ignored" in done.stdout.decode()
    assert suppressed(log) == [(RCPT, None, "bounce")]


def test_ingest_takes_the_token_from_postfixs_recipient_variable(sqlite_log):
    """Postfix's local(8) puts the envelope recipient in $ORIGINAL_RECIPIENT for a pipe."""
    url, log = sqlite_log
    report = fixture("rfc3464_multi.eml").replace(b"arathib@vnet.ibm.com", RCPT.encode())
    token = make_token(SECRET, MESSAGE_ID, RCPT)
    done = run_ingest(
        url, "-", stdin=report, env={"ORIGINAL_RECIPIENT": f"bounces+{token}@mail.example.com"}
    )
    assert done.returncode == 0, done.stderr
    assert (RCPT, None, "bounce") in suppressed(log)


def test_a_forged_bounce_on_stdin_exits_0_so_the_mta_drops_it(sqlite_log):
    url, log = sqlite_log
    done = run_ingest(url, "-", stdin=fixture("postfix_hard.eml", token="a" * 42))
    assert done.returncode == 0
    assert "forged or altered VERP token" in done.stdout.decode()
    assert suppressed(log) == []


def test_ingest_reads_an_mbox_and_a_maildir(sqlite_log, tmp_path):
    url, log = sqlite_log
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(fixture("out_of_office.eml"))
    box.add(fixture("arf_rfc5965.eml"))
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(fixture("rfc3464_multi.eml"))
    done = run_ingest(url, str(tmp_path / "bounces.mbox"), str(tmp_path / "Maildir"))
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert "3 message(s): 1 event(s) recorded, 3 ignored, 1 not a bounce" in out
    assert suppressed(log) == [(RCPT, None, "complaint")]


def test_an_unreadable_path_exits_1_after_reading_the_others(sqlite_log, tmp_path):
    url, log = sqlite_log
    (tmp_path / "hard.eml").write_bytes(fixture("postfix_hard.eml"))
    done = run_ingest(url, str(tmp_path / "missing.eml"), str(tmp_path / "hard.eml"))
    assert done.returncode == 1
    assert "missing.eml: No such file or directory" in done.stderr.decode()
    assert suppressed(log) == [(RCPT, None, "bounce")]


def test_an_unreachable_log_exits_75_so_the_mta_retries(free_port):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port}/nothing"
    done = run_ingest(url, "-", stdin=fixture("postfix_hard.eml"))
    assert done.returncode == 75, done.stderr
    assert "exiting 75 so the MTA retries later" in done.stderr.decode()


def test_a_10_mb_bounce_on_stdin_is_read_within_the_limit(sqlite_log):
    url, log = sqlite_log
    bounce = fixture("postfix_hard.eml")
    huge = bounce + b"X" * (10 * 1024 * 1024)
    done = run_ingest(url, "-", stdin=huge)
    assert done.returncode == 0, done.stderr
    assert f"read the first {2 * 1024 * 1024}, ignored the rest" in done.stdout.decode()
    assert suppressed(log) == [(RCPT, None, "bounce")]


def test_a_bounce_address_without_a_secret_key_exits_75_and_says_why(sqlite_log):
    url, _ = sqlite_log
    done = run_ingest(url, "-", stdin=fixture("postfix_hard.eml"), env={"SECRET_KEY": ""})
    assert done.returncode == 75
    assert "needs the app's SECRET_KEY" in done.stderr.decode()


def test_flask_emailkit_bounces_ingest_uses_the_apps_config(tmp_path, smtp_server):
    from .test_sending import make_app

    app = make_app(
        tmp_path,
        smtp_server,
        EMAILKIT_DATABASE=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        SECRET_KEY=SECRET,
        EMAILKIT_BOUNCE_ADDRESS=BOUNCES,
    )
    with app.app_context():
        sent(kit.log)
    (tmp_path / "hard.eml").write_bytes(fixture("postfix_hard.eml"))
    result = app.test_cli_runner().invoke(
        args=["emailkit", "bounces", "ingest", str(tmp_path / "hard.eml")]
    )
    assert result.exit_code == 0, result.output
    assert "1 address(es) suppressed (ada@example.org)" in result.output
    with app.app_context():
        assert suppressed(kit.log) == [(RCPT, None, "bounce")]
        kit.log.close()
