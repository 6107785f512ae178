"""VERP: an envelope sender per message and recipient, so a bounce says whom it is about.

With ``EMAILKIT_BOUNCE_ADDRESS = "bounces@mail.example.com"`` each message goes out with
``MAIL FROM:<bounces+TOKEN@mail.example.com>``, one recipient per envelope. A bounce comes back
to that address (the MTA's ``recipient_delimiter = +`` delivers it to ``bounces``), and the
token names the message (a digest of its Message-ID, :func:`message_ref`) and the recipient
(a digest of the address), signed with the app's ``SECRET_KEY``.

The token is lower-case base32 (``a``-``z``, ``2``-``7``) with ``-`` and ``.`` between its
parts: some MTAs lower-case local parts, so it reads the same in any case. It is 42
characters; the local part of the bounce address plus ``+`` may take the other 22 of the 64
SMTP allows. The signature is itsdangerous's HMAC-SHA1 over a key derived from
``SECRET_KEY`` with the salt ``emailkit.verp``, cut to 80 bits (a forger gets one guess per message
it sends us) to keep the address short.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from itsdangerous import BadSignature, Signer

from ..errors import ConfigError

BOUNCE_ADDRESS_KEY = "EMAILKIT_BOUNCE_ADDRESS"
SALT = "emailkit.verp"
_SIGNATURE_BYTES = 10
_MESSAGE_BYTES = 10
_RECIPIENT_BYTES = 5
TOKEN_LENGTH = 16 + 1 + 8 + 1 + 16
MAX_LOCAL_PART = 64


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    return base64.b32decode(padded)


def message_ref(message_id: str) -> str:
    """A short, fixed digest of a Message-ID (angle brackets and case of the ``<>`` ignored):
    what a token carries and the delivery log indexes."""
    bare = message_id.strip().strip("<>")
    return _b32(hashlib.sha256(bare.encode("utf-8", "surrogateescape")).digest()[:_MESSAGE_BYTES])


def recipient_ref(address: str) -> str:
    """A short digest of a (normalised) recipient address, compared case-blind."""
    return _b32(hashlib.sha256(address.strip().lower().encode("utf-8")).digest()[:_RECIPIENT_BYTES])


Secret = str | bytes | Iterable[str] | Iterable[bytes]
"""A key, or keys oldest first (the last signs; all verify), as itsdangerous takes them."""


def secret_keys(config: Mapping[str, Any]) -> list[bytes]:
    """``SECRET_KEY_FALLBACKS`` then ``SECRET_KEY``: tokens signed before a key rotation stay
    valid while the old key is listed as a fallback (Flask 3.1's convention); a string (from
    the environment) is comma-separated."""
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or ()
    if isinstance(fallbacks, str):  # from the environment: comma-separated
        fallbacks = fallbacks.split(",")
    keys = [*fallbacks, config.get("SECRET_KEY")]
    return [key.encode("utf-8") if isinstance(key, str) else key for key in keys if key]


class _Base32Signer(Signer):
    """itsdangerous's signer with a truncated, lower-case base32 signature (case-safe)."""

    def _signature(self, value: str | bytes, secret_key: str | bytes | None = None) -> str:
        key = self.derive_key(secret_key)
        raw = value.encode("utf-8") if isinstance(value, str) else value
        return _b32(self.algorithm.get_signature(key, raw)[:_SIGNATURE_BYTES])

    def get_signature(self, value: str | bytes) -> bytes:
        return self._signature(value).encode("ascii")

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        given = (sig.decode("ascii", "replace") if isinstance(sig, bytes) else sig).lower()
        return any(
            hmac.compare_digest(given, self._signature(value, key))
            for key in reversed(self.secret_keys)
        )


def _signer(secret: Secret) -> Signer:
    return _Base32Signer(secret, salt=SALT, sep=".")


@dataclass(frozen=True)
class TokenRef:
    """What a valid token names: digests of the Message-ID and the recipient."""

    message: str
    recipient: str

    def names(self, message_id: str, recipient: str) -> bool:
        return self.message == message_ref(message_id) and self.recipient == recipient_ref(
            recipient
        )


def make_token(secret: Secret, message_id: str, recipient: str) -> str:
    """The signed token naming ``message_id`` sent to ``recipient``."""
    value = f"{message_ref(message_id)}-{recipient_ref(recipient)}"
    return _signer(secret).sign(value).decode("ascii")


def read_token(secret: Secret, token: str) -> TokenRef | None:
    """The references in ``token``, or None when it is malformed, forged or altered."""
    token = token.strip().lower()
    if len(token) != TOKEN_LENGTH or not token.isascii():
        return None
    try:
        value = _signer(secret).unsign(token).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None
    message, _, recipient = value.partition("-")
    try:
        if len(_unb32(message)) != _MESSAGE_BYTES or len(_unb32(recipient)) != _RECIPIENT_BYTES:
            return None
    except (binascii.Error, ValueError):
        return None
    return TokenRef(message, recipient)


def token_of(address: str, bounce_address: str) -> str | None:
    """The token in ``address`` when it is ``bounce_address`` with ``+TOKEN`` (any case)."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    base_local, _, base_domain = bounce_address.rpartition("@")
    if not at or domain.lower() != base_domain.lower():
        return None
    prefix = base_local.lower() + "+"
    if not local.lower().startswith(prefix):
        return None
    return local[len(prefix) :]


def bounce_address(config: Mapping[str, Any]) -> str | None:
    """``EMAILKIT_BOUNCE_ADDRESS`` checked (a ConfigError if it cannot carry a token)."""
    address = config.get(BOUNCE_ADDRESS_KEY)
    if not address:
        return None
    address = str(address).strip()
    local, at, domain = address.rpartition("@")
    problem = None
    if not at or not local or not domain or any(c in address for c in '<>+ \r\n\t"(),;'):
        problem = "is not a plain address such as bounces@mail.example.com (no name, no +)"
    elif len(local) + 1 + TOKEN_LENGTH > MAX_LOCAL_PART:
        problem = (
            f"has a local part of {len(local)} characters; with +TOKEN ({TOKEN_LENGTH + 1}) "
            f"it must stay within SMTP's {MAX_LOCAL_PART}: use a shorter one, such as bounces"
        )
    elif not config.get("SECRET_KEY"):
        problem = "needs the app's SECRET_KEY to sign its tokens; set SECRET_KEY"
    if problem:
        raise ConfigError(f"{BOUNCE_ADDRESS_KEY} {address!r} {problem}.")
    return address


def verp_address(config: Mapping[str, Any], message_id: str, recipient: str) -> str | None:
    """``bounces+TOKEN@domain`` for this message and recipient; None without a bounce address."""
    address = bounce_address(config)
    if address is None:
        return None
    local, _, domain = address.rpartition("@")
    return f"{local}+{make_token(config['SECRET_KEY'], message_id, recipient)}@{domain}"


def envelope_sender(message: Any, recipient: str) -> str | tuple[str, str]:
    """The MAIL FROM for ``message`` to ``recipient``: the VERP address when the current app
    sets ``EMAILKIT_BOUNCE_ADDRESS``, else the message's own sender."""
    if has_app_context():
        verp = verp_address(current_app.config, message.msgId, recipient)
        if verp is not None:
            return verp
    return message.sender  # type: ignore[no-any-return]


def uses_verp() -> bool:
    """Whether the current app sends one envelope per recipient with a VERP sender."""
    return has_app_context() and bool(current_app.config.get(BOUNCE_ADDRESS_KEY))
