"""The delivery log's prepared statements: inserts, lookups, and the updates that move a
message's status on (sent, deferred, failed) without moving it back."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from .schema import events, messages

AFTER_SENT = sa.case((messages.c.status == "partial", "partial"), else_="sent")

AFTER_FAILED = sa.case((messages.c.status.in_(("sent", "partial")), "partial"), else_="failed")


def after_sent() -> Any:
    """The status once a message was accepted for recipients: ``partial`` if it was so
    already (some refused or suppressed), else ``sent`` (a resend after a failure too)."""
    return AFTER_SENT


def after_failed() -> Any:
    """The status once a message failed for recipients: ``partial`` if others had it."""
    return AFTER_FAILED


# Statements built once: building one costs more than running it on SQLite.
INSERT_EVENT = events.insert()

INSERT_MESSAGE = messages.insert()


class BulkInsert:
    """An INSERT of many rows of one table, ``rows`` to a statement: SQLAlchemy compiles it
    once for the dialect (``INSERT ... VALUES (...), (...), ...``), and each batch's values
    go to the driver's ``executemany`` adapted once by the dialect's own bind processors.

    ``connection.execute(table.insert(), rows)`` sends a statement per row and builds each
    row's parameters through the compiled statement's general machinery. On PostgreSQL
    (psycopg) that cost ``send_many``'s log writer three times the client CPU and half as
    much again of the server's; on SQLite it is a sixth less, and one ``sqlite3_step``
    (which lets go of the GIL) per 50 rows instead of per row. Every row must have a value
    for every column but the primary key.
    """

    def __init__(self, table: sa.Table, dialect: Dialect, rows: int = 50) -> None:
        columns = [c for c in table.columns if not c.primary_key]
        self.rows = rows if dialect.supports_multivalues_insert else 1
        self._single = _Compiled(table, columns, dialect, 1)
        self._multi = _Compiled(table, columns, dialect, self.rows) if self.rows > 1 else None

    def execute(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (dicts by column key) in ``connection``'s transaction."""
        whole = len(rows) - len(rows) % self.rows
        if self._multi is not None and whole:
            self._multi.execute(connection, rows[:whole])
        if whole < len(rows):
            self._single.execute(connection, rows[whole:])


@functools.lru_cache(maxsize=16)  # per engine: an engine has one dialect object
def bulk_inserts(dialect: Dialect) -> tuple[BulkInsert, BulkInsert]:
    """The :class:`BulkInsert` of messages and of events, for ``dialect``."""
    return BulkInsert(messages, dialect), BulkInsert(events, dialect)


class _Compiled:
    """One ``INSERT`` of ``count`` rows, as the driver takes it."""

    def __init__(
        self, table: sa.Table, columns: list[sa.Column[Any]], dialect: Dialect, count: int
    ) -> None:
        names = [[f"{c.key}_{n}" for c in columns] for n in range(count)]
        statement = table.insert().values(
            [
                {
                    c.key: sa.bindparam(name, type_=c.type)
                    for c, name in zip(columns, row, strict=True)
                }
                for row in names
            ]
        )
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.width = len(columns) * count
        self._adapt: list[tuple[str, Callable[[Any], Any] | None]] = [
            (c.key, dialect.type_descriptor(c.type).bind_processor(dialect)) for c in columns
        ]
        # Positional drivers (sqlite3's qmark) take tuples, named ones (psycopg's pyformat)
        # dicts; the statement's own order of parameters is row by row, column by column.
        flat = [name for row in names for name in row]
        self._names = None if compiled.positional else flat
        assert not compiled.positional or list(compiled.positiontup or []) == flat

    def execute(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        values = [
            row[key] if adapt is None else adapt(row[key])
            for row in rows
            for key, adapt in self._adapt
        ]
        width, names = self.width, self._names
        chunks = [values[i : i + width] for i in range(0, len(values), width)]
        if names is None:
            connection.exec_driver_sql(self.sql, [tuple(chunk) for chunk in chunks])
        else:
            connection.exec_driver_sql(
                self.sql, [dict(zip(names, chunk, strict=True)) for chunk in chunks]
            )


HEAD = sa.select(messages.c.id, messages.c.message_id, messages.c.status)

BY_KEY = HEAD.where(messages.c.idempotency_key == sa.bindparam("key"))

BY_ID = HEAD.where(messages.c.message_id == sa.bindparam("message_id"))

SENT_TO = sa.select(events.c.recipient).where(
    events.c.message_id == sa.bindparam("message_id"), events.c.kind == "sent"
)


def build_update(status: Any) -> Any:
    def keep(name: str, column: Any, type_: Any) -> Any:
        return sa.func.coalesce(sa.bindparam(name, type_=type_), column)

    return (
        messages.update()
        .where(messages.c.message_id == sa.bindparam("b_message_id"))
        .values(
            updated_at=sa.bindparam("b_updated_at"),
            status=status,
            attempts=keep("b_attempts", messages.c.attempts, sa.Integer()),
            relay=keep("b_relay", messages.c.relay, sa.String()),
            last_reply=keep("b_reply", messages.c.last_reply, sa.Text()),
        )
    )


UPDATES = {
    "keep": build_update(messages.c.status),
    "name": build_update(sa.bindparam("b_status", type_=sa.String())),
    "sent": build_update(AFTER_SENT),
    "failed": build_update(AFTER_FAILED),
}


def update_statement(status: Any) -> Any:
    if status is None:
        return UPDATES["keep"]
    if isinstance(status, str):
        return UPDATES["name"]
    if status is AFTER_SENT:
        return UPDATES["sent"]
    if status is AFTER_FAILED:
        return UPDATES["failed"]
    return build_update(status)
