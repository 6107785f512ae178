"""The delivery log: every message sent, what happened to it, idempotency keys, and the
suppression list enforced at send.

Config (Flask's; defaults in brackets):

- ``EMAILKIT_DELIVERY_LOG`` [True]: set False to keep no log (then no idempotency keys and
  no suppression either: ``idempotency_key=`` is accepted and ignored).
- ``EMAILKIT_DATABASE`` [``sqlite:///<instance>/emailkit/delivery.sqlite3``]: any
  SQLAlchemy URL; one shared database (``postgresql+psycopg://...``) for several machines.
  Read from the environment variable of the same name when the config does not set it.
- ``EMAILKIT_LOG_RETENTION_DAYS`` [30]: messages and events older than this are purged (at
  most once an hour per process, and by ``emailkit activity --purge``). The log holds
  recipients' addresses: that is personal data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .recorder import Recorder, Start, suppressed_error
from .schema import (
    ALL_CATEGORIES,
    EVENT_KINDS,
    REASONS,
    STATUSES,
    events,
    messages,
    metadata,
    normalise_address,
    suppressions,
)
from .store import Claim, DeliveryLog, EventRecord, MessageRecord
from .suppression import Suppression, SuppressionList

DEFAULT_FILE = "delivery.sqlite3"


def from_config(
    config: Mapping[str, Any], instance_path: str | os.PathLike[str]
) -> DeliveryLog | None:
    """The app's delivery log as its config says (None when ``EMAILKIT_DELIVERY_LOG`` is off)."""
    enabled = config.get("EMAILKIT_DELIVERY_LOG", True)
    if isinstance(enabled, str):
        enabled = enabled.strip().lower() not in ("0", "false", "no", "off", "")
    if not enabled:
        return None
    url = config.get("EMAILKIT_DATABASE") or os.environ.get("EMAILKIT_DATABASE")
    if not url:
        url = f"sqlite:///{Path(instance_path).resolve() / 'emailkit' / DEFAULT_FILE}"
    retention = float(config.get("EMAILKIT_LOG_RETENTION_DAYS", 30))
    return DeliveryLog(str(url), retention_days=retention)


__all__ = [
    "ALL_CATEGORIES",
    "EVENT_KINDS",
    "REASONS",
    "STATUSES",
    "Claim",
    "DeliveryLog",
    "EventRecord",
    "MessageRecord",
    "Recorder",
    "Start",
    "Suppression",
    "SuppressionList",
    "events",
    "from_config",
    "messages",
    "metadata",
    "normalise_address",
    "suppressed_error",
    "suppressions",
]
