"""The delivery log's store: messages, their events, idempotency claims and purging.

Any SQLAlchemy URL works; the default is an SQLite file in the app's instance folder, opened
in WAL mode with a busy timeout, so threads and several processes on one machine share it.
For several machines (app servers and Celery workers), point ``EMAILKIT_DATABASE`` at one
PostgreSQL database (``postgresql+psycopg://...``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ...errors import ConfigError
from .engine import create_engine, create_tables, describe_error
from .queries import Queries
from .records import Claim, EventRecord, MessageRecord, event_row, message_row, new_event, utcnow
from .schema import STATUSES, events, messages, normalise_address
from .statements import (
    BY_ID,
    BY_KEY,
    INSERT_EVENT,
    INSERT_MESSAGE,
    SENT_TO,
    after_failed,
    after_sent,
    bulk_inserts,
    update_statement,
)
from .suppression import SuppressionList

logger = logging.getLogger("emailkit")

PURGE_INTERVAL = 3600.0
"""Seconds between two opportunistic purges by one process."""

REUSABLE = ("failed", "suppressed")
"""Statuses after which an idempotency key may send a new message."""

__all__ = [
    "Claim",
    "DeliveryLog",
    "EventRecord",
    "MessageRecord",
    "describe_error",
    "event_row",
    "message_row",
    "utcnow",
]


class DeliveryLog(Queries):
    """A delivery log at ``url`` (any SQLAlchemy URL); tables are created on first use.

    Entries older than ``retention_days`` are deleted by :meth:`purge`, which runs at most
    once an hour per process as messages are queued (suppressions are kept until removed).
    Safe to share between threads; a forked child opens its own connections.
    """

    def __init__(self, url: str, *, retention_days: float = 30.0) -> None:
        self.url = url
        self.retention = dt.timedelta(days=float(retention_days))
        self._engine: Engine | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._last_purge = 0.0
        self.suppressions = SuppressionList(self.connect)

    def __repr__(self) -> str:
        return f"DeliveryLog({sa.make_url(self.url).render_as_string(hide_password=True)!r})"

    # -- connections ---------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine, created (and the tables with it) on first use in this process."""
        engine = self._engine
        if engine is not None and self._pid == os.getpid():
            return engine
        with self._lock:
            if self._engine is not None and self._pid != os.getpid():
                self._engine.dispose(close=False)  # the parent's connections stay the parent's
                self._engine = None
            if self._engine is None:
                engine = create_engine(self.url)
                create_tables(engine, self.url)  # before other threads may see the engine
                self._pid = os.getpid()
                self._engine = engine
            return self._engine

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection in a transaction, committed at the end (rolled back on error)."""
        with self.engine.begin() as connection:
            yield connection

    def close(self) -> None:
        """Close this process's connections (tests, and apps that stop using the log)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    # -- messages --------------------------------------------------------------------------

    def queued(
        self,
        message_id: str,
        *,
        email: str = "",
        recipients: Iterable[str] = (),
        locale: str | None = None,
        category: str | None = None,
        sender: str | None = None,
        idempotency_key: str | None = None,
        relay: str | None = None,
        known: bool = False,
    ) -> Claim:
        """Record a message about to be sent (or queued), claiming ``idempotency_key``.

        The claim is an INSERT under the table's unique constraints, so of two processes
        sending with one key at the same moment exactly one proceeds; the other reads the
        winner's row and gets ``duplicate`` with its Message-ID. A key whose message
        ``failed`` (or was wholly ``suppressed``) is handed to the new message. ``known``:
        the message was most likely recorded before (a queued task): look it up first.
        """
        row = message_row(
            message_id,
            email=email,
            recipients=recipients,
            locale=locale,
            category=category,
            sender=sender,
            idempotency_key=idempotency_key,
            relay=relay,
        )
        wanted, now = json.loads(row["recipients"]), row["created_at"]
        self._purge_now_and_then()
        if known:
            claim = self._existing(message_id, idempotency_key, wanted)
            if claim is not None:
                return claim
        for _ in range(5):
            try:
                with self.connect() as connection:
                    connection.execute(INSERT_MESSAGE, row)
                    connection.execute(INSERT_EVENT, new_event(message_id, None, "queued", now))
                return Claim(message_id, False, "queued", wanted)
            except sa.exc.IntegrityError:
                pass
            claim = self._existing(message_id, idempotency_key, wanted)
            if claim is not None:
                return claim
            # The key's message failed and was released, or was purged: claim it again.
        raise ConfigError(  # pragma: no cover - needs a database that keeps changing its mind
            f"the delivery log could not record {message_id}: its idempotency key "
            f"{idempotency_key!r} kept changing hands; try again"
        )

    def write_many(self, rows: list[dict[str, Any]], event_rows: list[dict[str, Any]]) -> None:
        """Insert finished messages (rows from :func:`message_row`, updated) and events in one
        transaction: how ``send_many`` writes, a batch at a time. A Message-ID already in
        the log (a message sent again) updates its row instead."""
        self._purge_now_and_then()
        try:
            with self.connect() as connection:
                insert_messages, insert_events = bulk_inserts(connection.dialect)
                insert_messages.execute(connection, rows)
                insert_events.execute(connection, event_rows)
            return
        except sa.exc.IntegrityError:
            pass
        with self.connect() as connection:
            for row in rows:
                found = connection.execute(
                    sa.select(messages.c.id).where(messages.c.message_id == row["message_id"])
                ).first()
                if found is None:
                    connection.execute(INSERT_MESSAGE, row)
                    continue
                changes = {k: row[k] for k in ("status", "attempts", "relay", "last_reply")}
                connection.execute(
                    messages.update()
                    .where(messages.c.id == found.id)
                    .values(changes, updated_at=row["updated_at"])
                )
            if event_rows:
                connection.execute(INSERT_EVENT, event_rows)

    def _existing(self, message_id: str, key: str | None, wanted: list[str]) -> Claim | None:
        with self.connect() as connection:
            found = None
            if key is not None:
                found = connection.execute(BY_KEY, {"key": key}).first()
            if found is None:
                found = connection.execute(BY_ID, {"message_id": message_id}).first()
            if found is None:
                return None  # purged or released in between: insert again
            if found.message_id == message_id:
                # Nothing was sent while it was only queued: no events to read.
                done = (
                    set() if found.status == "queued" else self._delivered(connection, message_id)
                )
                left = [r for r in wanted if r not in done]
                return Claim(message_id, not left, found.status, left)
            if found.status in REUSABLE and key is not None:
                # Release the key from the failed message; the next INSERT takes it. Of two
                # racers only one UPDATE matches (the other sees the key already gone).
                connection.execute(
                    messages.update()
                    .where(messages.c.id == found.id, messages.c.status.in_(REUSABLE))
                    .values(idempotency_key=None)
                )
                return None
            return Claim(found.message_id, True, found.status, [])

    @staticmethod
    def _delivered(connection: Connection, message_id: str) -> set[str]:
        rows = connection.execute(SENT_TO, {"message_id": message_id})
        return {row.recipient for row in rows}

    def delivered_to(self, message_id: str) -> set[str]:
        """The (normalised) recipients the relay accepted ``message_id`` for."""
        with self.connect() as connection:
            return self._delivered(connection, message_id)

    def record(
        self,
        message_id: str | None,
        kind: str,
        recipients: Iterable[str | None] = (None,),
        detail: str | None = None,
        *,
        status: Any = None,
        attempts: int | None = None,
        relay: str | None = None,
        reply: str | None = None,
    ) -> None:
        """Add a ``kind`` event per recipient and update the message's row in one go.

        ``status`` may be a status name or a SQL expression over the row (see
        :func:`after_sent`)."""
        now = utcnow()
        rows = [
            new_event(message_id, normalise_address(r) if r else None, kind, now, detail)
            for r in recipients
        ]
        if isinstance(status, str) and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        changes = any(value is not None for value in (status, attempts, relay, reply))
        with self.connect() as connection:
            if rows:
                connection.execute(INSERT_EVENT, rows)
            if message_id is not None and changes:
                connection.execute(
                    update_statement(status),
                    {
                        "b_message_id": message_id,
                        "b_updated_at": now,
                        "b_status": status if isinstance(status, str) else None,
                        "b_attempts": attempts,
                        "b_relay": relay,
                        "b_reply": reply,
                    },
                )

    def sent(
        self,
        message_id: str,
        recipients: Iterable[str],
        *,
        reply: str | None = None,
        relay: str | None = None,
        attempts: int | None = None,
    ) -> None:
        """The relay accepted ``message_id`` for ``recipients`` and answered ``reply``."""
        self.record(
            message_id,
            "sent",
            list(recipients),
            reply,
            status=after_sent(),
            attempts=attempts,
            relay=relay,
            reply=reply,
        )

    def deferred(
        self,
        message_id: str,
        recipients: Iterable[str],
        detail: str,
        *,
        attempts: int | None = None,
        relay: str | None = None,
    ) -> None:
        """A transient failure for ``recipients``: it will be tried again."""
        self.record(
            message_id,
            "deferred",
            list(recipients),
            detail,
            status="deferred",
            attempts=attempts,
            relay=relay,
            reply=detail,
        )

    def failed(
        self,
        message_id: str,
        recipients: Iterable[str],
        detail: str,
        *,
        attempts: int | None = None,
        relay: str | None = None,
        partial: bool = False,
    ) -> None:
        """Not delivered to ``recipients`` for good (or not within the retries); ``partial``
        when the message reached others."""
        self.record(
            message_id,
            "failed",
            list(recipients),
            detail,
            status="partial" if partial else after_failed(),
            attempts=attempts,
            relay=relay,
            reply=detail,
        )

    def bounced(
        self, message_id: str | None, recipient: str, detail: str, *, hard: bool = True
    ) -> bool:
        """A bounce of ``message_id`` for ``recipient``; a ``hard`` one (5.x.x) also
        suppresses the address for all mail. True if that added a suppression."""
        self.record(message_id, "bounced", [recipient], detail)
        if not hard:
            return False
        return self.suppressions.add(recipient, reason="bounce", detail=detail)

    def complained(self, message_id: str | None, recipient: str, detail: str) -> bool:
        """``recipient`` reported ``message_id`` as spam: an event, and a suppression of
        the address for all mail. True if that added a suppression."""
        self.record(message_id, "complained", [recipient], detail)
        return self.suppressions.add(recipient, reason="complaint", detail=detail)

    def unsubscribed(
        self,
        address: str,
        category: str,
        *,
        message_id: str | None = None,
        detail: str | None = None,
    ) -> bool:
        """``address`` unsubscribed from ``category`` (from ``message_id``, if known): an
        event, and a suppression for that category only. True if that added one."""
        self.record(message_id, "unsubscribed", [address], detail or category)
        return self.suppressions.add(
            address, category=category, reason="unsubscribe", detail=detail
        )

    # -- retention -------------------------------------------------------------------------

    def purge(self, *, before: dt.datetime | None = None) -> int:
        """Delete messages and events older than the retention period (or ``before``);
        returns how many messages went. Suppressions stay until removed."""
        cutoff = before or utcnow() - self.retention
        with self.connect() as connection:
            old = sa.select(messages.c.message_id).where(messages.c.created_at < cutoff)
            connection.execute(
                events.delete().where(sa.or_(events.c.time < cutoff, events.c.message_id.in_(old)))
            )
            gone = connection.execute(messages.delete().where(messages.c.created_at < cutoff))
        self._last_purge = time.monotonic()
        return int(gone.rowcount or 0)

    def _purge_now_and_then(self) -> None:
        if self._last_purge and time.monotonic() - self._last_purge < PURGE_INTERVAL:
            return
        self._last_purge = time.monotonic()
        try:
            count = self.purge()
        except sa.exc.SQLAlchemyError as error:  # another process is purging: next time
            logger.warning("emailkit: purging the delivery log failed (%s)", error)
            return
        if count:
            logger.info("emailkit: purged %d message(s) older than the retention period", count)
