"""The Flask extension: ``EmailKit(app)`` sets up Flask-Mail and emailkit's sending for an app.

Configuration is Flask's, with these keys (defaults in brackets):

- ``MAIL_*``: Flask-Mail's keys. Each one the config does not set is read from the
  environment variable of the same name (``MAIL_USERNAME``, ``MAIL_PASSWORD``, ...).
- ``EMAILKIT_ROOT`` [``emails/``]: the emails root, for the CLI and the preview server.
- ``EMAILKIT_OUTBOX`` [``<instance>/emailkit/outbox``]: where mail goes when no ``MAIL_SERVER``
  is configured and the app runs in debug or testing mode; nothing leaves the machine.
- ``EMAILKIT_FAILED_DIR`` [``<instance>/emailkit/failed``]: messages that could not be sent.
- ``EMAILKIT_SEND_ATTEMPTS`` [4], ``EMAILKIT_RETRY_DELAY`` [1.0 s],
  ``EMAILKIT_RETRY_MAX_DELAY`` [30 s]: retries of transient failures, with exponential backoff
  and jitter.
- ``EMAILKIT_SMTP_TIMEOUT`` [30 s]: per SMTP operation.
- ``EMAILKIT_IMAGE_URL`` [none]: link the HTML's relative ``<img src>`` files under this public
  URL prefix instead of embedding them as ``cid:`` parts (see :mod:`emailkit.mime.images`).
- ``EMAILKIT_ASYNC_WORKERS`` [``EMAILKIT_SMTP_CONNECTIONS``], ``EMAILKIT_ASYNC_MAX_PENDING``
  [1000]: the ``send_async`` thread pool and how many messages may wait for it before
  ``send_async`` blocks.
- ``EMAILKIT_SMTP_CONNECTIONS`` [8], ``EMAILKIT_SMTP_PIPELINING`` [True],
  ``EMAILKIT_SMTP_CHECK_AFTER`` [5 s], ``EMAILKIT_SMTP_IDLE_TIMEOUT`` [60 s]: the pool of
  connections per relay (:mod:`emailkit.sending.pool`). ``EMAILKIT_SMTP_RATE`` [none, messages a
  second], ``EMAILKIT_RATE_LIMIT_STORAGE`` [in memory; ``redis://...`` to share it],
  ``EMAILKIT_THROTTLE_MAX_WAIT`` [600 s] (:mod:`emailkit.sending.ratelimit`). ``EMAILKIT_RELAYS``
  [``MAIL_*``] and ``EMAILKIT_RELAY_COOLDOWN`` [60 s]: failover (:mod:`emailkit.sending.relays`).
- ``EMAILKIT_SHUTDOWN_GRACE`` [10 s]: at exit or on SIGTERM/SIGINT, how long queued
  ``send_async`` mail keeps being sent; what is left then goes to the failed-mail folder.
  ``EMAILKIT_HANDLE_SIGNALS`` [True]: set False to leave SIGTERM/SIGINT alone (exit still
  drains).
- ``EMAILKIT_SMTP_CAFILE`` [system CAs]: PEM file of a private CA the SMTP server's
  certificate is checked against. STARTTLS (``MAIL_USE_TLS``) and implicit TLS
  (``MAIL_USE_SSL``) always check the certificate and host name, unless
  ``EMAILKIT_SMTP_VERIFY`` [True] is False (each connection then logs a warning).
- ``EMAILKIT_SMTP_ALLOW_PLAINTEXT_AUTH`` [False]: allow ``MAIL_USERNAME``/``MAIL_PASSWORD``
  over an unencrypted connection to a host other than this machine.
- ``EMAILKIT_DELIVERY_LOG`` [True], ``EMAILKIT_DATABASE`` [SQLite in the instance folder],
  ``EMAILKIT_LOG_RETENTION_DAYS`` [30]: the delivery log, idempotency keys and the
  suppression list (see :mod:`emailkit.sending.deliverylog`).
- ``EMAILKIT_BOUNCE_ADDRESS`` [none]: a VERP envelope sender per recipient (see
  :mod:`emailkit.sending.verp`); ``EMAILKIT_SOFT_BOUNCE_LIMIT`` [3] and
  ``EMAILKIT_SOFT_BOUNCE_WINDOW_DAYS`` [7] for ``emailkit bounces ingest``.
- ``EMAILKIT_BASE_URL`` [``https://`` + ``SERVER_NAME``], ``EMAILKIT_UNSUBSCRIBE_PATH``
  [``/unsubscribe``], ``EMAILKIT_UNSUBSCRIBE_MAILTO`` [the bounce address],
  ``EMAILKIT_UNSUBSCRIBE_ENDPOINT`` [True]: one-click unsubscribe for emails with a category
  (see :mod:`emailkit.sending.unsubscribe`).
- ``EMAILKIT_DKIM_DOMAIN``, ``EMAILKIT_DKIM_SELECTOR``, ``EMAILKIT_DKIM_PRIVATE_KEY`` [unset]:
  sign every message sent over SMTP with DKIM (see :mod:`emailkit.sending.dkim`); also read from the
  environment.
- ``EMAILKIT_SPAMD`` [``127.0.0.1:783``]: the SpamAssassin daemon ``emailkit check --spam``
  asks; also read from the environment.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click
import flask_mail
from flask import Flask

from .errors import ConfigError
from .mime.message import Message
from .sending.async_sender import AsyncSender, handle_signals_here
from .sending.async_sender import start as start_async
from .sending.bulk import deliver_many
from .sending.deliverer import Deliverer, RetryPolicy, SendReport
from .sending.deliverylog import DeliveryLog, Recorder
from .sending.deliverylog import from_config as delivery_log_from_config
from .sending.dispatch import DISPATCHER_KEY, current_dispatcher
from .sending.dkim import DkimSigner
from .sending.mailfolder import MailFolder
from .sending.relays import relay_set
from .sending.unsubscribe_views import register as register_unsubscribe

if TYPE_CHECKING:
    from .model.email import Email

_MAIL_SETTINGS: dict[str, Callable[[str], Any]] = {
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": lambda value: value.lower() in ("1", "true", "yes", "on"),
    "MAIL_USE_SSL": lambda value: value.lower() in ("1", "true", "yes", "on"),
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_MAX_EMAILS": int,
    "MAIL_SUPPRESS_SEND": lambda value: value.lower() in ("1", "true", "yes", "on"),
    "MAIL_ASCII_ATTACHMENTS": lambda value: value.lower() in ("1", "true", "yes", "on"),
}


class _State:
    """What EmailKit keeps per app, in ``app.extensions["emailkit"]``."""

    def __init__(self, app: Flask, deliverer: Deliverer, root: Path) -> None:
        self.app = app
        self.deliverer = deliverer
        self.root = root
        self._async: AsyncSender | None = None
        self._lock = threading.Lock()

    def async_sender(self) -> AsyncSender:
        with self._lock:
            if self._async is None:
                self._async = start_async(self.app, self.deliverer, self.app.config)
        return self._async

    def deliver(self, message: Message) -> str:
        """Send a built message now (with retries); returns its Message-ID."""
        return self.deliverer.deliver(message)

    def deliver_async(self, message: Message) -> Future[str]:
        """Queue a built message on the app's thread pool (sent or kept, even on SIGTERM)."""
        return self.async_sender().submit(message)


_COMMANDS: list[click.Command] = []


def register_commands(command: click.Command) -> None:
    """Add ``command`` to the ``flask`` command line of every app EmailKit sets up
    (the CLI layer registers ``flask emailkit ...`` this way)."""
    if command not in _COMMANDS:
        _COMMANDS.append(command)


class EmailKit:
    """Flask extension: ``EmailKit(app)`` or ``kit.init_app(app)``.

    Sets up Flask-Mail (unless the app already has it), the failed-mail folder, the local
    outbox for development, and the ``flask emailkit`` commands.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        config = app.config
        for key, convert in _MAIL_SETTINGS.items():
            if key not in config and key in os.environ:
                config[key] = convert(os.environ[key])
        if "mail" not in app.extensions:
            flask_mail.Mail(app)
        instance = Path(app.instance_path) / "emailkit"
        outbox = None
        if not config.get("MAIL_SERVER") and not config.get("EMAILKIT_RELAYS"):
            if not (app.debug or app.testing):
                raise ConfigError(
                    "No MAIL_SERVER is configured, so mail cannot be sent. Set MAIL_SERVER (and "
                    "MAIL_PORT, MAIL_USERNAME, MAIL_PASSWORD) in the app config or environment; "
                    "in debug or testing mode mail goes to a local outbox folder instead."
                )
            outbox = MailFolder(Path(config.get("EMAILKIT_OUTBOX") or instance / "outbox"))
        DkimSigner.from_config(config)  # an unreadable DKIM key fails here, not at send time
        timeout = float(config.get("EMAILKIT_SMTP_TIMEOUT", 30.0))
        mail = app.extensions["mail"]
        policy = RetryPolicy(
            attempts=int(config.get("EMAILKIT_SEND_ATTEMPTS", 4)),
            delay=float(config.get("EMAILKIT_RETRY_DELAY", 1.0)),
            max_delay=float(config.get("EMAILKIT_RETRY_MAX_DELAY", 30.0)),
        )
        smtp = relays = None
        if outbox is None:
            # one pool per app and relay
            relays = relay_set(mail, config, timeout, policy.delay, policy.max_delay)
            smtp = relays.relays[0].settings
        deliverer = Deliverer(
            app.extensions["mail"],
            outbox=outbox,
            failed=MailFolder(Path(config.get("EMAILKIT_FAILED_DIR") or instance / "failed")),
            policy=policy,
            timeout=timeout,
            smtp=smtp,
            relays=relays,
            log=Recorder(delivery_log_from_config(config, app.instance_path)),
        )
        root = Path(config.get("EMAILKIT_ROOT") or os.environ.get("EMAILKIT_ROOT") or "emails")
        app.extensions[DISPATCHER_KEY] = _State(app, deliverer, root.resolve())
        if config.get("EMAILKIT_HANDLE_SIGNALS", True):
            handle_signals_here()  # here, in the main thread: pools may start in any thread
        if config.get("EMAILKIT_UNSUBSCRIBE_ENDPOINT", True):
            register_unsubscribe(app)
        for command in _COMMANDS:
            if command.name not in app.cli.commands:
                app.cli.add_command(command)

    @staticmethod
    def state() -> _State:
        """The current app's emailkit state; a clear error when EmailKit was not set up."""
        return cast(_State, current_dispatcher())

    @property
    def outbox(self) -> MailFolder | None:
        """The current app's outbox, when mail goes there instead of an SMTP server."""
        return self.state().deliverer.outbox

    @property
    def failed(self) -> MailFolder:
        """The current app's folder of messages that could not be sent."""
        return self.state().deliverer.failed

    def deliver(self, message: Message) -> str:
        """Send a built message now (with retries); returns its Message-ID."""
        return self.state().deliver(message)

    def deliver_async(self, message: Message) -> Future[str]:
        """Queue a built message on the app's thread pool."""
        return self.state().deliver_async(message)

    def send_many(
        self,
        items: Iterable[tuple[Email, Any] | tuple[Email, Any, dict[str, Any]]],
        *,
        progress: bool | None = None,
    ) -> SendReport:
        """Send ``(email, to)`` or ``(email, to, options)`` pairs from any iterable.

        Streams (constant memory), reuses one SMTP connection for up to ``MAIL_MAX_EMAILS``
        messages, reconnects when the server drops it, and reports what was sent, retried and
        failed. ``progress`` shows a bar on stderr; by default when run from a terminal CLI.
        """
        deliverer = self.state().deliverer
        if progress is None:
            progress = click.get_current_context(silent=True) is not None and sys.stderr.isatty()
        if not progress:
            return deliver_many(deliverer, items)
        with click.progressbar(items, label="Sending", file=sys.stderr) as bar:
            return deliver_many(deliverer, bar)

    def resend_failed(self) -> SendReport:
        """Send the messages in the failed-mail folder again."""
        return self.state().deliverer.resend_failed()

    @property
    def log(self) -> DeliveryLog | None:
        """The current app's delivery log (None when ``EMAILKIT_DELIVERY_LOG`` is off)."""
        return self.state().deliverer.log.log


kit = EmailKit()
"""The module-level extension object that ``Email.send`` uses: state lives on each app."""
