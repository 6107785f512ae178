"""Background sending on Celery (``pip install 'Flask-EmailKit[celery]'``).

```python
from emailkit.celery import register_tasks
register_tasks(celery_app, flask_app)
Welcome(user_name="Ada", confirm_url=url).send_later(to="ada@example.com", countdown=60)
```

``send_later`` renders the email once at enqueue time (so template and address errors raise
in the caller) and queues the class's import path, its field values as JSON (never pickle)
and the Message-ID. The worker rebuilds the email inside the Flask app context, renders it
and sends one attempt; transient failures are retried by Celery with exponential backoff,
jitter and a cap, keeping the same Message-ID; a message that fails for good goes to the
failed-mail folder, as in-process sending does. A message some recipients refuse with 4xx is
retried for just those; those refusing with 5xx are kept.

Nothing is lost when a worker is killed (SIGKILL, OOM): tasks are acknowledged late and
rejected when the worker is lost, so Redis gives a killed worker's messages to another after
the visibility timeout; and with a Redis broker, a ledger (:mod:`emailkit.sending.ledger`) recovers
the messages the transport itself loses. A message is sent at most twice: when the worker
died after the server took it but before the task was acknowledged. Settings to use with a
Redis broker (the defaults recover a killed worker's messages only after an hour;
``register_tasks`` fills in the three ``unacked_*`` ones when unset, see
:mod:`emailkit.sending.celery_options`)::

    celery_app.conf.update(
        worker_prefetch_multiplier=1,  # a killed worker holds few messages
        broker_transport_options={
            # > the longest a task may wait or run: EMAILKIT_CELERY_RETRY_MAX_DELAY and any
            # send_later countdown, plus a few EMAILKIT_SMTP_TIMEOUTs; past it a second
            # worker starts the same message.
            "visibility_timeout": 900,
            "unacked_restore_interval": 10,  # how often workers look for expired messages
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": 30,  # a worker killed mid-sweep blocks sweeps this long
        },
    )

Flask config: ``EMAILKIT_CELERY_LEDGER`` [True with a Redis broker] and
``EMAILKIT_CELERY_RECOVER_INTERVAL`` [the ``unacked_restore_interval``, else 10 s].
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from celery import Celery, Task
from flask import Flask, current_app
from werkzeug.utils import import_string

from .errors import ContextError, EmailError, SuppressedError
from .extension import EmailKit
from .mime.message import Recipient, recipients_list
from .mime.options import QUEUE_OPTIONS, check_options
from .model.payload import decode, encode
from .sending.celery_options import check_transport_options, warn_if_past_visibility
from .sending.deliverer import Delivery, is_transient
from .sending.dispatch import DISPATCHER_KEY, SCHEDULER_KEY, current_scheduler
from .sending.ledger import Ledger, task_id_for
from .sending.pool import close_all as close_connections

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .mime.options import QueueOptions
    from .model.email import Email

TASK_NAME = "emailkit.send_email"
_LEDGER_KEY = "emailkit_celery_ledger"
logger = logging.getLogger("emailkit")


def register_tasks(celery_app: Celery, flask_app: Flask) -> Task:
    """Register the sending task on ``celery_app``, running inside ``flask_app``'s context.

    Config (Flask's): ``EMAILKIT_CELERY_MAX_RETRIES`` [8], ``EMAILKIT_CELERY_RETRY_DELAY``
    [10 s] and ``EMAILKIT_CELERY_RETRY_MAX_DELAY`` [600 s]: the n-th retry waits a random time
    up to ``min(max_delay, delay * 2**n)``.
    """

    @celery_app.task(
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        serializer="json",
        max_retries=None,
        shared=False,  # this app's task, bound to this Flask app; not every Celery app's
    )
    def send_email(task: Task, payload: dict[str, Any]) -> str:
        with flask_app.app_context():
            return _deliver(task, payload)

    flask_app.extensions[SCHEDULER_KEY] = _CeleryScheduler(send_email)
    from celery import signals

    # Each worker process has its own connection pool: QUIT its connections as it ends.
    signals.worker_process_shutdown.connect(_close_connections, weak=False)
    check_transport_options(celery_app.conf, flask_app.config)
    ledger = _ledger(celery_app, flask_app)
    if ledger is not None:
        flask_app.extensions[_LEDGER_KEY] = ledger
        _watch_workers(celery_app, send_email, ledger)
    return send_email


def _close_connections(**_: Any) -> None:
    close_connections()


def _ledger(celery_app: Celery, flask_app: Flask) -> Ledger | None:
    url = str(celery_app.conf.broker_url or "")
    enabled = flask_app.config.get("EMAILKIT_CELERY_LEDGER")
    if enabled is None:
        enabled = url.startswith(("redis://", "rediss://", "unix://"))
    if not enabled:
        return None
    options = celery_app.conf.broker_transport_options or {}
    interval = flask_app.config.get(
        "EMAILKIT_CELERY_RECOVER_INTERVAL", options.get("unacked_restore_interval", 10.0)
    )
    return Ledger(url, float(interval))


def _watch_workers(celery_app: Celery, task: Task, ledger: Ledger) -> None:
    from celery import signals

    def publish(task_id: str, payload: dict[str, Any], queue: str) -> None:
        task.apply_async(args=[payload], task_id=task_id, queue=queue, serializer="json")

    def on_received(sender: Any = None, request: Any = None, **_: Any) -> None:
        if request is not None and request.name == TASK_NAME:
            ledger.received(request.id)

    def on_ready(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is celery_app:
            ledger.start_sweeping(publish)

    def on_shutdown(sender: Any = None, **_: Any) -> None:
        ledger.stop_sweeping()

    signals.task_received.connect(on_received, weak=False)
    signals.worker_ready.connect(on_ready, weak=False)
    signals.worker_shutdown.connect(on_shutdown, weak=False)


class _CeleryScheduler:
    """The :class:`~emailkit.sending.dispatch.Scheduler` ``Email.send_later`` finds on the app."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def send_later(self, email: Email, to: Recipient | Iterable[Recipient], **options: Any) -> str:
        return send_later(email, to, **options)


def _deliver(task: Task, payload: dict[str, Any]) -> str:
    config = current_app.config
    deliverer = EmailKit.state().deliverer
    ledger: Ledger | None = (
        current_app.extensions.get(_LEDGER_KEY) if payload.get("ledger") else None
    )
    task_id = str(task.request.id)
    if ledger is not None and not ledger.is_open(task_id):
        logger.info("%s (%s) was already sent or kept; skipped", payload.get("email"), task_id)
        return str(payload["message_id"])
    try:
        cls = import_string(payload["email"])
        email = cls(**decode(payload["fields"]))
        message = email.message(
            _recipients(payload["to"]),
            cc=_recipients(payload.get("cc")),
            bcc=_recipients(payload.get("bcc")),
            reply_to=_recipient(payload.get("reply_to")),
            sender=_recipient(payload.get("sender")),
            headers=payload.get("headers"),
            message_id=payload["message_id"],
            locale=payload.get("locale"),
            idempotency_key=payload.get("idempotency_key"),
        )
    except Exception as error:
        # It cannot be built here (code changed since it was queued?): keep the task itself.
        path = deliverer.failed.save_task(payload, reason=f"{type(error).__name__}: {error}")
        logger.error(
            "%s could not be built in the worker (%s); kept in %s",
            payload.get("email"),
            error,
            path,
        )
        if ledger is not None:
            ledger.done(task_id)
        raise
    retries = task.request.retries
    try:
        # A retry after the relay accepted (as the log recorded) sends nothing again.
        start = deliverer.log.queued(message, payload.get("pending"), known=True)
    except SuppressedError:
        if ledger is not None:
            ledger.done(task_id)
        raise
    except EmailError as error:  # the delivery log cannot be reached: keep it, lose nothing
        try:
            raise deliverer.keep_failed(message, error, retries + 1) from error
        finally:
            if ledger is not None:
                ledger.done(task_id)
    if start.duplicate or not start.recipients:
        if ledger is not None:
            ledger.done(task_id)
        return start.message_id
    delivery = Delivery(message, start.recipients)
    try:
        deliverer.attempt(delivery)
        if delivery.refused:
            raise delivery.refusal()
    except Exception as error:
        max_retries = int(config.get("EMAILKIT_CELERY_MAX_RETRIES", 8))
        if is_transient(error) and delivery.pending and retries < max_retries:
            if delivery.refused:  # refused for good by some: keep those now, retry the rest
                deliverer.keep_failed(message, delivery.refusal(), _only_refused(delivery))
            delay = float(config.get("EMAILKIT_CELERY_RETRY_DELAY", 10.0))
            cap = float(config.get("EMAILKIT_CELERY_RETRY_MAX_DELAY", 600.0))
            countdown = random.uniform(0, min(cap, delay * 2**retries))
            logger.warning(
                "%s to %s: attempt %d failed (%s); retrying in %.1f s",
                message.email_name,
                ", ".join(message.envelope_recipients),
                retries + 1,
                error,
                countdown,
            )
            deliverer.log.deferred(delivery, error)
            retry = {**payload, "pending": delivery.pending}
            if ledger is not None:
                info = task.request.delivery_info or {}
                queue = info.get("routing_key") or task.app.conf.task_default_queue
                ledger.add(task_id, retry, str(queue))
                ledger.requeued(task_id)
            raise task.retry(args=[retry], exc=error, countdown=countdown) from error
        delivery.attempts = retries + 1
        try:
            raise deliverer.keep_failed(message, error, delivery) from error
        finally:
            if ledger is not None:
                ledger.done(task_id)
    deliverer.log.sent(delivery)
    if ledger is not None:
        ledger.done(task_id)
    return message.msgId


def _only_refused(delivery: Delivery) -> Delivery:
    """The part of ``delivery`` refused for good, to keep while the rest is retried."""
    part = Delivery(delivery.message, list(delivery.refused))
    part.pending, part.refused, part.attempts = [], dict(delivery.refused), delivery.attempts
    return part


def send_later(
    email: Email,
    to: Recipient | Iterable[Recipient],
    *,
    countdown: float | None = None,
    eta: dt.datetime | None = None,
    queue: str | None = None,
    **options: Unpack[QueueOptions],
) -> str:
    """Queue ``email`` for a Celery worker; returns the Message-ID it will be sent with.

    With the delivery log on, an ``idempotency_key`` already used queues nothing and returns
    the first message's Message-ID; a message every recipient of which is suppressed raises
    :class:`~emailkit.SuppressedError` here (the worker checks again before sending).
    """
    scheduler = current_scheduler()
    cls = type(email)
    path = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__.startswith("_emailkit_root_") or "<locals>" in cls.__qualname__:
        raise ContextError(
            f"{cls.__name__} was loaded from a folder, not imported from a package, so a worker "
            "cannot import it: make the emails root an importable package (emails/__init__.py "
            "on the worker's path)."
        )
    fields = {
        name: encode(value, f"{cls.__name__}.{name}")
        for name, value in email.field_values().items()
    }
    from .model.email import default_locale

    check_options(options, QUEUE_OPTIONS, "send_later")
    # The locale is fixed now (the worker has no user to ask), and the message rendered and
    # validated now: errors raise here, not in the worker.
    locale = options.get("locale") or default_locale()
    queued: QueueOptions = {**options, "locale": locale}
    message = email.message(to, **queued)
    state = current_app.extensions.get(DISPATCHER_KEY)
    if state is not None:
        start = state.deliverer.log.queued(message)  # claims the key now, in the caller
        if start.duplicate:
            return start.message_id
    payload: dict[str, Any] = {
        "email": path,
        "fields": fields,
        "to": [_plain(r) for r in recipients_list(to)],
        "cc": [_plain(r) for r in recipients_list(options.get("cc"))],
        "bcc": [_plain(r) for r in recipients_list(options.get("bcc"))],
        "reply_to": _plain(reply_to) if (reply_to := options.get("reply_to")) else None,
        "sender": _plain(sender) if (sender := options.get("sender")) else None,
        "headers": dict(options.get("headers") or {}),
        "message_id": message.msgId,
        "locale": locale,
    }
    if message.idempotency_key is not None:
        payload["idempotency_key"] = message.idempotency_key
    task = cast(_CeleryScheduler, scheduler).task
    warn_if_past_visibility(task.app.conf, countdown, eta)
    task_id = task_id_for(message.msgId)
    ledger: Ledger | None = current_app.extensions.get(_LEDGER_KEY)
    if ledger is not None:
        payload["ledger"] = True
        ledger.add(task_id, payload, queue or task.app.conf.task_default_queue)
    try:
        task.apply_async(
            args=[payload],
            task_id=task_id,
            countdown=countdown,
            eta=eta,
            queue=queue,
            serializer="json",
        )
    except BaseException as error:
        if ledger is not None:
            ledger.done(task_id)
        if state is not None:  # not queued after all: free its idempotency key
            state.deliverer.log.failed(
                message.msgId, message.email_name, error, message.envelope_recipients, [], 0
            )
        raise
    return message.msgId


def _plain(recipient: Recipient) -> str | list[str]:
    return list(recipient) if isinstance(recipient, tuple) else recipient


def _recipient(value: str | list[str] | None) -> Recipient | None:
    return (value[0], value[1]) if isinstance(value, list) else value


def _recipients(values: list[str | list[str]] | None) -> list[Recipient]:
    return [r for r in (_recipient(v) for v in values or []) if r is not None]
