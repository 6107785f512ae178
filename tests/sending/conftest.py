"""Fixtures of the sending tests: a delivery-log database of each kind, and what became of
the messages a stopped process had."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emailkit.sending.deliverylog import DeliveryLog


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: an SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.sqlite3'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def log(database_url):
    store = DeliveryLog(database_url)
    yield store
    store.close()


def delivered_and_kept(smtp_server, instance: Path) -> tuple[list[str], list[str]]:
    """The recipients the sink received, and those kept in the app's failed-mail folder."""
    delivered = [r for envelope in smtp_server.envelopes for r in envelope.rcpt_tos]
    kept = [
        r
        for path in (instance / "emailkit" / "failed").glob("*.json")
        for r in json.loads(path.read_text())["recipients"]
    ]
    return delivered, kept
