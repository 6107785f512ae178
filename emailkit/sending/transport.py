"""The SMTP connection: TLS that checks who the server is, credentials only over encryption,
and one mail transaction per message that reports each recipient's answer.

Flask-Mail calls ``starttls()`` without an SSL context, and Python then checks nothing: any
certificate is accepted, so a man in the middle receives the login. Here STARTTLS and implicit
TLS use a default context (the system's CAs, or ``EMAILKIT_SMTP_CAFILE``) that verifies the
certificate and the host name before a password is sent.
"""

from __future__ import annotations

import logging
import select
import smtplib
import ssl
import time
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

import flask_mail
import idna
from flask import current_app

from ..errors import AddressError, ConfigError
from ..mime.message import Message
from .pipelining import dot_stuffed, pipelined_sendmail
from .smtpsettings import SmtpSettings, is_loopback
from .verp import envelope_sender, uses_verp

logger = logging.getLogger("emailkit")

Refusals = dict[str, tuple[int, str]]
"""Recipients the server refused at RCPT, with its code and reply."""


def wire_bytes(message: Message) -> bytes:
    """The exact bytes of ``message`` that go to the SMTP server: the one place a message
    becomes what is sent (a signer that must sign the final bytes hooks in here)."""
    return message.as_bytes()


def reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def envelope_address(address: str | tuple[str, str]) -> str:
    """The address as SMTP's MAIL FROM / RCPT TO want it: no display name, IDNA domain.

    A non-ASCII local part stays as it is (it needs the server's SMTPUTF8).
    """
    plain = address[1] if isinstance(address, tuple) else parseaddr(address)[1] or address
    local, at, domain = plain.rpartition("@")
    if not at or domain.isascii():
        return plain
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise AddressError(
            f"the domain of {plain!r} cannot be written in ASCII for SMTP ({error}); "
            "check the address for a typo"
        ) from error
    return f"{local}@{ascii_domain}"


class _DataMixin:
    """smtplib's DATA with its dot-stuffing done by ``bytes.replace`` (see
    :func:`~emailkit.sending.pipelining.dot_stuffed`)."""

    #: Called once a message's data is on the wire, while the server digests it.
    on_data_sent: Callable[[], None] | None = None
    #: The server's reply to the last message's data.
    data_reply: tuple[int, bytes] | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        self.putcmd("data")  # type: ignore[attr-defined]
        code, reply = self.getreply()  # type: ignore[attr-defined]
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = msg.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
            msg = msg.encode("ascii")
        self.send(dot_stuffed(msg))  # type: ignore[attr-defined]
        if self.on_data_sent is not None:
            self.on_data_sent()
        answer: tuple[int, bytes] = self.getreply()  # type: ignore[attr-defined]
        self.data_reply = answer  # the relay's answer, for the delivery log
        return answer


class _QuietLoginMixin:
    """smtplib's login with its debug output off: at ``MAIL_DEBUG`` (Flask-Mail's default in a
    debug app) smtplib prints every command it sends, ``AUTH PLAIN <base64 password>`` too."""

    def login(self, user: str, password: str, *, initial_response_ok: bool = True) -> Any:
        level = self.debuglevel  # type: ignore[attr-defined]
        if level:
            self._print_debug("AUTH: login not shown (it holds the password)")  # type: ignore[attr-defined]
        self.set_debuglevel(0)  # type: ignore[attr-defined]
        try:
            return super().login(  # type: ignore[misc]
                user, password, initial_response_ok=initial_response_ok
            )
        finally:
            self.set_debuglevel(level)  # type: ignore[attr-defined]


class _SMTP(_QuietLoginMixin, _DataMixin, smtplib.SMTP):  # type: ignore[misc]
    pass


class _SMTP_SSL(_QuietLoginMixin, _DataMixin, smtplib.SMTP_SSL):  # type: ignore[misc]
    pass


class SmtpConnection:
    """One SMTP session; ``send`` runs one mail transaction and returns the RCPT refusals.

    With ``MAIL_SUPPRESS_SEND`` (Flask-Mail's default in testing apps) nothing connects and
    messages only reach Flask-Mail's ``email_dispatched`` signal.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        suppress: bool = False,
        pipelining: bool = True,
        warn_unverified: bool = True,
    ) -> None:
        self.settings = settings
        self.suppress = suppress
        self.pipelining = pipelining
        self.sent = 0
        self.host: _SMTP | _SMTP_SSL | None = None
        self.last_used = time.monotonic()
        self._warn_unverified = warn_unverified
        self.last_reply: str | None = None  # the server's answer to the last message

    def warn_if_unverified(self) -> None:
        """Log that the certificate is not checked (EMAILKIT_SMTP_VERIFY off)."""
        settings = self.settings
        if not settings.verify and settings.encrypted:
            logger.warning(
                "%s:%d: the server's TLS certificate is not checked (EMAILKIT_SMTP_VERIFY is "
                "off): anyone on the network path can read this connection's login and mail",
                settings.server,
                settings.port,
            )

    def open(self) -> None:
        if self.suppress:
            return
        settings = self.settings
        if self._warn_unverified:
            self.warn_if_unverified()
        try:
            host: _SMTP | _SMTP_SSL
            if settings.use_ssl:
                host = _SMTP_SSL(
                    settings.server,
                    settings.port,
                    timeout=settings.timeout,
                    context=settings.context,
                )
            else:
                host = _SMTP(settings.server, settings.port, timeout=settings.timeout)
            self.host = host
            host.set_debuglevel(settings.debug)
            if settings.use_tls:
                host.ehlo()
                if not host.has_extn("starttls"):
                    raise ConfigError(
                        f"{settings.server}:{settings.port} does not offer STARTTLS, so the "
                        "connection cannot be encrypted: check MAIL_PORT, or use MAIL_USE_SSL "
                        "for a server that expects TLS from the start"
                    )
                host.starttls(context=settings.context)
                host.ehlo()
        except ssl.SSLCertVerificationError as error:
            self.close()
            raise ConfigError(
                f"{settings.server}:{settings.port}: the server's TLS certificate was refused: "
                f"{error.verify_message or error.reason} (nothing was sent, no password either). "
                "If the server uses a private CA, set EMAILKIT_SMTP_CAFILE to its PEM "
                "certificate; if the host name differs, set MAIL_SERVER to a name the "
                "certificate lists."
            ) from error
        except BaseException:
            self.close()
            raise
        if settings.logs_in:
            peer = str(host.sock.getpeername()[0]) if host.sock else settings.server
            if not (settings.encrypted or settings.allow_plaintext_auth or is_loopback(peer)):
                self.close()
                raise settings.plaintext_auth_error(peer)
            host.login(settings.username or "", settings.password or "")

    @property
    def full(self) -> bool:
        """Whether ``MAIL_MAX_EMAILS`` messages went over this session: time for a new one."""
        limit = self.settings.max_emails
        return bool(limit) and self.sent >= limit  # type: ignore[operator]

    def send(self, message: Message, recipients: list[str] | None = None) -> Refusals:
        """Send ``message`` to ``recipients`` (all of its own by default).

        Returns the recipients refused with a reply while others were accepted; raises
        ``SMTPRecipientsRefused`` when all were, other smtplib errors or OSError otherwise.
        """
        recipients = recipients if recipients is not None else message.envelope_recipients
        if uses_verp():
            refused = self._send_per_recipient(message, recipients)
        else:
            refused = self.send_raw(message.sender, recipients, wire_bytes(message))
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        flask_mail.email_dispatched.send(app, message=message)
        return refused

    def _send_per_recipient(self, message: Message, recipients: list[str]) -> Refusals:
        """One transaction per recipient, each with its VERP envelope sender (see
        :mod:`emailkit.sending.verp`). Raises only while nobody has the message: once one recipient
        does, a failure leaves the rest refused with 451, for a retry to send them alone."""
        data = wire_bytes(message)
        refused: Refusals = {}
        accepted = 0
        for index, recipient in enumerate(recipients):
            try:
                answer = self.send_raw(envelope_sender(message, recipient), [recipient], data)
            except smtplib.SMTPRecipientsRefused as error:
                answer = {
                    r: (code, reply_text(text)) for r, (code, text) in error.recipients.items()
                }
            except smtplib.SMTPDataError as error:  # this recipient's copy, refused at DATA
                answer = {recipient: (error.smtp_code, reply_text(error.smtp_error))}
            except (smtplib.SMTPException, OSError) as error:
                if not accepted:
                    raise
                reason = f"not sent yet ({type(error).__name__}: {error})"
                refused.update({r: (451, reason) for r in recipients[index:]})
                break
            refused.update(answer)
            accepted += recipient not in answer
        if not accepted and recipients:
            raise smtplib.SMTPRecipientsRefused(refused)  # type: ignore[arg-type]
        return refused

    def send_raw(
        self, sender: str | tuple[str, str], recipients: list[str], data: bytes
    ) -> Refusals:
        if self.suppress:
            return {}
        if self.host is None:
            raise smtplib.SMTPServerDisconnected("the connection is closed")
        # DKIM: the one place message bytes go to the wire (send, retries, bulk, Celery,
        # resend-failed), so each is signed as sent, after folding and encoding.
        if self.settings.dkim is not None:
            data = self.settings.dkim.sign(data)
        envelope = {envelope_address(r): r for r in recipients}
        mail_from = envelope_address(sender)
        options: list[str] = []
        self.host.ehlo_or_helo_if_needed()  # what the server offers, before choosing
        if not all(a.isascii() for a in (mail_from, *envelope)):
            if not self.host.has_extn("smtputf8"):
                raise AddressError(
                    f"{', '.join(a for a in (mail_from, *envelope) if not a.isascii())}: a "
                    f"non-ASCII mailbox name needs SMTPUTF8, which {self.settings.server} does "
                    "not offer; ask the recipient for an ASCII address"
                )
            options = ["SMTPUTF8"]
        try:
            if self.pipelining and self.host.has_extn("pipelining"):
                refused = pipelined_sendmail(
                    self.host, mail_from, list(envelope), data, options, self.host.on_data_sent
                )
            else:
                refused = self.host.sendmail(mail_from, list(envelope), data, options)
        except smtplib.SMTPRecipientsRefused as error:
            raise smtplib.SMTPRecipientsRefused(
                {envelope.get(k, k): v for k, v in error.recipients.items()}
            ) from error
        self.sent += 1
        self.last_used = time.monotonic()
        answer = self.host.data_reply
        self.last_reply = f"{answer[0]} {reply_text(answer[1])}" if answer else None
        return {envelope.get(k, k): (code, reply_text(text)) for k, (code, text) in refused.items()}

    def usable(self, check_after: float) -> bool:
        """Whether this open connection may carry another message.

        A server that hung up (or said 421 and hung up) while the connection sat idle left
        it readable: that costs no round trip to notice. Idle longer than ``check_after``
        seconds, a NOOP also finds connections a firewall dropped silently.
        """
        if self.suppress:
            return True
        host = self.host
        if host is None or host.sock is None:
            return False
        try:
            readable, _, _ = select.select([host.sock], [], [], 0)
            if readable:
                return False
            if time.monotonic() - self.last_used > check_after:
                code, _ = host.noop()
                self.last_used = time.monotonic()
                return code == 250
        except (smtplib.SMTPException, OSError, ValueError):
            return False
        return True

    def close(self) -> None:
        host, self.host = self.host, None
        if host is None:
            return
        try:
            host.quit()
        except (smtplib.SMTPException, OSError):
            host.close()
