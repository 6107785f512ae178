"""Building the MIME message: a :class:`flask_mail.Message` whose lines always fit SMTP.

Flask-Mail registers UTF-8 as 8-bit with no transfer encoding, so a long HTML line reaches
the server unwrapped and strict servers refuse lines over 998 octets. :class:`Message`
writes its MIME with :mod:`emailkit.mime.wire`: text and HTML in quoted-printable, attachments in
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
from email.utils import formatdate, make_msgid
from pathlib import Path

import flask_mail
from flask import current_app, has_app_context

from ..errors import HeaderError
from . import headers, wire
from .addresses import Mailbox, Recipient, mailboxes, one_mailbox, read

AttachmentSource = str | os.PathLike[str] | bytes

_CID_REFERENCE = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)
# The same in lower case, which the regex engine finds by its literal prefix: on a 20 KB
# page it costs a fraction of the case-blind pattern, which runs only when "CID:" or "Cid:"
# occurs (substring searches; other mixed spellings are not looked for).
_CID_LOWER = re.compile(r"""cid:([^"'\s)>]+)""")


def recipients_list(value: Recipient | Iterable[Recipient] | None) -> list[Recipient]:
    """``"a@x"``, ``"a@x, b@y"``, ``("Name", "a@x")`` or an iterable of those, as a list of
    single addresses (AddressError for anything else)."""
    return [mailbox.recipient for mailbox in mailboxes("to", value)]


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
    """The content ids the HTML shows as ``cid:...``."""
    if "CID:" in html or "Cid:" in html:
        return set(_CID_REFERENCE.findall(html))
    return set(_CID_LOWER.findall(html)) if "cid:" in html else set()


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


@functools.cache
def _host_name() -> str:
    return socket.getfqdn()


class Message(flask_mail.Message):
    """A Flask-Mail message with encoded parts (every line within 998 octets).

    Every address is parsed and validated, and every header value checked, when it is built:
    bad input raises :class:`~emailkit.AddressError` or :class:`~emailkit.HeaderError` here,
    not while sending. ``recipients``, ``cc``, ``bcc`` and ``reply_to`` hold one address per
    item afterwards (``"a@x, b@y"`` becomes two). ``email_name`` names the email it was
    rendered from, for errors, logs and stored copies. Send it with Flask-Mail as usual
    (``mail.send(message)``); ``as_bytes()`` works with or without an application context.
    """

    #: For the delivery log, set by :meth:`Email.message`: the email's category (suppression
    #: by unsubscribe), the locale it was rendered in, and the caller's idempotency key.
    category: str | None = None
    locale: str | None = None
    idempotency_key: str | None = None

    def __init__(
        self,
        subject: str = "",
        recipients: Recipient | Iterable[Recipient] | None = None,
        body: str | None = None,
        html: str | None = None,
        sender: Recipient | None = None,
        cc: Recipient | Iterable[Recipient] | None = None,
        bcc: Recipient | Iterable[Recipient] | None = None,
        attachments: list[flask_mail.Attachment] | None = None,
        reply_to: Recipient | Iterable[Recipient] | None = None,
        date: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
        email_name: str = "",
    ) -> None:
        # Flask-Mail's constructor is not called: it looks up the app for a default sender
        # and makes a Message-ID with socket.getfqdn(), a DNS lookup, for every message.
        # These are the attributes it sets, which Flask-Mail's connection reads.
        self.email_name = email_name
        name = email_name
        self._to, self.recipients = read("to", recipients, email=name)
        self._cc, self.cc = read("cc", cc, email=name)
        self._bcc, self.bcc = read("bcc", bcc, email=name)
        self._reply_to, reply_to_items = read("reply_to", reply_to, email=name)
        if not sender:
            sender = _default_sender()
            self._from = one_mailbox("sender (MAIL_DEFAULT_SENDER)", sender, email=name)
        else:
            self._from = one_mailbox("sender", sender, email=name)
        self.subject = subject
        # As given, unless its domain needed its ASCII form (Flask-Mail's envelope uses it).
        if self._from is None:
            self.sender = None  # type: ignore[assignment]
        else:
            keep = self._from.address in sender  # type: ignore[operator]
            self.sender = sender if keep else self._from.recipient  # type: ignore[assignment]
        self.reply_to = reply_to_items[0] if len(reply_to_items) == 1 else reply_to_items or None  # type: ignore[assignment]
        self.body = body
        self.alts: dict[str, str] = {}
        self.html = html
        self.date = date
        self.charset = None
        self.extra_headers = dict(extra_headers or {})
        self.mail_options: list[str] = []
        self.rcpt_options: list[str] = []
        self.attachments = list(attachments or [])
        self._check_headers()
        if message_id is not None:
            headers.check_id("message_id", message_id, email=name)
        domain = self._from.address.rpartition("@")[2] if self._from else _host_name()
        self.msgId = message_id or make_msgid(domain=domain)

    def _check_headers(self) -> None:
        name = self.email_name
        if not isinstance(self.subject, str):
            raise HeaderError(f"{_where(name)}subject must be a str, not {self.subject!r}")
        headers.check("subject", self.subject, email=name)
        for key, value in (self.extra_headers or {}).items():
            headers.check_extra(key, value, email=name)
        for index, item in enumerate(self.attachments):
            check_attachment(item, index, email=name)

    @property
    def envelope_recipients(self) -> list[str]:
        """Every address the message goes to (To, Cc and Bcc): no display names, domains in
        ASCII, each once."""
        return list(dict.fromkeys(m.address for m in (*self._to, *self._cc, *self._bcc)))

    @property
    def envelope_sender(self) -> str | None:
        """The From address for SMTP's ``MAIL FROM``: no display name, domain in ASCII."""
        return self._from.address if self._from else None

    @property
    def send_to(self) -> set[str]:  # type: ignore[override]
        """What Flask-Mail's connection sends to: :attr:`envelope_recipients`."""
        return set(self.envelope_recipients)

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
        lines = []
        if self.subject:
            lines.append(("Subject", headers.unstructured("Subject", self.subject)))
        if self._from:
            lines.append(("From", headers.address_list("From", [self._from])))
        if self._to:
            lines.append(("To", headers.address_list("To", _unique(self._to))))
        if self._cc:
            lines.append(("Cc", headers.address_list("Cc", _unique(self._cc))))
        if self._reply_to:
            lines.append(("Reply-To", headers.address_list("Reply-To", self._reply_to)))
        lines.append(("Date", formatdate(self.date or time.time(), localtime=True)))
        lines.append(("Message-ID", self.msgId))
        for name, value in (self.extra_headers or {}).items():
            lines.append((name, headers.extra_value(name, value)))
        lines.append(("MIME-Version", "1.0"))
        body = wire.text_part(self.body or "", "plain")
        if self.html is not None:
            body = wire.multipart("alternative", [body, wire.text_part(self.html, "html")])
        inline = [_file_part(item) for item in self.attachments if content_id(item)]
        files = [_file_part(item) for item in self.attachments if not content_id(item)]
        if inline:
            body = wire.multipart("related", [body, *inline])
        if files:
            body = wire.multipart("mixed", [body, *files])
        return wire.write(lines, body)

    def as_string(self) -> str:
        return self.as_bytes().decode("ascii")

    def _message(self) -> EmailMessage:  # type: ignore[override]
        """The message parsed by the standard library, for code that wants that object."""
        return message_from_bytes(self.as_bytes(), policy=SMTP)  # type: ignore[return-value]


def _unique(found: list[Mailbox]) -> list[Mailbox]:
    return list(dict.fromkeys(found))


def check_attachment(item: object, index: int, *, email: str = "") -> None:
    """Refuse an attachment whose filename, content type or content id cannot be a header."""
    where = _where(email)
    if not isinstance(item, flask_mail.Attachment):
        raise HeaderError(f"{where}attachments[{index}] is {item!r}, not an attachment.")
    label = f"attachments[{index}]"
    filename = item.filename
    if filename is not None:
        if not isinstance(filename, str):
            raise HeaderError(f"{where}{label} filename must be a str, not {filename!r}.")
        headers.check(f"{label} filename", filename, email=email)
    content_type = item.content_type or "application/octet-stream"
    headers.check(f"{label} content type", content_type, email=email)
    if not headers.content_type_ok(content_type):
        raise HeaderError(
            f"{where}{label} content type {content_type!r} is not a MIME type; pass one such "
            "as 'application/pdf' (or leave it out to guess it from the filename)."
        )
    disposition = item.disposition or "attachment"
    if not headers.is_token(disposition):
        raise HeaderError(
            f"{where}{label} disposition {disposition!r} is not valid; use 'attachment' "
            "or 'inline'."
        )
    cid = content_id(item)
    if cid is not None:
        headers.check_id(f"{label} content id", cid, email=email, brackets=False)


def _file_part(item: flask_mail.Attachment) -> wire.Part:
    cid = content_id(item)
    content_type = item.content_type or "application/octet-stream"
    disposition = "inline" if cid else (item.disposition or "attachment")
    # A part encoded before (see with_wire_part) is reused while the attachment still holds
    # the very same data object and the same headers: bytes cannot change, so it is exact.
    known = getattr(item, "wire_part", None)
    if (
        known is not None
        and known[0] is item.data
        and known[1] == (content_type, item.filename, disposition, cid)
    ):
        return known[2]  # type: ignore[no-any-return]
    data = item.data.encode("utf-8") if isinstance(item.data, str) else item.data
    return wire.file_part(
        data, content_type, filename=item.filename, disposition=disposition, content_id=cid
    )


def with_wire_part(item: flask_mail.Attachment) -> flask_mail.Attachment:
    """``item`` carrying its encoded MIME part, which messages reuse instead of encoding it
    again while the item keeps the same data and headers (an image embedded in every
    message is encoded once)."""
    cid = content_id(item)
    key = (
        item.content_type or "application/octet-stream",
        item.filename,
        "inline" if cid else (item.disposition or "attachment"),
        cid,
    )
    item.wire_part = (item.data, key, _file_part(item))  # type: ignore[attr-defined]
    return item


def _where(email: str) -> str:
    return f"{email}: " if email else ""
