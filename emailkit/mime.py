"""Building the MIME message: a :class:`flask_mail.Message` whose lines always fit SMTP.

Flask-Mail registers UTF-8 as 8-bit with no transfer encoding, so a long HTML line reaches
the server unwrapped and strict servers refuse lines over 998 octets. :class:`Message`
builds its MIME itself: text and HTML in quoted-printable (encoded by ``binascii``, in C),
attachments in base64, headers folded, CRLF line ends, and the structure
multipart/mixed > multipart/related > multipart/alternative as the parts require.
"""

from __future__ import annotations

import binascii
import mimetypes
import os
import re
import time
from collections.abc import Iterable, Mapping
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from pathlib import Path

import flask_mail
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context

from .errors import AddressError, HeaderError

Recipient = str | tuple[str, str]
AttachmentSource = str | os.PathLike[str] | bytes

# Passed to Flask-Mail's constructor so it does not look up a default sender outside an app.
_NO_SENDER = "\0"
_CID_REFERENCE = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)


def check_header(field: str, value: object) -> None:
    """Refuse a header value holding CR or LF: it could smuggle in headers of its own."""
    text = " ".join(value) if isinstance(value, tuple) else str(value)
    if "\r" in text or "\n" in text:
        raise HeaderError(
            f"{field} contains a line break ({text!r}); a header value must be one line. "
            "Remove CR and LF from the value."
        )


def check_address(field: str, value: Recipient) -> None:
    """Refuse a malformed address, naming the field; display names are allowed."""
    check_header(field, value)
    address = value[1] if isinstance(value, tuple) else parseaddr(value)[1]
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise AddressError(
            f"{field} address {value!r} is not valid: {error} Fix the address."
        ) from None


def recipients_list(value: Recipient | Iterable[Recipient] | None) -> list[Recipient]:
    """``"a@x"``, ``("Name", "a@x")`` or an iterable of those, as a list."""
    if value is None:
        return []
    if isinstance(value, (str, tuple)):
        return [value]
    return list(value)


def attachment(
    source: AttachmentSource, filename: str | None = None, content_type: str | None = None
) -> flask_mail.Attachment:
    """A file attachment from a path or bytes (bytes need a ``filename``)."""
    data, filename = _read(source, filename)
    return flask_mail.Attachment(filename, content_type or _guess_type(filename), data)


def inline_image(
    cid: str, source: AttachmentSource, content_type: str | None = None
) -> flask_mail.Attachment:
    """An image the HTML shows with ``<img src="cid:{cid}">``, sent in multipart/related."""
    data, filename = _read(source, None)
    if content_type is None and filename is None:
        raise ValueError(f"inline_image({cid!r}, bytes) needs content_type, e.g. 'image/png'")
    return flask_mail.Attachment(
        filename,
        content_type or _guess_type(filename),
        data,
        "inline",
        headers={"Content-ID": f"<{cid}>"},
    )


def as_attachment(item: flask_mail.Attachment | os.PathLike[str]) -> flask_mail.Attachment:
    if isinstance(item, flask_mail.Attachment):
        return item
    if isinstance(item, os.PathLike):
        return attachment(item)
    raise TypeError(f"attachments take paths or emailkit.attachment(...), not {item!r}")


def content_id(item: flask_mail.Attachment) -> str | None:
    """The Content-ID of an inline attachment, without angle brackets."""
    if item.disposition != "inline":
        return None
    value = (item.headers or {}).get("Content-ID")
    return value.strip("<>") if value else None


def cid_references(html: str) -> set[str]:
    return set(_CID_REFERENCE.findall(html))


def _read(source: AttachmentSource, filename: str | None) -> tuple[bytes, str | None]:
    if isinstance(source, bytes):
        return source, filename
    path = Path(source)
    return path.read_bytes(), filename or path.name


def _guess_type(filename: str | None) -> str:
    guessed, _ = mimetypes.guess_type(filename or "")
    return guessed or "application/octet-stream"


def _default_sender() -> Recipient | None:
    if has_app_context() and "mail" in current_app.extensions:
        return current_app.extensions["mail"].default_sender
    return None


class Message(flask_mail.Message):
    """A Flask-Mail message with encoded parts (every line within 998 octets).

    Every address is validated and every header value checked for CR/LF when it is built.
    ``email_name`` names the email it was rendered from, for logs and stored copies.
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
        message_id: str | None = None,
        email_name: str = "",
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
        if message_id is not None:
            self.msgId = message_id
        self.email_name = email_name
        self._check_headers()

    def _check_headers(self) -> None:
        check_header("subject", self.subject)
        if self.sender:
            check_address("sender", self.sender)
        if self.reply_to:
            check_address("reply_to", self.reply_to)
        for field in ("recipients", "cc", "bcc"):
            for address in getattr(self, field):
                check_address("to" if field == "recipients" else field, address)
        for name, value in (self.extra_headers or {}).items():
            check_header(f"header name {name!r}", name)
            check_header(f"header {name!r}", value)

    @property
    def envelope_recipients(self) -> list[str]:
        """Every address the message goes to (To, Cc and Bcc), without display names."""
        addresses = [*self.recipients, *self.cc, *self.bcc]
        found = (a[1] if isinstance(a, tuple) else parseaddr(a)[1] for a in addresses)
        return list(dict.fromkeys(found))

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
        message["MIME-Version"] = "1.0"
        body = _text_part(self.body or "", "plain")
        if self.html is not None:
            body = _multipart("alternative", [body, _text_part(self.html, "html")])
        inline = [_file_part(item) for item in self.attachments if content_id(item)]
        files = [_file_part(item) for item in self.attachments if not content_id(item)]
        if inline:
            body = _multipart("related", [body, *inline])
        if files:
            body = _multipart("mixed", [body, *files])
        _adopt(message, body)
        return message


def _multipart(subtype: str, parts: list[MIMEPart]) -> MIMEPart:
    container = MIMEPart(policy=SMTP)
    container["Content-Type"] = f"multipart/{subtype}"
    for part in parts:
        container.attach(part)
    return container


def _file_part(item: flask_mail.Attachment) -> MIMEPart:
    """An attachment in base64; inline (with its Content-ID) when it has one."""
    maintype, _, subtype = (item.content_type or "application/octet-stream").partition("/")
    data = item.data.encode("utf-8") if isinstance(item.data, str) else item.data
    part = MIMEPart(policy=SMTP)
    cid = content_id(item)
    part.set_content(
        data,
        maintype=maintype,
        subtype=subtype or "octet-stream",
        disposition="inline" if cid else (item.disposition or "attachment"),
        filename=item.filename,
        cid=f"<{cid}>" if cid else None,
    )
    return part


def _text_part(text: str, subtype: str) -> MIMEPart:
    """A UTF-8 text part in quoted-printable: lines of at most 76 characters."""
    part = MIMEPart(policy=SMTP)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    part.set_payload(binascii.b2a_qp(normalized, istext=True).decode("ascii"))
    return part


def _adopt(message: EmailMessage, part: MIMEPart) -> None:
    """Give ``message`` the content of ``part``: its content headers and payload."""
    for name, value in part.items():
        message[name] = value
    message.set_payload(part.get_payload())


def _address(value: Recipient) -> Address:
    name, addr = value if isinstance(value, tuple) else parseaddr(value)
    local, _, domain = addr.rpartition("@")
    if not local:
        return Address(display_name=name, addr_spec=addr)
    return Address(display_name=name, username=local, domain=domain.encode("idna").decode("ascii"))
