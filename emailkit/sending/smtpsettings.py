"""How to reach a relay: host, port, TLS that checks who the server is, and credentials
only over encryption, read once from Flask-Mail's state and the app config."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .dkim import DkimSigner


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine without leaving it (``localhost`` or 127.x / ::1)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect, read once from Flask-Mail's state and the app config.

    Config: ``EMAILKIT_SMTP_CAFILE`` [None: the system's CAs] trusts a private CA;
    ``EMAILKIT_SMTP_VERIFY`` [True] set to False turns certificate checks off (each connection
    then logs a warning); ``EMAILKIT_SMTP_ALLOW_PLAINTEXT_AUTH`` [False] allows a login over an
    unencrypted connection to a host other than this machine.
    """

    server: str
    port: int
    use_tls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    max_emails: int | None = None
    debug: int = 0
    verify: bool = True
    allow_plaintext_auth: bool = False
    context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    #: Signs every message's bytes in ``SmtpConnection.send_raw`` (EMAILKIT_DKIM_*).
    dkim: DkimSigner | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_app(cls, mail: Any, config: Mapping[str, Any], timeout: float) -> SmtpSettings:
        """Settings for Flask-Mail's ``mail`` state; a ConfigError for an unsafe combination."""
        server = str(mail.server or "")
        verify = _flag(config.get("EMAILKIT_SMTP_VERIFY", True))
        cafile = config.get("EMAILKIT_SMTP_CAFILE") or None
        settings = cls(
            server=server,
            port=int(mail.port),
            use_tls=bool(mail.use_tls),
            use_ssl=bool(mail.use_ssl),
            username=mail.username or None,
            password=mail.password or None,
            timeout=timeout,
            max_emails=int(mail.max_emails) if mail.max_emails else None,
            debug=int(mail.debug or 0),
            verify=verify,
            allow_plaintext_auth=_flag(config.get("EMAILKIT_SMTP_ALLOW_PLAINTEXT_AUTH", False)),
            context=_tls_context(cafile, verify) if (mail.use_tls or mail.use_ssl) else None,
            dkim=DkimSigner.from_config(config),
        )
        if settings.logs_in and not (
            settings.encrypted or settings.allow_plaintext_auth or is_loopback(server)
        ):
            raise settings.plaintext_auth_error(server)
        return settings

    @property
    def encrypted(self) -> bool:
        return self.use_tls or self.use_ssl

    @property
    def logs_in(self) -> bool:
        return bool(self.username and self.password)

    def plaintext_auth_error(self, peer: str) -> ConfigError:
        return ConfigError(
            f"MAIL_USERNAME and MAIL_PASSWORD would be sent unencrypted to {self.server}"
            f"{f' ({peer})' if peer != self.server else ''}: set MAIL_USE_TLS (STARTTLS, "
            "usually port 587) or MAIL_USE_SSL (implicit TLS, usually port 465). Only if the "
            "network path is trusted, set "
            "EMAILKIT_SMTP_ALLOW_PLAINTEXT_AUTH = True."
        )


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _tls_context(cafile: str | None, verify: bool) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(
            f"EMAILKIT_SMTP_CAFILE {cafile!r} could not be loaded ({error}); it should be the "
            "PEM certificate of the CA that signed the SMTP server's certificate"
        ) from error
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
