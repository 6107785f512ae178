"""The delivery log's prepared statements: inserts, lookups, and the updates that move a
message's status on (sent, deferred, failed) without moving it back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

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
