"""Background sending through a real Redis broker and real Celery workers into aiosmtpd."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from decimal import Decimal
from email import message_from_bytes

import pytest
from flask import Flask

from emailkit import ConfigError, ContextError, Email, EmailKit

from .conftest import REPO

APP_MODULE = """
import os
from celery import Celery
from flask import Flask
from emailkit import EmailKit
from emailkit.celery import register_tasks

flask_app = Flask("celery_test", instance_path=os.environ["EK_INSTANCE"])
flask_app.config.update(
    MAIL_SERVER="127.0.0.1",
    MAIL_PORT=int(os.environ["EK_SMTP_PORT"]),
    MAIL_DEFAULT_SENDER="noreply@acme.example.com",
    EMAILKIT_SMTP_TIMEOUT=30,
    EMAILKIT_CELERY_MAX_RETRIES=5,
    EMAILKIT_CELERY_RETRY_DELAY=0.2,
    EMAILKIT_CELERY_RETRY_MAX_DELAY=1,
    MAIL_MAX_EMAILS=int(os.environ.get("EK_MAX_EMAILS", 0)) or None,
)
EmailKit(flask_app)
celery_app = Celery("celery_test", broker=os.environ["EK_BROKER"])
celery_app.conf.update(
    worker_prefetch_multiplier=1,
    broker_transport_options={
        "visibility_timeout": 4,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 5,
    },
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
register_tasks(celery_app, flask_app)
"""


class CeleryRig:
    """One app module, shared by this process (the producer) and worker processes."""

    def __init__(self, tmp_path, redis_server, smtp_server, module: str = APP_MODULE):
        self.tmp_path = tmp_path
        self.redis = redis_server
        self.sink = smtp_server
        self.name = f"ekworker_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{self.name}.py").write_text(module)
        self.env = {
            **os.environ,
            "EK_INSTANCE": str(tmp_path / "instance"),
            "EK_SMTP_PORT": str(smtp_server.port),
            "EK_BROKER": redis_server.url,
            "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]),
        }
        os.environ.update({k: self.env[k] for k in ("EK_INSTANCE", "EK_SMTP_PORT", "EK_BROKER")})
        spec = importlib.util.spec_from_file_location(self.name, tmp_path / f"{self.name}.py")
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        self.workers: list[subprocess.Popen] = []

    def start_worker(self) -> None:
        log = open(self.tmp_path / f"worker{len(self.workers)}.log", "w")  # noqa: SIM115
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            self.name,
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        worker = subprocess.Popen(
            command,
            cwd=self.tmp_path,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        path = self.tmp_path / f"worker{len(self.workers) - 1}.log"
        deadline = time.monotonic() + 60
        while " ready." not in path.read_text():
            assert worker.poll() is None, path.read_text()
            assert time.monotonic() < deadline, path.read_text()
            time.sleep(0.05)

    def kill_worker(self) -> None:
        """SIGKILL the newest worker and its pool processes, as a crash or OOM would."""
        worker = self.workers[-1]
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    def wait_for_messages(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.sink.envelopes) < count:
            assert time.monotonic() < deadline, f"{len(self.sink.envelopes)} of {count} arrived"
            time.sleep(0.02)

    def queue_is_empty(self) -> bool:
        client = self.redis.client()
        return client.llen("celery") == 0 and client.hlen("unacked") == 0

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)


@pytest.fixture
def rig(tmp_path, redis_server, smtp_server):
    redis_server.client().flushall()
    rig = CeleryRig(tmp_path, redis_server, smtp_server)
    yield rig
    rig.stop()


def welcome(name: str):
    from emails.welcome import Welcome

    return Welcome(user_name=name, confirm_url=f"https://acme.example.com/c/{name}")


def message_ids(sink) -> list[str]:
    return [message_from_bytes(e.original_content)["Message-ID"] for e in sink.envelopes]


def test_a_thousand_emails_arrive_exactly_once(rig, artifacts):
    rig.start_worker()
    started = time.perf_counter()
    with rig.module.flask_app.app_context():
        queued = [welcome(f"u{i}").send_later(to=f"u{i}@example.com") for i in range(1000)]
    enqueued = time.perf_counter()
    rig.wait_for_messages(1000)
    delivered = time.perf_counter()
    assert sorted(message_ids(rig.sink)) == sorted(queued)  # each once, with its Message-ID
    assert sorted(r for e in rig.sink.envelopes for r in e.rcpt_tos) == sorted(
        f"u{i}@example.com" for i in range(1000)
    )
    deadline = time.monotonic() + 10
    while not rig.queue_is_empty():  # every task acknowledged
        assert time.monotonic() < deadline
        time.sleep(0.05)
    timings = {
        "emails": 1000,
        "worker_concurrency": 2,
        "enqueue_seconds": round(enqueued - started, 2),
        "enqueue_to_last_delivery_seconds": round(delivered - started, 2),
    }
    (artifacts / "celery-throughput.json").write_text(json.dumps(timings, indent=2))
    print("celery timings:", timings)


def test_transient_failures_are_retried_with_the_same_message_id(rig):
    rig.sink.fail("data", "451", times=2)
    rig.sink.fail("rcpt", "452", times=1)
    rig.sink.fail("connect", "drop", times=1)
    rig.env["EK_MAX_EMAILS"] = "1"  # a connection per attempt, pooled or not: counted below
    rig.start_worker()
    with rig.module.flask_app.app_context():
        queued = [welcome(f"r{i}").send_later(to=f"r{i}@example.com") for i in range(3)]
    rig.wait_for_messages(3, timeout=60)
    assert sorted(message_ids(rig.sink)) == sorted(queued)
    assert rig.sink.connections >= 3 + 4


def test_permanent_failure_is_kept_in_the_failed_folder(rig):
    rig.sink.fail("rcpt", "550")
    rig.start_worker()
    with rig.module.flask_app.app_context():
        message_id = welcome("p").send_later(to="gone@example.com")
    failed = rig.tmp_path / "instance" / "emailkit" / "failed"
    deadline = time.monotonic() + 30
    while not list(failed.glob("*.json")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (meta,) = [json.loads(p.read_text()) for p in failed.glob("*.json")]
    assert (meta["message_id"], meta["smtp_code"], meta["recipients"]) == (
        message_id,
        550,
        ["gone@example.com"],
    )
    assert rig.sink.envelopes == []


def test_refused_recipients_are_retried_or_kept_alone(rig):
    rig.sink.refuse("busy@example.com", "450", times=1)
    rig.sink.refuse("gone@example.com", "550")
    rig.start_worker()
    with rig.module.flask_app.app_context():
        message_id = welcome("t").send_later(
            to="ada@example.com", cc=["busy@example.com", "gone@example.com"]
        )
    rig.wait_for_messages(2, timeout=30)
    failed = rig.tmp_path / "instance" / "emailkit" / "failed"
    deadline = time.monotonic() + 30
    while not rig.queue_is_empty() or not list(failed.glob("*.json")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert sorted(r for e in rig.sink.envelopes for r in e.rcpt_tos) == [
        "ada@example.com",
        "busy@example.com",
    ]
    assert set(message_ids(rig.sink)) == {message_id}
    (meta,) = [json.loads(p.read_text()) for p in failed.glob("*.json")]
    assert meta["recipients"] == ["gone@example.com"]
    assert meta["message_id"] == message_id


def test_message_of_a_killed_worker_is_delivered_by_the_next(rig):
    rig.sink.fail("data", "stall")  # the first worker hangs in DATA, mid-task
    rig.start_worker()
    with rig.module.flask_app.app_context():
        message_id = welcome("k").send_later(to="k@example.com")
    assert rig.sink.stalled.wait(timeout=30)
    rig.kill_worker()
    assert rig.sink.envelopes == []
    rig.start_worker()
    rig.wait_for_messages(1, timeout=60)
    assert message_ids(rig.sink) == [message_id]


def test_sigkill_during_a_burst_loses_nothing(rig, artifacts):
    """Kill a worker in the middle of 300 send_later calls and start another: every message
    arrives, the ones the killed worker held within the visibility timeout plus the restore
    interval, and none more than twice."""
    from emailkit.sending.ledger import task_id_for

    count = 300
    rig.start_worker()
    queued = []
    with rig.module.flask_app.app_context():
        for i in range(count):
            queued.append(welcome(f"b{i}").send_later(to=f"b{i}@example.com"))
            if i == count // 2:
                rig.wait_for_messages(count // 6)  # the worker is busy: tasks in flight
                rig.kill_worker()
                killed_at = time.monotonic()
                killed = len(rig.sink.envelopes)
                unacked = b"".join(rig.redis.client().hvals("unacked"))
    held = {m for m in queued if task_id_for(m).encode() in unacked}
    rig.start_worker()
    restarted = time.monotonic()
    options = rig.module.celery_app.conf.broker_transport_options
    bound = options["visibility_timeout"] + options["unacked_restore_interval"]
    deadline = restarted + bound + 30  # + the time the new worker takes to send the rest
    arrived: dict[str, float] = {}
    while len(arrived) < count:
        for message_id in message_ids(rig.sink):
            arrived.setdefault(message_id, time.monotonic())
        assert time.monotonic() < deadline, (
            f"{sorted(set(queued) - set(arrived))} of {count} never arrived; "
            f"unacked in Redis: {rig.redis.client().hlen('unacked')}, "
            f"queued: {rig.redis.client().llen('celery')}, "
            f"kept: {list((rig.tmp_path / 'instance').rglob('*.json'))}"
        )
        time.sleep(0.05)
    assert set(arrived) == set(queued)
    copies = Counter(message_ids(rig.sink))
    assert max(copies.values()) <= 2  # only what the killed worker sent but never acknowledged
    # What the killed worker held came back within the visibility timeout + restore interval
    # (counted from the kill; plus the new worker's start-up and a second of slack).
    startup = restarted - killed_at
    late = {m: arrived[m] - killed_at for m in held if arrived[m] - killed_at > bound + startup + 1}
    assert not late, late
    while not rig.queue_is_empty():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    figures = {
        "queued": count,
        "delivered_before_kill": killed,
        "held_by_the_killed_worker": len(held),
        "delivered_unique": len(copies),
        "duplicates": sum(n - 1 for n in copies.values()),
        "held_ones_back_after_kill_seconds": round(
            max((arrived[m] - killed_at for m in held), default=0), 1
        ),
        "new_worker_startup_seconds": round(startup, 1),
        "all_delivered_after_restart_seconds": round(max(arrived.values()) - restarted, 1),
        "visibility_timeout_plus_restore_interval": bound,
    }
    (artifacts / "celery-sigkill.json").write_text(json.dumps(figures, indent=2))
    print("celery sigkill:", figures)


def test_message_taken_off_the_queue_by_a_dying_worker_is_recovered(rig):
    """Redis's BRPOP removes a message before the worker records it as unacknowledged: a
    worker killed in between takes it along. The ledger notices and queues it again."""
    with rig.module.flask_app.app_context():
        queued = [welcome(f"l{i}").send_later(to=f"l{i}@example.com") for i in range(5)]
    client = rig.redis.client()
    taken = client.rpop("celery")  # what the dying worker's BRPOP took
    assert taken and client.llen("celery") == 4
    rig.start_worker()
    rig.wait_for_messages(5, timeout=30)
    assert sorted(message_ids(rig.sink)) == sorted(queued)
    deadline = time.monotonic() + 10
    while client.hlen("emailkit:ledger"):  # each one finished off the ledger
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # A stray copy of a task already done (as the sweep may queue one) sends nothing.
    client.lpush("celery", taken)
    while not rig.queue_is_empty():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(rig.sink.envelopes) == 5


def test_ledger_leaves_waiting_messages_alone_and_requeues_lost_ones(rig):
    from emailkit.sending.ledger import Ledger, task_id_for

    with rig.module.flask_app.app_context():
        queued = [welcome(f"w{i}").send_later(to=f"w{i}@example.com") for i in range(3)]
    ledger = Ledger(rig.redis.url, interval=0.001)
    task = rig.module.flask_app.extensions["emailkit_celery"].task
    published: list[str] = []

    def publish(task_id, payload, queue):
        published.append(task_id)
        task.apply_async(args=[payload], task_id=task_id, queue=queue, serializer="json")

    def sweep_for(seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            ledger.sweep(publish)

    sweep_for(0.3)  # no worker yet: all three wait in the queue, none is lost
    assert published == []
    rig.redis.client().rpop("celery")  # one taken by a worker that died at once
    sweep_for(0.3)
    lost = [m for m in queued if task_id_for(m) in published]
    assert len(lost) == 1 and published == [task_id_for(lost[0])]  # queued again, once
    assert rig.redis.client().llen("celery") == 3


# Eager mode: no broker, no worker; what send_later refuses at enqueue time.


@pytest.fixture
def eager_app(tmp_path, smtp_server):
    from celery import Celery

    from emailkit.celery import register_tasks

    app = Flask("eager", instance_path=str(tmp_path / "instance"))
    app.config.update(
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
    )
    EmailKit(app)
    celery_app = Celery("eager")
    celery_app.conf.update(task_always_eager=True, task_eager_propagates=True)
    register_tasks(celery_app, app)
    with app.app_context():
        yield app


class Invoice(Email):
    template = str(REPO / "tests" / "emails_for_celery" / "invoice")
    number: str
    total: Decimal
    due: dt.date
    paid_at: dt.datetime | None = None
    lines: list[dict] = []  # noqa: RUF012


def test_fields_travel_as_json_and_come_back_typed(eager_app, smtp_server):
    invoice = Invoice(
        number="F-7",
        total=Decimal("12.50"),
        due=dt.date(2026, 12, 1),
        paid_at=dt.datetime(2026, 11, 2, 9, 30),
        lines=[{"name": "Tea", "qty": 2}],
    )
    message_id = invoice.send_later(to="ada@example.com")
    received = smtp_server.messages[0]
    assert received["Message-ID"] == message_id
    body = received.get_payload(decode=True).decode()
    assert "F-7: 12.50 due 2026-12-01 paid 2026-11-02 09:30:00 Tea x2" in body


def test_field_that_is_not_json_is_refused_at_enqueue_time(eager_app, smtp_server):
    from emails.receipt import Receipt

    receipt = Receipt.previews()["default"]
    with pytest.raises(
        ContextError, match=r"Receipt\.items\[0\] is a LineItem, which send_later cannot carry"
    ):
        receipt.send_later(to="ada@example.com")
    assert smtp_server.connections == 0


def test_template_and_address_errors_raise_at_enqueue_time(eager_app):
    with pytest.raises(Exception, match="not valid"):
        welcome("a").send_later(to="not-an-address")


def test_emails_loaded_from_a_folder_cannot_be_queued(eager_app, emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_txt="x")

    class Note(Email):
        template = folder

    with pytest.raises(ContextError, match="cannot import it"):
        Note().send_later(to="ada@example.com")


def test_send_later_without_register_tasks_says_what_to_do(tmp_path):
    app = Flask("plain", instance_path=str(tmp_path))
    app.config.update(TESTING=True)
    EmailKit(app)
    with app.app_context(), pytest.raises(ConfigError, match="register_tasks"):
        welcome("a").send_later(to="ada@example.com")


def test_the_core_works_without_celery_installed(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        sys.modules["celery"] = None  # as if not installed
        from emails.welcome import Welcome
        print(Welcome(user_name="Ada", confirm_url="https://x.example.com").render().subject)
        try:
            Welcome(user_name="Ada", confirm_url="https://x.example.com").send_later(to="a@b.io")
        except Exception as error:
            print(type(error).__name__, error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Welcome to Acme, Ada!" in done.stdout
    assert (
        "ConfigError send_later needs Celery: pip install 'Flask-EmailKit[celery]'" in done.stdout
    )
