"""Reading the delivery log: messages with their timelines, events about an address."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .records import EventRecord, MessageRecord, event_record, message_record
from .schema import events, messages, normalise_address


class Queries:
    """The read side of :class:`~emailkit.sending.deliverylog.DeliveryLog`."""

    connect: Callable[[], AbstractContextManager[Connection]]

    def message(self, message_id: str, *, with_events: bool = True) -> MessageRecord | None:
        """The message with this Message-ID (``<...>`` optional), or None."""
        found = self.find(message_id=message_id, limit=1, with_events=with_events)
        return found[0] if found else None

    def by_ref(self, ref: str) -> MessageRecord | None:
        """The message whose :func:`~emailkit.sending.verp.message_ref` is ``ref`` (a VERP token's),
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
            found = [message_record(row) for row in rows]
            if not with_events or not found:
                return found
            by_id: dict[str, list[EventRecord]] = {m.message_id: m.events for m in found}
            for event in connection.execute(
                sa.select(events)
                .where(events.c.message_id.in_(list(by_id)))
                .order_by(events.c.time, events.c.id)
            ):
                by_id[event.message_id].append(event_record(event))
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
        return [event_record(row) for row in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
