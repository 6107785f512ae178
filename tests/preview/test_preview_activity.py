"""The preview's Activity page and suppression list: search by address or Message-ID, each
message's timeline, and remove behind the Origin and CSRF checks."""

from __future__ import annotations

import pytest

from emailkit.extension import kit
from emailkit.preview import create_preview_app

from .test_preview import SAME_ORIGIN, copy_of_shipped, csrf_token, page

ADA = "ada@example.com"


@pytest.fixture
def app(tmp_path):
    app = create_preview_app(
        copy_of_shipped(tmp_path), EMAILKIT_DATABASE=f"sqlite:///{tmp_path / 'log.sqlite3'}"
    )
    with app.app_context():
        log = kit.log
        log.queued("<one@acme.example.com>", email="receipt", recipients=[ADA])
        log.sent("<one@acme.example.com>", [ADA], reply="250 OK")
        log.bounced("<one@acme.example.com>", ADA, "hard bounce 5.1.1 <b>no such user</b>")
        log.queued("<two@acme.example.com>", email="welcome", recipients=["grace@example.com"])
        log.suppressions.add("grace@example.com", category="newsletter", reason="unsubscribe")
        yield app
        log.close()


@pytest.fixture
def client(app):
    return app.test_client()


def test_activity_finds_a_message_by_address_with_its_timeline(client):
    html = page(client, "/activity?q=ada@example.com")
    assert "&lt;one@acme.example.com&gt;" in html and "two@acme" not in html
    timeline = html[html.index('<ol class="timeline">') :]
    assert timeline.index(">queued<") < timeline.index(">sent<") < timeline.index(">bounced<")
    assert "&lt;b&gt;no such user&lt;/b&gt;" in html  # escaped, never markup


def test_activity_finds_a_message_by_message_id_with_or_without_brackets(client):
    for query in ("<two@acme.example.com>", "two@acme.example.com"):
        html = page(client, f"/activity?q={query}")
        assert "grace@example.com" in html and "one@acme" not in html


def test_the_suppression_list_shows_each_entry_and_removes_one(client):
    html = page(client, "/suppressions")
    assert ADA in html and "grace@example.com" in html and "newsletter" in html
    response = client.post(
        "/suppressions/remove",
        data={"csrf_token": csrf_token(html), "address": ADA, "category": ""},
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 302
    assert [e.address for e in kit.log.suppressions.list()] == ["grace@example.com"]
    assert f"{ADA} gets all mail again." in page(client, "/suppressions")


@pytest.mark.parametrize("origin", [None, "http://evil.example"])
def test_remove_from_another_origin_is_refused(client, origin):
    token = csrf_token(page(client, "/suppressions"))
    headers = {"Origin": origin} if origin else {}
    response = client.post(
        "/suppressions/remove", data={"csrf_token": token, "address": ADA}, headers=headers
    )
    assert response.status_code == 403
    assert len(kit.log.suppressions.list()) == 2


def test_remove_without_the_csrf_token_is_refused(client):
    page(client, "/suppressions")
    response = client.post(
        "/suppressions/remove", data={"address": ADA, "csrf_token": "x"}, headers=SAME_ORIGIN
    )
    assert response.status_code == 400
    assert len(kit.log.suppressions.list()) == 2


def test_the_pages_say_so_when_the_log_is_off(tmp_path):
    app = create_preview_app(copy_of_shipped(tmp_path), EMAILKIT_DELIVERY_LOG=False)
    client = app.test_client()
    assert "The delivery log is off" in page(client, "/activity")
    assert "The delivery log is off" in page(client, "/suppressions")
