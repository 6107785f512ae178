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
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import ConfigError
from ..verp import message_ref
from .schema import STATUSES, events, messages, metadata, normalise_address
from .suppression import SuppressionList

logger = logging.getLogger("emailkit")

PURGE_INTERVAL = 3600.0
"""Seconds between two opportunistic purges by one process."""

REUSABLE = ("failed", "suppressed")
"""Statuses after which an idempotency key may send a new message."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class EventRecord:
    """One thing that happened to a message (or to an address, for ``unsubscribed``)."""

    message_id: str | None
    recipient: str | None
    kind: str
    detail: str | None
    time: dt.datetime


@dataclass(frozen=True)
class MessageRecord:
    """A message as the log knows it, with its events oldest first (when asked for)."""

    message_id: str
    email: str
    locale: str | None
    category: str | None
    sender: str | None
    recipients: list[str]
    idempotency_key: str | None
    relay: str | None
    attempts: int
    status: str
    last_reply: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    events: list[EventRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Claim:
    """The answer to :meth:`DeliveryLog.queued`.

    ``duplicate`` False: go ahead and send ``message_id`` to ``recipients`` (a message seen
    before, such as a Celery retry, is sent only to those not yet recorded as sent).
    ``duplicate`` True: send nothing; ``message_id`` is the message that has (or is being
    sent with) this idempotency key.
    """

    message_id: str
    duplicate: bool
    status: str = "queued"
    recipients: list[str] = field(default_factory=list)


class DeliveryLog:
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
                engine = _create_engine(self.url)
                _create_tables(engine, self.url)  # before other threads may see the engine
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
    ) -> Claim:
        """Record a message about to be sent (or queued), claiming ``idempotency_key``.

        The claim is an INSERT under the table's unique constraints, so of two processes
        sending with one key at the same moment exactly one proceeds; the other reads the
        winner's row and gets ``duplicate`` with its Message-ID. A key whose message
        ``failed`` (or was wholly ``suppressed``) is handed to the new message.
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
        for _ in range(5):
            try:
                with self.connect() as connection:
                    connection.execute(messages.insert(), row)
                    connection.execute(events.insert(), _event(message_id, None, "queued", now))
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
                if rows:
                    connection.execute(messages.insert(), rows)
                if event_rows:
                    connection.execute(events.insert(), event_rows)
            return
        except sa.exc.IntegrityError:
            pass
        with self.connect() as connection:
            for row in rows:
                found = connection.execute(
                    sa.select(messages.c.id).where(messages.c.message_id == row["message_id"])
                ).first()
                if found is None:
                    connection.execute(messages.insert(), row)
                    continue
                changes = {k: row[k] for k in ("status", "attempts", "relay", "last_reply")}
                connection.execute(
                    messages.update()
                    .where(messages.c.id == found.id)
                    .values(changes, updated_at=row["updated_at"])
                )
            if event_rows:
                connection.execute(events.insert(), event_rows)

    def _existing(self, message_id: str, key: str | None, wanted: list[str]) -> Claim | None:
        with self.connect() as connection:
            found = None
            if key is not None:
                found = connection.execute(
                    sa.select(messages.c.id, messages.c.message_id, messages.c.status).where(
                        messages.c.idempotency_key == key
                    )
                ).first()
            if found is None:
                found = connection.execute(
                    sa.select(messages.c.id, messages.c.message_id, messages.c.status).where(
                        messages.c.message_id == message_id
                    )
                ).first()
            if found is None:
                return None  # purged or released in between: insert again
            if found.message_id == message_id:
                done = self._delivered(connection, message_id)
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
        rows = connection.execute(
            sa.select(events.c.recipient).where(
                events.c.message_id == message_id, events.c.kind == "sent"
            )
        )
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
            _event(message_id, normalise_address(r) if r else None, kind, now, detail)
            for r in recipients
        ]
        values: dict[str, Any] = {"updated_at": now}
        if status is not None:
            if isinstance(status, str) and status not in STATUSES:
                raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
            values["status"] = status
        if attempts is not None:
            values["attempts"] = attempts
        if relay is not None:
            values["relay"] = relay
        if reply is not None:
            values["last_reply"] = reply
        with self.connect() as connection:
            if rows:
                connection.execute(events.insert(), rows)
            if message_id is not None and len(values) > 1:
                connection.execute(
                    messages.update().where(messages.c.message_id == message_id).values(values)
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

    def message(self, message_id: str, *, with_events: bool = True) -> MessageRecord | None:
        """The message with this Message-ID (``<...>`` optional), or None."""
        found = self.find(message_id=message_id, limit=1, with_events=with_events)
        return found[0] if found else None

    def by_ref(self, ref: str) -> MessageRecord | None:
        """The message whose :func:`~emailkit.verp.message_ref` is ``ref`` (a VERP token's),
        with its events; None if the log has none."""
        query = sa.select(messages.c.message_id).where(messages.c.message_ref == ref)
        with self.connect() as connection:
            found = connection.execute(query.limit(1)).first()
        return self.message(found.message_id) if found is not None else None

    def find(
        self,
        *,
        to: str | None = None,
        message_id: str | None = None,
        limit: int = 50,
        with_events: bool = True,
    ) -> list[MessageRecord]:
        """The newest messages to ``to`` and/or with ``message_id``, newest first."""
        query = sa.select(messages).order_by(messages.c.created_at.desc(), messages.c.id.desc())
        if message_id is not None:
            bare = message_id.strip().strip("<>")
            query = query.where(messages.c.message_id.in_([f"<{bare}>", bare]))
        if to is not None:
            address = normalise_address(to)
            pattern = "%" + _escape_like(json.dumps(address)) + "%"
            by_event = sa.select(events.c.message_id).where(events.c.recipient == address)
            query = query.where(
                sa.or_(
                    messages.c.recipients.like(pattern, escape="\\"),
                    messages.c.message_id.in_(by_event),
                )
            )
        with self.connect() as connection:
            rows = connection.execute(query.limit(limit)).all()
            found = [_message(row) for row in rows]
            if not with_events or not found:
                return found
            by_id: dict[str, list[EventRecord]] = {m.message_id: m.events for m in found}
            for event in connection.execute(
                sa.select(events)
                .where(events.c.message_id.in_(list(by_id)))
                .order_by(events.c.time, events.c.id)
            ):
                by_id[event.message_id].append(_event_record(event))
        return found

    def events_for(
        self,
        recipient: str,
        *,
        kinds: Iterable[str] | None = None,
        since: dt.datetime | None = None,
    ) -> list[EventRecord]:
        """Events about ``recipient``, oldest first (e.g. soft bounces within a window)."""
        query = sa.select(events).where(events.c.recipient == normalise_address(recipient))
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        if since is not None:
            query = query.where(events.c.time >= since)
        with self.connect() as connection:
            rows = connection.execute(query.order_by(events.c.time, events.c.id)).all()
        return [_event_record(row) for row in rows]

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


def message_row(
    message_id: str,
    *,
    email: str = "",
    recipients: Iterable[str] = (),
    locale: str | None = None,
    category: str | None = None,
    sender: str | None = None,
    idempotency_key: str | None = None,
    relay: str | None = None,
) -> dict[str, Any]:
    """A new ``emailkit_messages`` row, status ``queued``, addresses normalised."""
    now = utcnow()
    return {
        "message_id": message_id,
        "message_ref": message_ref(message_id),
        "email": email,
        "locale": locale,
        "category": category,
        "sender": normalise_address(sender) if sender else None,
        "recipients": json.dumps([normalise_address(r) for r in recipients]),
        "idempotency_key": idempotency_key,
        "relay": relay,
        "attempts": 0,
        "status": "queued",
        "last_reply": None,
        "created_at": now,
        "updated_at": now,
    }


def event_row(
    message_id: str | None, recipient: str | None, kind: str, detail: str | None = None
) -> dict[str, Any]:
    """A new ``emailkit_events`` row, now, the recipient normalised."""
    return _event(
        message_id, normalise_address(recipient) if recipient else None, kind, utcnow(), detail
    )


def after_sent() -> Any:
    """The status once a message was accepted for recipients: ``partial`` if it was so
    already (some refused or suppressed), else ``sent`` (a resend after a failure too)."""
    return sa.case((messages.c.status == "partial", "partial"), else_="sent")


def after_failed() -> Any:
    """The status once a message failed for recipients: ``partial`` if others had it."""
    return sa.case((messages.c.status.in_(("sent", "partial")), "partial"), else_="failed")


def _event(
    message_id: str | None,
    recipient: str | None,
    kind: str,
    now: dt.datetime,
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "recipient": recipient,
        "kind": kind,
        "detail": detail,
        "time": now,
    }


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _message(row: Any) -> MessageRecord:
    return MessageRecord(
        message_id=row.message_id,
        email=row.email,
        locale=row.locale,
        category=row.category,
        sender=row.sender,
        recipients=list(json.loads(row.recipients or "[]")),
        idempotency_key=row.idempotency_key,
        relay=row.relay,
        attempts=row.attempts,
        status=row.status,
        last_reply=row.last_reply,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
    )


def _event_record(row: Any) -> EventRecord:
    return EventRecord(row.message_id, row.recipient, row.kind, row.detail, _aware(row.time))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def describe_error(error: BaseException) -> str:
    """A database error in one line, without SQLAlchemy's background link."""
    cause = getattr(error, "orig", None) or error
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:300]


def _create_engine(url: str) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise ConfigError(
            f"EMAILKIT_DATABASE {url!r} is not a database URL ({error}); use e.g. "
            "sqlite:////var/lib/app/emailkit.db or postgresql+psycopg://user@host/db"
        ) from error
    try:
        if parsed.get_backend_name() != "sqlite":
            return sa.create_engine(parsed, pool_pre_ping=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
    except (ImportError, sa.exc.NoSuchModuleError) as error:
        raise ConfigError(
            f"EMAILKIT_DATABASE needs the database driver for {parsed.drivername!r}: "
            f"{error}. For PostgreSQL: pip install 'psycopg[binary]' and use "
            "postgresql+psycopg://..."
        ) from error
    if parsed.database and parsed.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers never wait for the writer, and several processes share the file.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _create_tables(engine: Engine, url: str) -> None:
    for attempt in range(3):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except sa.exc.SQLAlchemyError as error:
            # Two processes creating the tables at once: one wins, the other sees it next time.
            if attempt == 2:
                raise ConfigError(
                    f"the delivery log cannot be reached: its tables could not be created in "
                    f"{sa.make_url(url).render_as_string(hide_password=True)} "
                    f"({describe_error(error)}). Check EMAILKIT_DATABASE, or set "
                    "EMAILKIT_DELIVERY_LOG = False to send without a log."
                ) from error
            time.sleep(0.1 * (attempt + 1))
