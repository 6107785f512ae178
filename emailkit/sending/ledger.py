"""A ledger of queued emails in Redis, so that no ``send_later`` message is lost.

Celery's Redis transport takes a message off the queue (``BRPOP``) and only then records it
as unacknowledged: a worker killed between the two loses the message for good (celery#4354,
kombu#305). Killed at any other moment, its messages come back after the visibility
timeout. So ``send_later`` also writes each message to a Redis hash, workers note each one
they receive, and finish it off the ledger once it is delivered or kept in the failed-mail
folder. A worker thread sweeps every ``EMAILKIT_CELERY_RECOVER_INTERVAL`` seconds: a message
no worker received, found neither in its queue nor among the unacknowledged, twice in a row,
was lost, and is queued again with the same task id and Message-ID.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("emailkit")

_LEDGER = "emailkit:ledger"
_RECEIVED = "emailkit:received"
_SWEEP_LOCK = "emailkit:ledger-sweep"
_UNACKED = "unacked"  # kombu's Redis transport's hash of unacknowledged messages
_SCAN_LIMIT = 2000
"""A queue longer than this is not scanned; its lost messages wait until it is shorter."""


def task_id_for(message_id: str) -> str:
    """The Celery task id of a queued message: fixed by its Message-ID, through retries."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"emailkit:{message_id}"))


class Ledger:
    """The queued messages not yet done, in the broker's Redis."""

    def __init__(self, url: str, interval: float) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url)
        self.interval = interval
        self._suspects: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, task_id: str, payload: dict[str, Any], queue: str) -> None:
        entry = {"payload": payload, "queue": queue, "queued_at": time.time()}
        self._redis.hset(_LEDGER, task_id, json.dumps(entry))

    def received(self, task_id: str) -> None:
        self._redis.hset(_RECEIVED, task_id, time.time())

    def requeued(self, task_id: str) -> None:
        """A retry was published: it must be received again to count as on its way."""
        self._redis.hdel(_RECEIVED, task_id)

    def is_open(self, task_id: str) -> bool:
        return bool(self._redis.hexists(_LEDGER, task_id))

    def done(self, task_id: str) -> None:
        self._redis.pipeline().hdel(_LEDGER, task_id).hdel(_RECEIVED, task_id).execute()

    def sweep(self, publish: Callable[[str, dict[str, Any], str], None]) -> list[str]:
        """Queue again the messages lost on the way; returns their task ids."""
        if not self._redis.set(_SWEEP_LOCK, "1", nx=True, px=max(1, int(self.interval * 900))):
            return []  # another worker is sweeping
        now = time.time()
        received = {key.decode() for key in self._redis.hkeys(_RECEIVED)}
        candidates: dict[str, dict[str, Any]] = {}
        for key, raw in self._redis.hgetall(_LEDGER).items():
            task_id = key.decode()
            entry = json.loads(raw)
            if task_id not in received and now - entry["queued_at"] > self.interval:
                candidates[task_id] = entry
        if not candidates:
            self._suspects.clear()
            return []
        unacked = b"\n".join(self._redis.hvals(_UNACKED))
        queued: dict[str, bytes | None] = {}
        for entry in candidates.values():
            name = entry["queue"]
            if name not in queued:
                length = int(self._redis.llen(name))
                queued[name] = (
                    b"\n".join(self._redis.lrange(name, 0, -1)) if length <= _SCAN_LIMIT else None
                )
        lost = []
        for task_id, entry in candidates.items():
            waiting = queued[entry["queue"]]
            if waiting is None or task_id.encode() in waiting or task_id.encode() in unacked:
                self._suspects.discard(task_id)
            elif task_id not in self._suspects:
                self._suspects.add(task_id)  # maybe on its way to a worker this very moment
            else:
                lost.append(task_id)
        for task_id in lost:
            entry = candidates[task_id]
            self._suspects.discard(task_id)
            self._redis.hset(_LEDGER, task_id, json.dumps({**entry, "queued_at": time.time()}))
            logger.warning(
                "%s (Message-ID %s) was lost on its way to a worker; queued again",
                entry["payload"].get("email"),
                entry["payload"].get("message_id"),
            )
            publish(task_id, entry["payload"], entry["queue"])
        return lost

    def start_sweeping(self, publish: Callable[[str, dict[str, Any], str], None]) -> None:
        """Sweep in a daemon thread of this (worker) process until :meth:`stop_sweeping`."""

        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.sweep(publish)
                except Exception:  # Redis away for a moment: the next sweep tries again
                    logger.exception("emailkit: sweeping the ledger of queued emails failed")

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="emailkit-ledger", daemon=True)
        self._thread.start()

    def stop_sweeping(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
