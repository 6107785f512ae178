"""register_tasks fills in the Redis transport options an app leaves unset, so a killed
worker's mail is sent soon after the visibility timeout, and warns about unsafe ones.
Real Redis, real Celery workers, a worker killed with SIGKILL mid-batch."""

from __future__ import annotations

import logging
import time
from collections import Counter

import pytest
from celery import Celery
from flask import Flask

from emailkit import EmailKit
from emailkit.celery import register_tasks
from emailkit.sending.celery_options import SAFE_TRANSPORT_OPTIONS

from .test_celery import APP_MODULE, CeleryRig, message_ids, welcome

# The app module of test_celery, but setting only the option most users know.
ONLY_VISIBILITY = APP_MODULE.replace(
    """    broker_transport_options={
        "visibility_timeout": 4,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 5,
    },""",
    """    broker_transport_options={"visibility_timeout": 15},""",
)
assert ONLY_VISIBILITY != APP_MODULE


def registered(tmp_path, options: dict | None, broker="redis://127.0.0.1:1/0", **config):
    flask_app = Flask("options", instance_path=str(tmp_path / "instance"))
    flask_app.config.update(TESTING=True, EMAILKIT_CELERY_LEDGER=False, **config)
    EmailKit(flask_app)
    celery_app = Celery("options", broker=broker)
    if options is not None:
        celery_app.conf.broker_transport_options = options
    register_tasks(celery_app, flask_app)
    return celery_app, flask_app


def test_unset_transport_options_get_safe_values_and_set_ones_are_kept(tmp_path, caplog):
    celery_app, _ = registered(tmp_path, {"visibility_timeout": 900})
    assert celery_app.conf.broker_transport_options == {
        "visibility_timeout": 900,
        **SAFE_TRANSPORT_OPTIONS,
    }
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    mine = {"visibility_timeout": 900, "unacked_restore_interval": 5}
    celery_app, _ = registered(tmp_path, dict(mine))
    assert celery_app.conf.broker_transport_options == {**SAFE_TRANSPORT_OPTIONS, **mine}
    celery_app, _ = registered(tmp_path, None)  # none set: visibility_timeout stays kombu's
    assert celery_app.conf.broker_transport_options == SAFE_TRANSPORT_OPTIONS


@pytest.mark.parametrize(
    ("options", "warning"),
    [
        ({"visibility_timeout": 60}, "visibility_timeout (60 s) is shorter"),
        ({"visibility_timeout": 900, "unacked_restore_throttle": 10}, "= 100 s"),
        ({"visibility_timeout": 900, "unacked_mutex_expire": 300}, "unacked_mutex_expire is 300"),
    ],
)
def test_unsafe_transport_options_are_warned_about(tmp_path, caplog, options, warning):
    registered(tmp_path, options)
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning in record.getMessage()


def test_other_brokers_are_left_alone(tmp_path):
    celery_app, _ = registered(tmp_path, {"x": 1}, broker="amqp://127.0.0.1:1//")
    assert celery_app.conf.broker_transport_options == {"x": 1}


@pytest.fixture
def rig(tmp_path, redis_server, smtp_server):
    redis_server.client().flushall()
    rig = CeleryRig(tmp_path, redis_server, smtp_server, module=ONLY_VISIBILITY)
    yield rig
    rig.stop()


def test_a_countdown_past_the_visibility_timeout_is_warned_about(rig, caplog):
    with rig.module.flask_app.app_context():
        welcome("c").send_later(to="c@example.com", countdown=3)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        welcome("d").send_later(to="d@example.com", countdown=20)
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "send_later waits 20 s, longer than the broker's visibility_timeout (15 s)" in (
        record.getMessage()
    )


def test_sigkill_mid_batch_loses_nothing_when_only_visibility_timeout_is_set(rig):
    """The app sets only visibility_timeout; the worker is killed in the middle of a batch of
    200 and another started at once. Its first scan for expired messages comes before the
    killed worker's expire; the next must come within a scan interval, not kombu's 100 s.
    The killed worker died holding the scan lock. Every message arrives within the
    visibility timeout, one scan and the lock's expiry, none more than twice."""
    options = rig.module.celery_app.conf.broker_transport_options
    assert options == {"visibility_timeout": 15, **SAFE_TRANSPORT_OPTIONS}
    count = 200
    rig.start_worker()
    queued = []
    with rig.module.flask_app.app_context():
        for i in range(count):
            queued.append(welcome(f"v{i}").send_later(to=f"v{i}@example.com"))
            if i == count // 2:
                rig.wait_for_messages(count // 6)  # the worker is busy: tasks in flight
                rig.sink.fail("data", "stall")  # one message it holds is never delivered
                assert rig.sink.stalled.wait(timeout=60)
                stalled = len(rig.sink.envelopes)
                rig.kill_worker()
                killed_at = time.monotonic()
                # It died scanning for expired messages: its scan lock stays until it
                # expires, as a SIGKILL leaves it (kombu's Mutex: SET NX EX).
                rig.redis.client().set(
                    "unacked_mutex",
                    "the-killed-worker",
                    ex=int(options.get("unacked_mutex_expire", 300)),  # kombu's default: 300
                )
                rig.start_worker()
    safe = SAFE_TRANSPORT_OPTIONS
    bound = (
        15
        + safe["unacked_restore_interval"] * safe["unacked_restore_throttle"]
        + safe["unacked_mutex_expire"]
    )
    deadline = killed_at + bound + 30  # + the new worker's start and the sending
    while len(set(message_ids(rig.sink))) < count:
        assert time.monotonic() < deadline, (
            f"{len(set(message_ids(rig.sink)))} of {count} arrived "
            f"{time.monotonic() - killed_at:.0f} s after the kill; "
            f"unacked in Redis: {rig.redis.client().hlen('unacked')}"
        )
        time.sleep(0.05)
    assert set(message_ids(rig.sink)) == set(queued)
    assert max(Counter(message_ids(rig.sink)).values()) <= 2
    assert stalled < count  # the stalled message was not sent until the next worker did
    print(f"all {count} arrived {time.monotonic() - killed_at:.1f} s after the kill")
