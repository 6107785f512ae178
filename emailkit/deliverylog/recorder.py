"""What sending tells the delivery log: the hook :class:`~emailkit.sending.Deliverer` calls
where a message's outcome is known (``deliverer.log.queued/sent/deferred/failed``).

It also applies the log's two rules before anything is sent: an idempotency key already
used returns the first message's Message-ID, and suppressed recipients are left out.
With the log off (``EMAILKIT_DELIVERY_LOG = False``) every call does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..delivery import smtp_answer
from ..errors import SuppressedError
from .schema import normalise_address
from .store import DeliveryLog
from .suppression import Suppression

if TYPE_CHECKING:
    from ..delivery import Delivery
    from ..mime import Message

logger = logging.getLogger("emailkit")


@dataclass
class Start:
    """What to do with a message: send it to ``recipients``, or nothing if ``duplicate``
    (then ``message_id`` is the first message's). ``suppressed`` names who is left out."""

    message_id: str
    recipients: list[str]
    duplicate: bool = False
    suppressed: dict[str, Suppression] = field(default_factory=dict)


class Recorder:
    """The sending side's view of a :class:`DeliveryLog` (or of none)."""

    def __init__(self, log: DeliveryLog | None = None, relay: str = "") -> None:
        self.log = log
        self.relay = relay or None

    def __bool__(self) -> bool:
        return self.log is not None

    def queued(self, message: Message, recipients: Iterable[str] | None = None) -> Start:
        """Claim the message's idempotency key and leave out suppressed recipients.

        Raises :class:`~emailkit.SuppressedError` when no recipient is left (recorded as
        ``suppressed`` events; nothing is kept in the failed-mail folder).
        """
        wanted = list(recipients if recipients is not None else message.envelope_recipients)
        log = self.log
        if log is None:
            return Start(message.msgId, wanted)
        key = getattr(message, "idempotency_key", None)
        category = getattr(message, "category", None)
        claim = log.queued(
            message.msgId,
            email=message.email_name or "message",
            recipients=wanted,
            locale=getattr(message, "locale", None),
            category=category,
            sender=message.envelope_sender,
            idempotency_key=key,
            relay=self.relay,
        )
        if claim.duplicate:
            logger.info(
                "%s: idempotency key %r already used by %s (%s); nothing sent",
                message.email_name or "message",
                key,
                claim.message_id,
                claim.status,
            )
            return Start(claim.message_id, [], duplicate=True)
        due = set(claim.recipients)
        wanted = [r for r in wanted if normalise_address(r) in due]
        blocked = log.suppressions.blocking(wanted, category)
        if blocked:
            log.record(
                message.msgId,
                "suppressed",
                list(blocked),
                None,
                status="suppressed" if len(blocked) == len(wanted) else "partial",
            )
            for entry in blocked.values():
                logger.info("%s: not sent to %s", message.email_name, entry.describe())
        left = [r for r in wanted if r not in blocked]
        if not left:
            raise suppressed_error(message, blocked)
        return Start(message.msgId, left, suppressed=blocked)

    def sent(self, delivery: Delivery, reply: str | None = None) -> None:
        """The relay accepted the message for the recipients ``delivery`` delivered."""
        if self.log is None:
            return
        self.log.sent(
            delivery.message.msgId,
            delivery.delivered,
            reply=reply if reply is not None else getattr(delivery, "reply", None),
            relay=self.relay,
            attempts=delivery.attempts,
        )

    def deferred(self, delivery: Delivery, error: BaseException | None) -> None:
        """An attempt failed transiently for the recipients still pending; retrying."""
        if self.log is None:
            return
        self.log.deferred(
            delivery.message.msgId,
            delivery.pending or delivery.recipients,
            _describe(error),
            attempts=delivery.attempts,
            relay=self.relay,
        )

    def failed(
        self,
        message: Message,
        error: BaseException,
        recipients: list[str],
        delivered: list[str],
        attempts: int,
        refused: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        """``message`` did not reach ``recipients`` for good (it went to the failed-mail
        folder). Each recipient refused with 5xx at RCPT is a hard bounce: a ``bounced``
        event and a suppression of the address for all mail."""
        log = self.log
        if log is None:
            return
        message_id = message.msgId
        if delivered:
            log.sent(message_id, delivered, relay=self.relay, attempts=attempts)
        log.failed(
            message_id,
            recipients,
            _describe(error),
            attempts=attempts,
            relay=self.relay,
            partial=bool(delivered),
        )
        for address, (code, text) in (refused or {}).items():
            if 500 <= code < 600:
                detail = f"{code} {text}".strip()
                log.record(message_id, "bounced", [address], detail)
                if log.suppressions.add(address, reason="bounce", detail=detail):
                    logger.warning(
                        "%s: %s refused with %s at RCPT: a hard bounce, suppressed for all "
                        "mail (lift it with `emailkit suppress remove %s`)",
                        message.email_name or "message",
                        address,
                        detail,
                        address,
                    )


def suppressed_error(message: Message, blocked: dict[str, Suppression]) -> SuppressedError:
    """The error for a message none of whose recipients may be mailed."""
    email = message.email_name or "message"
    reasons = {address: entry.describe() for address, entry in blocked.items()}
    return SuppressedError(
        f"{email}: nothing sent, every recipient is suppressed: {'; '.join(reasons.values())}. "
        "Lift an entry with `emailkit suppress remove ADDRESS [--category C]` if it is wrong.",
        email=email,
        recipients=list(blocked),
        message_id=message.msgId,
        reasons=reasons,
    )


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    code, reply = smtp_answer(error)
    if code is not None:
        return f"{code} {reply or ''}".strip()
    return f"{type(error).__name__}: {error}"
