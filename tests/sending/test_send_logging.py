"""Each failed message is logged once, whichever way it was sent (issues 19 and 24)."""

from __future__ import annotations

import logging

import pytest

from emailkit import SendError
from emailkit.extension import kit

from .test_sending import make_app, welcome


@pytest.fixture
def app(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server)
    with app.app_context():
        yield app


def records_about(caplog, address: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and address in r.getMessage()
    ]


def test_a_send_async_failure_is_logged_once(app, smtp_server, caplog):
    smtp_server.refuse("gone@example.com", "550")
    future = welcome().send_async(to="gone@example.com")
    with pytest.raises(SendError):
        future.result(timeout=60)
    (logged,) = records_about(caplog, "gone@example.com")
    assert "kept in" in logged


def test_a_send_many_failure_is_logged_once(app, smtp_server, caplog):
    smtp_server.refuse("gone@example.com", "550")
    report = kit.send_many(
        [(welcome("Ada"), "ada@example.com"), (welcome("Gone"), "gone@example.com")]
    )
    assert report.sent == 1 and len(report.failed) == 1
    (logged,) = records_about(caplog, "gone@example.com")
    assert "kept in" in logged


def test_a_send_many_item_that_cannot_be_built_is_reported(app, caplog):
    report = kit.send_many([(welcome("Ada"), "not an address")])
    assert report.sent == 0 and len(report.failed) == 1
    assert len(records_about(caplog, "not an address")) <= 1
