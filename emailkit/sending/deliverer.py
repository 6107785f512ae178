"""Delivering messages: over SMTP (see :mod:`emailkit.sending.transport`) or into the local outbox,
with retries for transient failures, and every message that finally fails kept on disk.

Delivery is tracked per recipient (:mod:`emailkit.sending.delivery`); the failed-mail folder keeps a
copy addressed to exactly the recipients that did not get it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tenacity
from flask import current_app

from ..errors import AddressError, ConfigError, SendError, SuppressedError
from ..mime.message import Message
from .delivery import Connection, Delivery, is_transient, smtp_answer
from .deliverylog import Recorder, suppressed_error
from .mailfolder import MailFolder, OutboxConnection, StoredMessage
from .relays import RelaySet, relay_set
from .smtpsettings import SmtpSettings
from .transport import Refusals, SmtpConnection

logger = logging.getLogger("emailkit")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried."""

    attempts: int = 4
    delay: float = 1.0
    max_delay: float = 30.0

    def retrying(
        self,
        before_sleep: Callable[[tenacity.RetryCallState], None],
        stop: threading.Event | None = None,
    ) -> tenacity.Retrying:
        """Retries; once ``stop`` is set (the process is shutting down) no further attempt."""
        give_up: tenacity.stop.stop_base = tenacity.stop_after_attempt(max(1, self.attempts))
        sleep: Callable[[float], Any] = tenacity.nap.sleep
        if stop is not None:
            give_up = give_up | tenacity.stop_when_event_set(stop)
            sleep = stop.wait
        return tenacity.Retrying(
            stop=give_up,
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.delay, max=self.max_delay, jitter=self.delay
            ),
            retry=tenacity.retry_if_exception(is_transient),
            before_sleep=before_sleep,
            sleep=sleep,
            reraise=True,
        )


@dataclass
class FailedMessage:
    """A message :func:`send_many` could not deliver (or not build) to ``recipients``, and
    where it was kept."""

    email: str
    recipients: list[str]
    reason: str
    message_id: str | None = None
    saved_to: str | None = None


@dataclass
class SendReport:
    """What :meth:`EmailKit.send_many` did: counts, and every failure with its reason.

    ``sent`` counts messages delivered to all their recipients; a message some recipients
    refused is in ``failed``, naming just those recipients. ``send_many`` lists failures in
    the order of its items, whichever connection finished first.
    """

    sent: int = 0
    retried: int = 0
    failed: list[FailedMessage] = field(default_factory=list)
    claimed_elsewhere: int = 0  # resend_failed: messages another run was sending
    #: Messages (some or all of) whose recipients are on the suppression list: those
    #: recipients, and why. A message sent to the others also counts in ``sent``.
    suppressed: list[FailedMessage] = field(default_factory=list)
    #: Messages not sent because their idempotency key had been used already.
    duplicates: int = 0


class Deliverer:
    """Sends messages for one app: opens connections, retries, keeps what fails."""

    def __init__(
        self,
        mail: Any,
        *,
        outbox: MailFolder | None,
        failed: MailFolder,
        policy: RetryPolicy,
        timeout: float,
        smtp: SmtpSettings | None = None,
        relays: RelaySet | None = None,
        log: Recorder | None = None,
    ) -> None:
        self.mail = mail
        self.outbox = outbox
        self.failed = failed
        self.policy = policy
        self.timeout = timeout
        self.smtp = smtp
        self._relays = relays
        self._relays_lock = threading.Lock()
        #: The delivery log's hook: ``log.queued/sent/deferred/failed`` (no-ops when off).
        self.log = log if log is not None else Recorder()
        self.log.relay = self.relay

    @property
    def relays(self) -> RelaySet:
        """The relays and their connection pools (made at first use, from the app config)."""
        with self._relays_lock:
            if self._relays is None:
                self._relays = relay_set(
                    self.mail,
                    current_app.config,
                    self.timeout,
                    self.policy.delay,
                    self.policy.max_delay,
                )
            return self._relays

    @property
    def relay(self) -> str | None:
        """Where messages go, for the delivery log: ``host:port``, or ``outbox``."""
        if self.outbox is not None:
            return "outbox"
        return f"{self.smtp.server}:{self.smtp.port}" if self.smtp is not None else None

    def connect(self) -> Connection:
        if self.outbox is not None:
            return OutboxConnection(self.outbox)
        if self.smtp is None:
            self.smtp = SmtpSettings.from_app(self.mail, current_app.config, self.timeout)
            self.log.relay = self.relay
        connection = SmtpConnection(self.smtp, suppress=bool(self.mail.suppress))
        connection.open()
        return connection

    def deliver(self, message: Message, stop: threading.Event | None = None) -> str:
        """Send one message on its own connection; returns its Message-ID or raises SendError.

        ``stop`` set means the process is stopping: no more retries, keep what is left.
        """
        email = message.email_name or "message"
        check_sendable(message, email)
        start = self.log.queued(message)
        if start.duplicate:
            return start.message_id
        delivery = Delivery(message, start.recipients)
        try:
            for attempt in self.policy.retrying(self._log_retry(delivery, email), stop):
                with attempt:
                    self.attempt(delivery)
        except Exception as error:
            raise self.keep_failed(message, error, delivery) from error
        if delivery.refused:
            raise self.keep_failed(message, delivery.refusal(), delivery)
        self.log.sent(delivery)
        return message.msgId

    def attempt(self, delivery: Delivery, on_data_sent: Callable[[], None] | None = None) -> None:
        """One attempt on a pooled connection; the caller decides about retries (Celery does).

        ``on_data_sent`` is called once the message's data is on the wire."""
        check_sendable(delivery.message, delivery.message.email_name or "message")
        delivery.attempts += 1
        if self.outbox is not None:
            delivery.attempt(OutboxConnection(self.outbox))
            if on_data_sent is not None:
                on_data_sent()
            return
        self.relays.attempt(delivery, on_data_sent)

    def send_once(self, message: Message) -> None:
        """One attempt to every recipient; raises when any was refused."""
        delivery = Delivery(message)
        self.attempt(delivery)
        if delivery.refused:
            raise delivery.refusal()

    def resend_failed(self) -> SendReport:
        """Send every message in the failed folder again; those delivered leave the folder.

        A stored message some recipients still refuse stays, addressed to just those. Each
        message is claimed first, so concurrent runs send it once; one another run holds is
        left to it (``report.claimed_elsewhere``). One whose ``.json`` is missing or damaged
        is neither sent nor removed: it is in ``report.failed``, saying why. Recipients the
        delivery log records as sent already, or suppressed since, are left out; a message
        left with none leaves the folder (reported in ``suppressed``).
        """
        report = SendReport()
        for listed in list(self.failed):
            with self.failed.claim(listed) as stored:
                if stored is None:
                    report.claimed_elsewhere += 1
                    continue
                if stored.problem is not None:
                    report.failed.append(
                        FailedMessage(
                            str(stored.meta.get("email", "")),
                            [],
                            f"skipped, kept as it is: {stored.problem}; repair or remove it",
                            None,
                            str(stored.path),
                        )
                    )
                    continue
                try:
                    self._resend(stored)
                except SuppressedError as error:
                    self.failed.remove(stored)
                    report.suppressed.append(
                        FailedMessage(error.email, error.recipients, str(error), error.message_id)
                    )
                    continue
                except Exception as error:
                    report.failed.append(
                        FailedMessage(
                            str(stored.meta.get("email", "")),
                            stored.recipients,
                            f"{type(error).__name__}: {error}",
                            stored.meta.get("message_id"),
                            str(stored.path),
                        )
                    )
                    continue
                self.failed.remove(stored)
                report.sent += 1
        return report

    def _resend(self, stored: StoredMessage) -> None:
        email = str(stored.meta.get("email") or "message")
        message_id = stored.meta.get("message_id")
        due, blocked = self.log.resend_plan(
            message_id, email, stored.recipients, stored.meta.get("category")
        )
        if not due:
            if blocked:
                raise suppressed_error(str(message_id), email, blocked)
            return  # the log says every recipient has it: nothing to send again
        message = Message(message_id=message_id) if message_id else Message()
        delivery = Delivery(message, due)
        data = stored.read()

        def send() -> Refusals:
            if self.outbox is not None:
                return OutboxConnection(self.outbox).send_raw(stored.sender, delivery.pending, data)
            # The pooled connections and the failover of every other send, and the relay's
            # rate limit: a folder of a thousand kept messages is not a thousand connects.
            with self.relays.connection() as (relay, connection):
                delivery.relay = relay.name
                relay.limit.wait()
                try:
                    return connection.send_raw(stored.sender, delivery.pending, data)
                finally:
                    delivery.reply = getattr(connection, "last_reply", None)

        def deferred(state: tenacity.RetryCallState) -> None:
            self.log.deferred(delivery, state.outcome.exception() if state.outcome else None)

        try:
            try:
                for attempt in self.policy.retrying(before_sleep=deferred):
                    with attempt:
                        delivery.attempts += 1
                        delivery.record(send)
                if delivery.refused:
                    raise delivery.refusal()
            except Exception as error:
                self.log.failed(
                    delivery.message.msgId,
                    email,
                    error,
                    delivery.undelivered,
                    delivery.delivered,
                    delivery.attempts,
                    delivery.refused,
                )
                raise
            self.log.sent(delivery)
        finally:
            # Whoever the server accepted never gets it again, whatever happens next.
            left = delivery.undelivered
            if left and left != stored.recipients:
                self.failed.readdress(stored, left)

    def _log_retry(
        self, delivery: Delivery, email: str
    ) -> Callable[[tenacity.RetryCallState], None]:
        def log(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.log.deferred(delivery, error)
            logger.warning(
                "%s to %s: attempt %d failed (%s); retrying",
                email,
                ", ".join(delivery.pending),
                state.attempt_number,
                error,
            )

        return log

    def keep_failed(
        self, message: Message, error: BaseException, attempts: int | Delivery
    ) -> SendError:
        """Store ``message`` in the failed folder for the recipients that did not get it (all,
        unless ``attempts`` is the :class:`Delivery` that knows); the SendError describing it."""
        delivery = attempts if isinstance(attempts, Delivery) else None
        count = delivery.attempts if delivery is not None else int(attempts)  # type: ignore[arg-type]
        recipients = delivery.undelivered if delivery is not None else message.envelope_recipients
        delivered = delivery.delivered if delivery is not None else []
        email = message.email_name or "message"
        code, reply = smtp_answer(error)
        kind = "transient" if is_transient(error) else "permanent"
        reason = f"{type(error).__name__}: {error}"
        if delivery is not None and delivery.refused:
            refusals = "; ".join(f"{r}: {c} {t}" for r, (c, t) in delivery.refused.items())
            if getattr(error, "recipients", None) != delivery.refused:
                reason = f"{reason}; refused for good: {refusals}"
        stored = self.failed.save(
            message,
            email=email,
            reason=reason,
            smtp_code=code,
            attempts=count,
            recipients=recipients,
            delivered=delivered,
            category=message.category,
        )
        self.log.failed(
            message.msgId,
            email,
            error,
            recipients,
            delivered,
            count,
            delivery.refused if delivery is not None else None,
        )
        logger.error(
            "%s to %s failed after %d attempt(s): %s; kept in %s",
            email,
            ", ".join(recipients),
            count,
            reason,
            stored.path,
        )
        also = f" It was delivered to {', '.join(delivered)}." if delivered else ""
        return SendError(
            f"{email} to {', '.join(recipients)}: {kind} failure after {count} attempt(s): "
            f"{reason}.{also} The message is kept in {stored.path} for these recipients only; "
            "send it again with `flask emailkit resend-failed`.",
            email=email,
            recipients=recipients,
            message_id=message.msgId,
            attempts=count,
            smtp_code=code,
            smtp_reply=reply,
            saved_to=str(stored.path),
        )


def check_sendable(message: Message, email: str) -> None:
    """Refuse a message Flask-Mail would refuse with a bare assertion."""
    if not message.send_to:
        raise AddressError(f"{email}: the message has no recipients; pass to=...")
    if not message.sender:
        raise ConfigError(
            f"{email}: the message has no sender; set MAIL_DEFAULT_SENDER or pass sender=..."
        )
