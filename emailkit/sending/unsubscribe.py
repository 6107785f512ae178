"""One-click unsubscribe (RFC 8058): the List-Unsubscribe headers of an email with a category,
and the signed token they carry.

An email class with ``category = "newsletter"`` gets, per message to one recipient::

    List-Unsubscribe: <https://app.example.com/unsubscribe/TOKEN>,
     <mailto:bounces@mail.example.com?subject=unsubscribe%20TOKEN>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

TOKEN names the address and the category, signed with the app's ``SECRET_KEY``
(itsdangerous, salt ``emailkit.unsubscribe``); the endpoint
(:mod:`emailkit.sending.unsubscribe_views`) refuses an altered or forged one. The https URL is
``EMAILKIT_BASE_URL`` (or ``https://`` + ``SERVER_NAME``) + ``EMAILKIT_UNSUBSCRIBE_PATH``
[``/unsubscribe``]; the mailto goes to ``EMAILKIT_UNSUBSCRIBE_MAILTO``
[``EMAILKIT_BOUNCE_ADDRESS``], where ``emailkit bounces ingest`` reads it. A template's own
``unsubscribe_url`` (or a ``List-Unsubscribe`` in ``headers=``) wins. A message to several
recipients gets no header: one token cannot speak for each of them (send category mail one recipient
per message).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import current_app, has_app_context
from itsdangerous import BadData, URLSafeSerializer

from ..mime import headers
from .verp import Secret

logger = logging.getLogger("emailkit")

SALT = "emailkit.unsubscribe"
DEFAULT_PATH = "/unsubscribe"
_SUBJECT = re.compile(r"^\s*unsubscribe\s+([A-Za-z0-9_.\-]{10,600})\s*$", re.IGNORECASE)


def _serializer(secret: Secret) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def make_token(secret: Secret, address: str, category: str) -> str:
    """The signed token for ``address`` leaving ``category``."""
    return str(_serializer(secret).dumps([address, category]))


def read_token(secret: Secret, token: str) -> tuple[str, str] | None:
    """``(address, category)`` from a token, or None when it is forged, altered or junk."""
    try:
        value = _serializer(secret).loads(token)
    except (BadData, UnicodeError, ValueError):
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(item, str) and item for item in value)
    ):
        return value[0], value[1]
    return None


def token_in_subject(subject: str) -> str | None:
    """The token of a ``mailto:`` unsubscribe (its Subject is ``unsubscribe TOKEN``)."""
    found = _SUBJECT.match(subject)
    return found.group(1) if found else None


def base_url(config: Mapping[str, Any]) -> str | None:
    """Where the app is reached from outside: ``EMAILKIT_BASE_URL``, else https://SERVER_NAME."""
    explicit = config.get("EMAILKIT_BASE_URL")
    if explicit:
        return str(explicit).rstrip("/")
    server = config.get("SERVER_NAME")
    if server:
        root = str(config.get("APPLICATION_ROOT") or "/").rstrip("/")
        return f"https://{server}{root}"
    return None


def path(config: Mapping[str, Any]) -> str:
    """The endpoint's path prefix (``EMAILKIT_UNSUBSCRIBE_PATH``)."""
    return "/" + str(config.get("EMAILKIT_UNSUBSCRIBE_PATH") or DEFAULT_PATH).strip("/")


def header_values(config: Mapping[str, Any], address: str, category: str) -> dict[str, str]:
    """The List-Unsubscribe headers for ``address`` and ``category`` ({} when the app has no
    ``SECRET_KEY`` or no URL to point them at)."""
    secret = config.get("SECRET_KEY")
    base = base_url(config)
    if not secret or not base:
        return {}
    token = make_token(secret, address, category)
    uris = [f"<{base}{path(config)}/{token}>"]
    mailto = config.get("EMAILKIT_UNSUBSCRIBE_MAILTO") or config.get("EMAILKIT_BOUNCE_ADDRESS")
    if mailto:
        uris.append(f"<mailto:{mailto}?subject={quote('unsubscribe ' + token)}>")
    values = {"List-Unsubscribe": ", ".join(uris)}
    if base.startswith("https:"):  # RFC 8058: one-click only over https
        values["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return values


def add_headers(message: Any) -> None:
    """Give ``message`` (of a category) its List-Unsubscribe headers in the current app,
    unless it has its own or goes to several recipients."""
    category = getattr(message, "category", None)
    extra = message.extra_headers
    if not category or not has_app_context():
        return
    if any(name.lower() == "list-unsubscribe" for name in extra):
        return
    recipients = message.envelope_recipients
    email = message.email_name or "message"
    if len(recipients) != 1:
        logger.info(
            "%s (%s mail) goes to %d recipients: no List-Unsubscribe header, since one "
            "token cannot speak for each; send category mail one recipient per message",
            email,
            category,
            len(recipients),
        )
        return
    values = header_values(current_app.config, recipients[0], category)
    if not values:
        _warn_once(email, category)
        return
    for name, value in values.items():
        headers.check_extra(name, value, email=email)
        extra[name] = value


def _warn_once(email: str, category: str) -> None:
    state = current_app.extensions.setdefault("emailkit_unsubscribe_warned", set())
    if category in state:
        return
    state.add(category)
    logger.warning(
        "%s is %s mail but gets no List-Unsubscribe header: set SECRET_KEY and "
        "EMAILKIT_BASE_URL (e.g. 'https://app.example.com') or SERVER_NAME",
        email,
        category,
    )
