"""A relay's sending rate: at most ``EMAILKIT_SMTP_RATE`` messages a second, and slowing down
when the relay says it is throttling.

The count is kept by the ``limits`` library (a moving window, the well-tested form of a token
bucket with a burst of one second's messages): in memory for one process, or in Redis
(``EMAILKIT_RATE_LIMIT_STORAGE = "redis://..."``) so that every process and Celery worker
sending through the relay shares one budget.
"""

from __future__ import annotations

import re
import smtplib
import threading
import time

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..errors import ConfigError

# 454 4.7.0 Throttling failure (SES), 421 4.7.0 Try again later (Gmail), 451 4.7.x ...
_THROTTLING_TEXT = re.compile(rb"\b4\.7\.\d+\b|throttl|rate limit|too many", re.IGNORECASE)


def is_throttling(error: BaseException) -> bool:
    """Whether the server asked to slow down (then waiting and sending again works)."""
    replies: list[tuple[int, bytes | str]] = []
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
    elif isinstance(error, smtplib.SMTPResponseException):
        replies = [(error.smtp_code, error.smtp_error)]
    for code, text in replies:
        raw = text.encode(errors="replace") if isinstance(text, str) else text
        if code == 454 or (code in (421, 450, 451, 452) and _THROTTLING_TEXT.search(raw)):
            return True
    return False


class RateLimit:
    """The budget of one relay: ``rate`` messages a second (None: no limit)."""

    def __init__(self, rate: float | None, storage: str | None, key: str) -> None:
        self.key = key
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._item: RateLimitItemPerSecond | RateLimitItemPerMinute | None = None
        if not rate:
            return
        if rate < 0:
            raise ConfigError(f"EMAILKIT_SMTP_RATE is {rate!r}: give messages a second, > 0")
        if float(rate).is_integer():
            self._item = RateLimitItemPerSecond(int(rate))
        else:  # 0.5/s is 30/min: the window grows rather than the rate being rounded
            self._item = RateLimitItemPerMinute(max(1, round(rate * 60)))
        try:
            self._limiter = MovingWindowRateLimiter(storage_from_string(storage or "memory://"))
        except Exception as error:  # an unknown scheme, a missing driver
            raise ConfigError(
                f"EMAILKIT_RATE_LIMIT_STORAGE {storage!r} cannot be used ({error}); give "
                "redis://host:port/db, or leave it unset to count in this process only"
            ) from error

    def wait(self) -> None:
        """Block until one more message may go to the relay, and count it."""
        with self._lock:
            pause = self._paused_until - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if self._item is None:
            return
        while not self._limiter.hit(self._item, "emailkit", self.key):
            reset = self._limiter.get_window_stats(self._item, "emailkit", self.key).reset_time
            time.sleep(min(1.0, max(0.002, reset - time.time())))

    def pause(self, seconds: float) -> None:
        """Hold every sender of this relay back for ``seconds`` (it said it is throttling)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
