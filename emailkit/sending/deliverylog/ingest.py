"""Recording bounces and complaints: each event :mod:`emailkit.sending.deliverylog.bounces` reads is
matched to the message the delivery log sent, then recorded; the address is suppressed when it
should be.

Matching: by the VERP token first (it is signed, and names the message and the recipient),
else by the original Message-ID and the recipient the report names. A hard bounce (5.x.x)
or a complaint suppresses the address for all mail. A soft bounce (4.x.x) is an event; the
address is suppressed once ``soft_limit`` messages to it soft-bounced within
``soft_window`` days. Nothing changes, and one log line says why, for a forged or altered
token, a message the log never sent (or another sender's), a recipient the message did not
go to, and a report already recorded (the same bounce ingested twice, or replayed).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import unsubscribe
from ..verp import bounce_address, message_ref, read_token, recipient_ref, secret_keys, token_of
from . import DeliveryLog, MessageRecord, normalise_address
from .bounces import COMPLAINT, HARD, MAX_BYTES, BounceEvent, Report, parse

logger = logging.getLogger("emailkit.bounces")

SOFT_LIMIT = 3
SOFT_WINDOW_DAYS = 7.0


@dataclass(frozen=True)
class Outcome:
    """What became of one event: ``recorded`` (and ``suppressed`` if that added an entry),
    or ``ignored`` with the reason."""

    event: BounceEvent
    result: str
    reason: str
    message_id: str | None = None
    recipient: str | None = None
    suppressed: bool = False


@dataclass
class IngestReport:
    """Totals over everything ingested, and one line per message or event worth saying."""

    messages: int = 0
    recorded: int = 0
    ignored: int = 0
    not_bounces: int = 0
    suppressed: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


class Ingester:
    """Matches reports to the log and records them (see the module docstring)."""

    def __init__(
        self,
        log: DeliveryLog,
        config: Mapping[str, Any],
        *,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.log = log
        self.secret = secret_keys(config) or None
        self.bounce_address = bounce_address(config)  # a ConfigError without SECRET_KEY
        self.soft_limit = int(config.get("EMAILKIT_SOFT_BOUNCE_LIMIT", SOFT_LIMIT))
        self.soft_window = dt.timedelta(
            days=float(config.get("EMAILKIT_SOFT_BOUNCE_WINDOW_DAYS", SOFT_WINDOW_DAYS))
        )
        self.max_bytes = max_bytes
        self.report = IngestReport()

    def ingest(
        self,
        data: bytes,
        source: str,
        *,
        delivered_to: str | None = None,
        size: int | None = None,
    ) -> Report:
        """Read one message from ``source`` (a path, ``stdin``...) and record its events.

        ``delivered_to`` is the envelope recipient the MTA delivered it to (Postfix's
        ``$ORIGINAL_RECIPIENT``), whose VERP token counts when the report names none;
        ``size`` the whole message's when ``data`` is only its start.
        """
        self.report.messages += 1
        parsed = parse(data, bounce_address=self.bounce_address, limit=self.max_bytes, size=size)
        if not parsed.events and self._unsubscribe(parsed.subject, source):
            return parsed
        where = f"{source}: {parsed.subject[:80]!r}" if parsed.subject else source
        for problem in parsed.problems:
            self._say(logging.WARNING, f"{where}: {problem}")
        if not parsed.events:
            self.report.not_bounces += 1
            if not parsed.problems:
                self._say(logging.INFO, f"{where}: not a bounce or complaint; nothing changed")
            return parsed
        hint = None
        if delivered_to and self.bounce_address:
            hint = token_of(delivered_to, self.bounce_address)
        for event in parsed.events:
            if event.token is None and hint:
                event = BounceEvent(**{**event.__dict__, "token": hint})
            outcome = self.record(event)
            name = outcome.recipient or event.recipient or "unknown recipient"
            if outcome.result == "recorded":
                self.report.recorded += 1
                suffix = "; suppressed" if outcome.suppressed else ""
                self._say(
                    logging.INFO,
                    f"{where}: {event.describe()} for {name} "
                    f"({outcome.message_id}): recorded{suffix}",
                )
            else:
                self.report.ignored += 1
                self._say(
                    logging.WARNING,
                    f"{where}: {event.kind} for {name}: {outcome.reason}; nothing changed",
                )
        return parsed

    def _unsubscribe(self, subject: str, where: str) -> bool:
        """A ``mailto:`` unsubscribe (Subject ``unsubscribe TOKEN``): suppress its address
        for its category. False when the subject is not one."""
        token = unsubscribe.token_in_subject(subject)
        if token is None:
            return False
        found = unsubscribe.read_token(self.secret, token) if self.secret else None
        if found is None:
            self.report.ignored += 1
            self._say(
                logging.WARNING, f"{where}: forged or altered unsubscribe token; nothing changed"
            )
            return True
        address, category = found
        if self.log.unsubscribed(address, category, detail="mailto (List-Unsubscribe)"):
            self.report.suppressed.append(address)
        self.report.recorded += 1
        self._say(logging.INFO, f"{where}: {address} unsubscribed from {category} mail")
        return True

    def record(self, event: BounceEvent) -> Outcome:
        """Match ``event`` to the log and record it, or say why not."""
        matched = self._match(event)
        if isinstance(matched, Outcome):
            return matched
        record, recipient = matched
        detail = event.describe()
        if self._already(record, recipient, event, detail):
            return Outcome(
                event,
                "ignored",
                "already recorded for this message (ingested twice, or a replayed report)",
                record.message_id,
                recipient,
            )
        if event.kind == COMPLAINT:
            added = self.log.complained(record.message_id, recipient, detail)
        else:
            added = self.log.bounced(record.message_id, recipient, detail, hard=event.kind == HARD)
            if event.kind != HARD:
                added = self._soft_limit_reached(recipient)
        if added:
            self.report.suppressed.append(recipient)
        return Outcome(event, "recorded", "", record.message_id, recipient, added)

    def _match(self, event: BounceEvent) -> tuple[MessageRecord, str] | Outcome:
        if event.token is not None:
            return self._match_token(event)
        if not event.message_id:
            return Outcome(event, "ignored", "it names no VERP token and no original Message-ID")
        record = self.log.message(event.message_id)
        if record is None:
            return Outcome(
                event,
                "ignored",
                f"the log has no message {event.message_id} (never sent from here, another "
                "sender's, or purged)",
            )
        recipient = _among(record.recipients, event.recipient)
        if recipient is None:
            return Outcome(
                event,
                "ignored",
                f"{record.message_id} was not sent to {event.recipient or 'the address named'}",
                record.message_id,
            )
        return record, recipient

    def _match_token(self, event: BounceEvent) -> tuple[MessageRecord, str] | Outcome:
        assert event.token is not None
        ref = read_token(self.secret, event.token) if self.secret else None
        if ref is None:
            return Outcome(event, "ignored", f"forged or altered VERP token {event.token[:60]!r}")
        record = self.log.by_ref(ref.message)
        if record is None:
            return Outcome(
                event,
                "ignored",
                "its VERP token names a message the log does not have (purged?)",
            )
        recipient = next((r for r in record.recipients if recipient_ref(r) == ref.recipient), None)
        if recipient is None:
            return Outcome(
                event,
                "ignored",
                f"its VERP token names no recipient of {record.message_id}",
                record.message_id,
            )
        if event.message_id and message_ref(event.message_id) != ref.message:
            logger.info(
                "bounce for %s: the returned headers name %s, the VERP token %s; the token wins",
                recipient,
                event.message_id[:200],
                record.message_id,
            )
        return record, recipient

    def _already(
        self, record: MessageRecord, recipient: str, event: BounceEvent, detail: str
    ) -> bool:
        kind = "complained" if event.kind == COMPLAINT else "bounced"
        for earlier in record.events:
            if earlier.kind != kind or earlier.recipient != recipient:
                continue
            if event.kind in (HARD, COMPLAINT) and (
                kind == "complained" or (earlier.detail or "").startswith("hard")
            ):
                return True
            if earlier.detail == detail:
                return True
        return False

    def _soft_limit_reached(self, recipient: str) -> bool:
        since = dt.datetime.now(dt.timezone.utc) - self.soft_window
        soft = {
            event.message_id
            for event in self.log.events_for(recipient, kinds=["bounced"], since=since)
            if (event.detail or "").startswith("soft")
        }
        if len(soft) < self.soft_limit:
            return False
        days = self.soft_window.total_seconds() / 86400
        return self.log.suppressions.add(
            recipient,
            reason="bounce",
            detail=f"{len(soft)} messages soft-bounced within {days:g} days",
        )

    def _say(self, level: int, line: str) -> None:
        logger.log(level, "%s", line)
        self.report.lines.append(line)


def _among(recipients: list[str], address: str | None) -> str | None:
    """The recipient of the message that ``address`` names (the domain case-blind, the local
    part case-blind too, as nearly every server treats it)."""
    if not address:
        return None
    wanted = normalise_address(address).lower()
    return next((r for r in recipients if r.lower() == wanted), None)
