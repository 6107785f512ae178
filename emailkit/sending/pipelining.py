"""One SMTP mail transaction, pipelined (RFC 2920) when the server offers it.

MAIL FROM, every RCPT TO and DATA go out in one write and their replies are read back in
order, each matched to its command; the message follows the 354. That is two round trips a
message instead of three plus one per recipient. The errors raised are smtplib's own, exactly
as ``smtplib.SMTP.sendmail`` raises them, so callers (:mod:`emailkit.sending.delivery`) treat a
pipelined and a plain transaction alike.
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable

Refused = dict[str, tuple[int, bytes]]


def dot_stuffed(data: bytes) -> bytes:
    """The message as DATA sends it: leading dots doubled, CRLF at the end, then ``.``.

    smtplib quotes dots with a multi-line regex (120 us for 20 KB); this is the same in C.
    """
    quoted = data.replace(b"\n.", b"\n..")
    if quoted.startswith(b"."):
        quoted = b"." + quoted
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    return quoted + b".\r\n"


def pipelined_sendmail(
    host: smtplib.SMTP,
    mail_from: str,
    recipients: list[str],
    data: bytes,
    options: list[str],
    on_data_sent: Callable[[], None] | None = None,
) -> Refused:
    """``host.sendmail(mail_from, recipients, data, options)`` in two round trips.

    Returns the refused recipients when some were accepted; raises SMTPSenderRefused,
    SMTPRecipientsRefused (all refused, or a 421 part-way), SMTPDataError, or
    SMTPServerDisconnected as smtplib does.
    """
    host.ehlo_or_helo_if_needed()
    mail_options = list(options)
    if host.has_extn("size"):
        mail_options.append(f"SIZE={len(data)}")
    utf8 = any(option.upper() == "SMTPUTF8" for option in options)
    encoding = "utf-8" if utf8 else "ascii"
    tail = (" " + " ".join(mail_options)) if mail_options else ""
    lines = [f"MAIL FROM:{smtplib.quoteaddr(mail_from)}{tail}\r\n"]
    lines += [f"RCPT TO:{smtplib.quoteaddr(r)}\r\n" for r in recipients]
    lines.append("DATA\r\n")
    host.send("".join(lines).encode(encoding))

    mail_code, mail_reply = host.getreply()
    if mail_code == 421:
        host.close()
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, mail_from)
    sender_refused = mail_code != 250
    refused: Refused = {}
    for recipient in recipients:
        code, reply = host.getreply()
        if code == 421 and not sender_refused:
            host.close()
            refused[recipient] = (code, reply)
            raise smtplib.SMTPRecipientsRefused(refused)  # type: ignore[arg-type]
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    data_code, data_reply = host.getreply()
    if data_code == 354:
        # Started although nothing can be delivered (some servers do): end it empty.
        if sender_refused or len(refused) == len(recipients):
            host.send(b".\r\n")
            host.getreply()
        else:
            host.send(dot_stuffed(data))
            if on_data_sent is not None:
                on_data_sent()
            code, reply = host.getreply()
            host.data_reply = (code, reply)  # type: ignore[attr-defined]
            if code != 250:
                if code == 421:
                    host.close()
                else:
                    host.rset()
                raise smtplib.SMTPDataError(code, reply)
            return refused
    if data_code == 421:
        host.close()
    if sender_refused:
        _reset(host)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, mail_from)
    if len(refused) == len(recipients):
        _reset(host)
        raise smtplib.SMTPRecipientsRefused(refused)  # type: ignore[arg-type]
    _reset(host)
    raise smtplib.SMTPDataError(data_code, data_reply)


def _reset(host: smtplib.SMTP) -> None:
    if host.sock is None:
        return
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        host.rset()
