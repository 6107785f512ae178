"""How an email reaches the current app's sending without importing the layers above it.

``EmailKit(app)`` registers a :class:`Dispatcher` in ``app.extensions["emailkit"]`` and
``emailkit.celery.register_tasks`` a :class:`Scheduler` in ``app.extensions["emailkit_celery"]``;
``Email.send()``, ``send_async()`` and ``send_later()`` look them up here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast

from flask import current_app, has_app_context

from ..errors import ConfigError
from ..mime.message import Message, Recipient

if TYPE_CHECKING:
    from concurrent.futures import Future

    from typing_extensions import Unpack

    from ..mime.options import QueueOptions
    from ..model.email import Email

DISPATCHER_KEY = "emailkit"
SCHEDULER_KEY = "emailkit_celery"


class Dispatcher(Protocol):
    """Sends built messages for one app (registered by ``EmailKit.init_app``)."""

    def deliver(self, message: Message) -> str:
        """Send now, with retries; returns the Message-ID."""
        ...

    def deliver_async(self, message: Message) -> Future[str]:
        """Send on the app's thread pool."""
        ...


class Scheduler(Protocol):
    """Queues emails for background workers (registered by ``emailkit.celery``)."""

    def send_later(
        self,
        email: Email,
        to: Recipient | Iterable[Recipient],
        *,
        countdown: float | None = None,
        eta: Any = None,
        queue: str | None = None,
        **options: Unpack[QueueOptions],
    ) -> str:
        """Queue ``email``; returns the Message-ID it will be sent with."""
        ...


def current_dispatcher() -> Dispatcher:
    """The current app's dispatcher; a clear error outside an app or before ``EmailKit(app)``."""
    if not has_app_context():
        raise ConfigError(
            "Sending needs a Flask application context: call it inside a request, a CLI "
            "command, or `with app.app_context():`."
        )
    dispatcher = current_app.extensions.get(DISPATCHER_KEY)
    if dispatcher is None:
        raise ConfigError(
            f"EmailKit is not set up on the app {current_app.name!r}: "
            "call EmailKit(app) or kit.init_app(app)."
        )
    return cast(Dispatcher, dispatcher)


def current_scheduler() -> Scheduler:
    """The current app's scheduler; a clear error saying what to install or call."""
    if importlib.util.find_spec("celery") is None:
        raise ConfigError("send_later needs Celery: pip install 'Flask-EmailKit[celery]'")
    scheduler = current_app.extensions.get(SCHEDULER_KEY) if has_app_context() else None
    if scheduler is None:
        raise ConfigError(
            "send_later needs the Celery task: call emailkit.celery.register_tasks(celery_app, "
            "flask_app) and enqueue inside the Flask app context."
        )
    return cast(Scheduler, scheduler)
