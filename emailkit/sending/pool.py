"""Pooled SMTP connections to one relay: opened once (EHLO, STARTTLS, AUTH), reused.

Up to ``connections`` are open at once; each is checked before reuse (a hang-up noticed for
free, a NOOP after ``check_after`` idle seconds) and replaced when dead, before any message
goes over it. A connection is closed after ``MAIL_MAX_EMAILS`` messages, after any error
(the server's state is then unknown), after ``idle_timeout`` idle seconds, and at exit.
A process that forks (Celery's prefork workers) starts with an empty pool of its own.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .smtpsettings import SmtpSettings
from .transport import SmtpConnection


@dataclass(frozen=True)
class PoolOptions:
    """``EMAILKIT_SMTP_CONNECTIONS``, ``EMAILKIT_SMTP_PIPELINING``,
    ``EMAILKIT_SMTP_CHECK_AFTER`` and ``EMAILKIT_SMTP_IDLE_TIMEOUT``."""

    connections: int = 8
    pipelining: bool = True
    check_after: float = 5.0
    idle_timeout: float = 60.0


class SmtpPool:
    """The open connections to one relay, shared by every thread of the process."""

    def __init__(
        self, settings: SmtpSettings, options: PoolOptions, *, suppress: bool = False
    ) -> None:
        self.settings = settings
        self.options = options
        self.suppress = suppress
        self.opened = 0
        self._reset()
        _pools.add(self)

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._idle: list[SmtpConnection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, self.options.connections))

    @contextmanager
    def connection(self) -> Iterator[SmtpConnection]:
        """A connection ready for a message; kept for the next one unless something failed."""
        connection = self.checkout()
        healthy = False
        try:
            yield connection
            healthy = True
        finally:
            self.checkin(connection, healthy)

    def checkout(self) -> SmtpConnection:
        if self._pid != os.getpid():  # forked: the parent's sockets are not ours to use
            self._reset()
        self._slots.acquire()
        try:
            connection = self._reuse() or self._open()
        except BaseException:
            self._slots.release()
            raise
        connection.warn_if_unverified()
        return connection

    def _reuse(self) -> SmtpConnection | None:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()  # the most recent: the likeliest alive
            if connection.usable(self.options.check_after):
                return connection
            connection.close()  # dead or answering oddly: replaced, no message lost on it

    def _open(self) -> SmtpConnection:
        connection = SmtpConnection(
            self.settings,
            suppress=self.suppress,
            pipelining=self.options.pipelining,
            warn_unverified=False,
        )
        connection.open()
        self.opened += 1
        _start_reaper()
        return connection

    def checkin(self, connection: SmtpConnection, healthy: bool) -> None:
        try:
            if healthy and not connection.full and connection.host is not None:
                with self._lock:
                    if self._pid == os.getpid():
                        self._idle.append(connection)
                        return
            connection.close()
        finally:
            if self._pid == os.getpid():
                self._slots.release()

    def close_idle(self, older_than: float = 0.0, blocking: bool = True) -> int:
        """QUIT the idle connections unused for ``older_than`` seconds; returns how many.

        ``blocking=False`` (in a signal handler) gives up if another thread holds the pool."""
        if self._pid != os.getpid() or not self._lock.acquire(timeout=-1 if blocking else 1):
            return 0
        try:
            now = time.monotonic()
            stale = [c for c in self._idle if now - c.last_used >= older_than]
            self._idle = [c for c in self._idle if c not in stale]
        finally:
            self._lock.release()
        for connection in stale:
            connection.close()
        return len(stale)


_pools: weakref.WeakSet[SmtpPool] = weakref.WeakSet()
_reaper: threading.Thread | None = None
_reaper_lock = threading.Lock()


def _start_reaper() -> None:
    """One daemon thread per process closes connections idle past their pool's timeout."""
    global _reaper
    with _reaper_lock:
        if _reaper is not None and _reaper.is_alive():
            return
        _reaper = threading.Thread(target=_reap, name="emailkit-smtp-reaper", daemon=True)
        _reaper.start()


def _reap() -> None:
    while True:
        time.sleep(1.0)
        for pool in list(_pools):
            pool.close_idle(pool.options.idle_timeout)


@atexit.register
def close_all(blocking: bool = True) -> None:
    """QUIT every idle connection of this process (at exit, and after a SIGTERM's drain)."""
    for pool in list(_pools):
        pool.close_idle(blocking=blocking)
