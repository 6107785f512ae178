"""The recipients and options a message is built and sent with, declared once.

``Email.message``, ``send``, ``send_async``, ``send_later``, the Celery scheduler and the
options of each ``send_many`` item take the same keywords; their signatures say
``**options: Unpack[MessageOptions]`` (or :class:`QueueOptions`), so a type checker knows
each keyword and its type, and :func:`check_options` gives the ``TypeError`` Python gives
for an unknown keyword argument, naming what the method takes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import flask_mail

from .addresses import Recipient


class QueueOptions(TypedDict, total=False):
    """What a queued message carries as JSON to the worker (``send_later``)."""

    cc: Recipient | Iterable[Recipient] | None
    bcc: Recipient | Iterable[Recipient] | None
    reply_to: Recipient | None
    sender: Recipient | None
    headers: Mapping[str, str] | None
    locale: str | None  # rendered in this locale (default: EMAILKIT_DEFAULT_LOCALE)
    idempotency_key: str | None  # a key already sent or in flight sends nothing


class MessageOptions(QueueOptions, total=False):
    """What ``message()``, ``send()`` and ``send_async()`` take besides ``to``."""

    attachments: Iterable[flask_mail.Attachment | os.PathLike[str]] | None


QUEUE_OPTIONS = frozenset(QueueOptions.__annotations__)
MESSAGE_OPTIONS = frozenset(MessageOptions.__annotations__)  # with the inherited ones


def check_options(options: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    """Raise ``TypeError`` for a keyword ``where`` does not take, as Python would."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(
            f"{where}() got an unexpected keyword argument {unknown[0]!r}; it takes "
            f"{', '.join(sorted(allowed))}"
        )


def without(options: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """``options`` less ``names``: what is passed on to a callee that takes fewer."""
    return {key: value for key, value in options.items() if key not in names}
