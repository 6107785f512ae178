"""Writing a message as the bytes that go to the SMTP server.

The standard library's ``EmailMessage`` parses every header it is given into structured
objects and back; for a 20 KB message that took 1.7 ms, more than rendering it. This writes
the same RFC 5322 / MIME output directly: 7-bit only, CRLF line ends, headers folded (RFC 2047
words for non-ASCII), text in quoted-printable, files in base64, so no line exceeds 78
characters in the body or 998 anywhere.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from email.header import Header
from email.utils import encode_rfc2231, formataddr

CRLF = "\r\n"


@dataclass(frozen=True)
class Part:
    """A MIME part: its headers, and either encoded content or sub-parts."""

    headers: tuple[tuple[str, str], ...]
    content: str | tuple[Part, ...]


def text_part(text: str, subtype: str) -> Part:
    """UTF-8 text in quoted-printable (lines of at most 76 characters)."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(normalized, istext=True).decode("ascii")
    return Part(
        (
            ("Content-Type", f'text/{subtype}; charset="utf-8"'),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ),
        encoded.replace("\n", CRLF),
    )


def file_part(
    data: bytes,
    content_type: str,
    *,
    filename: str | None,
    disposition: str,
    content_id: str | None = None,
) -> Part:
    """A file in base64; ``content_id`` makes it addressable as ``cid:`` from the HTML."""
    headers = [("Content-Type", content_type)]
    if filename:
        headers[0] = ("Content-Type", f"{content_type}; {_parameter('name', filename)}")
        headers.append(
            ("Content-Disposition", f"{disposition}; {_parameter('filename', filename)}")
        )
    else:
        headers.append(("Content-Disposition", disposition))
    headers.append(("Content-Transfer-Encoding", "base64"))
    if content_id:
        headers.append(("Content-ID", f"<{content_id}>"))
    return Part(tuple(headers), base64.encodebytes(data).decode("ascii").replace("\n", CRLF))


def multipart(subtype: str, parts: list[Part]) -> Part:
    # "=_" cannot occur in quoted-printable or base64 output, so the boundary is unique.
    boundary = f"=_{uuid.uuid4().hex}"
    return Part((("Content-Type", f'multipart/{subtype}; boundary="{boundary}"'),), tuple(parts))


def write(headers: list[tuple[str, str]], body: Part) -> bytes:
    """The whole message: ``headers`` (already encoded) then ``body`` with its headers."""
    out: list[str] = [f"{name}: {value}{CRLF}" for name, value in headers]
    _write_part(body, out)
    return "".join(out).encode("ascii")


def _write_part(part: Part, out: list[str]) -> None:
    out.extend(f"{name}: {value}{CRLF}" for name, value in part.headers)
    out.append(CRLF)
    if isinstance(part.content, str):
        # The line break before a boundary belongs to the boundary, not to the content.
        out.append(part.content)
        out.append(CRLF)
        return
    boundary = part.headers[0][1].rsplit('boundary="', 1)[1][:-1]
    for child in part.content:
        out.append(f"--{boundary}{CRLF}")
        _write_part(child, out)
    out.append(f"--{boundary}--{CRLF}")


def unstructured(name: str, value: str) -> str:
    """A header value such as Subject, RFC 2047-encoded when not ASCII and folded when long."""
    if value.isascii() and len(name) + len(value) < 76:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep=CRLF)


def addresses(values: list[tuple[str, str]]) -> str:
    """An address list, display names encoded, one address per folded line when long."""
    formatted = [formataddr((name, _ascii_domain(addr)), charset="utf-8") for name, addr in values]
    joined = ", ".join(formatted)
    return joined if len(joined) < 70 else f",{CRLF} ".join(formatted)


def _ascii_domain(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _parameter(name: str, value: str) -> str:
    if value.isascii() and '"' not in value and "\\" not in value:
        return f'{name}="{value}"'
    return f"{name}*={encode_rfc2231(value, 'utf-8')}"
