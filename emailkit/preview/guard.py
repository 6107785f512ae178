"""Who may talk to the preview: the Host and Origin checks against DNS rebinding and CSRF.

A page on any domain can make its name resolve to 127.0.0.1 and then read the preview as if
it were same-origin (DNS rebinding). Like Vite's ``server.allowedHosts`` since CVE-2025-24010,
a request is answered only when its ``Host`` is an IP address (a rebinding page always has a
name), ``localhost`` or a ``*.localhost`` name, the name the server was bound to, or one the
project allowed (``EMAILKIT_PREVIEW_ALLOWED_HOSTS``; an entry starting with ``.`` allows its
subdomains too). State-changing requests must also come with an ``Origin`` naming this very
host: a form on another site cannot post to the preview.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

ALLOWED_HOSTS_KEY = "EMAILKIT_PREVIEW_ALLOWED_HOSTS"
HOST_REFUSED = (
    "This host is not allowed: the preview answers to localhost and IP addresses only "
    "(DNS rebinding protection). To allow it, add it to EMAILKIT_PREVIEW_ALLOWED_HOSTS "
    "or pass --allow-host."
)
ORIGIN_REFUSED = (
    "Cross-origin request refused: this form only works from a page of the preview itself. "
    "Reload the page and try again."
)


def host_name(host: str) -> str:
    """The name or address of a ``Host`` header value, without port or IPv6 brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    name, _, port = host.rpartition(":")
    if name and port.isdigit():
        return name
    return host


def allowed_hosts(setting: str | Iterable[str] | None) -> tuple[str, ...]:
    """The configured list, from a list or a comma-separated string."""
    if not setting:
        return ()
    if isinstance(setting, str):
        setting = setting.split(",")
    return tuple(entry.strip().lower() for entry in setting if entry.strip())


def host_is_allowed(host: str | None, extra: Iterable[str] = ()) -> bool:
    """Whether a request with this ``Host`` header may be answered."""
    if not host:
        return False
    name = host_name(host).rstrip(".")
    if not name:
        return False
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    if name == "localhost" or name.endswith(".localhost"):
        return True
    for entry in extra:
        entry = host_name(entry)
        if entry == name or (entry.startswith(".") and (name == entry[1:] or name.endswith(entry))):
            return True
    return False


def origin_is_same(origin: str | None, host: str | None, scheme: str = "http") -> bool:
    """Whether ``Origin`` names the host (and port) the request was sent to."""
    if not origin or not host or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc.lower() == host.strip().lower()


# Every preview response: no framing by another origin (the send form, clickjacking), no
# MIME sniffing, and no referrer beyond the preview itself. "same-origin" rather than
# "no-referrer": the latter makes browsers send ``Origin: null`` with a POST, which the send
# form's Origin check would refuse.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "frame-ancestors 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# An email's own HTML (``/<email>/<sample>.html``, an outbox message's part) is someone else's
# markup on the preview's origin: no script of it may run, even when the part is opened on its
# own. The sandbox keeps the document same-origin (the viewer measures its height) without
# ``allow-scripts``; links still open in a new tab.
PART_CSP = (
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox"
)


def security_headers(*, part: bool = False) -> dict[str, str]:
    """The headers every preview response carries; ``part`` for an email's own markup."""
    if part:
        return {**PAGE_HEADERS, "Content-Security-Policy": PART_CSP}
    return dict(PAGE_HEADERS)
