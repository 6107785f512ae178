"""Building the MIME message: a :class:`flask_mail.Message` whose lines always fit SMTP.

Flask-Mail registers UTF-8 as 8-bit with no transfer encoding, so a long HTML line reaches
the server unwrapped and strict servers refuse lines over 998 octets. :class:`Message`
builds its MIME with the standard library's ``EmailMessage`` instead: text and HTML parts in
quoted-printable, attachments in base64, headers folded, CRLF line ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, getaddresses

import flask_mail
from flask import current_app, has_app_context

from .errors import HeaderError

Recipient = str | tuple[str, str]

# Passed to Flask-Mail's constructor so it does not look up a default sender outside an app.
_NO_SENDER = "\0"


def check_header(field: str, value: object) -> None:
    """Refuse a header value holding CR or LF: it could smuggle in headers of its own."""
    text = " ".join(value) if isinstance(value, tuple) else str(value)
    if "\r" in text or "\n" in text:
        raise HeaderError(
            f"{field} contains a line break ({text!r}); a header value must be one line. "
            "Remove CR and LF from the value."
        )


def recipients_list(value: Recipient | Iterable[Recipient] | None) -> list[Recipient]:
    """``"a@x"``, ``("Name", "a@x")`` or an iterable of those, as a list."""
    if value is None:
        return []
    if isinstance(value, (str, tuple)):
        return [value]
    return list(value)


def _default_sender() -> Recipient | None:
    if has_app_context() and "mail" in current_app.extensions:
        return current_app.extensions["mail"].default_sender
    return None


class Message(flask_mail.Message):
    """A Flask-Mail message with encoded parts (every line within 998 octets).

    Send it with Flask-Mail as usual (``mail.send(message)``); ``as_bytes()`` works with or
    without an application context.
    """

    def __init__(
        self,
        subject: str = "",
        recipients: Iterable[Recipient] | None = None,
        body: str | None = None,
        html: str | None = None,
        sender: Recipient | None = None,
        cc: Iterable[Recipient] | None = None,
        bcc: Iterable[Recipient] | None = None,
        attachments: list[flask_mail.Attachment] | None = None,
        reply_to: Recipient | None = None,
        date: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        resolved_sender = sender or _default_sender()
        super().__init__(
            subject=subject,
            recipients=list(recipients or []),
            body=body,
            html=html,
            sender=resolved_sender or _NO_SENDER,
            cc=list(cc or []),
            bcc=list(bcc or []),
            attachments=attachments,
            reply_to=reply_to,
            date=date,
            extra_headers=dict(extra_headers or {}),
        )
        if resolved_sender is None:
            self.sender = None  # type: ignore[assignment]
        self._check_headers()

    def _check_headers(self) -> None:
        check_header("subject", self.subject)
        if self.sender:
            check_header("sender", self.sender)
        if self.reply_to:
            check_header("reply_to", self.reply_to)
        for field in ("recipients", "cc", "bcc"):
            for address in getattr(self, field):
                check_header(field, address)
        for name, value in (self.extra_headers or {}).items():
            check_header(f"header name {name!r}", name)
            check_header(f"header {name!r}", value)

    def _message(self) -> EmailMessage:  # type: ignore[override]
        message = EmailMessage(policy=SMTP)
        if self.subject:
            message["Subject"] = self.subject
        if self.sender:
            message["From"] = _address(self.sender)
        if self.recipients:
            message["To"] = [_address(r) for r in dict.fromkeys(self.recipients)]
        if self.cc:
            message["Cc"] = [_address(r) for r in dict.fromkeys(self.cc)]
        if self.reply_to:
            message["Reply-To"] = _address(self.reply_to)
        message["Date"] = formatdate(self.date or time.time(), localtime=True)
        message["Message-ID"] = self.msgId
        for name, value in (self.extra_headers or {}).items():
            message[name] = value
        message.set_content(self.body or "", cte="quoted-printable")
        if self.html is not None:
            message.add_alternative(self.html, subtype="html", cte="quoted-printable")
        for attachment in self.attachments:
            maintype, _, subtype = (
                attachment.content_type or "application/octet-stream"
            ).partition("/")
            data = attachment.data
            if isinstance(data, str):
                data = data.encode("utf-8")
            message.add_attachment(
                data,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
                disposition=attachment.disposition or "attachment",
            )
        return message


def _address(value: Recipient) -> Address:
    if isinstance(value, tuple):
        name, addr = value
    else:
        ((name, addr),) = getaddresses([value]) or [("", value)]
    local, _, domain = addr.rpartition("@")
    if not local:
        return Address(display_name=name, addr_spec=addr)
    return Address(display_name=name, username=local, domain=domain.encode("idna").decode("ascii"))
