"""send_later with the delivery log: idempotency keys claimed at enqueue, a task run again
after the relay accepted sends nothing, suppression checked at enqueue and in the worker."""

from __future__ import annotations

import time

import pytest

from emailkit import SuppressedError
from emailkit.extension import kit

from .test_celery import eager_app, message_ids, rig, welcome  # noqa: F401


def test_send_later_with_a_used_key_queues_nothing_and_returns_the_first_id(rig):  # noqa: F811
    rig.start_worker()
    with rig.module.flask_app.app_context():
        first = welcome("Ada").send_later(to="ada@example.com", idempotency_key="signup-7")
        second = welcome("Bob").send_later(to="ada@example.com", idempotency_key="signup-7")
        assert second == first
        rig.wait_for_messages(1)
        third = welcome("Eve").send_later(to="ada@example.com", idempotency_key="signup-7")
        assert third == first
        deadline = time.monotonic() + 60  # the worker records it once the sink answered
        while (record := kit.log.message(first)).status != "sent":
            assert time.monotonic() < deadline, record
            time.sleep(0.05)
        assert [e.kind for e in record.events] == ["queued", "sent"]
    assert message_ids(rig.sink) == [first]


@pytest.fixture
def captured(eager_app, monkeypatch):  # noqa: F811
    """The payloads send_later queues, not run (as if waiting in the broker)."""
    task = eager_app.extensions["emailkit_celery"].task
    payloads: list[dict] = []
    monkeypatch.setattr(task, "apply_async", lambda args, **options: payloads.append(args[0]))
    return task, payloads


def test_a_task_run_again_after_the_relay_accepted_sends_nothing(captured, smtp_server):
    task, payloads = captured
    message_id = welcome("Ada").send_later(to="ada@example.com", idempotency_key="k")
    (payload,) = payloads
    assert task.apply(args=[payload]).get() == message_id
    # A redelivery (the worker died before acknowledging): the log has it as sent.
    assert task.apply(args=[payload]).get() == message_id
    assert message_ids(smtp_server) == [message_id]


def test_suppression_is_checked_at_enqueue_and_again_in_the_worker(captured, smtp_server):
    task, payloads = captured
    kit.log.suppressions.add("gone@example.com", reason="bounce")
    with pytest.raises(SuppressedError, match="gone@example"):
        welcome("Ada").send_later(to="gone@example.com")
    assert not payloads

    welcome("Ada").send_later(to=["ada@example.com", "bob@example.com"])
    kit.log.unsubscribed("ada@example.com", "newsletter")  # not this email's category
    kit.log.suppressions.add("bob@example.com", reason="complaint")
    task.apply(args=[payloads[0]]).get()
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["ada@example.com"]

    welcome("Ada").send_later(to="carol@example.com")
    kit.log.suppressions.add("carol@example.com", reason="manual")
    with pytest.raises(SuppressedError):
        task.apply(args=[payloads[1]]).get()
    assert len(smtp_server.envelopes) == 1
    assert not kit.failed.path.exists() or not list(kit.failed.path.glob("*.eml"))


def test_a_message_the_broker_refused_frees_its_key(eager_app, monkeypatch, smtp_server):  # noqa: F811
    task = eager_app.extensions["emailkit_celery"].task

    def broker_down(*args, **kwargs):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(task, "apply_async", broker_down)
    with pytest.raises(ConnectionError):
        welcome("Ada").send_later(to="ada@example.com", idempotency_key="k")
    monkeypatch.undo()
    message_id = welcome("Ada").send_later(to="ada@example.com", idempotency_key="k")
    assert message_ids(smtp_server) == [message_id]


def test_a_worker_that_cannot_reach_the_log_keeps_the_message(captured, monkeypatch, smtp_server):
    import sqlalchemy as sa

    from emailkit import SendError

    task, payloads = captured
    welcome("Ada").send_later(to="ada@example.com")

    def database_down(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(kit.log, "queued", database_down)
    with pytest.raises(SendError, match="cannot be reached"):
        task.apply(args=[payloads[0]]).get()
    assert not smtp_server.envelopes
    assert len(list(kit.failed.path.glob("*.eml"))) == 1
