"""The preview server's routes, through Flask's test client, on a copy of the shipped emails."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from flask import Flask

from emailkit.preview import create_preview_app, preview_blueprint
from emailkit.preview.catalog import Catalog
from emailkit.preview.server import is_loopback

from ..conftest import SHIPPED_ROOT


def copy_of_shipped(tmp_path):
    root = tmp_path / "emails"
    shutil.copytree(SHIPPED_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def rewrite(path, old, new):
    """Change a file and give it a later modification time (the check is by mtime)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    stat = path.stat()
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(stat.st_atime_ns, max(stat.st_mtime_ns, time.time_ns()) + 10**9))


@pytest.fixture
def root(tmp_path):
    return copy_of_shipped(tmp_path)


@pytest.fixture
def client(root):
    return create_preview_app(root, TESTING=True).test_client()


def panel(html, name):
    """The viewer's panel ``name`` (html, text, source, headers, mime)."""
    return html.split(f'data-panel="{name}"', 1)[1].split("</section>", 1)[0]


# The preview refuses state-changing requests without a same-origin Origin (see guard.py);
# the test client's requests go to http://localhost.
SAME_ORIGIN = {"Origin": "http://localhost"}


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_index_lists_every_email_and_sample_with_subject_and_preheader(client):
    html = page(client, "/")
    for name in ("welcome", "password_reset", "receipt", "digest", "newsletter"):
        assert f'data-email="{name}"' in html
    assert "Your Acme receipt for order A-10442 ($60.61)" in html
    assert "Order A-10442: 3 items, $60.61 in total." in html
    assert html.count('class="sample-row"') == 16
    assert 'id="search"' in html
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;" in html


def test_viewer_shows_inbox_row_tabs_and_links(client):
    html = page(client, "/receipt/default")
    # No MAIL_DEFAULT_SENDER and no [tool.emailkit] sender: a placeholder that says how.
    assert (
        '<span class="inbox-from">&#34;Set [tool.emailkit] sender or MAIL_DEFAULT_SENDER&#34; '
        "&lt;sender@example.com&gt;</span>" in html
    )
    assert (
        '<strong class="inbox-subject">Your Acme receipt for order A-10442 ($60.61)</strong>'
        in html
    )
    assert "Order A-10442: 3 items, $60.61 in total." in html
    assert 'src="/receipt/default.html?mode=light"' in html
    assert 'sandbox="allow-same-origin' in html and "allow-scripts" not in html
    assert 'href="/password_reset/non-ascii?' in html  # previous sample
    assert 'href="/receipt/twenty-items?' in html  # next sample
    for tab in ("html", "text", "source", "headers", "mime"):
        assert f'data-tab="{tab}"' in html
    assert "<th>Subject</th>" in html and "<th>Size</th>" in html
    assert "Content-Transfer-Encoding: quoted-printable" in html  # raw MIME tab


def test_viewer_state_comes_from_the_url(client):
    html = page(client, "/welcome/default?tab=text&width=mobile&mode=dark")
    assert 'data-tab="text" data-width="mobile" data-mode="dark"' in html
    assert 'src="/welcome/default.html?mode=dark"' in html
    odd = page(client, "/welcome/default?tab=../../x&width=9&mode=<b>")
    assert 'data-tab="html" data-width="desktop" data-mode="light"' in odd


def test_source_tab_shows_html_before_and_after_inlining(client):
    after = page(client, "/receipt/default?tab=source")
    before = page(client, "/receipt/default?tab=source&source=before")
    after, before = panel(after, "source"), panel(before, "source")
    assert 'class="listing"' in after
    assert "padding:12px 0" in after  # inlined style attributes
    assert "item-head" in before and "padding:12px 0" not in before


def test_raw_endpoints(client):
    html = client.get("/welcome/default.html")
    assert html.mimetype == "text/html"
    assert html.get_data(as_text=True).startswith("<!DOCTYPE html>")
    assert "livereload" not in html.get_data(as_text=True)
    text = client.get("/receipt/default.txt")
    assert text.mimetype == "text/plain" and "Subtotal" in text.get_data(as_text=True)
    eml = client.get("/receipt/default.eml")
    assert eml.mimetype == "message/rfc822"
    assert "attachment" in eml.headers["Content-Disposition"]
    assert b"Subject: Your Acme receipt" in eml.data


def test_dark_and_inverted_modes(client):
    light = client.get("/welcome/default.html").get_data(as_text=True)
    dark = client.get("/welcome/default.html?mode=dark").get_data(as_text=True)
    inverted = client.get("/welcome/default.html?mode=inverted").get_data(as_text=True)
    assert "prefers-color-scheme: dark" in light
    assert "prefers-color-scheme" not in dark and "(min-width: 0px)" in dark
    assert "filter:invert(1) hue-rotate(180deg)" in inverted


@pytest.mark.parametrize(
    "url",
    [
        "/nope/default",
        "/welcome/nope",
        "/welcome/nope.html",
        "/../pyproject.toml",
        "/%2e%2e/%2e%2e/pyproject.toml",
        "/welcome/..%2f..%2fpyproject.toml",
        "/welcome/__init__.py",
        "/_static/../catalog.py",
        "/_static/..%2fcatalog.py",
        "/outbox/..%2f..%2fpyproject",
    ],
)
def test_unknown_names_and_traversal_get_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "[project]" not in body and "class Catalog" not in body and "class Welcome" not in body


def test_404_page_lists_what_exists(client):
    html = page(client, "/welcome/nope", status=404)
    assert 'href="/welcome/default"' in html and 'href="/digest/empty"' in html


def test_broken_template_shows_file_line_and_source_then_recovers(client, root):
    body = root / "receipt" / "body.html"
    rewrite(body, "{% for item in items %}", "{% for item in items %")
    html = page(client, "/receipt/default", status=500)
    assert "receipt/body.html, line 14" in html
    assert '<span class="hit"><span class="lineno">14</span>' in html
    assert "Fix the file and save" in html
    rewrite(body, "{% for item in items %", "{% for item in items %}")
    assert "Analytical Engine notebook" in page(client, "/receipt/default.html")


def test_undefined_variable_error_names_the_line(client, root):
    rewrite(root / "welcome" / "body.html", "{{ plan }}</strong>", "{{ plann }}</strong>")
    html = page(client, "/welcome/default", status=500)
    assert "welcome/body.html, line 6" in html and "&#39;plann&#39; is undefined" in html
    assert "UndefinedError" in page(client, "/") or "TemplateError" in page(client, "/")


def test_changed_context_class_is_reloaded_without_restart(client, root):
    module = root / "welcome" / "__init__.py"
    assert "Welcome to Acme, Ada!" in page(client, "/")
    rewrite(
        module,
        "return self.user_name.split()[0] if",
        'return "Dr. " + self.user_name.split()[0] if',
    )
    rewrite(
        module,
        '"long-name": cls(',
        '"added-sample": cls(user_name="Bea", confirm_url="https://acme.example.com/c/9"),\n'
        '            "long-name": cls(',
    )
    html = page(client, "/")
    assert "Welcome to Acme, Dr. Ada!" in html
    assert "/welcome/added-sample" in html


def test_python_error_in_an_email_module_is_shown_and_recovers(client, root):
    module = root / "digest" / "__init__.py"
    rewrite(module, "    user_name: str\n", "    user_name: str\n    oops(\n")
    html = page(client, "/")
    assert "does not load" in html and "digest/__init__.py" in html
    assert "Welcome to Acme, Ada!" in html  # the other emails still show
    rewrite(module, "    oops(\n", "")
    assert "3 new notifications this week" in page(client, "/")


def test_renders_are_cached_until_a_file_changes(root, monkeypatch):
    calls = []
    original = Catalog._render

    def counting(self, email, sample, locale=""):
        calls.append((email, sample))
        return original(self, email, sample, locale)

    monkeypatch.setattr(Catalog, "_render", counting)
    client = create_preview_app(root).test_client()
    page(client, "/welcome/default")
    page(client, "/welcome/default?tab=text")
    page(client, "/welcome/default.html")
    assert calls == [("welcome", "default")]
    rewrite(root / "_layouts" / "base.css", "font-size: 24px", "font-size: 26px")
    assert "font-size:26px" in page(client, "/welcome/default.html")
    assert calls == [("welcome", "default")] * 2


def test_blueprint_answers_only_in_debug_mode(root):
    app = Flask("host_app")
    app.config["SECRET_KEY"] = "test"
    app.register_blueprint(preview_blueprint(root), url_prefix="/_emails")
    client = app.test_client()
    assert client.get("/_emails/").status_code == 404
    app.debug = True
    html = page(client, "/_emails/")
    assert 'href="/_emails/welcome/default"' in html
    assert "/_emails/__version" in html  # polls for changes without the livereload server
    assert client.get("/_emails/__version").json == {"version": 1}


def test_send_a_test_is_off_unless_configured(client):
    assert "Send a test" not in page(client, "/welcome/default")
    assert (
        client.post(
            "/welcome/default/send", data={"to": "a@example.com"}, headers=SAME_ORIGIN
        ).status_code
        == 404
    )


@pytest.fixture
def sending_client(root, smtp_server):
    app = create_preview_app(
        root,
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
        EMAILKIT_PREVIEW_RECIPIENTS=["*@acme.example.com", "qa@example.com"],
        EMAILKIT_RETRY_DELAY=0.01,
    )
    return app.test_client()


def csrf_token(html):
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_send_a_test_goes_through_the_configured_server(sending_client, smtp_server):
    html = page(sending_client, "/receipt/default?tab=text")
    assert "Send a test" in html
    response = sending_client.post(
        "/receipt/default/send?tab=text",
        data={"to": "designer@acme.example.com", "csrf_token": csrf_token(html)},
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/receipt/default?tab=text")
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["designer@acme.example.com"]
    assert "Sent to designer@acme.example.com" in page(sending_client, "/receipt/default")


def test_send_a_test_refuses_other_addresses_and_missing_csrf(sending_client, smtp_server):
    html = page(sending_client, "/receipt/default")
    refused = sending_client.post(
        "/receipt/default/send",
        data={"to": "someone@gmail.com", "csrf_token": csrf_token(html)},
        headers=SAME_ORIGIN,
    )
    assert refused.status_code == 302
    assert "is not allowed" in page(sending_client, "/receipt/default")
    no_token = sending_client.post(
        "/receipt/default/send", data={"to": "qa@example.com"}, headers=SAME_ORIGIN
    )
    assert no_token.status_code == 400
    assert smtp_server.envelopes == []


def test_outbox_lists_captured_mail_newest_first_and_views_it(root, caplog):
    app = create_preview_app(root, EMAILKIT_PREVIEW_RECIPIENTS="*@example.com")
    client = app.test_client()
    for sample in ("default", "empty"):
        html = page(client, f"/digest/{sample}")
        with caplog.at_level("INFO", logger="emailkit"):
            client.post(
                f"/digest/{sample}/send",
                data={"to": "qa@example.com", "csrf_token": csrf_token(html)},
                headers=SAME_ORIGIN,
            )
    written = [r.getMessage() for r in caplog.records if r.getMessage().startswith("outbox: ")]
    assert len(written) == 2 and written[0].startswith(
        "outbox: digest to qa@example.com written to "
    )
    listing = page(client, "/outbox")
    assert listing.index("Nothing new this week") < listing.index("3 new notifications")
    stem = listing.split('href="/outbox/', 1)[1].split('"', 1)[0]
    viewer = page(client, f"/outbox/{stem}")
    assert '<strong class="inbox-subject">Nothing new this week</strong>' in viewer
    assert "all caught up" in page(client, f"/outbox/{stem}.html")
    assert client.get(f"/outbox/{stem}.eml").mimetype == "message/rfc822"
    assert client.get("/outbox/missing").status_code == 404


def test_loopback_detection_for_the_bind_warning():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0")


def test_checks_tab_shows_findings_with_line_numbers(client, root):
    rewrite(
        root / "welcome" / "body.html",
        '{% if plan == "pro" %}',
        '{% if plan == "pro" %}{{ email.frist_name }}',
    )
    html = page(client, "/welcome/default?tab=checks")
    checks = panel(html, "checks")
    assert "email.frist_name, which Welcome does not have" in checks
    assert '<code class="finding-where">welcome/body.html:13</code>' in checks
    assert "did you mean &#39;first_name&#39;?" in checks
    assert "Client support:" in checks and "Outlook Windows" in checks
    assert '<span class="count error">1</span>' in html


def test_locale_switcher_lists_the_locales_and_the_url_keeps_the_choice(client):
    html = page(client, "/welcome/default?locale=ar&tab=text")
    assert 'data-locale="fr"' in html and 'data-locale="ar"' in html and 'data-locale=""' in html
    assert 'src="/welcome/default.html?mode=light&amp;locale=ar"' in html
    assert "مرحبًا بك في Acme" in html  # the inbox row's subject
    assert '<html lang="ar" dir="rtl"' in page(client, "/welcome/default.html?locale=ar")
    ignored = page(client, "/welcome/default.html?locale=zz")
    assert '<html lang="en" dir="ltr"' in ignored
    assert "data-locale=" not in page(client, "/digest/default")
    index = page(client, "/")
    assert '<span class="badge locale">fr</span>' in index


def test_an_open_viewer_of_an_email_whose_module_breaks_shows_the_error_card(client, root, caplog):
    module = root / "digest" / "__init__.py"
    assert "3 new notifications" in page(client, "/digest/default")
    rewrite(module, "    user_name: str\n", "    user_name: str\n    oops(\n")
    with caplog.at_level("ERROR", logger="emailkit.preview"):
        html = page(client, "/digest/default?tab=text", status=500)
    assert "Nothing here" not in html
    assert "digest / default does not load" in html
    assert "<code>digest/__init__.py, line 21</code>" in html
    assert "SyntaxError" in html and '<span class="lineno">' in html and "oops(" in html
    assert "Fix the file and save: this page reloads by itself." in html
    logged = [r.getMessage() for r in caplog.records if r.name == "emailkit.preview"]
    assert any(m.startswith("digest does not load: digest/__init__.py, line ") for m in logged)
    assert client.get("/digest/default.html").status_code == 500
    assert "Nothing here" not in page(client, "/digest/nope", status=500)
    missing = page(client, "/welcome/nope", status=404)
    assert "These do not load:" in missing and "<code>digest/__init__.py, line 21</code>" in missing
    rewrite(module, "    oops(\n", "")
    assert "3 new notifications" in page(client, "/digest/default")


def test_a_template_that_is_not_utf8_shows_its_file_and_line(client, root):
    body = root / "receipt" / "body.html"
    body.write_bytes(body.read_bytes().replace(b"Thanks", "Th\xe4nks".encode("latin-1"), 1))
    html = page(client, "/receipt/default", status=500)
    assert "receipt/body.html, line " in html and "not UTF-8 text (byte 0xe4" in html


def test_the_sender_comes_from_mail_default_sender_then_pyproject(root):
    (root.parent / "pyproject.toml").write_text(
        '[tool.emailkit]\nroot = "emails"\nsender = "Beta Mail <hello@beta.example.com>"\n'
    )
    from_project = page(create_preview_app(root).test_client(), "/welcome/default")
    assert (
        '<span class="inbox-from">Beta Mail &lt;hello@beta.example.com&gt;</span>' in from_project
    )
    app = create_preview_app(root, MAIL_DEFAULT_SENDER=("Gamma", "g@gamma.example.com"))
    from_app = page(app.test_client(), "/welcome/default")
    assert '<span class="inbox-from">Gamma &lt;g@gamma.example.com&gt;</span>' in from_app


def test_a_folder_without_any_body_shows_an_error_card_not_a_404(client, root):
    (root / "welcome" / "body.html").unlink()
    (root / "welcome" / "body.txt").unlink()
    html = page(client, "/welcome/default", status=500)
    assert "welcome / default does not render" in html
    assert "neither body.html nor body.txt exists" in html and "Nothing here" not in html
