"""Delivering messages: through Flask-Mail's SMTP connection or into the local outbox, with
retries for transient failures, and every message that finally fails kept on disk.
"""

from __future__ import annotations

import logging
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import flask_mail
import tenacity
from flask import current_app

from .errors import AddressError, ConfigError, SendError
from .mailfolder import MailFolder, StoredMessage
from .mime import Message

logger = logging.getLogger("emailkit")


def is_transient(error: BaseException) -> bool:
    """Whether sending again later may succeed: connection trouble, timeouts and 4xx replies."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, (smtplib.SMTPServerDisconnected, OSError, socket.timeout))


def smtp_answer(error: BaseException) -> tuple[int | None, str | None]:
    """The SMTP code and reply behind ``error``, when the server gave one."""
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code, refused = next(iter(error.recipients.values()))
        return code, _text(refused)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code, _text(error.smtp_error)
    return None, None


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


class Connection(Protocol):
    def send(self, message: Message) -> None: ...

    def send_raw(self, sender: str, recipients: list[str], data: bytes) -> None: ...

    def close(self) -> None: ...


class _DataMixin:
    """smtplib's DATA with its dot-stuffing done by ``bytes.replace``.

    smtplib quotes leading dots with a multi-line regex: 120 us for a 20 KB message, a tenth
    of the cost of sending it. This is the same transformation, in C.
    """

    #: Called once a message's data is on the wire, while the server digests it.
    on_data_sent: Callable[[], None] | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        self.putcmd("data")  # type: ignore[attr-defined]
        code, reply = self.getreply()  # type: ignore[attr-defined]
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = msg.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
            msg = msg.encode("ascii")
        quoted = msg.replace(b"\n.", b"\n..")
        if quoted.startswith(b"."):
            quoted = b"." + quoted
        if not quoted.endswith(b"\r\n"):
            quoted += b"\r\n"
        self.send(quoted + b".\r\n")  # type: ignore[attr-defined]
        if self.on_data_sent is not None:
            self.on_data_sent()
        return self.getreply()  # type: ignore[attr-defined,no-any-return]


class _SMTP(_DataMixin, smtplib.SMTP):  # type: ignore[misc]
    pass


class _SMTP_SSL(_DataMixin, smtplib.SMTP_SSL):  # type: ignore[misc]
    pass


class _SmtpConnection(flask_mail.Connection):
    """Flask-Mail's connection, with a timeout (Flask-Mail's own waits forever)."""

    def __init__(self, mail: Any, timeout: float) -> None:
        super().__init__(mail)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        mail = self.mail
        smtp_class = _SMTP_SSL if mail.use_ssl else _SMTP
        host = smtp_class(mail.server, mail.port, timeout=self.timeout)
        host.set_debuglevel(int(mail.debug))
        if mail.use_tls:
            host.starttls()
        if mail.username and mail.password:
            host.login(mail.username, mail.password)
        return host

    def send_raw(self, sender: str, recipients: list[str], data: bytes) -> None:
        if self.host is not None:
            self.host.sendmail(sender, recipients, data)

    def close(self) -> None:
        if self.host is None:
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            self.host.close()
        self.host = None


class _OutboxConnection:
    """Writes each message into the outbox folder instead of sending it anywhere."""

    def __init__(self, folder: MailFolder) -> None:
        self.folder = folder

    def send(self, message: Message) -> None:
        stored = self.folder.save(message, email=message.email_name or "message")
        logger.info(
            "outbox: %s to %s written to %s (no MAIL_SERVER: nothing left this machine)",
            stored.meta["email"],
            ", ".join(stored.recipients),
            stored.path,
        )
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        flask_mail.email_dispatched.send(app, message=message)

    def send_raw(self, sender: str, recipients: list[str], data: bytes) -> None:
        raise ConfigError("resending needs an SMTP server; MAIL_SERVER is not set")

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried."""

    attempts: int = 4
    delay: float = 1.0
    max_delay: float = 30.0

    def retrying(
        self, before_sleep: Callable[[tenacity.RetryCallState], None]
    ) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.delay, max=self.max_delay, jitter=self.delay
            ),
            retry=tenacity.retry_if_exception(is_transient),
            before_sleep=before_sleep,
            reraise=True,
        )


@dataclass
class FailedMessage:
    """A message :func:`send_many` could not deliver (or not build), and where it was kept."""

    email: str
    recipients: list[str]
    reason: str
    message_id: str | None = None
    saved_to: str | None = None


@dataclass
class SendReport:
    """What :meth:`EmailKit.send_many` did: counts, and every failure with its reason."""

    sent: int = 0
    retried: int = 0
    failed: list[FailedMessage] = field(default_factory=list)


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
    ) -> None:
        self.mail = mail
        self.outbox = outbox
        self.failed = failed
        self.policy = policy
        self.timeout = timeout

    def connect(self) -> Connection:
        if self.outbox is not None:
            return _OutboxConnection(self.outbox)
        connection = _SmtpConnection(self.mail, self.timeout)
        connection.__enter__()
        return connection

    def deliver(self, message: Message) -> str:
        """Send one message on its own connection; returns its Message-ID or raises SendError."""
        email = message.email_name or "message"
        check_sendable(message, email)
        attempts = 0
        try:
            for attempt in self.policy.retrying(before_sleep=self._log_retry(message, email)):
                with attempt:
                    attempts += 1
                    self.send_once(message)
        except Exception as error:
            raise self.keep_failed(message, error, attempts) from error
        return message.msgId

    def send_once(self, message: Message) -> None:
        """One attempt on a new connection; the caller decides about retries (Celery does)."""
        check_sendable(message, message.email_name or "message")
        connection = self.connect()
        try:
            connection.send(message)
        finally:
            connection.close()

    def resend_failed(self) -> SendReport:
        """Send every message in the failed folder again; those delivered leave the folder."""
        report = SendReport()
        for stored in list(self.failed):
            try:
                self._resend(stored)
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
        for attempt in self.policy.retrying(before_sleep=lambda state: None):
            with attempt:
                connection = self.connect()
                try:
                    connection.send_raw(stored.sender, stored.recipients, stored.read())
                finally:
                    connection.close()

    def _log_retry(self, message: Message, email: str) -> Callable[[tenacity.RetryCallState], None]:
        def log(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.warning(
                "%s to %s: attempt %d failed (%s); retrying",
                email,
                ", ".join(message.envelope_recipients),
                state.attempt_number,
                error,
            )

        return log

    def keep_failed(self, message: Message, error: BaseException, attempts: int) -> SendError:
        """Store ``message`` in the failed folder; the SendError that describes it."""
        email = message.email_name or "message"
        code, reply = smtp_answer(error)
        kind = "transient" if is_transient(error) else "permanent"
        reason = f"{type(error).__name__}: {error}"
        stored = self.failed.save(
            message, email=email, reason=reason, smtp_code=code, attempts=attempts
        )
        recipients = message.envelope_recipients
        logger.error(
            "%s to %s failed after %d attempt(s): %s; kept in %s",
            email,
            ", ".join(recipients),
            attempts,
            reason,
            stored.path,
        )
        return SendError(
            f"{email} to {', '.join(recipients)}: {kind} failure after {attempts} attempt(s): "
            f"{reason}. The message is kept in {stored.path}; "
            "send it again with `flask emailkit resend-failed`.",
            email=email,
            recipients=recipients,
            message_id=message.msgId,
            attempts=attempts,
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
