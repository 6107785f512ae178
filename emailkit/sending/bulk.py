"""Bulk sending: build the next messages while the previous ones are on the wire.

The caller's thread renders and encodes messages into a small bounded queue; sender threads,
one per pooled SMTP connection (``EMAILKIT_SMTP_CONNECTIONS``), send them, reconnecting and
retrying as needed. Rendering costs CPU and sending mostly waits for the server, so the two
overlap, and the connections wait for their servers in parallel; the queue bound keeps memory
constant however long the input is. Messages leave in no promised order; the report's counts
are exact.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import tenacity
from flask import Flask, current_app

from ..errors import EmailError, SendError, SuppressedError
from ..mime.message import Message
from .deliverer import Deliverer, Delivery, FailedMessage, SendReport, check_sendable

if TYPE_CHECKING:
    from ..model.email import Email

PIPELINE_DEPTH = 8
"""How many built messages may be ahead of the server: waiting in the queue or in a sender's
hands (at least one waits in the queue)."""

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
        self.senders = 1 if deliverer.outbox is not None else deliverer.relays.connections
        self._work: queue.Queue[Any] = queue.Queue(maxsize=max(1, PIPELINE_DEPTH - self.senders))
        self.log = deliverer.log.buffered()  # the delivery log, written a batch at a time
        self._server_busy = threading.Event()
        self._crash: list[BaseException] = []
        self._lock = threading.Lock()
        # Where each failure's item stood: the senders finish in any order, the report lists
        # failures in the order of the items. Kept for failures only (constant memory).
        self._order: dict[int, int] = {}
        self._current = threading.local()  # the index of the item a sender is on

    def run(self, items: Iterable[tuple[Email, Any] | tuple[Email, Any, dict[str, Any]]]) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        senders = [
            threading.Thread(
                target=self._send_all, args=(app,), name=f"emailkit-send-many-{n}", daemon=True
            )
            for n in range(self.senders)
        ]
        for sender in senders:
            sender.start()
        try:
            for index, item in enumerate(items):
                if self._work.qsize() >= _READY_AHEAD:
                    self._server_busy.wait(timeout=0.05)
                self._server_busy.clear()
                self._put((index, self._build(item)), senders)
        finally:
            for _ in senders:
                self._put(_DONE, senders)
            for sender in senders:
                sender.join()
            self.log.close()
            for failures in (self.report.failed, self.report.suppressed):
                failures.sort(key=lambda failure: self._order.get(id(failure), 0))
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

    def _put(self, job: Any, senders: list[threading.Thread]) -> None:
        while True:
            if self._crash or not any(sender.is_alive() for sender in senders):
                return
            try:
                self._work.put(job, timeout=0.2)
                return
            except queue.Full:
                continue

    def _send_all(self, app: Flask) -> None:
        try:
            with app.app_context():
                while (work := self._work.get()) is not _DONE:
                    self._current.index, job = work
                    if isinstance(job, FailedMessage):
                        self._report(self.report.failed, job)
                    else:
                        self._send(job)
        except BaseException as error:  # surfaced in the caller's thread
            self._crash.append(error)
        finally:
            self.log.flush()

    def _send(self, message: Message) -> None:
        log = self.log
        try:
            start = log.queued(message)
        except SuppressedError as error:
            self._report(
                self.report.suppressed,
                FailedMessage(error.email, error.recipients, str(error), error.message_id),
            )
            return
        except EmailError as error:  # the delivery log cannot be reached: nothing was sent
            self._fail_unsent(message, str(error))
            return
        if start.duplicate:
            with self._lock:
                self.report.duplicates += 1
            return
        if start.suppressed:
            blocked = start.suppressed
            self._report(
                self.report.suppressed,
                FailedMessage(
                    message.email_name,
                    list(blocked),
                    "; ".join(entry.describe() for entry in blocked.values()),
                    message.msgId,
                ),
            )
        delivery = Delivery(message, start.recipients)

        def retry(state: tenacity.RetryCallState) -> None:
            log.deferred(delivery, state.outcome.exception() if state.outcome else None)
            self._count_retry(state)

        try:
            for attempt in self.deliverer.policy.retrying(before_sleep=retry):
                with attempt:
                    self.deliverer.attempt(delivery, on_data_sent=self._server_busy.set)
        except Exception as error:
            log.flush()  # keep_failed records the failure itself
            self._fail(self.deliverer.keep_failed(message, error, delivery), delivery)
            return
        if delivery.refused:
            log.flush()
            self._fail(self.deliverer.keep_failed(message, delivery.refusal(), delivery), delivery)
        else:
            log.sent(delivery)
            with self._lock:
                self.report.sent += 1

    def _fail_unsent(self, message: Message, reason: str) -> None:
        failure = FailedMessage(
            message.email_name, message.envelope_recipients, reason, message.msgId
        )
        self._report(self.report.failed, failure)

    def _fail(self, failure: SendError, delivery: Delivery) -> None:
        self._report(
            self.report.failed,
            FailedMessage(
                delivery.message.email_name,
                failure.recipients,
                str(failure),
                delivery.message.msgId,
                failure.saved_to,
            ),
        )

    def _report(self, failures: list[FailedMessage], failure: FailedMessage) -> None:
        """Add ``failure`` to one of the report's lists, noting where its item stood."""
        with self._lock:
            failures.append(failure)
            self._order[id(failure)] = self._current.index

    def _count_retry(self, state: tenacity.RetryCallState) -> None:
        with self._lock:
            self.report.retried += 1
