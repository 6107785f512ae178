"""Building the MIME message: a :class:`flask_mail.Message` whose lines always fit SMTP.

Flask-Mail registers UTF-8 as 8-bit with no transfer encoding, so a long HTML line reaches
the server unwrapped and strict servers refuse lines over 998 octets. :class:`Message`
writes its MIME with :mod:`emailkit.wire`: text and HTML in quoted-printable, attachments in
base64, headers folded, CRLF line ends, and the structure
multipart/mixed > multipart/related > multipart/alternative as the parts require.
"""

from __future__ import annotations

import functools
import mimetypes
import os
import re
import socket
import time
from collections.abc import Iterable, Mapping
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

import flask_mail
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context

from . import wire
from .errors import AddressError, HeaderError

Recipient = str | tuple[str, str]
AttachmentSource = str | os.PathLike[str] | bytes

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
    problem = _address_problem(address)
    if problem:
        raise AddressError(f"{field} address {value!r} is not valid: {problem} Fix the address.")


@functools.lru_cache(maxsize=4096)
def _address_problem(address: str) -> str | None:
    """Why ``address`` is not valid, or None; cached, since senders repeat on every message."""
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        return str(error)
    return None


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
    if "cid:" not in html.lower():  # a plain search is much faster than the pattern
        return set()
    return set(_CID_REFERENCE.findall(html))


def _read(source: AttachmentSource, filename: str | None) -> tuple[bytes, str | None]:
    if isinstance(source, bytes):
        return source, filename
    path = Path(source)
    return path.read_bytes(), filename or path.name


def _guess_type(filename: str | None) -> str:
    guessed, _ = mimetypes.guess_type(filename or "")
    return guessed or "application/octet-stream"


def _message_id_domain(sender: Recipient | None) -> str:
    """The sender's domain (so Message-IDs align with From), else this host's name."""
    address = (sender[1] if isinstance(sender, tuple) else parseaddr(sender)[1]) if sender else ""
    domain = address.rpartition("@")[2]
    return domain.encode("idna").decode("ascii") if domain else _host_name()


@functools.cache
def _host_name() -> str:
    return socket.getfqdn()


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
        # Flask-Mail's constructor is not called: it looks up the app for a default sender
        # and makes a Message-ID with socket.getfqdn(), a DNS lookup, for every message.
        # These are the attributes it sets, which Flask-Mail's connection reads.
        self.subject = subject
        self.recipients = list(recipients or [])
        self.sender = sender or _default_sender()  # type: ignore[assignment]
        self.reply_to = reply_to
        self.cc = list(cc or [])
        self.bcc = list(bcc or [])
        self.body = body
        self.alts: dict[str, str] = {}
        self.html = html
        self.date = date
        self.charset = None
        self.extra_headers = dict(extra_headers or {})
        self.mail_options: list[str] = []
        self.rcpt_options: list[str] = []
        self.attachments = list(attachments or [])
        self.email_name = email_name
        self._check_headers()
        self.msgId = message_id or make_msgid(domain=_message_id_domain(self.sender))

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

    def freeze(self) -> None:
        """Fix the Date and encode now; sending (and every retry) reuses these bytes."""
        if self.date is None:
            self.date = time.time()
        self._encoded = self._encode()

    def as_bytes(self) -> bytes:
        """The message as sent over SMTP (7-bit, CRLF); Bcc is never written."""
        encoded = getattr(self, "_encoded", None)
        return encoded if encoded is not None else self._encode()

    def _encode(self) -> bytes:
        headers = []
        if self.subject:
            headers.append(("Subject", wire.unstructured("Subject", self.subject)))
        if self.sender:
            headers.append(("From", wire.addresses([_pair(self.sender)])))
        if self.recipients:
            to = [_pair(r) for r in dict.fromkeys(self.recipients)]
            headers.append(("To", wire.addresses(to)))
        if self.cc:
            headers.append(("Cc", wire.addresses([_pair(r) for r in dict.fromkeys(self.cc)])))
        if self.reply_to:
            headers.append(("Reply-To", wire.addresses([_pair(self.reply_to)])))
        headers.append(("Date", formatdate(self.date or time.time(), localtime=True)))
        headers.append(("Message-ID", self.msgId))
        for name, value in (self.extra_headers or {}).items():
            headers.append((name, wire.unstructured(name, value)))
        headers.append(("MIME-Version", "1.0"))
        body = wire.text_part(self.body or "", "plain")
        if self.html is not None:
            body = wire.multipart("alternative", [body, wire.text_part(self.html, "html")])
        inline = [_file_part(item) for item in self.attachments if content_id(item)]
        files = [_file_part(item) for item in self.attachments if not content_id(item)]
        if inline:
            body = wire.multipart("related", [body, *inline])
        if files:
            body = wire.multipart("mixed", [body, *files])
        return wire.write(headers, body)

    def as_string(self) -> str:
        return self.as_bytes().decode("ascii")

    def _message(self) -> EmailMessage:  # type: ignore[override]
        """The message parsed by the standard library, for code that wants that object."""
        return message_from_bytes(self.as_bytes(), policy=SMTP)  # type: ignore[return-value]


def _file_part(item: flask_mail.Attachment) -> wire.Part:
    data = item.data.encode("utf-8") if isinstance(item.data, str) else item.data
    cid = content_id(item)
    return wire.file_part(
        data,
        item.content_type or "application/octet-stream",
        filename=item.filename,
        disposition="inline" if cid else (item.disposition or "attachment"),
        content_id=cid,
    )


def _pair(value: Recipient) -> tuple[str, str]:
    return value if isinstance(value, tuple) else parseaddr(value)
