"""The delivery log's recorder for one ``send_many`` run: records buffered and written a batch
at a time by a thread of its own, so that logging costs the sending threads little."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...errors import ConfigError
from .recorder import RECORDING_ERRORS, Recorder, Start, suppressed_error, unavailable
from .schema import normalise_address
from .store import describe_error, event_row, message_row, new_event, utcnow

if TYPE_CHECKING:
    from ...mime.message import Message
    from ..delivery import Delivery

logger = logging.getLogger("emailkit")


class BufferedRecorder(Recorder):
    """A :class:`Recorder` for one ``send_many`` run: it writes a batch of finished messages
    in one transaction (every ``size`` messages or ``interval`` seconds, and at the end)
    instead of two per message, in a thread of its own, which is what keeps the log's cost
    small.

    A message with an idempotency key is still claimed before it is sent, and suppression
    is still checked for each; only the record of what happened waits. Whatever sees the
    rare paths (a retry, a failure) flushes first and records it at once. If the process
    dies, up to one batch of records is lost, never a message.
    """

    def __init__(self, parent: Recorder, size: int = 200, interval: float = 1.0) -> None:
        super().__init__(parent.log, parent.relay or "")
        self.size = size
        self.interval = interval
        self._rows: dict[str, dict[str, Any]] = {}
        # Messages queued whose outcome is not known yet: a batch handed over on the way
        # keeps their rows back, so that their sender brings the row up to date here rather
        # than waiting for the writer's commit and writing the update itself.
        self._open: set[str] = set()
        self._events: list[dict[str, Any]] = []
        self._since = time.monotonic()
        self._suppressions = parent.log.suppressions.snapshot() if parent.log else None
        if self._suppressions is not None:
            self._suppressions.prefetch()
        self._batches: queue.Queue[tuple[list[Any], list[Any]] | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        # send_many runs one sender thread per pooled connection, all recording here.
        self._lock = threading.RLock()

    def queued(
        self, message: Message, recipients: Iterable[str] | None = None, *, known: bool = False
    ) -> Start:
        log = self.log
        if known or log is None or message.idempotency_key is not None:
            with self._lock:
                self.flush()
                return super().queued(message, recipients, known=known)
        # The rows are built outside the lock: eight sender threads record here, and a
        # thread preempted while holding it would hold up the others.
        wanted = list(recipients if recipients is not None else message.envelope_recipients)
        email = message.email_name or "message"
        try:
            assert self._suppressions is not None
            blocked = self._suppressions.blocking(wanted, message.category)
        except (sa.exc.SQLAlchemyError, ConfigError) as error:
            raise unavailable(log, email, error) from error
        now = utcnow()
        row = message_row(
            message.msgId,
            email=email,
            recipients=wanted,
            locale=message.locale,
            category=message.category,
            sender=message.envelope_sender,
            relay=self.relay,
            now=now,
        )
        events = [new_event(message.msgId, None, "queued", now)]
        if blocked:
            reasons = "; ".join(entry.describe() for entry in blocked.values())
            row["status"] = "suppressed" if len(blocked) == len(wanted) else "partial"
            events.extend(
                event_row(message.msgId, address, "suppressed", reasons) for address in blocked
            )
            for entry in blocked.values():
                logger.info("%s: not sent to %s", email, entry.describe())
        left = [r for r in wanted if r not in blocked]
        with self._lock:
            if message.msgId in self._rows:  # the same message again: record it at once
                self.flush()
                return super().queued(message, recipients, known=known)
            self._rows[message.msgId] = row
            self._events.extend(events)
            if left:
                self._open.add(message.msgId)
            else:
                self.flush_now_and_then()
        if not left:
            raise suppressed_error(message.msgId, email, blocked)
        return Start(message.msgId, left, suppressed=blocked)

    def sent(self, delivery: Delivery, reply: str | None = None) -> None:
        message_id = delivery.message.msgId
        now = utcnow()
        last_reply = reply if reply is not None else delivery.reply
        events = [
            new_event(message_id, normalise_address(address), "sent", now, last_reply)
            for address in delivery.delivered
        ]
        with self._lock:
            self._open.discard(message_id)
            row = self._rows.get(message_id)
            if row is not None:
                row["status"] = "partial" if row["status"] == "partial" else "sent"
                row["attempts"] = delivery.attempts
                row["last_reply"] = last_reply
                row["relay"] = delivery.relay or self.relay
                row["updated_at"] = now
                self._events.extend(events)
                self.flush_now_and_then()
                return
        # Another sender thread handed this message's queued row to the writer while it was
        # on its way: let that row be written before it is brought up to date.
        if self._writer is not None:
            self._batches.join()
        with self._lock:
            super().sent(delivery, reply)

    def deferred(self, delivery: Delivery, error: BaseException | None) -> None:
        with self._lock:
            self.flush()
            super().deferred(delivery, error)

    def failed(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.flush()
            super().failed(*args, **kwargs)

    def flush_now_and_then(self) -> None:
        """Hand the batch to the writer thread when it is full or old enough."""
        if (
            len(self._rows) - len(self._open) >= self.size
            or time.monotonic() - self._since >= self.interval
        ):
            with self._lock:
                self._hand_over(keep_open=True)

    def flush(self, wait: bool = True) -> None:
        """Write what is buffered; ``wait`` until it is written (before another recorder
        records these messages, and at the end of the run)."""
        with self._lock:
            self._hand_over()
        if wait and self._writer is not None:
            self._batches.join()

    def close(self) -> None:
        """Write what is buffered and end the writer thread (at the end of the run)."""
        self.flush()
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._batches.put(None)
            writer.join()

    def _hand_over(self, keep_open: bool = False) -> None:
        if keep_open and self._open:
            kept = {key: row for key, row in self._rows.items() if key in self._open}
            rows = [row for key, row in self._rows.items() if key not in self._open]
        else:
            kept, rows = {}, list(self._rows.values())
            self._open.clear()
        events = self._events
        self._rows, self._events = kept, []
        self._since = time.monotonic()
        if self.log is not None and (rows or events):
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write, name="emailkit-log-writer", daemon=True
                )
                self._writer.start()
            self._batches.put((rows, events))

    def _write(self) -> None:
        # Its own thread: the database's commit latency overlaps the SMTP conversation.
        while (batch := self._batches.get()) is not None:
            try:
                self._write_batch(*batch)
            except Exception:  # a defect here must not leave the run waiting for ever
                logger.exception(
                    "emailkit: the delivery log's writer failed; %d messages sent in this run "
                    "are not recorded (the messages themselves were handled)",
                    len(batch[0]),
                )
            finally:
                self._batches.task_done()
        self._batches.task_done()

    def _write_batch(self, rows: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
        assert self.log is not None
        try:
            self.log.write_many(rows, events)
            return
        except (sa.exc.DataError, ValueError):
            pass  # a value the database refuses: the others are written below
        except RECORDING_ERRORS as error:  # the database itself: say so once for the batch
            logger.error(
                "emailkit: the delivery log %r could not record what happened to %d messages "
                "(%s); the messages themselves were handled",
                self.log,
                len({row["message_id"] for row in rows} | {e["message_id"] for e in events}),
                describe_error(error),
            )
            return
        # Then one message at a time: a value the database refuses (PostgreSQL's text takes
        # no NUL, which a relay's reply may hold) costs that message's record, not 200.
        by_message: dict[str | None, list[dict[str, Any]]] = {}
        for event in events:
            by_message.setdefault(event["message_id"], []).append(event)
        for row in rows:
            self._safely(
                self._write_message, row["message_id"], [row], by_message.pop(row["message_id"], [])
            )
        for message_id, kept in by_message.items():  # events of messages whose rows come later
            self._safely(self._write_message, message_id, [], kept)

    def _write_message(
        self, message_id: str | None, rows: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> None:
        assert self.log is not None
        self.log.write_many(rows, events)
