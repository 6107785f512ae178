"""One-click unsubscribe (RFC 8058): the headers an email with a category gets, and the
endpoint EmailKit registers, driven by a real HTTP client against the app served by
werkzeug on 127.0.0.1."""

from __future__ import annotations

import http.client
import string
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from urllib.parse import unquote, urlsplit

import pytest
from flask_wtf.csrf import CSRFProtect
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.serving import make_server

from emailkit import SuppressedError
from emailkit.extension import kit
from emailkit.sending.deliverylog.ingest import Ingester
from emailkit.sending.unsubscribe import make_token, read_token

from ..conftest import SHIPPED_ROOT
from .test_sending import make_app, welcome

SECRET = "unsubscribe-test-secret"
ADA = "ada@example.com"
ONE_CLICK = "List-Unsubscribe=One-Click"


def news(name: str = "Ada"):
    from emails.welcome import Welcome

    class WelcomeNews(Welcome):
        template = str(SHIPPED_ROOT / "welcome")
        category = "newsletter"

    return WelcomeNews(user_name=name, confirm_url="https://acme.example.com/c/1")


@pytest.fixture
def app(tmp_path, smtp_server):
    app = make_app(
        tmp_path,
        smtp_server,
        SECRET_KEY=SECRET,
        EMAILKIT_BASE_URL="https://app.example.com",
        EMAILKIT_BOUNCE_ADDRESS="bounces@mail.example.com",
        EMAILKIT_DATABASE=f"sqlite:///{tmp_path / 'log.sqlite3'}",
    )
    CSRFProtect(app)  # set up after EmailKit: the endpoint must still be exempt
    with app.app_context():
        yield app
        kit.log.close()


class Served:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = dict(headers or {})
            if body is not None:
                sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            connection.close()


@pytest.fixture
def served(app) -> Iterator[Served]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=30)
        server.server_close()


def header(message, name: str) -> str | None:
    parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    value = parsed.get(name)
    return " ".join(str(value).split()) if value is not None else None


def https_path(message, host: str = "app.example.com") -> str:
    value = header(message, "List-Unsubscribe")
    url = value.split(",")[0].strip().strip("<>")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", host)
    return parts.path


def test_an_email_with_a_category_gets_both_headers(app):
    message = news().message(ADA)
    value = header(message, "List-Unsubscribe")
    web, mailto = (part.strip().strip("<>") for part in value.split(","))
    assert web.startswith("https://app.example.com/unsubscribe/")
    assert read_token(SECRET, web.rsplit("/", 1)[1]) == (ADA, "newsletter")
    assert mailto.startswith("mailto:bounces@mail.example.com?subject=unsubscribe%20")
    assert header(message, "List-Unsubscribe-Post") == ONE_CLICK


def test_an_email_without_a_category_gets_none(app):
    assert header(welcome().message(ADA), "List-Unsubscribe") is None


def test_a_templates_own_unsubscribe_url_wins(app):
    from emails.newsletter import Newsletter

    class CategoryNewsletter(Newsletter):
        template = str(SHIPPED_ROOT / "newsletter")
        category = "newsletter"

    sample = next(iter(Newsletter.previews().values()))
    email = CategoryNewsletter(**sample.field_values())
    message = email.message(ADA)
    assert header(message, "List-Unsubscribe") == f"<{email.unsubscribe_url}>"


def test_a_message_to_several_recipients_gets_no_header(app):
    assert header(news().message([ADA, "grace@example.com"]), "List-Unsubscribe") is None


def test_server_name_gives_the_base_url(tmp_path):
    app = make_app(tmp_path, SECRET_KEY=SECRET, SERVER_NAME="shop.example.com")
    with app.app_context():
        assert https_path(news().message(ADA), "shop.example.com").startswith("/unsubscribe/")
        assert header(news().message(ADA), "List-Unsubscribe").count("<") == 1  # no mailto


def test_one_click_post_unsubscribes_at_once_without_redirect(app, served):
    path = https_path(news().message(ADA))
    status, headers, body = served.request("POST", path, ONE_CLICK)
    assert status == 200 and "Location" not in headers
    assert "will get no more newsletter mail" in body
    assert [(e.address, e.category, e.reason) for e in kit.log.suppressions.list()] == [
        (ADA, "newsletter", "unsubscribe")
    ]
    with pytest.raises(SuppressedError):
        news().send(to=ADA)
    welcome().send(to=ADA)  # a password reset or receipt still goes


def test_get_shows_one_button_and_unsubscribes_nobody(app, served):
    path = https_path(news().message(ADA))
    status, headers, body = served.request("GET", path)
    assert status == 200
    assert body.count("<button") == 1 and 'value="One-Click"' in body
    assert headers["Referrer-Policy"] == "no-referrer"
    assert kit.log.suppressions.list() == []


@pytest.mark.parametrize(
    "alter",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: make_token("another-secret", ADA, "newsletter"),
        lambda token: make_token(SECRET, "mallory@example.com", "newsletter")[:20] + token[20:],
        lambda token: "garbage",
    ],
)
def test_a_forged_or_altered_token_is_a_400_and_changes_nothing(app, served, alter):
    path = https_path(news().message(ADA))
    prefix, token = path.rsplit("/", 1)
    for method, body in (("POST", ONE_CLICK), ("GET", None)):
        status, _, page = served.request(method, f"{prefix}/{alter(token)}", body)
        assert status == 400 and "nothing was changed" in page
    assert kit.log.suppressions.list() == []


def test_a_post_without_the_one_click_body_changes_nothing(app, served):
    status, _, _ = served.request("POST", https_path(news().message(ADA)), "something=else")
    assert status == 400
    assert kit.log.suppressions.list() == []


def test_the_mailto_unsubscribe_is_read_by_bounces_ingest(app):
    value = header(news().message(ADA), "List-Unsubscribe")
    subject = unquote(value.split("subject=")[1].rstrip(">"))
    mail = f"From: {ADA}\nTo: bounces@mail.example.com\nSubject: {subject}\n\n\n".encode()
    ingester = Ingester(kit.log, app.config)
    ingester.ingest(mail, "mailto")
    assert [(e.address, e.category) for e in kit.log.suppressions.list()] == [(ADA, "newsletter")]
    forged = mail.replace(subject.encode(), subject.encode()[:-3] + b"xyz")
    again = Ingester(kit.log, app.config)
    again.ingest(forged, "forged mailto")
    assert again.report.ignored == 1


addresses = st.emails()
categories = st.text(string.ascii_letters + string.digits + "-_ é", min_size=1, max_size=40)


@given(addresses, categories)
def test_a_token_round_trips(address, category):
    assert read_token(SECRET, make_token(SECRET, address, category)) == (address, category)


@given(addresses, categories, st.integers(min_value=0), st.sampled_from(string.ascii_letters))
def test_a_tampered_token_is_refused(address, category, position, replacement):
    token = make_token(SECRET, address, category)
    index = position % len(token)
    altered = token[:index] + replacement + token[index + 1 :]
    # Refused, or (a change in the spare bits of a base64 group's last character) read as
    # the very same value: never another address or category.
    assert read_token(SECRET, altered) in (None, (address, category))


def test_a_link_from_before_a_key_rotation_still_works(app, served):
    path = https_path(news().message(ADA))
    app.config.update(SECRET_KEY="rotated-key", SECRET_KEY_FALLBACKS=[SECRET])
    status, _, _ = served.request("POST", path, ONE_CLICK)
    assert status == 200
    assert [e.address for e in kit.log.suppressions.list()] == [ADA]
