"""Security headers on every preview response, against a real preview server over HTTP, and
in Chromium: an email's own scripts never run on the preview's origin, another origin cannot
frame the preview, and the viewer still shows the email in its frame."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from emailkit.preview import create_preview_app

from ..conftest import running_preview

SCRIPTED = """
from __future__ import annotations

from emailkit import Email


class Scripted(Email):
    @classmethod
    def previews(cls) -> dict[str, Scripted]:
        return {"default": cls()}
"""
SCRIPTED_HTML = """<!DOCTYPE html>
<html><head><title>scripted</title></head><body>
<h1>An email with scripts in it</h1>
<script>document.body.setAttribute("data-ran", "script");</script>
<img src="data:image/gif;base64,AAAA" alt=""
     onerror="document.body.setAttribute('data-ran', 'onerror')">
<p>The end.</p>
</body></html>
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("headers")
    env = {"EMAILKIT_PREVIEW_RECIPIENTS": "*@example.com"}
    with running_preview(folder, env=env) as running:
        scripted = running.root / "scripted"
        scripted.mkdir()
        (scripted / "__init__.py").write_text(SCRIPTED)
        (scripted / "subject.txt").write_text("Scripted")
        (scripted / "body.html").write_text(SCRIPTED_HTML)
        yield running


def request(server, method, path, *, host=None, body=None, headers=None):
    """One HTTP request; returns status, headers and body (no redirect followed)."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    all_headers = {"Host": host or parts.netloc, **(headers or {})}
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.headers, data


def send_one(server):
    """Send a test from the viewer's form, so the outbox has a message; returns its stem."""
    status, headers, page = request(server, "GET", "/welcome/default")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    cookie = headers["Set-Cookie"].split(";")[0]
    status, _, _ = request(
        server,
        "POST",
        "/welcome/default/send",
        body=f"csrf_token={token}&to=qa%40example.com",
        headers={
            "Origin": server.url,
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert status == 302
    _, _, outbox = request(server, "GET", "/outbox")
    return re.search(rb'href="/outbox/([^"/]+)"', outbox).group(1).decode()


PAGE_CSP = "frame-ancestors 'self'"


def check(path, status, headers, *, part):
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["X-Frame-Options"] == "SAMEORIGIN", path
    assert headers["Referrer-Policy"] == "same-origin", path
    csp = headers["Content-Security-Policy"]
    assert PAGE_CSP in csp, (path, csp)
    if part:
        assert "script-src 'none'" in csp and "sandbox" in csp, (path, csp)
        assert "allow-scripts" not in csp, (path, csp)


def test_every_route_answers_with_the_security_headers(server):
    stem = send_one(server)
    _, _, outbox_html = request(server, "GET", f"/outbox/{stem}.html")
    cid = re.search(rb"/part\?cid=([^\"'&]+)", outbox_html)
    part_query = f"?cid={cid.group(1).decode()}" if cid else "?cid=none"
    examples = {
        # endpoint: (method, URL, is an email's own content)
        "static": ("GET", "/static/nothing.css", False),  # a 404 page
        "emailkit_preview.static": ("GET", "/_static/preview.css", False),
        "emailkit_preview.index": ("GET", "/", False),
        "emailkit_preview.version": ("GET", "/__version", False),
        "emailkit_preview.viewer": ("GET", "/receipt/default", False),
        "emailkit_preview.html": ("GET", "/scripted/default.html", True),
        "emailkit_preview.text": ("GET", "/receipt/default.txt", True),
        "emailkit_preview.eml": ("GET", "/receipt/default.eml", True),
        "emailkit_preview.send": ("POST", "/receipt/default/send", False),
        "emailkit_preview.outbox": ("GET", "/outbox", False),
        "emailkit_preview.outbox_message": ("GET", f"/outbox/{stem}", False),
        "emailkit_preview.outbox_html": ("GET", f"/outbox/{stem}.html", True),
        "emailkit_preview.outbox_eml": ("GET", f"/outbox/{stem}.eml", True),
        "emailkit_preview.image": ("GET", "/welcome/logo.png", True),
        "emailkit_preview.outbox_part": ("GET", f"/outbox/{stem}/part{part_query}", True),
        "emailkit_preview.editor": ("GET", "/receipt/default/edit", False),
        "emailkit_preview.editor_render": ("GET", "/receipt/default/edit/render", False),
        "emailkit_preview.activity": ("GET", "/activity?q=ada", False),
        "emailkit_preview.suppressions": ("GET", "/suppressions", False),
        "emailkit_preview.remove_suppression": ("POST", "/suppressions/remove", False),
        "emailkit_unsubscribe.confirm": ("GET", "/unsubscribe/forged", False),
        "emailkit_unsubscribe.one_click": ("POST", "/unsubscribe/forged", False),
    }
    # Every route of the app has an example: a new route fails here until it is added.
    app = create_preview_app(server.root)
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(examples)
    answered = {}
    for endpoint, (method, path, part) in examples.items():
        origin = {"Origin": server.url} if method == "POST" else {}
        status, headers, _ = request(server, method, path, headers=origin)
        check(path, status, headers, part=part)
        answered[endpoint] = status
    assert answered["emailkit_preview.html"] == 200 and answered["emailkit_preview.image"] == 200
    assert answered["emailkit_preview.outbox_html"] == 200
    assert answered["emailkit_preview.send"] == 400  # no CSRF token, but still the headers
    # and what the blueprint does not route: the 404 page, livereload.js, refusals
    for method, path, host, part in [
        ("GET", "/no/such/page/here", None, False),
        ("GET", "/receipt/nope", None, False),
        ("GET", "/livereload.js", None, True),
        ("GET", "/", "evil.example", True),
        ("POST", "/receipt/default/send", None, False),  # no Origin: 403
    ]:
        status, headers, _ = request(server, method, path, host=host)
        assert status in (400, 403, 404) or path == "/livereload.js", (path, status)
        check(path, status, headers, part=part)


def test_an_emails_script_does_not_run_when_its_html_is_opened_alone(server, browser):
    page = browser.new_page()
    # the same markup without the preview's headers runs its scripts: the test can tell
    page.set_content(SCRIPTED_HTML)
    expect(page.locator("body")).to_have_attribute("data-ran", re.compile("."))
    # "load" waits for the image, so its onerror would have run by the time goto returns
    page.goto(server.url + "/scripted/default.html", wait_until="load")
    expect(page.locator("h1")).to_have_text("An email with scripts in it")
    assert page.locator("body").get_attribute("data-ran") is None
    page.close()


def test_the_viewer_still_shows_emails_in_its_frame(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for path, text in [
        ("/scripted/default", "An email with scripts in it"),
        ("/receipt/default", "Thanks for your order"),
    ]:
        page.goto(server.url + path)
        frame = page.frame_locator("#email-frame")
        expect(frame.locator("h1")).to_contain_text(text)
        # the viewer reads the frame's document to fit its height: still same-origin
        page.wait_for_function(
            "document.getElementById('email-frame').style.height !== ''", timeout=10_000
        )
    assert page.frame_locator("#email-frame").locator("body").get_attribute("data-ran") is None
    page.goto(server.url + "/scripted/default?mode=dark")
    expect(page.frame_locator("#email-frame").locator("h1")).to_be_visible()
    page.close()


def test_another_origin_cannot_frame_the_preview(server, browser):
    port = server.url.rsplit(":", 1)[1]
    page = browser.new_page()
    page.goto(f"http://localhost:{port}/__version")  # another origin than 127.0.0.1
    page.evaluate(
        """url => new Promise(done => {
          const frame = document.createElement("iframe");
          frame.src = url;
          frame.onload = done;
          document.body.appendChild(frame);
        })""",
        server.url + "/receipt/default",
    )
    framed = page.frames[1]
    assert "csrf_token" not in framed.content() and "Send a test" not in framed.content()
    page.close()


def test_headers_hold_without_the_standalone_server(tmp_path):
    """The blueprint mounted in an app of one's own sets them too (the test client)."""
    from flask import Flask

    from emailkit.preview import preview_blueprint

    from .test_preview import copy_of_shipped

    app = Flask("mine")
    app.debug = True
    app.register_blueprint(preview_blueprint(copy_of_shipped(tmp_path)), url_prefix="/emails")
    client = app.test_client()
    for path, part in [("/emails/", False), ("/emails/receipt/default.html", True)]:
        response = client.get(path)
        assert response.status_code == 200
        check(path, response.status_code, response.headers, part=part)
