"""send_async's queue when the process is stopped: sent within the grace period, or kept."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from ..conftest import REPO, SHIPPED_ROOT
from .conftest import delivered_and_kept

APP = """
import faulthandler, signal, sys
faulthandler.register(signal.SIGUSR1)  # the test asks for every thread's stack if it hangs
sys.path.insert(0, {emails_parent!r})
from flask import Flask
from emailkit import EmailKit
from emails.welcome import Welcome

app = Flask("burst", instance_path={instance!r})
app.config.update(
    MAIL_SERVER="127.0.0.1",
    MAIL_PORT={port},
    MAIL_DEFAULT_SENDER="noreply@acme.example.com",
    EMAILKIT_ASYNC_WORKERS=2,
    EMAILKIT_SHUTDOWN_GRACE={grace},
    EMAILKIT_SMTP_TIMEOUT=5,
)
EmailKit(app)


def queue():
    with app.app_context():
        for i in range({count}):
            Welcome(user_name=f"U{{i}}", confirm_url="https://x.example.com").send_async(
                to=f"u{{i}}@example.com"
            )


if {in_thread}:  # as a request thread of a threaded server would
    import threading

    request = threading.Thread(target=queue)
    request.start()
    request.join()
else:
    queue()
# SIGUSR2: say how things stand (the tests ask after sending another signal).
import json, os
from emailkit.sending import async_sender


def report(signum, frame):
    failed = os.path.join({instance!r}, "emailkit", "failed")
    state = {{
        "sigint_ignored": signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
        "closing": [sender._closing for sender in async_sender._live],
        "kept": len([n for n in os.listdir(failed) if n.endswith(".eml")])
        if os.path.isdir(failed) else 0,
    }}
    print("state", json.dumps(state), flush=True)


signal.signal(signal.SIGUSR2, report)
# Serve requests until stopped, like gunicorn's or Kubernetes' app. Not signal.pause(): a
# signal that lands after Python's last check for signals but before pause() starts (likely
# under load, with the pool's threads running) is lost and pause() waits forever. The wakeup
# fd gets a byte even then, and select() returning runs the Python handler.
import os, select
wakeup, awake = os.pipe()
os.set_blocking(awake, False)
signal.set_wakeup_fd(awake)
print("queued", flush=True)
while True:
    select.select([wakeup], [], [])
    os.read(wakeup, 512)
"""


@pytest.mark.parametrize(
    ("signum", "in_thread"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-request-thread"],
)
def test_queued_mail_is_sent_or_kept_when_the_process_is_stopped(
    tmp_path, smtp_server, signum, in_thread
):
    count, grace = 200, 0.3
    smtp_server.data_delay = 0.02  # slow enough that the grace period cannot send them all
    script = tmp_path / "app.py"
    instance = tmp_path / "instance"
    script.write_text(
        APP.format(
            emails_parent=str(SHIPPED_ROOT.parent),
            instance=str(instance),
            port=smtp_server.port,
            grace=grace,
            count=count,
            in_thread=in_thread,
        )
    )
    # As started from a terminal: SIGINT at its default, even when this test runs under
    # `nohup ... &`, which makes every child ignore it (see the SIG_IGN tests below).
    process = start(script, sigint=signal.SIG_DFL)
    try:
        assert process.stdout.readline() == "queued\n", process.stderr.read()
        stopped = time.monotonic()
        process.send_signal(signum)
        try:
            _, errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # where is it stuck?
            time.sleep(1)
            process.kill()
            _, errors = process.communicate()
            pytest.fail(f"still running 30 s after {signal.Signals(signum).name}:\n{errors}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    took = time.monotonic() - stopped
    if signum == signal.SIGTERM:  # it still ends the way SIGTERM ends a process
        assert process.returncode == -signal.SIGTERM, errors
    else:
        assert "KeyboardInterrupt" in errors
    assert took < 15, took  # the grace period, the messages on the wire, writing the rest

    delivered, kept = delivered_and_kept(smtp_server, instance)
    assert len(delivered) == len(set(delivered))  # nothing twice
    assert not set(delivered) & set(kept)  # nothing both sent and kept
    assert sorted(delivered + kept) == sorted(f"u{i}@example.com" for i in range(count))
    assert kept, "the grace period was long enough to send everything: nothing was tested"
    print(f"{signal.Signals(signum).name}: {len(delivered)} sent, {len(kept)} kept, {took:.1f} s")


def start(script, *, sigint) -> subprocess.Popen:
    """Run ``script`` with SIGINT set to ``sigint`` (SIG_DFL or SIG_IGN) when Python starts:
    set here, then kept through exec, as a shell's ``nohup`` or a terminal leaves it."""
    name = "SIG_IGN" if sigint == signal.SIG_IGN else "SIG_DFL"
    launcher = (
        f"import os, signal, sys; signal.signal(signal.SIGINT, signal.{name}); "
        f"os.execv(sys.executable, [sys.executable, {str(script)!r}])"
    )
    return subprocess.Popen(
        [sys.executable, "-c", launcher],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(process: subprocess.Popen, timeout: float) -> str:
    """The process's next line of output, or its threads' stacks if none comes in time."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if lines:
        return lines[0]
    process.send_signal(signal.SIGUSR1)  # faulthandler: where is it stuck?
    time.sleep(1)
    process.kill()
    pytest.fail(f"no answer in {timeout:g} s:\n{process.communicate()[1]}")


def test_sigint_ignored_at_start_is_left_ignored(tmp_path, smtp_server):
    """`nohup app &` ignores SIGINT: emailkit must not take it over and drain on it."""
    count = 200
    smtp_server.data_delay = 0.02
    script = tmp_path / "app.py"
    instance = tmp_path / "instance"
    script.write_text(
        APP.format(
            emails_parent=str(SHIPPED_ROOT.parent),
            instance=str(instance),
            port=smtp_server.port,
            grace=0.3,
            count=count,
            in_thread=False,
        )
    )
    process = start(script, sigint=signal.SIG_IGN)
    try:
        assert process.stdout.readline() == "queued\n", process.stderr.read()
        process.send_signal(signal.SIGINT)
        # Handlers run in signal-number order: SIGINT's (if any) before SIGUSR2's.
        process.send_signal(signal.SIGUSR2)
        line = read_line(process, timeout=60)
        assert line.startswith("state "), line
        state = json.loads(line[len("state ") :])
        assert state == {"sigint_ignored": True, "closing": [False], "kept": 0}, state
        process.send_signal(signal.SIGTERM)  # the way to stop it still works
        _, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGTERM, errors
    delivered, kept = delivered_and_kept(smtp_server, instance)
    assert sorted(delivered + kept) == sorted(f"u{i}@example.com" for i in range(count))


def test_the_stop_test_passes_when_the_test_command_runs_under_nohup(tmp_path):
    """`setsid nohup python -m pytest ... &`: SIGINT ignored in pytest and all it starts."""
    launcher = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execv(sys.executable, sys.argv[1:])"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            launcher,
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/sending/test_async_sender.py::"
            "test_queued_mail_is_sent_or_kept_when_the_process_is_stopped[SIGINT]",
        ],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout, done.stdout


INTERRUPTED_SUBMIT = """
import os, signal, sys, threading
sys.path.insert(0, {emails_parent!r})
from flask import Flask
from emailkit import EmailKit
from emailkit.sending import async_sender
from emails.welcome import Welcome

handled = []
signal.signal(signal.SIGTERM, lambda signum, frame: handled.append(signum))  # the app's own
app = Flask("interrupted", instance_path={instance!r})
app.config.update(
    MAIL_SERVER="127.0.0.1",
    MAIL_PORT={port},
    MAIL_DEFAULT_SENDER="noreply@acme.example.com",
    EMAILKIT_ASYNC_WORKERS=2,
    EMAILKIT_SHUTDOWN_GRACE=0.2,
    EMAILKIT_SMTP_TIMEOUT=5,
)
EmailKit(app)
with app.app_context():
    for i in range({count}):
        Welcome(user_name=f"U{{i}}", confirm_url="https://x.example.com").send_async(
            to=f"u{{i}}@example.com"
        )
    (sender,) = list(async_sender._live)
    # SIGTERM lands while the main thread is inside the executor's submit, holding its lock.
    with sender._executor._shutdown_lock:
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Event().wait(0.5)
print("handled", handled, flush=True)
"""


def test_sigterm_while_the_main_thread_is_submitting_does_not_hang(tmp_path, smtp_server):
    count = 40
    smtp_server.data_delay = 0.02
    instance = tmp_path / "instance"
    script = tmp_path / "app.py"
    script.write_text(
        INTERRUPTED_SUBMIT.format(
            emails_parent=str(SHIPPED_ROOT.parent),
            instance=str(instance),
            port=smtp_server.port,
            count=count,
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "handled [15]" in done.stdout  # drained, then the app's own handler ran
    delivered, kept = delivered_and_kept(smtp_server, instance)
    assert sorted(delivered + kept) == sorted(f"u{i}@example.com" for i in range(count))
