"""Bulk sending: build the next messages while the previous ones are on the wire.

The caller's thread renders and encodes messages into a small bounded queue; one sender
thread owns the SMTP connection and sends them in order, reconnecting and retrying as
needed. Rendering costs CPU and sending mostly waits for the server, so the two overlap;
the queue bound keeps memory constant however long the input is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import tenacity
from flask import Flask, current_app

from .errors import EmailError, SendError, SuppressedError
from .mime import Message
from .sending import (
    Connection,
    Deliverer,
    Delivery,
    FailedMessage,
    SendReport,
    check_sendable,
    is_transient,
)

if TYPE_CHECKING:
    from .context import Email

PIPELINE_DEPTH = 8
"""How many built messages may wait for the sender thread."""

_READY_AHEAD = 2
"""Built messages kept ready; past that, the next is built while the server digests one.

Rendering holds the GIL; building while the sender thread waits for the server's reply to a
message's data, rather than whenever, keeps the sender from queueing for the GIL at each SMTP
round trip."""

_DONE = object()


def deliver_many(
    deliverer: Deliverer,
    items: Iterable[tuple[Email, Any] | tuple[Email, Any, dict[str, Any]]],
) -> SendReport:
    """Send a stream of ``(email, to)`` or ``(email, to, options)`` over reused connections."""
    report = SendReport()
    BulkRun(deliverer, report).run(items)
    return report


class BulkRun:
    """One :func:`deliver_many` call."""

    def __init__(self, deliverer: Deliverer, report: SendReport) -> None:
        self.deliverer = deliverer
        self.report = report
        self.log = deliverer.log.buffered()  # the delivery log, written a batch at a time
        self._work: queue.Queue[Any] = queue.Queue(maxsize=PIPELINE_DEPTH)
        self._server_busy = threading.Event()
        self._crash: list[BaseException] = []
        self._connection: Connection | None = None

    def run(self, items: Iterable[tuple[Email, Any] | tuple[Email, Any, dict[str, Any]]]) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        sender = threading.Thread(
            target=self._send_all, args=(app,), name="emailkit-send-many", daemon=True
        )
        sender.start()
        try:
            for item in items:
                if self._work.qsize() >= _READY_AHEAD:
                    self._server_busy.wait(timeout=0.05)
                self._server_busy.clear()
                self._put(self._build(item), sender)
        finally:
            self._put(_DONE, sender)
            sender.join()
        if self._crash:
            raise self._crash[0]

    def _build(self, item: tuple[Any, ...]) -> Message | FailedMessage:
        email, to, options = item if len(item) == 3 else (*item, {})
        name = type(email).email_name
        try:
            message = email.message(to, **options)
            check_sendable(message, name)
        except EmailError as error:
            return FailedMessage(name, [str(to)], str(error))
        message.freeze()
        return message

    def _put(self, job: Any, sender: threading.Thread) -> None:
        while True:
            if self._crash or not sender.is_alive():
                return
            try:
                self._work.put(job, timeout=0.2)
                return
            except queue.Full:
                continue

    def _send_all(self, app: Flask) -> None:
        try:
            with app.app_context():
                while (job := self._work.get()) is not _DONE:
                    if isinstance(job, FailedMessage):
                        self.report.failed.append(job)
                    else:
                        self._send(job)
        except BaseException as error:  # surfaced in the caller's thread
            self._crash.append(error)
        finally:
            self._disconnect()
            self.log.flush()

    def _send(self, message: Message) -> None:
        log = self.log
        try:
            start = log.queued(message)
        except SuppressedError as error:
            self.report.suppressed.append(
                FailedMessage(error.email, error.recipients, str(error), error.message_id)
            )
            return
        except EmailError as error:  # the delivery log cannot be reached: nothing was sent
            self.report.failed.append(
                FailedMessage(
                    message.email_name, message.envelope_recipients, str(error), message.msgId
                )
            )
            return
        if start.duplicate:
            self.report.duplicates += 1
            return
        if start.suppressed:
            blocked = start.suppressed
            self.report.suppressed.append(
                FailedMessage(
                    message.email_name,
                    list(blocked),
                    "; ".join(entry.describe() for entry in blocked.values()),
                    message.msgId,
                )
            )
        delivery = Delivery(message, start.recipients)

        def retry(state: tenacity.RetryCallState) -> None:
            log.deferred(delivery, state.outcome.exception() if state.outcome else None)
            self._reconnect(state)

        try:
            for attempt in self.deliverer.policy.retrying(before_sleep=retry):
                with attempt:
                    delivery.attempts += 1
                    if self._connection is None:
                        self._connection = self.deliverer.connect()
                        host = getattr(self._connection, "host", None)
                        if host is not None:
                            host.on_data_sent = self._server_busy.set
                    delivery.attempt(self._connection)
                    if getattr(self._connection, "host", None) is None:
                        self._server_busy.set()  # the outbox: nothing to wait for
        except Exception as error:
            if is_transient(error):
                self._disconnect()
            log.flush()  # keep_failed records the failure itself
            self._fail(self.deliverer.keep_failed(message, error, delivery), delivery)
            return
        finally:
            if self._connection is not None and self._connection.full:
                # MAIL_MAX_EMAILS: the next message opens a new session. Whatever goes wrong
                # with that belongs to the next message, never to this one, already accepted.
                self._disconnect()
        if delivery.refused:
            log.flush()
            self._fail(self.deliverer.keep_failed(message, delivery.refusal(), delivery), delivery)
        else:
            log.sent(delivery)
            self.report.sent += 1

    def _fail(self, failure: SendError, delivery: Delivery) -> None:
        self.report.failed.append(
            FailedMessage(
                delivery.message.email_name,
                failure.recipients,
                str(failure),
                delivery.message.msgId,
                failure.saved_to,
            )
        )

    def _reconnect(self, state: tenacity.RetryCallState) -> None:
        self.report.retried += 1
        self._disconnect()

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
