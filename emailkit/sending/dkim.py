"""DKIM: sign each message's final bytes (RFC 6376) with rsa-sha256 or ed25519-sha256.

Config (each also read from the environment variable of the same name, like ``MAIL_*``):
``EMAILKIT_DKIM_DOMAIN`` (``d=``), ``EMAILKIT_DKIM_SELECTOR`` (``s=``) and
``EMAILKIT_DKIM_PRIVATE_KEY``, the PEM text of the private key or the path of a file holding
it. The algorithm follows the key: RSA signs rsa-sha256, Ed25519 ed25519-sha256.

dkimpy does the signing (the reference implementation behind most Python mail filters);
``cryptography`` reads and writes the keys. A key that cannot be read is a ConfigError when the
app starts, so no message ever leaves unsigned because of it.
"""

from __future__ import annotations

import base64
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dkim as dkimpy
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ..errors import ConfigError

DOMAIN_KEY = "EMAILKIT_DKIM_DOMAIN"
SELECTOR_KEY = "EMAILKIT_DKIM_SELECTOR"
PRIVATE_KEY_KEY = "EMAILKIT_DKIM_PRIVATE_KEY"
KEYS = (DOMAIN_KEY, SELECTOR_KEY, PRIVATE_KEY_KEY)

Algorithm = Literal["rsa-sha256", "ed25519-sha256"]

# Headers a receiver's MTA adds or that must not be signed (RFC 6376 5.4, dkimpy's list).
_UNSIGNED = frozenset({"return-path", "received", "comments", "keywords", "bcc", "resent-bcc"})
# Signed once more than they occur, so nobody on the way can add a second one (RFC 6376 8.15).
_OVERSIGNED = ("from", "subject", "to", "date", "message-id")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_PROBE = b"From: probe@example.invalid\r\nSubject: probe\r\n\r\nprobe\r\n"


def setting(config: Mapping[str, Any], key: str) -> str | None:
    """``key`` from the app config, else from the environment; None when neither sets it."""
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(key)
    return str(value).strip() if value not in (None, "") else None


@dataclass(frozen=True)
class DkimSigner:
    """Signs messages for ``domain`` with the key published at ``selector._domainkey.domain``."""

    domain: str
    selector: str
    algorithm: Algorithm
    _key: bytes = field(repr=False, compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DkimSigner | None:
        """The signer the config asks for; None when no ``EMAILKIT_DKIM_*`` key is set.

        A ConfigError when only some are set, or the key cannot be read or cannot sign.
        """
        values = {key: setting(config, key) for key in KEYS}
        if not any(values.values()):
            return None
        missing = [key for key, value in values.items() if not value]
        if missing:
            raise ConfigError(
                f"DKIM signing needs {', '.join(KEYS)}; {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set (in the app config or the "
                "environment). Set them all, or none to send unsigned mail."
            )
        domain, selector = str(values[DOMAIN_KEY]).lower().rstrip("."), str(values[SELECTOR_KEY])
        for key, value in ((DOMAIN_KEY, domain), (SELECTOR_KEY, selector)):
            if not all(_LABEL.match(label) for label in value.split(".")):
                raise ConfigError(
                    f"{key} {value!r} is not a DNS name (letters, digits, '-', '_' and dots)"
                )
        return _signer(domain, selector, str(values[PRIVATE_KEY_KEY]))

    def sign(self, data: bytes) -> bytes:
        """``data`` (a whole message, CRLF) with a DKIM-Signature header on top.

        Every header present is signed (but those a relay adds), and From, Subject, To, Date
        and Message-ID once more than they occur; relaxed/relaxed canonicalization.
        """
        head = data.split(b"\r\n\r\n", 1)[0]
        names = [
            line.split(b":", 1)[0].strip().lower().decode("ascii")
            for line in head.split(b"\r\n")
            if line and line[:1] not in (b" ", b"\t") and b":" in line
        ]
        signed = [n for n in names if n not in _UNSIGNED and n != "dkim-signature"]
        signed += [n for n in _OVERSIGNED if n in signed or n == "from"]
        try:
            header = dkimpy.sign(
                data,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self._key,
                canonicalize=(b"relaxed", b"relaxed"),
                signature_algorithm=self.algorithm.encode("ascii"),
                include_headers=[n.encode("ascii") for n in signed],
                linesep=b"\r\n",
            )
        except dkimpy.DKIMException as error:
            raise ConfigError(
                f"DKIM signing for {self.domain} (selector {self.selector}) failed: {error}; "
                "check EMAILKIT_DKIM_PRIVATE_KEY"
            ) from error
        return header + data


@functools.lru_cache(maxsize=8)
def _signer(domain: str, selector: str, key: str) -> DkimSigner:
    """A checked signer, kept: the preview asks for it on every request."""
    algorithm, secret = load_key(key)
    signer = DkimSigner(domain, selector, algorithm, secret)
    signer.sign(_PROBE)  # fails now, at start-up, rather than on the first real message
    return signer


def load_key(value: str) -> tuple[Algorithm, bytes]:
    """The algorithm and the key as dkimpy takes it, from PEM text or the path of a PEM file.

    Never puts the key's text in an error.
    """
    text = value.strip()
    where = "EMAILKIT_DKIM_PRIVATE_KEY"
    if "-----BEGIN" in text:
        data = text.encode("ascii", "replace")
    else:
        path = Path(text).expanduser()
        where = f"EMAILKIT_DKIM_PRIVATE_KEY file {path}"
        try:
            data = path.read_bytes()
        except OSError as error:
            shown = text if len(text) < 200 and "\n" not in text else "(the value)"
            raise ConfigError(
                f"EMAILKIT_DKIM_PRIVATE_KEY: cannot read the key file {shown} "
                f"({error.strerror or error}); set it to the PEM text of the private key or the "
                "path of a readable PEM file (`emailkit dkim keygen` writes one)"
            ) from error
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as error:
        raise ConfigError(
            f"{where}: the private key is encrypted; DKIM signing needs it without a "
            "passphrase (keep the file readable by the app's user only)"
        ) from error
    except (ValueError, UnsupportedAlgorithm) as error:
        raise ConfigError(
            f"{where} is not a PEM private key (expected '-----BEGIN PRIVATE KEY-----' or "
            "'-----BEGIN RSA PRIVATE KEY-----'); make a key pair with "
            "`emailkit dkim keygen --domain D --selector S`"
        ) from error
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 1024:
            raise ConfigError(
                f"{where}: an RSA key of {key.key_size} bits is refused by receivers; "
                "use 2048 bits (`emailkit dkim keygen`)"
            )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        return "rsa-sha256", pem
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return "ed25519-sha256", base64.b64encode(raw)
    raise ConfigError(
        f"{where} is a {type(key).__name__.removeprefix('_')}; DKIM signs with RSA "
        "(rsa-sha256) or Ed25519 (ed25519-sha256) keys only"
    )


@dataclass(frozen=True)
class KeyPair:
    """A new DKIM key: the private PEM and the DNS TXT record that publishes its public half."""

    domain: str
    selector: str
    algorithm: Algorithm
    private_pem: bytes = field(repr=False)
    public: str

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def record_value(self) -> str:
        kind = "rsa" if self.algorithm == "rsa-sha256" else "ed25519"
        return f"v=DKIM1; k={kind}; p={self.public}"

    def zone_line(self) -> str:
        """The record as a zone-file line; long values split into 255-character strings."""
        value = self.record_value
        chunks = " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))
        return f"{self.record_name}. IN TXT ( {chunks} )"


def generate(domain: str, selector: str, algorithm: str = "rsa", bits: int = 2048) -> KeyPair:
    """A new key pair for ``domain`` and ``selector`` (``rsa`` 2048 bits, or ``ed25519``)."""
    private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if algorithm == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        name: Algorithm = "rsa-sha256"
    elif algorithm == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        name = "ed25519-sha256"
    else:
        raise ConfigError(f"DKIM algorithm {algorithm!r}: use rsa or ed25519")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyPair(domain, selector, name, pem, base64.b64encode(public).decode("ascii"))


def write_private_key(path: Path, pem: bytes) -> None:
    """Write ``pem`` to a new file only its owner can read; an existing file is never replaced."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as error:
        raise ConfigError(
            f"{path} exists; the new key was not written (remove it or choose another --output)"
        ) from error
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def signature_domain(data: bytes) -> str | None:
    """The ``d=`` of a message's first DKIM-Signature, when it has one."""
    match = re.search(rb"(?im)^DKIM-Signature:(.*(?:\r?\n[ \t].*)*)", data.split(b"\r\n\r\n")[0])
    if not match:
        return None
    tag = re.search(rb"(?:^|;)\s*d\s*=\s*([^;\s]+)", match.group(1))
    return tag.group(1).decode("ascii", "replace").lower() if tag else None


def aligned(from_domain: str, signing_domain: str) -> bool:
    """DMARC relaxed alignment: the From domain is ``d=`` or a subdomain of it.

    (Strictly, both should share an organisational domain; without the public suffix list
    this accepts the common case, a From at ``d=`` or below it.)
    """
    a, d = from_domain.lower().rstrip("."), signing_domain.lower().rstrip(".")
    return a == d or a.endswith("." + d) or d.endswith("." + a)
