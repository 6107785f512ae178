"""Reading bounces and complaints: delivery status notifications (RFC 3464) and abuse
feedback reports (ARF, RFC 5965), plus the non-standard bounces flufl.bounce recognises.

Pure: bytes in, :class:`Report` out, nothing looked up or changed (that is
:mod:`emailkit.sending.deliverylog.ingest`). Each message is read up to ``limit`` bytes
(:data:`MAX_BYTES` by default, 2 MB): the report parts come before the returned original, so a 10 MB
bounce loses only the tail of its copy of our message. Whatever a message holds (non-UTF-8 headers,
a truncated or malformed report, no report at all), parsing gives a :class:`Report` whose
``problems`` say in one line each what was wrong; it never raises.
"""

from __future__ import annotations

import email
import email.message
import logging
import re
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr

from ..verp import token_of

logger = logging.getLogger("emailkit.bounces")

MAX_BYTES = 2 * 1024 * 1024
"""How much of one message is read; the rest is ignored (and the report says so)."""

HARD = "hard"
SOFT = "soft"
COMPLAINT = "complaint"

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"^\s*([245])\d\d\b")
_MAX_TEXT = 500
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_TOKEN_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


@dataclass(frozen=True)
class BounceEvent:
    """One recipient's bounce or complaint, as the report states it.

    ``kind`` is :data:`HARD` (a 5.x.x status: the address does not work), :data:`SOFT`
    (4.x.x, or delayed: it may later) or :data:`COMPLAINT` (the recipient reported the mail
    as spam). ``message_id`` is the original message's, ``token`` the VERP token the report
    was addressed to (or names), when either is known.
    """

    kind: str
    recipient: str | None
    status: str | None = None
    diagnostic: str | None = None
    message_id: str | None = None
    token: str | None = None
    source: str = "dsn"

    def describe(self) -> str:
        """The event in one line, for the log and the event's detail."""
        what = {HARD: "hard bounce", SOFT: "soft bounce", COMPLAINT: "complaint"}[self.kind]
        parts = [what, self.status or "", self.diagnostic or ""]
        return " ".join(part for part in parts if part)[:_MAX_TEXT]


@dataclass
class Report:
    """What one message turned out to be: ``dsn``, ``arf``, ``other`` (a bounce only
    flufl.bounce could read), ``none`` (not a bounce) or ``unreadable``; its events, and one
    line per problem found."""

    kind: str = "none"
    events: list[BounceEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    subject: str = ""
    size: int = 0


def clean(value: object, limit: int = _MAX_TEXT) -> str:
    """A header or field value as one line of printable text (bytes that are not UTF-8
    become U+FFFD), at most ``limit`` characters."""
    text = str(value) if value is not None else ""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = " ".join(text.replace("\x00", " ").split())
    return text[:limit]


def parse(
    data: bytes,
    *,
    bounce_address: str | None = None,
    limit: int = MAX_BYTES,
    size: int | None = None,
) -> Report:
    """Read one message (its first ``limit`` bytes) as a bounce or complaint report.

    ``bounce_address`` (``EMAILKIT_BOUNCE_ADDRESS``) lets the VERP token be found in the
    addresses the report was delivered to. ``size`` is the whole message's, when the caller
    read only its start.
    """
    size = max(size or 0, len(data))
    report = Report(size=size)
    if size > limit:
        report.problems.append(f"message is {size} bytes: read the first {limit}, ignored the rest")
        data = data[:limit]
    try:
        _parse(data, report, bounce_address)
    except Exception as error:  # a parser bug must not lose the rest of a mailbox
        logger.debug("bounce parsing failed", exc_info=True)
        report.kind = "unreadable"
        report.problems.append(f"could not be parsed ({type(error).__name__}: {clean(error)})")
    return report


def _parse(data: bytes, report: Report, bounce_address: str | None) -> None:
    message = email.message_from_bytes(data, policy=compat32)
    report.subject = clean(message.get("Subject", ""), 120)
    token = _token_in_headers(message, bounce_address)
    for defect in message.defects:
        report.problems.append(f"malformed: {type(defect).__name__}")
    content_type = message.get_content_type()
    report_type = (message.get_param("report-type") or "").__str__().lower()
    if content_type == "multipart/report" and report_type == "delivery-status":
        report.kind = "dsn"
        _read_dsn(message, report, token, bounce_address)
    elif content_type == "multipart/report" and report_type == "feedback-report":
        report.kind = "arf"
        _read_arf(message, report, token, bounce_address)
    if report.kind in ("dsn", "arf") and report.events:
        return
    _read_other(message, report, token)


def _token_in_headers(message: email.message.Message, bounce_address: str | None) -> str | None:
    if not bounce_address:
        return None
    for name in _TOKEN_HEADERS:
        for value in message.get_all(name, []):
            for _, address in getaddresses([clean(value, 1000)]):
                token = token_of(address, bounce_address)
                if token:
                    return token
    return None


def _parts(message: email.message.Message) -> list[email.message.Message]:
    payload = message.get_payload()
    return (
        [part for part in payload if isinstance(part, email.message.Message)]
        if isinstance(payload, list)
        else []
    )


def _original(message: email.message.Message) -> email.message.Message | None:
    """The returned original message (or its headers) of a report, when it has one."""
    for part in _parts(message)[2:] or _parts(message)[1:]:
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
                return inner[0]
        if kind in ("text/rfc822-headers", "text/global-headers"):
            text = part.get_payload(decode=True)
            if not isinstance(text, bytes):
                return None
            return HeaderParser(policy=compat32).parsestr(text.decode("utf-8", "surrogateescape"))
    return None


def _original_facts(
    message: email.message.Message, bounce_address: str | None
) -> tuple[str | None, str | None, list[str]]:
    """The original's Message-ID, the VERP token its Return-Path names, and its To."""
    original = _original(message)
    if original is None:
        return None, None, []
    message_id = clean(original.get("Message-ID", ""), 998) or None
    token = None
    if bounce_address:
        for value in original.get_all("Return-Path", []):
            token = token_of(parseaddr(clean(value, 1000))[1], bounce_address) or token
    to_values = [clean(value, 2000) for value in original.get_all("To", [])]
    to = [address for _, address in getaddresses(to_values)]
    return message_id, token, to


def _field_address(value: object) -> str | None:
    """``rfc822; ada@example.com`` as ``ada@example.com``."""
    text = clean(value, 1000)
    if not text:
        return None
    kind, semicolon, address = text.partition(";")
    if semicolon and kind.strip().lower() not in ("rfc822", "utf-8"):
        return None
    address = (address if semicolon else text).strip().strip("<>").strip()
    return address if "@" in address else None


def _read_dsn(
    message: email.message.Message,
    report: Report,
    token: str | None,
    bounce_address: str | None,
) -> None:
    status_part = next(
        (part for part in _parts(message) if part.get_content_type() in _STATUS_TYPES),
        None,
    )
    if status_part is None:
        report.problems.append("a delivery-status report without its message/delivery-status part")
        return
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        report.problems.append(
            "the message/delivery-status part has no per-recipient fields (truncated?)"
        )
        return
    message_id, original_token, _ = _original_facts(message, bounce_address)
    per_message = blocks[0]
    if token is None and bounce_address and isinstance(per_message, email.message.Message):
        sender = _field_address(per_message.get("X-Postfix-Sender", ""))
        token = token_of(sender, bounce_address) if sender else None
    token = token or original_token
    for index, block in enumerate(blocks[1:], 1):
        if not isinstance(block, email.message.Message):
            continue
        recipient = _field_address(block.get("Original-Recipient", "")) or _field_address(
            block.get("Final-Recipient", "")
        )
        action = clean(block.get("Action", ""), 40).lower()
        status_text = clean(block.get("Status", ""), 40)
        diagnostic = clean(block.get("Diagnostic-Code", ""))
        if not action and not status_text and not recipient:
            continue
        if action in ("delivered", "relayed", "expanded"):
            continue
        if recipient is None:
            report.problems.append(f"recipient block {index} names no Final-Recipient address")
        kind = _bounce_kind(action, status_text, diagnostic)
        if kind is None:
            report.problems.append(
                f"recipient block {index} ({recipient or 'unknown'}): action {action or '?'!r}, "
                f"status {status_text or '?'!r}: not a bounce"
            )
            continue
        found = _STATUS.search(status_text)
        report.events.append(
            BounceEvent(
                kind=kind,
                recipient=recipient,
                status=found.group(0) if found else (status_text or None),
                diagnostic=_without_type(diagnostic) or None,
                message_id=message_id,
                token=token,
                source="dsn",
            )
        )


def _bounce_kind(action: str, status: str, diagnostic: str) -> str | None:
    found = _STATUS.search(status)
    klass = found.group(1) if found else None
    if klass is None:
        code = _SMTP_CODE.match(_without_type(diagnostic))
        klass = code.group(1) if code else None
    if action == "delayed":
        return SOFT
    if klass == "5":
        return HARD if action in ("failed", "") else None
    if klass == "4":
        return SOFT  # even "failed" after the queue lifetime: the address may still work
    if action == "failed":
        return SOFT  # no status to tell: not enough to stop mailing the address for good
    return None


def _without_type(diagnostic: str) -> str:
    """``smtp; 550 5.1.1 no such user`` as ``550 5.1.1 no such user``."""
    kind, semicolon, rest = diagnostic.partition(";")
    return rest.strip() if semicolon and " " not in kind.strip() else diagnostic


def _read_arf(
    message: email.message.Message,
    report: Report,
    token: str | None,
    bounce_address: str | None,
) -> None:
    feedback = next(
        (part for part in _parts(message) if part.get_content_type() == "message/feedback-report"),
        None,
    )
    if feedback is None:
        report.problems.append("a feedback report without its message/feedback-report part")
        return
    payload = feedback.get_payload()
    fields = (
        payload[0]
        if isinstance(payload, list) and payload and isinstance(payload[0], email.message.Message)
        else HeaderParser(policy=compat32).parsestr(str(payload))
    )
    feedback_type = clean(fields.get("Feedback-Type", ""), 40).lower()
    if feedback_type and feedback_type not in ("abuse", "fraud", "other", "virus"):
        report.problems.append(f"feedback type {feedback_type!r} is not a complaint; ignored")
        return
    message_id, original_token, original_to = _original_facts(message, bounce_address)
    if bounce_address and token is None:
        sender = parseaddr(clean(fields.get("Original-Mail-From", ""), 1000))[1]
        token = token_of(sender, bounce_address) if sender else None
    token = token or original_token
    recipients = [
        parseaddr(clean(value, 1000))[1] for value in fields.get_all("Original-Rcpt-To", [])
    ]
    recipients = [r for r in recipients if "@" in r] or [r for r in original_to if "@" in r][:1]
    if not recipients:
        recipients = [None]  # type: ignore[list-item]  # redacted: the token may still tell
    detail = clean(" ".join(filter(None, [feedback_type, clean(fields.get("User-Agent", ""))])))
    for recipient in recipients:
        report.events.append(
            BounceEvent(
                kind=COMPLAINT,
                recipient=recipient,
                diagnostic=detail or None,
                message_id=message_id,
                token=token,
                source="arf",
            )
        )


def _read_other(message: email.message.Message, report: Report, token: str | None) -> None:
    """A bounce in no standard format: flufl.bounce's detectors (Exim's
    X-Failed-Recipients, qmail, Yahoo, Microsoft... see its documentation)."""
    from flufl.bounce import all_failures  # its 17 detectors are loaded on first bounce

    try:
        temporary, permanent = all_failures(message)
    except Exception as error:
        report.problems.append(
            f"flufl.bounce could not read it ({type(error).__name__}: {clean(error)})"
        )
        return
    message_id = clean(_original_message_id(message), 998) or None
    for kind, found in ((HARD, permanent), (SOFT, set(temporary) - set(permanent))):
        for raw in sorted(found):
            address = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
            if "@" not in address:
                continue
            report.events.append(
                BounceEvent(
                    kind=kind,
                    recipient=address,
                    diagnostic=f"{report.subject}" or None,
                    message_id=message_id,
                    token=token,
                    source="flufl.bounce",
                )
            )
    if report.events and report.kind == "none":
        report.kind = "other"
    elif not report.events and report.kind == "none":
        report.problems.append("not a bounce or complaint that emailkit can read")


def _original_message_id(message: email.message.Message) -> str:
    original = _original(message)
    if original is not None and original.get("Message-ID"):
        return str(original.get("Message-ID"))
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            continue
        if part.get_content_maintype() != "text":
            continue
        text = part.get_payload(decode=True)
        if not isinstance(text, bytes):
            continue
        found = re.search(rb"^Message-ID:\s*(<[^>\s]{1,900}>)", text[:200_000], re.I | re.M)
        if found:
            return found.group(1).decode("ascii", "replace")
    return ""
