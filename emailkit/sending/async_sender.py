"""``send_async``'s thread pool: bounded, and drained when the process stops.

Queued mail lives in memory, so stopping the process must not drop it. At exit, and on
SIGTERM or SIGINT (how gunicorn, systemd and Kubernetes stop an app), the pool keeps
sending for ``EMAILKIT_SHUTDOWN_GRACE`` seconds; then every message not yet sent goes to the
failed-mail folder, the ones on the wire finish their current attempt without retrying, and
the signal's previous handler runs (by default the process then ends as it would have).
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from types import FrameType
from typing import Any

from flask import Flask

from ..errors import SendError
from ..mime.message import Message
from .deliverer import Deliverer, logger
from .pool import close_all as close_connections

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ShuttingDown(ConnectionAbortedError):
    """The process stopped before this message's turn came; kept in the failed folder, and a
    transient failure: resending it later works."""


class AsyncSender:
    """A bounded thread pool that sends inside an app context and drains at exit."""

    def __init__(
        self,
        app: Flask,
        deliverer: Deliverer,
        *,
        workers: int,
        max_pending: int,
        grace: float,
        handle_signals: bool = True,
    ) -> None:
        self._app = app
        self._deliverer = deliverer
        self._grace = grace
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="emailkit-send")
        self._slots = threading.BoundedSemaphore(max_pending)
        self._queued: set[Future[str]] = set()
        self._lock = threading.RLock()  # a signal handler may run while the main thread holds it
        self._closing = False
        self._stop = threading.Event()  # set when the grace period is over
        self._drained = threading.Event()
        _live.add(self)
        if handle_signals:
            handle_signals_here()

    def submit(self, message: Message) -> Future[str]:
        with self._lock:
            if self._closing:  # stopping already: send here and now rather than lose it
                return self._send_now(message)
        self._slots.acquire()  # back-pressure instead of an unbounded queue
        with self._lock:
            if self._closing:
                self._slots.release()
                return self._send_now(message)
            future = self._executor.submit(self._run, message)
            self._queued.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[str]) -> None:
        with self._lock:
            self._queued.discard(future)
        self._slots.release()

    def _send_now(self, message: Message) -> Future[str]:
        future: Future[str] = Future()
        try:
            future.set_result(self._run(message))
        except Exception as error:
            future.set_exception(error)
        return future

    def _run(self, message: Message) -> str:
        with self._app.app_context():
            try:
                if self._stop.is_set():
                    raise self._deliverer.keep_failed(
                        message,
                        ShuttingDown(
                            f"the process stopped and {self._grace:g} s "
                            "(EMAILKIT_SHUTDOWN_GRACE) were not enough to send it"
                        ),
                        0,
                    )
                return self._deliverer.deliver(message, stop=self._stop)
            except SendError:
                raise  # logged once already, where it was kept
            except Exception as error:
                logger.error(
                    "%s to %s was not sent: %s",
                    message.email_name,
                    ", ".join(message.envelope_recipients),
                    error,
                )
                raise

    def shutdown(self, grace: float | None = None, *, in_signal_handler: bool = False) -> None:
        """Send what is queued for up to ``grace`` seconds; keep the rest in the failed folder.

        In a signal handler the interrupted main thread may hold the executor's own lock (in
        the middle of ``submit``), so there the queued futures are waited for rather than the
        executor shut down; the process ends right after anyway."""
        with self._lock:
            closing, self._closing = self._closing, True
            queued = list(self._queued)
        if closing:  # another thread (or the signal handler) is draining
            self._drained.wait()
            return
        deadline = time.monotonic() + (self._grace if grace is None else grace)
        try:
            wait_for(queued, timeout=max(0.0, deadline - time.monotonic()))
            self._stop.set()
            if in_signal_handler:
                wait_for(queued)  # the workers keep what is left in the failed folder
            else:
                self._executor.shutdown(wait=True)
        finally:
            self._drained.set()
            # The queue is drained: QUIT the pooled connections rather than drop them.
            close_connections(blocking=not in_signal_handler)
        if queued:
            logger.info("emailkit: %d queued message(s) handled before stopping", len(queued))


# Signals and exit are the process's, not an app's: one handler drains every live pool.
_live: weakref.WeakSet[AsyncSender] = weakref.WeakSet()
_previous: dict[int, Any] = {}


def handle_signals_here() -> None:
    """Drain the pools on SIGTERM and SIGINT, then run the handler that was there before.

    A signal the process ignores (``SIG_IGN``, as ``nohup`` sets SIGINT) stays ignored.

    Only the main thread can set signal handlers; EmailKit calls this at ``init_app`` and
    when a pool starts, so whichever runs in the main thread does it (once: later calls
    only wrap a handler someone else set since).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _SIGNALS:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            # Ignored on purpose (``nohup app &`` ignores SIGINT): the process must go on
            # as if it never came, so emailkit does not start draining either.
            continue
        if current is not _on_signal:
            _previous[signum] = current
            signal.signal(signum, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    for sender in list(_live):
        sender.shutdown(in_signal_handler=True)
    previous = _previous.get(signum)
    if callable(previous):
        previous(signum, frame)
    elif previous in (signal.SIG_DFL, None):
        # End the way the process would have without us (killed by the signal).
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


@atexit.register
def _shutdown_all() -> None:
    for sender in list(_live):
        sender.shutdown()


def start(app: Flask, deliverer: Deliverer, config: Any) -> AsyncSender:
    """The app's pool, configured from ``EMAILKIT_ASYNC_*`` and ``EMAILKIT_SHUTDOWN_GRACE``."""
    return AsyncSender(
        app,
        deliverer,
        # A worker per pooled connection, so a burst uses them all (see EmailKit's docs).
        workers=int(
            config.get("EMAILKIT_ASYNC_WORKERS") or config.get("EMAILKIT_SMTP_CONNECTIONS", 8)
        ),
        max_pending=int(config.get("EMAILKIT_ASYNC_MAX_PENDING", 1000)),
        grace=float(config.get("EMAILKIT_SHUTDOWN_GRACE", 10.0)),
        handle_signals=bool(config.get("EMAILKIT_HANDLE_SIGNALS", True)),
    )
