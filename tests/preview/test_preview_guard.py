"""Who may talk to the preview: Host checks (DNS rebinding), same-origin POSTs, the send form's
allow-list, and the same checks in the real server's tornado handlers and reload websocket."""

from __future__ import annotations

import base64
import http.client
import os
import socket

import pytest
from click.testing import CliRunner

from emailkit.cli import main
from emailkit.preview import create_preview_app
from emailkit.preview.guard import host_is_allowed, host_name, origin_is_same

from .test_preview import SAME_ORIGIN, copy_of_shipped, csrf_token, page


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("localhost:5000", "localhost"),
        ("LOCALHOST", "localhost"),
        ("[::1]:5000", "::1"),
        ("[::1]", "::1"),
        ("127.0.0.1:5000", "127.0.0.1"),
        ("evil.example", "evil.example"),
    ],
)
def test_host_name_drops_port_and_brackets(host, name):
    assert host_name(host) == name


@pytest.mark.parametrize(
    "host",
    ["localhost:5000", "127.0.0.1:5000", "[::1]:5000", "10.0.0.7:5000", "app.localhost:5000"],
)
def test_loopback_names_and_ip_addresses_are_allowed(host):
    assert host_is_allowed(host)


@pytest.mark.parametrize(
    "host",
    ["evil.example:5000", "localhost.evil.example", "127.0.0.1.nip.io:5000", "", None, ":5000"],
)
def test_other_names_are_refused(host):
    assert not host_is_allowed(host)


def test_configured_names_and_subdomains_are_allowed():
    assert host_is_allowed("preview.test:5000", ["preview.test"])
    assert not host_is_allowed("x.preview.test:5000", ["preview.test"])
    assert host_is_allowed("x.preview.test:5000", [".preview.test"])
    assert not host_is_allowed("evilpreview.test:5000", [".preview.test"])


def test_origin_must_name_the_same_host_and_port():
    assert origin_is_same("http://localhost:5000", "localhost:5000")
    assert not origin_is_same("http://localhost:5001", "localhost:5000")
    assert not origin_is_same("http://evil.example", "localhost:5000")
    assert not origin_is_same("null", "localhost:5000")
    assert not origin_is_same(None, "localhost:5000")
    assert not origin_is_same("https://localhost:5000", "localhost:5000")


@pytest.fixture
def root(tmp_path):
    return copy_of_shipped(tmp_path)


@pytest.fixture
def sending_app(root, smtp_server):
    return create_preview_app(
        root,
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
        EMAILKIT_PREVIEW_RECIPIENTS=["*@acme.example.com", "qa@example.com"],
        EMAILKIT_RETRY_DELAY=0.01,
    )


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "localhost.evil.example"])
def test_a_rebinding_host_gets_400_and_no_page_or_token(sending_app, host):
    client = sending_app.test_client()
    for url in ("/", "/receipt/default", "/receipt/default.html", "/__version", "/outbox"):
        response = client.get(url, headers={"Host": host})
        assert response.status_code == 400, url
        body = response.get_data(as_text=True)
        assert "DNS rebinding" in body and "csrf_token" not in body and "A-10442" not in body


def test_localhost_ips_and_configured_hosts_are_served(root):
    app = create_preview_app(root, EMAILKIT_PREVIEW_ALLOWED_HOSTS="preview.test, .vm.test")
    client = app.test_client()
    for host in ("localhost:5000", "127.0.0.1:5000", "[::1]:5000", "preview.test", "a.vm.test"):
        assert client.get("/", headers={"Host": host}).status_code == 200, host
    assert client.get("/", headers={"Host": "other.test"}).status_code == 400


@pytest.mark.parametrize(
    "origin", [None, "http://evil.example", "null", "http://localhost:6666", "https://localhost"]
)
def test_a_post_without_a_same_origin_origin_is_refused(sending_app, smtp_server, origin):
    client = sending_app.test_client()
    token = csrf_token(page(client, "/receipt/default"))
    headers = {"Origin": origin} if origin else {}
    response = client.post(
        "/receipt/default/send", data={"to": "qa@example.com", "csrf_token": token}, headers=headers
    )
    assert response.status_code == 403
    assert "Cross-origin request refused" in response.get_data(as_text=True)
    assert smtp_server.envelopes == []


def send(client, to):
    token = csrf_token(page(client, "/receipt/default"))
    response = client.post(
        "/receipt/default/send", data={"to": to, "csrf_token": token}, headers=SAME_ORIGIN
    )
    assert response.status_code == 302
    return page(client, "/receipt/default")


@pytest.mark.parametrize(
    ("to", "named"),
    [
        ("evil@x.example, qa@acme.example.com", "evil@x.example is not allowed"),
        ("qa@acme.example.com, evil@x.example", "evil@x.example is not allowed"),
        ('"qa@acme.example.com" <evil@x.example>', "evil@x.example is not allowed"),
        ("qa@acme.example.com; evil@x.example", "is not allowed"),
        ("qa@acme.example.com,evil@x.example,b@y.example", "evil@x.example, b@y.example are"),
        ("qa@acme.example.com\r\nBcc: evil@x.example", "is not allowed"),
    ],
)
def test_every_address_is_checked_and_nothing_is_sent_when_one_is_refused(
    sending_app, smtp_server, to, named
):
    html = send(sending_app.test_client(), to)
    assert named in html and "nothing was sent" in html
    assert smtp_server.envelopes == []


def test_several_allowed_addresses_all_receive_it_and_nobody_else(sending_app, smtp_server):
    html = send(sending_app.test_client(), "designer@acme.example.com, Q A <qa@example.com>")
    assert "Sent to designer@acme.example.com, qa@example.com" in html
    (envelope,) = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == ["designer@acme.example.com", "qa@example.com"]
    (message,) = smtp_server.messages
    assert "evil" not in str(message["To"])


# The real server: tornado's handlers for the pages, livereload.js and the reload websocket.


def request(server_url, path, headers):
    host, port = server_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def websocket_status(server_url, host, origin):
    key = base64.b64encode(os.urandom(16)).decode()
    headers = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
    }
    if origin:
        headers["Origin"] = origin
    return request(server_url, "/livereload", headers)[0]


def test_the_real_server_checks_host_everywhere_and_origin_on_the_websocket(preview_server):
    url = preview_server.url
    port = url.rsplit(":", 1)[1]
    own = f"127.0.0.1:{port}"
    assert request(url, "/", {"Host": own})[0] == 200
    assert request(url, "/", {"Host": f"localhost:{port}"})[0] == 200
    for path in ("/", "/receipt/default", "/livereload.js", "/livereload"):
        status, body = request(url, path, {"Host": f"evil.example:{port}"})
        assert status == 400 and "DNS rebinding" in body, path
    assert websocket_status(url, own, f"http://{own}") == 101
    assert websocket_status(url, own, "http://evil.example") == 403
    assert websocket_status(url, own, f"http://localhost:{port}") == 403  # another origin
    assert websocket_status(url, f"evil.example:{port}", f"http://evil.example:{port}") == 400
    log = (preview_server.root.parent / "preview.log").read_text().splitlines()
    assert sum("400 GET /receipt/default" in line for line in log) == 1  # logged once, not twice


def test_a_busy_port_is_one_line_and_exit_1_before_claiming_anything(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["--emails", str(copy_of_shipped(tmp_path)), "preview", "--port", str(port)]
        )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: port {port} is in use; try --port ")
    suggested = int(lines[0].rsplit(" ", 1)[1])
    assert suggested > port
    assert "emailkit preview of" not in result.output
