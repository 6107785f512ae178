"""One message's way to its recipients: who has it, who is still due, who refused it for good.

The server may accept some recipients of a message and refuse others. Those refused with
4xx are tried again, those refused with 5xx are reported; a recipient whose message the
server accepted is never sent it again nor kept for resending.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from typing import Protocol

from ..mime.message import Message
from .transport import Refusals, reply_text


def is_transient(error: BaseException) -> bool:
    """Whether sending again later may succeed: connection trouble, timeouts and 4xx replies."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, (smtplib.SMTPException, ssl.SSLCertVerificationError)):
        # No AUTH offered, no suitable mechanism, an untrusted certificate: waiting does not
        # change them (SMTPException is an OSError, so it must be told apart here).
        return False
    return isinstance(error, (OSError, socket.timeout))


def smtp_answer(error: BaseException) -> tuple[int | None, str | None]:
    """The SMTP code and reply behind ``error``, when the server gave one."""
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code, refused = next(iter(error.recipients.values()))
        return code, reply_text(refused)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code, reply_text(error.smtp_error)
    return None, None


class Connection(Protocol):
    def send(self, message: Message, recipients: list[str] | None = None) -> Refusals: ...

    def send_raw(
        self, sender: str | tuple[str, str], recipients: list[str], data: bytes
    ) -> Refusals: ...

    def close(self) -> None: ...

    @property
    def full(self) -> bool: ...


class Delivery:
    """One message on its way: which recipients are still due, which refused it for good."""

    def __init__(self, message: Message, recipients: list[str] | None = None) -> None:
        self.message = message
        self.recipients = list(
            recipients if recipients is not None else message.envelope_recipients
        )
        self.pending = list(self.recipients)
        self.refused: Refusals = {}
        self.attempts = 0
        self.reply: str | None = None  # the relay's last answer, for the delivery log
        self.relay: str | None = None  # the relay it last went to (host:port), likewise

    def attempt(self, connection: Connection) -> None:
        """Send to the pending recipients; raises for what is still pending afterwards."""
        try:
            self.record(lambda: connection.send(self.message, self.pending))
        finally:
            self.reply = getattr(connection, "last_reply", None)

    def record(self, send: Callable[[], Refusals]) -> None:
        """Run ``send`` and note each recipient's answer; raises while some are still due."""
        try:
            refused = send()
        except smtplib.SMTPRecipientsRefused as error:
            # Nothing went out: smtplib raises when all were refused, or at a 421 part-way
            # through (then the recipients after it were never even asked).
            refused = {r: (code, reply_text(text)) for r, (code, text) in error.recipients.items()}
            accepted: set[str] = set()
        else:
            accepted = {r for r in self.pending if r not in refused}
        permanent = {r: a for r, a in refused.items() if not 400 <= a[0] < 500}
        self.refused.update(permanent)
        self.pending = [r for r in self.pending if r not in accepted and r not in permanent]
        if self.pending:
            deferred = {r: a for r, a in refused.items() if r in self.pending}
            raise smtplib.SMTPRecipientsRefused(deferred)  # type: ignore[arg-type]

    @property
    def undelivered(self) -> list[str]:
        return [*self.pending, *(r for r in self.refused if r not in self.pending)]

    @property
    def delivered(self) -> list[str]:
        missing = set(self.undelivered)
        return [r for r in self.recipients if r not in missing]

    def refusal(self) -> smtplib.SMTPRecipientsRefused:
        return smtplib.SMTPRecipientsRefused(self.refused)  # type: ignore[arg-type]
