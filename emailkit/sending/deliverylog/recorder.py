"""What sending tells the delivery log: the hook :class:`~emailkit.sending.deliverer.Deliverer`
calls where a message's outcome is known (``deliverer.log.queued/sent/deferred/failed``).

It also applies the log's two rules before anything is sent: an idempotency key already
used returns the first message's Message-ID, and suppressed recipients are left out.
With the log off (``EMAILKIT_DELIVERY_LOG = False``) every call does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...errors import ConfigError, SuppressedError
from ..delivery import smtp_answer
from .schema import normalise_address
from .store import DeliveryLog, describe_error
from .suppression import Suppression

if TYPE_CHECKING:
    from ...mime.message import Message
    from ..delivery import Delivery
    from .buffered import BufferedRecorder

logger = logging.getLogger("emailkit")

RECORDING_ERRORS = (sa.exc.SQLAlchemyError, ConfigError, ValueError)
"""What recording after a send may raise and sending survives: the database's errors, and a
value it cannot take (``ValueError``: text the driver cannot encode, a NUL on PostgreSQL)."""


@dataclass
class Start:
    """What to do with a message: send it to ``recipients``, or nothing if ``duplicate``
    (then ``message_id`` is the first message's). ``suppressed`` names who is left out."""

    message_id: str
    recipients: list[str]
    duplicate: bool = False
    suppressed: dict[str, Suppression] = field(default_factory=dict)


class Recorder:
    """The sending side's view of a :class:`DeliveryLog` (or of none).

    Before a send, a database error is an error (a :class:`~emailkit.ConfigError`: nothing
    is sent unchecked); after it, one is logged and sending goes on (the message left).
    """

    def __init__(self, log: DeliveryLog | None = None, relay: str = "") -> None:
        self.log = log
        self.relay = relay or None

    def __bool__(self) -> bool:
        return self.log is not None

    def buffered(self) -> BufferedRecorder:
        """A recorder that writes in batches, for one ``send_many`` run (flush it at the end)."""
        from .buffered import BufferedRecorder  # it builds on this class

        return BufferedRecorder(self)

    def flush(self) -> None:
        """Write what is buffered; this one buffers nothing."""

    def queued(
        self, message: Message, recipients: Iterable[str] | None = None, *, known: bool = False
    ) -> Start:
        """Claim the message's idempotency key and leave out suppressed recipients
        (``known``: the message was recorded before, as a queued task is).

        Raises :class:`~emailkit.SuppressedError` when no recipient is left (recorded as
        ``suppressed`` events; nothing is kept in the failed-mail folder).
        """
        wanted = list(recipients if recipients is not None else message.envelope_recipients)
        log = self.log
        if log is None:
            return Start(message.msgId, wanted)
        key = message.idempotency_key
        category = message.category
        email = message.email_name or "message"
        try:
            claim = log.queued(
                message.msgId,
                email=email,
                recipients=wanted,
                locale=message.locale,
                category=category,
                sender=message.envelope_sender,
                idempotency_key=key,
                relay=self.relay,
                known=known,
            )
            if claim.duplicate:
                logger.info(
                    "%s: idempotency key %r already used by %s (%s); nothing sent",
                    email,
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
                    "; ".join(entry.describe() for entry in blocked.values()),
                    status="suppressed" if len(blocked) == len(wanted) else "partial",
                )
        except sa.exc.SQLAlchemyError as error:
            raise unavailable(log, email, error) from error
        for entry in blocked.values():
            logger.info("%s: not sent to %s", email, entry.describe())
        left = [r for r in wanted if r not in blocked]
        if not left:
            raise suppressed_error(message.msgId, email, blocked)
        return Start(message.msgId, left, suppressed=blocked)

    def resend_plan(
        self, message_id: str | None, email: str, recipients: list[str], category: str | None
    ) -> tuple[list[str], dict[str, Suppression]]:
        """For a kept message sent again: the recipients still due (not recorded as sent,
        not suppressed since), and the suppressed ones."""
        log = self.log
        if log is None or not message_id:
            return recipients, {}
        try:
            done = log.delivered_to(message_id)
            due = [r for r in recipients if normalise_address(r) not in done]
            blocked = log.suppressions.blocking(due, category)
            if blocked:
                log.record(message_id, "suppressed", list(blocked), None)
        except sa.exc.SQLAlchemyError as error:
            raise unavailable(log, email, error) from error
        return [r for r in due if r not in blocked], blocked

    def sent(self, delivery: Delivery, reply: str | None = None) -> None:
        """The relay accepted the message for the recipients ``delivery`` delivered."""
        if self.log is None:
            return
        self._safely(
            self.log.sent,
            delivery.message.msgId,
            delivery.delivered,
            reply=reply if reply is not None else delivery.reply,
            relay=delivery.relay or self.relay,
            attempts=delivery.attempts,
        )

    def deferred(self, delivery: Delivery, error: BaseException | None) -> None:
        """An attempt failed transiently for the recipients still pending; retrying."""
        if self.log is None:
            return
        self._safely(
            self.log.deferred,
            delivery.message.msgId,
            delivery.pending or delivery.recipients,
            _describe(error),
            attempts=delivery.attempts,
            relay=delivery.relay or self.relay,
        )

    def failed(
        self,
        message_id: str,
        email: str,
        error: BaseException,
        recipients: list[str],
        delivered: list[str],
        attempts: int,
        refused: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        """The message did not reach ``recipients`` for good (it went to the failed-mail
        folder). Each recipient refused with 5xx at RCPT is a hard bounce: a ``bounced``
        event and a suppression of the address for all mail."""
        if self.log is not None:
            self._safely(
                self._failed, message_id, email, error, recipients, delivered, attempts, refused
            )

    def _failed(
        self,
        message_id: str,
        email: str,
        error: BaseException,
        recipients: list[str],
        delivered: list[str],
        attempts: int,
        refused: dict[str, tuple[int, str]] | None,
    ) -> None:
        log = self.log
        assert log is not None
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
            if 500 <= code < 600 and log.bounced(message_id, address, f"{code} {text}".strip()):
                logger.warning(
                    "%s: %s refused with %s %s at RCPT: a hard bounce, suppressed for all mail "
                    "(lift it with `emailkit suppress remove %s`)",
                    email,
                    address,
                    code,
                    text,
                    address,
                )

    def _safely(self, record: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            record(*args, **kwargs)
        except RECORDING_ERRORS as error:
            logger.error(
                "emailkit: the delivery log %r could not record what happened to %s (%s); "
                "the message itself was handled",
                self.log,
                args[0] if args else "a message",
                describe_error(error),
            )


def unavailable(log: DeliveryLog, email: str, error: BaseException) -> ConfigError:
    """The error when the log cannot be asked before a send (nothing was sent)."""
    return ConfigError(
        f"{email}: nothing sent, the delivery log {log!r} cannot be reached to check the "
        f"idempotency key and the suppression list ({describe_error(error)}). Check "
        "EMAILKIT_DATABASE, or set "
        "EMAILKIT_DELIVERY_LOG = False to send without a log."
    )


def suppressed_error(
    message_id: str, email: str, blocked: dict[str, Suppression]
) -> SuppressedError:
    """The error for a message none of whose recipients may be mailed."""
    reasons = {address: entry.describe() for address, entry in blocked.items()}
    return SuppressedError(
        f"{email}: nothing sent, every recipient is suppressed: {'; '.join(reasons.values())}. "
        "Lift an entry with `emailkit suppress remove ADDRESS [--category C]` if it is wrong.",
        email=email,
        recipients=list(blocked),
        message_id=message_id,
        reasons=reasons,
    )


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    code, reply = smtp_answer(error)
    if code is not None:
        return f"{code} {reply or ''}".strip()
    return f"{type(error).__name__}: {error}"
