"""Celery's Redis transport options that decide how soon a killed worker's mail is sent.

A worker killed mid-task leaves its messages unacknowledged in Redis; another worker puts
them back on the queue once the visibility timeout has passed, at its next scan. kombu scans
every ``unacked_restore_interval`` x ``unacked_restore_throttle`` seconds (100 by default)
and a worker killed mid-scan holds the scan lock for ``unacked_mutex_expire`` (300), so an
app that sets only ``visibility_timeout`` waits minutes for those messages.
:func:`check_transport_options` fills in safe values for the options the app left unset and
warns about unsafe ones.
``visibility_timeout`` stays as set (kombu: an hour): it must exceed the longest a queued
message may wait, retries and ``send_later`` countdowns included, or a second worker sends
it again; :func:`warn_if_past_visibility` warns when a countdown passes it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("emailkit")


def _redis(conf: Any) -> bool:
    return str(conf.broker_url or "").startswith(("redis://", "rediss://"))


# Transport options that bring a killed worker's messages back within seconds of the
# visibility timeout; kombu's defaults (a scan every 100 s, a sweep lock held 300 s by a
# worker killed mid-sweep) leave them waiting for minutes.
SAFE_TRANSPORT_OPTIONS = {
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    "unacked_mutex_expire": 30,
}
_SLOWEST_SCAN = 60.0  # seconds between scans for expired messages past which we warn
_LONGEST_MUTEX = 120.0


def check_transport_options(conf: Any, config: Mapping[str, Any]) -> None:
    """Fill in the Redis transport options the app left unset; warn about unsafe ones."""
    if not _redis(conf):
        return
    options = dict(conf.broker_transport_options or {})
    unset = {k: v for k, v in SAFE_TRANSPORT_OPTIONS.items() if k not in options}
    if unset:
        options.update(unset)
        conf.broker_transport_options = options
    visibility = float(options.get("visibility_timeout", 3600))
    longest = float(config.get("EMAILKIT_CELERY_RETRY_MAX_DELAY", 600.0)) + 2 * float(
        config.get("EMAILKIT_SMTP_TIMEOUT", 30.0)
    )
    if visibility < longest:
        logger.warning(
            "emailkit: the broker's visibility_timeout (%g s) is shorter than a queued email "
            "may wait or run (EMAILKIT_CELERY_RETRY_MAX_DELAY + 2 x EMAILKIT_SMTP_TIMEOUT = "
            "%g s): Redis will hand such a message to a second worker, which sends it again. "
            "Raise broker_transport_options['visibility_timeout'].",
            visibility,
            longest,
        )
    scan = float(options["unacked_restore_interval"]) * float(options["unacked_restore_throttle"])
    if scan > _SLOWEST_SCAN:
        logger.warning(
            "emailkit: with unacked_restore_interval x unacked_restore_throttle = %g s, a "
            "killed worker's emails wait up to that long after the visibility timeout before "
            "another worker sends them; set them to 10 and 1 in broker_transport_options.",
            scan,
        )
    mutex = float(options["unacked_mutex_expire"])
    if mutex > _LONGEST_MUTEX:
        logger.warning(
            "emailkit: unacked_mutex_expire is %g s: a worker killed while it looks for "
            "expired messages blocks every other worker from recovering them that long; "
            "set it to 30 in broker_transport_options.",
            mutex,
        )


def warn_if_past_visibility(conf: Any, countdown: float | None, eta: dt.datetime | None) -> None:
    """A message held past the visibility timeout goes to a second worker: sent twice."""
    if not _redis(conf) or (countdown is None and eta is None):
        return
    options = conf.broker_transport_options or {}
    visibility = float(options.get("visibility_timeout", 3600))
    wait = countdown or 0.0
    if eta is not None:
        now = dt.datetime.now(eta.tzinfo) if eta.tzinfo else dt.datetime.now()
        wait = max(wait, (eta - now).total_seconds())
    if wait >= visibility:
        logger.warning(
            "emailkit: send_later waits %g s, longer than the broker's visibility_timeout "
            "(%g s): Redis will hand the message to a second worker meanwhile, and it will be "
            "sent twice. Raise broker_transport_options['visibility_timeout'] above the "
            "longest countdown.",
            wait,
            visibility,
        )
