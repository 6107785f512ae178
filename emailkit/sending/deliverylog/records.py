"""The delivery log's rows as Python sees them: records read back, rows to write."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..verp import message_ref
from .schema import normalise_address


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
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A new ``emailkit_messages`` row, status ``queued``, addresses normalised."""
    now = now or utcnow()
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
    return new_event(
        message_id, normalise_address(recipient) if recipient else None, kind, utcnow(), detail
    )


def new_event(
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


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def message_record(row: Any) -> MessageRecord:
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
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def event_record(row: Any) -> EventRecord:
    return EventRecord(row.message_id, row.recipient, row.kind, row.detail, aware(row.time))
