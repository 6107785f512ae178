"""The relays mail goes out through, in order of preference, each with its pool and budget.

``EMAILKIT_RELAYS`` lists relay settings (``server``, ``port``, ``use_tls``, ``use_ssl``,
``username``, ``password``, optionally ``rate``); without it the one relay is Flask-Mail's
``MAIL_*``. A relay that refuses connections, times out or answers 421 while a connection
opens is skipped for ``EMAILKIT_RELAY_COOLDOWN`` seconds and messages go to the next; the
first is tried again after the cool-down. Only an open connection carries a message, so a
message goes to one relay, never two (unless a server took it and the line dropped before it
said so, where nothing can tell).
"""

from __future__ import annotations

import logging
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from ..errors import ConfigError
from .delivery import Delivery
from .pool import PoolOptions, SmtpPool
from .ratelimit import RateLimit, is_throttling
from .smtpsettings import SmtpSettings
from .transport import SmtpConnection

logger = logging.getLogger("emailkit")

_RELAY_KEYS = {"server", "port", "use_tls", "use_ssl", "username", "password", "rate"}


@dataclass
class Relay:
    settings: SmtpSettings
    pool: SmtpPool
    limit: RateLimit
    down_until: float = 0.0
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"{self.settings.server}:{self.settings.port}"


def relay_settings(
    mail: Any, config: Mapping[str, Any], timeout: float
) -> list[tuple[SmtpSettings, float | None]]:
    """Each relay's settings and rate, from ``EMAILKIT_RELAYS`` or else ``MAIL_*``."""
    rate = config.get("EMAILKIT_SMTP_RATE")
    listed = config.get("EMAILKIT_RELAYS")
    if not listed:
        return [(SmtpSettings.from_app(mail, config, timeout), _rate(rate))]
    relays = []
    for index, entry in enumerate(listed):
        if not isinstance(entry, Mapping) or not entry.get("server"):
            raise ConfigError(
                f"EMAILKIT_RELAYS[{index}] is {entry!r}: each relay is a dict with at least "
                f"'server' (and 'port', 'use_tls', 'use_ssl', 'username', 'password', 'rate')"
            )
        unknown = set(entry) - _RELAY_KEYS
        if unknown:
            raise ConfigError(
                f"EMAILKIT_RELAYS[{index}] has unknown keys {sorted(unknown)}; the keys are "
                f"{sorted(_RELAY_KEYS)}"
            )
        state = SimpleNamespace(
            server=entry["server"],
            port=entry.get("port", 25),
            use_tls=entry.get("use_tls", False),
            use_ssl=entry.get("use_ssl", False),
            username=entry.get("username"),
            password=entry.get("password"),
            max_emails=getattr(mail, "max_emails", None),
            debug=getattr(mail, "debug", 0),
        )
        settings = SmtpSettings.from_app(state, config, timeout)
        relays.append((settings, _rate(entry.get("rate", rate))))
    return relays


def _rate(value: Any) -> float | None:
    if value in (None, "", 0):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"EMAILKIT_SMTP_RATE is {value!r}: give messages a second as a number"
        ) from None


def _relay_down(error: BaseException) -> bool:
    """Whether opening failed because the relay is unreachable or unavailable."""
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code == 421
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, smtplib.SMTPException):
        return False  # a login refused, no STARTTLS: the next relay would not fix this one
    return isinstance(error, (OSError, socket.timeout))


class RelaySet:
    """Sends one delivery attempt through the first relay that is up, within its budget."""

    def __init__(
        self,
        relays: list[tuple[SmtpSettings, float | None]],
        options: PoolOptions,
        *,
        suppress: bool = False,
        cooldown: float = 60.0,
        storage: str | None = None,
        throttle_delay: float = 1.0,
        throttle_max_delay: float = 30.0,
        throttle_max_wait: float = 600.0,
    ) -> None:
        self.relays = [
            Relay(
                settings,
                SmtpPool(settings, options, suppress=suppress),
                RateLimit(rate, storage, f"{settings.server}:{settings.port}"),
            )
            for settings, rate in relays
        ]
        self.cooldown = cooldown
        self.throttle_delay = throttle_delay
        self.throttle_max_delay = throttle_max_delay
        self.throttle_max_wait = throttle_max_wait
        self._lock = threading.Lock()

    def _order(self) -> list[Relay]:
        """Relays to try: those up, in order; when all are cooling, the soonest back first."""
        now = time.monotonic()
        with self._lock:
            up = [r for r in self.relays if r.down_until <= now]
            return up or sorted(self.relays, key=lambda r: r.down_until)

    @contextmanager
    def connection(self) -> Iterator[tuple[Relay, SmtpConnection]]:
        """An open connection to the first relay that is up."""
        last: BaseException | None = None
        for relay in self._order():
            try:
                connection = relay.pool.checkout()
            except Exception as error:
                if len(self.relays) == 1 or not _relay_down(error):
                    raise
                last = error
                with self._lock:
                    relay.down_until = time.monotonic() + self.cooldown
                logger.warning(
                    "relay %s is unavailable (%s: %s); using the next for %g s "
                    "(EMAILKIT_RELAY_COOLDOWN)",
                    relay.name,
                    type(error).__name__,
                    error,
                    self.cooldown,
                )
                continue
            healthy = False
            try:
                yield relay, connection
                healthy = True
            finally:
                relay.pool.checkin(connection, healthy)
            return
        assert last is not None
        raise last

    def attempt(self, delivery: Delivery, on_data_sent: Callable[[], None] | None = None) -> None:
        """One delivery attempt; a relay asking to slow down is waited for, not failed."""
        delay = self.throttle_delay
        deadline = time.monotonic() + self.throttle_max_wait
        while True:
            chosen: Relay | None = None
            try:
                with self.connection() as (chosen, connection):
                    delivery.relay = chosen.name  # after a failover, the one it went to
                    chosen.limit.wait()
                    if connection.host is not None:
                        connection.host.on_data_sent = on_data_sent
                    delivery.attempt(connection)
                return
            except Exception as error:
                if not is_throttling(error) or time.monotonic() + delay > deadline:
                    raise
                throttled = error
            relay = chosen or self.relays[0]
            relay.limit.pause(delay)
            logger.warning(
                "relay %s is throttling (%s); %s to %s waits %.2f s",
                relay.name,
                throttled,
                delivery.message.email_name or "message",
                ", ".join(delivery.pending),
                delay,
            )
            delay = min(delay * 2, self.throttle_max_delay)

    def close(self, blocking: bool = True) -> None:
        for relay in self.relays:
            relay.pool.close_idle(blocking=blocking)

    @property
    def connections(self) -> int:
        """How many connections a relay's pool may hold open at once."""
        return max(1, self.relays[0].pool.options.connections)


def relay_set(
    mail: Any, config: Any, timeout: float, throttle_delay: float, throttle_max_delay: float
) -> RelaySet:
    """The app's relays from its config (``EMAILKIT_RELAYS``, ``EMAILKIT_SMTP_*``); a throttling
    relay is waited for from ``throttle_delay`` seconds, doubling up to ``throttle_max_delay``."""
    return RelaySet(
        relay_settings(mail, config, timeout),
        pool_options(config),
        suppress=bool(mail.suppress),
        cooldown=float(config.get("EMAILKIT_RELAY_COOLDOWN", 60.0)),
        storage=config.get("EMAILKIT_RATE_LIMIT_STORAGE") or None,
        throttle_delay=throttle_delay,
        throttle_max_delay=throttle_max_delay,
        throttle_max_wait=float(config.get("EMAILKIT_THROTTLE_MAX_WAIT", 600.0)),
    )


def pool_options(config: Any) -> PoolOptions:
    """The pool's ``EMAILKIT_SMTP_*`` settings."""
    pipelining = config.get("EMAILKIT_SMTP_PIPELINING", True)
    if isinstance(pipelining, str):
        pipelining = pipelining.strip().lower() in ("1", "true", "yes", "on")
    return PoolOptions(
        connections=int(config.get("EMAILKIT_SMTP_CONNECTIONS", 8)),
        pipelining=bool(pipelining),
        check_after=float(config.get("EMAILKIT_SMTP_CHECK_AFTER", 5.0)),
        idle_timeout=float(config.get("EMAILKIT_SMTP_IDLE_TIMEOUT", 60.0)),
    )
