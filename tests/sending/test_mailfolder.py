"""The failed-mail folder: never loses a kept message, never sends one twice, keeps it private.

Against a real SMTP server (aiosmtpd), real concurrent runs (threads and processes) and a
subprocess with the usual umask.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emailkit import EmailKit
from emailkit.extension import kit
from emailkit.sending.mailfolder import MailFolder

from ..conftest import REPO, SHIPPED_ROOT

DAMAGE = {
    "missing": None,
    "truncated": b'{"email": "welcome", "recipients": ["a@exa',
    "not json": b"this is not JSON",
    "a list": b'["ada@example.com"]',
    "binary": b"\xff\xfe\x00\x81garbage",
    "empty": b"",
    "no recipients": (
        b'{"email": "welcome", "sender": "noreply@acme.example.com", "recipients": []}'
    ),
    "recipients not a list": (
        b'{"email": "welcome", "sender": "noreply@acme.example.com", "recipients": "a@b.example"}'
    ),
}


def make_app(instance: Path, sink) -> Flask:
    app = Flask("mailfolder_test", instance_path=str(instance))
    app.config.update(
        TESTING=True,
        MAIL_SERVER=sink.host,
        MAIL_PORT=sink.port,
        MAIL_DEFAULT_SENDER="Acme <noreply@acme.example.com>",
        MAIL_SUPPRESS_SEND=False,
        EMAILKIT_SEND_ATTEMPTS=1,
        EMAILKIT_SMTP_TIMEOUT=5,
        EMAILKIT_ROOT=str(SHIPPED_ROOT),
    )
    EmailKit(app)
    return app


def keep(app: Flask, name: str, recipients: list[str], *, again_for: list[str] | None = None):
    """Put a Welcome to ``recipients`` in the failed folder (and the same message once more,
    for ``again_for``, as a message kept twice for different recipients is)."""
    from emails.welcome import Welcome

    with app.app_context():
        message = Welcome(user_name=name, confirm_url="https://acme.example.com/c").message(
            recipients
        )
        first = kit.failed.save(message, email="welcome", reason="test")
        second = None
        if again_for:
            second = kit.failed.save(message, email="welcome", reason="test", recipients=again_for)
        return message.msgId, first, second


def damage(stored, how: str) -> None:
    content = DAMAGE[how]
    if content is None:
        stored.sidecar.unlink()
    else:
        stored.sidecar.write_bytes(content)


def deliveries(sink) -> Counter[tuple[str, str]]:
    return Counter(
        (message_from_bytes(e.original_content)["Message-ID"], r)
        for e in list(sink.envelopes)
        for r in e.rcpt_tos
    )


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_kept_message_with_a_missing_or_damaged_envelope_is_named_and_kept(
    tmp_path, smtp_server, how
):
    app = make_app(tmp_path / "instance", smtp_server)
    good_id, _, _ = keep(app, "Good", ["good@example.com"])
    bad_id, bad, _ = keep(app, "Bad", ["bad@example.com"])
    after_id, _, _ = keep(app, "After", ["after@example.com"])
    damage(bad, how)
    kept_bytes = bad.path.read_bytes()

    result = app.test_cli_runner().invoke(args=["emailkit", "resend-failed"])

    assert result.exit_code == 1, result.output
    assert "Resent 2 of 3 message(s)" in result.output
    assert f"still failing: {bad.path}: skipped, kept as it is" in result.output
    assert bad.sidecar.name in result.output
    assert "Traceback" not in result.output
    # The others went on and were sent; the damaged one is untouched and nothing sent for it.
    assert set(deliveries(smtp_server)) == {
        (good_id, "good@example.com"),
        (after_id, "after@example.com"),
    }
    assert bad.path.read_bytes() == kept_bytes
    assert [p.name for p in bad.path.parent.glob("*.eml")] == [bad.path.name]
    assert bad_id not in {m for m, _ in deliveries(smtp_server)}


def test_two_resend_runs_at_once_send_each_message_once(tmp_path, smtp_server):
    """Two `emailkit resend-failed` processes (a cron job and an operator) on one folder."""
    smtp_server.data_delay = 0.05  # both runs are sending at the same time
    app = make_app(tmp_path / "instance", smtp_server)
    ids = [keep(app, f"U{i}", [f"u{i}@example.com"])[0] for i in range(12)]
    env = {
        **os.environ,
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": str(smtp_server.port),
        "MAIL_DEFAULT_SENDER": "noreply@acme.example.com",
        "PYTHONPATH": str(REPO),
    }
    command = [sys.executable, "-c", "from emailkit.cli import main; main()", "resend-failed"]
    runs = [
        subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert deliveries(smtp_server) == Counter(
        {(m, f"u{i}@example.com"): 1 for i, m in enumerate(ids)}
    )
    assert not list((tmp_path / "instance" / "emailkit" / "failed").glob("*.eml"))


def test_a_claim_is_released_when_its_process_dies(tmp_path, smtp_server):
    """A run killed mid-send leaves no stale claim: the next run sends the message."""
    app = make_app(tmp_path / "instance", smtp_server)
    message_id, stored, _ = keep(app, "Ada", ["ada@example.com"])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, os, sys, time
                fd = os.open({str(stored.path)!r}, os.O_RDONLY)
                fcntl.flock(fd, fcntl.LOCK_EX)
                print("claimed", flush=True)
                time.sleep(3600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "claimed\n"
        with app.app_context():
            busy = kit.resend_failed()
        assert (busy.sent, busy.claimed_elsewhere, busy.failed) == (0, 1, [])
        assert deliveries(smtp_server) == Counter()
    finally:
        holder.kill()
        holder.wait()
    with app.app_context():
        report = kit.resend_failed()
    assert (report.sent, report.claimed_elsewhere) == (1, 0)
    assert deliveries(smtp_server) == Counter({(message_id, "ada@example.com"): 1})


# Kept-folder states: good messages (some kept twice, for different recipients), damaged
# and missing envelopes, refusing recipients, and 1 to 3 runs at once.
kept_message = st.fixed_dictionaries(
    {
        "recipients": st.integers(1, 3),
        "kept_twice": st.booleans(),
        "damage": st.one_of(st.none(), st.none(), st.sampled_from(sorted(DAMAGE))),
        "refused": st.booleans(),  # its first recipient refuses for good (550)
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(messages=st.lists(kept_message, min_size=1, max_size=6), runs=st.integers(1, 3))
def test_no_kept_message_is_deleted_undelivered_or_delivered_twice(smtp_server, messages, runs):
    smtp_server.envelopes.clear()
    smtp_server.refusals.clear()
    with tempfile.TemporaryDirectory() as scratch:
        app = make_app(Path(scratch), smtp_server)
        due: dict[str, set[str]] = {}  # Message-ID -> recipients it must reach once
        refused: dict[str, set[str]] = {}
        damaged: dict[Path, bytes] = {}
        for index, spec in enumerate(messages):
            everyone = [f"m{index}r{n}@example.com" for n in range(spec["recipients"] + 1)]
            first, extra = everyone[:-1], everyone[-1:] if spec["kept_twice"] else None
            message_id, stored, twice = keep(app, f"U{index}", first, again_for=extra)
            if spec["damage"] is not None:
                damage(stored, spec["damage"])
                damaged[stored.path] = stored.path.read_bytes()
            else:
                due.setdefault(message_id, set()).update(first)
            if twice is not None:
                due.setdefault(message_id, set()).update(extra)
            if spec["refused"]:
                smtp_server.refuse(everyone[0], "550")
                refused.setdefault(message_id, set()).add(everyone[0])
        folder = Path(scratch) / "emailkit" / "failed"

        reports = []

        def run() -> None:
            with app.app_context():
                reports.append(kit.resend_failed())

        threads = [threading.Thread(target=run) for _ in range(runs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(reports) == runs

        delivered = deliveries(smtp_server)
        assert all(count == 1 for count in delivered.values()), delivered  # none twice
        still_kept = {
            (stored.meta["message_id"], r)
            for stored in MailFolder(folder)
            if stored.problem is None
            for r in stored.recipients
        }
        # A recipient that refused for good is on the suppression list from then on: a later
        # run leaves the message out for it, and says so.
        reported_suppressed = {
            (f.message_id, r) for report in reports for f in report.suppressed for r in f.recipients
        }
        for message_id, recipients in due.items():
            for recipient in recipients:
                was_refused = recipient in refused.get(message_id, set())
                # delivered once, or (refused for good) still kept for it or reported
                # suppressed: never neither
                assert ((message_id, recipient) in delivered) != was_refused, recipient
                accounted = (message_id, recipient) in still_kept | reported_suppressed
                assert accounted == was_refused, recipient
        for path, content in damaged.items():  # untouched, and named by some run
            assert path.read_bytes() == content
            assert any(
                f.saved_to == str(path) and "skipped" in f.reason
                for report in reports
                for f in report.failed
            )
        # Every message was handled by exactly one run (or skipped by each that saw it).
        assert sum(r.sent for r in reports) == len(
            [s for s in messages if s["damage"] is None and not s["refused"]]
        ) + sum(1 for s in messages if s["kept_twice"])


UMASK_SCRIPT = """
import os, sys
os.umask(0o022)
sys.path.insert(0, {emails_parent!r})
from flask import Flask
from emailkit import EmailKit, SendError
from emails.welcome import Welcome

outbox_app = Flask("outbox", instance_path={outbox_instance!r})
outbox_app.config.update(TESTING=True, MAIL_DEFAULT_SENDER="noreply@acme.example.com")
EmailKit(outbox_app)
with outbox_app.app_context():
    Welcome(user_name="Ada", confirm_url="https://x.example.com").send(to="ada@example.com")

failing = Flask("failing", instance_path={failed_instance!r})
failing.config.update(
    MAIL_SERVER="127.0.0.1",
    MAIL_PORT={dead_port},
    MAIL_DEFAULT_SENDER="noreply@acme.example.com",
    EMAILKIT_SEND_ATTEMPTS=1,
    EMAILKIT_FAILED_DIR={old_folder!r},
)
EmailKit(failing)
with failing.app_context():
    try:
        Welcome(user_name="Ada", confirm_url="https://x.example.com").send(to="ada@example.com")
    except SendError:
        print("kept")
"""


def test_kept_and_outbox_mail_is_private_whatever_the_umask(tmp_path, free_port):
    old_folder = tmp_path / "old-failed"
    old_folder.mkdir(mode=0o755)  # made by an earlier version under umask 022
    os.chmod(old_folder, 0o755)
    script = tmp_path / "umask.py"
    script.write_text(
        UMASK_SCRIPT.format(
            emails_parent=str(SHIPPED_ROOT.parent),
            outbox_instance=str(tmp_path / "a"),
            failed_instance=str(tmp_path / "b"),
            dead_port=free_port,
            old_folder=str(old_folder),
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0 and "kept" in done.stdout, done.stderr
    folders = [tmp_path / "a" / "emailkit" / "outbox", old_folder]
    files = [path for folder in folders for path in folder.iterdir()]
    assert sorted(p.suffix for p in files) == [".eml", ".eml", ".json", ".json"]
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in folders} == {"0o700"}
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {"0o600"}
