"""The suppression list: addresses not to mail, for every email or for one category.

A bounce, a complaint or a manual entry suppresses an address for everything; an
unsubscribe suppresses it for one category (``newsletter``...), so a password reset still
reaches someone who left the newsletter.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ...errors import ConfigError
from .schema import ALL_CATEGORIES, REASONS, normalise_address, suppressions

_REASON_WORDS = {
    "bounce": "it bounced",
    "complaint": "its owner marked mail as spam",
    "manual": "it was suppressed by hand",
    "unsubscribe": "its owner unsubscribed",
}


@dataclass(frozen=True)
class Suppression:
    """One entry: ``address`` gets no mail (of ``category``, or none at all if None)."""

    address: str
    category: str | None
    reason: str
    detail: str | None
    created_at: dt.datetime

    def describe(self) -> str:
        """Why mail to the address is not sent, in words (for errors and reports)."""
        scope = f"{self.category} mail" if self.category else "all mail"
        why = _REASON_WORDS.get(self.reason, self.reason)
        text = f"{self.address}: {scope} suppressed because {why}"
        return f"{text} ({self.detail})" if self.detail else text


class SuppressionList:
    """The ``emailkit_suppressions`` table, through ``connect()`` (a transaction)."""

    def __init__(self, connect: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._connect = connect

    def add(
        self,
        address: str,
        *,
        category: str | None = None,
        reason: str = "manual",
        detail: str | None = None,
    ) -> bool:
        """Suppress ``address`` (for ``category`` only, if given); False if it already was
        (the first entry and its reason stay)."""
        if reason not in REASONS:
            raise ValueError(f"unknown suppression reason {reason!r}; one of {', '.join(REASONS)}")
        row = {
            "address": normalise_address(address),
            "category": category or ALL_CATEGORIES,
            "reason": reason,
            "detail": detail,
            "created_at": dt.datetime.now(dt.timezone.utc),
        }
        try:
            with self._connect() as connection:
                connection.execute(suppressions.insert(), row)
        except sa.exc.IntegrityError:
            return False
        return True

    def remove(self, address: str, *, category: str | None = None) -> bool:
        """Lift the entry for ``address`` and ``category`` (None: the all-mail entry)."""
        with self._connect() as connection:
            result = connection.execute(
                suppressions.delete().where(
                    suppressions.c.address == normalise_address(address),
                    suppressions.c.category == (category or ALL_CATEGORIES),
                )
            )
        return bool(result.rowcount)

    def list(self, address: str | None = None) -> list[Suppression]:
        """Every entry (or those for ``address``), by address."""
        query = sa.select(suppressions).order_by(suppressions.c.address, suppressions.c.category)
        if address is not None:
            query = query.where(suppressions.c.address == normalise_address(address))
        with self._connect() as connection:
            return [_entry(row) for row in connection.execute(query)]

    def snapshot(self) -> Snapshot:
        """The list held in memory for a bulk run (see :class:`Snapshot`)."""
        return Snapshot(self)

    def blocking(self, addresses: Iterable[str], category: str | None) -> dict[str, Suppression]:
        """Which of ``addresses`` must not get an email of ``category``, and why (keyed by
        the address as given). An all-mail entry blocks every email; a category's entry
        only that category's."""
        given = {normalise_address(a): a for a in addresses}
        if not given:
            return {}
        categories = [ALL_CATEGORIES, category] if category else [ALL_CATEGORIES]
        found: dict[str, Suppression] = {}
        with self._connect() as connection:
            rows = connection.execute(
                _BLOCKING, {"addresses": list(given), "categories": categories}
            )
            for row in rows:
                entry = _entry(row)
                original = given[entry.address]
                if original not in found or entry.category is None:
                    found[original] = entry
        return found


_BLOCKING = sa.select(suppressions).where(
    suppressions.c.address.in_(sa.bindparam("addresses", expanding=True)),
    suppressions.c.category.in_(sa.bindparam("categories", expanding=True)),
)


class Snapshot:
    """The suppression list held in memory for a bulk run, so that checking a message costs
    a dict lookup, not a query. Entries added since are read every ``interval`` seconds
    (and the whole list again every ``reload`` seconds, which also drops removed entries).
    A list longer than ``limit`` is not held: :meth:`SuppressionList.blocking` then asks
    the database for each message."""

    interval = 1.0
    reload = 60.0
    limit = 200_000

    def __init__(self, suppressions: SuppressionList) -> None:
        self._list = suppressions
        self._entries: dict[tuple[str, str], Suppression] | None = None
        self._loaded = self._checked = 0.0
        self._since: dt.datetime | None = None
        self._refreshing = threading.Lock()

    def blocking(self, addresses: Iterable[str], category: str | None) -> dict[str, Suppression]:
        """Like :meth:`SuppressionList.blocking`, from memory."""
        entries = self._fresh()
        if entries is None:
            return self._list.blocking(addresses, category)
        found: dict[str, Suppression] = {}
        for address in addresses:
            key = normalise_address(address)
            entry = entries.get((key, ALL_CATEGORIES))
            if entry is None and category:
                entry = entries.get((key, category))
            if entry is not None:
                found[address] = entry
        return found

    def prefetch(self) -> None:
        """Load the list now: before a run's senders start, in the caller's thread, rather
        than in the first sender's while the others wait for it and the GIL is busy
        rendering (10 ms a run measured, against 1-2 ms here). A failure is left for the
        first check, which asks the database itself and reports it."""
        with suppress(sa.exc.SQLAlchemyError, ConfigError):
            self._fresh()

    def _fresh(self) -> dict[tuple[str, str], Suppression] | None:
        if time.monotonic() - self._checked < self.interval and self._loaded:
            return self._entries  # the common case, without the lock
        with self._refreshing:  # several sender threads check: one of them reads
            now = time.monotonic()
            if not self._loaded or now - self._loaded >= self.reload:
                self._load(now)
            elif self._entries is not None and now - self._checked >= self.interval:
                self._update(now)
        return self._entries

    def _load(self, now: float) -> None:
        self._loaded = self._checked = now
        started = dt.datetime.now(dt.timezone.utc)
        with self._list._connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(suppressions))
            if int(count.scalar() or 0) > self.limit:
                self._entries = None
                return
            rows = connection.execute(sa.select(suppressions)).all()
        self._entries = {(row.address, row.category): _entry(row) for row in rows}
        self._since = started

    def _update(self, now: float) -> None:
        assert self._entries is not None and self._since is not None
        self._checked = now
        # Overlap by a minute: a transaction stamped earlier may commit later.
        since = self._since - dt.timedelta(seconds=60)
        started = dt.datetime.now(dt.timezone.utc)
        with self._list._connect() as connection:
            rows = connection.execute(
                sa.select(suppressions).where(suppressions.c.created_at >= since)
            ).all()
        for row in rows:
            self._entries[(row.address, row.category)] = _entry(row)
        self._since = started


def _entry(row: Any) -> Suppression:
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.timezone.utc)
    return Suppression(row.address, row.category or None, row.reason, row.detail, created)
