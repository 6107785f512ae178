"""``emailkit export DIR``: a static site of every email, sample and locale, opened via file://."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default as default_policy
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from emailkit.cli import main
from emailkit.preview.catalog import Catalog

from ..layout import check_layout
from .test_preview import copy_of_shipped, rewrite


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.urls.append(value)


def links(path):
    parser = Links()
    parser.feed(path.read_text())
    return parser.urls


def run_export(root, target):
    return CliRunner().invoke(main, ["--emails", str(root), "export", str(target)])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One export of the shipped emails, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("export")
    root = copy_of_shipped(folder)
    result = run_export(root, folder / "site")
    assert result.exit_code == 0, result.output
    assert "open " in result.output
    return folder / "site", root


def test_every_email_sample_and_locale_has_a_page_with_its_parts(site):
    target, root = site
    catalog = Catalog(root)
    catalog.refresh()
    expected = {
        f"{email}/{sample}{'.' + locale if locale else ''}"
        for email, sample in catalog.samples()
        for locale in ["", *catalog.locales(email)]
    }
    assert len(expected) == 30
    written = {p.relative_to(target).with_suffix("").as_posix() for p in target.glob("*/*.html")}
    assert written == expected
    for stem in expected:
        for suffix in (".eml", ".txt"):
            assert (target / (stem + suffix)).is_file(), stem + suffix
    page = (target / "receipt" / "twenty-items.html").read_text()
    for tab in ("html", "text", "headers", "checks"):
        assert f'data-panel="{tab}"' in page
    assert "Your Acme receipt for order A-10442" in page
    assert "<th>Message-ID</th>" in page and "Client support:" in page
    assert 'srcdoc="&lt;!DOCTYPE html&gt;' in page  # the email, escaped into the attribute
    french = (target / "welcome" / "default.fr.html").read_text()
    assert "Bienvenue" in french and 'href="default.ar.html"' in french


def test_links_are_relative_and_resolve_without_a_server(site):
    target, _ = site
    pages = [target / "index.html", *target.glob("*/*.html")]
    for page in pages:
        for url in links(page):
            if re.match(r"^(https?:|mailto:|data:|#)", url):
                continue
            assert not url.startswith("/"), f"{page}: absolute link {url}"
            assert (page.parent / url.split("#")[0]).resolve().is_file(), f"{page}: {url}"
        assert "src=&#34;/" not in page.read_text()  # nothing in a srcdoc points at a server
    assert sorted(p.name for p in (target / "_images").rglob("*") if p.is_file()) == ["logo.png"]


def test_eml_files_carry_the_logo_as_an_inline_part(site):
    target, root = site
    parsed = message_from_bytes(
        (target / "welcome" / "default.eml").read_bytes(), policy=default_policy
    )
    (logo,) = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert logo.get_content() == (root / "_assets" / "logo.png").read_bytes()


def test_export_refuses_a_folder_it_did_not_write_and_replaces_its_own(tmp_path):
    root = copy_of_shipped(tmp_path)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = run_export(root, busy)
    assert result.exit_code == 1
    assert "is not empty and not an earlier export; choose an empty or new folder" in result.output
    assert (busy / "notes.txt").read_text() == "mine"
    assert "choose a folder outside the emails root" in run_export(root, root / "site").output

    site = tmp_path / "site"
    assert run_export(root, site).exit_code == 0
    (site / "stale.html").write_text("old")
    rewrite(root / "receipt" / "subject.txt", "Your Acme receipt", "Receipt")
    rewrite(root / "receipt" / "body.html", "{% for item in items %}", "{% for item in items %")
    result = run_export(root, site)
    assert result.exit_code == 1
    assert "does not render: receipt/default.html (the page says why)" in result.output
    assert not (site / "stale.html").exists()
    broken = (site / "receipt" / "default.html").read_text()
    assert "does not render" in broken and "receipt/body.html" in broken
    assert not (site / "receipt" / "default.eml").exists()
    assert (site / "welcome" / "default.eml").is_file()


def test_export_opens_from_file_urls_in_chromium(site, browser, artifacts):
    target, _ = site
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto((target / "index.html").as_uri())
    expect(page.locator(".sample-row")).to_have_count(30)
    page.locator("#search").fill("twenty")
    expect(page.locator(".sample-row:visible")).to_have_count(1)
    page.locator("#search").fill("")
    check_layout(page, artifacts, "export-index")

    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator('a[href="welcome/default.html"]').click()
    frame = page.frame_locator("#email-frame")
    expect(frame.locator("h1")).to_have_text("Welcome, Ada!")
    logo = frame.locator("img.logo")
    expect(logo).to_have_attribute("src", "../_images/_assets/logo.png")
    logo.evaluate("img => img.decode()")
    assert logo.evaluate("img => img.naturalWidth") == 64
    page.wait_for_function("document.getElementById('email-frame').style.height !== ''")
    check_layout(page, artifacts, "export-email")

    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator('button[data-tab="text"]').click()
    expect(page.locator("[data-panel=text]")).to_contain_text("Welcome, Ada!")
    expect(page.locator("[data-panel=html]")).to_be_hidden()
    assert page.url.endswith("#text,desktop")
    page.reload()
    expect(page.locator("[data-panel=text]")).to_be_visible()
    page.locator('button[data-tab="headers"]').click()
    expect(page.locator("table.headers")).to_contain_text("Message-ID")
    page.locator('button[data-tab="checks"]').click()
    expect(page.locator("[data-panel=checks]")).to_contain_text("Client support")
    page.locator(".locales a", has_text="ar").click()
    expect(page).to_have_url(re.compile(r"/welcome/default\.ar\.html$"))
    expect(page.frame_locator("#email-frame").locator("html")).to_have_attribute("dir", "rtl")
    page.close()


def test_sample_names_become_safe_file_names(tmp_path):
    root = copy_of_shipped(tmp_path)
    rewrite(root / "welcome" / "__init__.py", '"long-name": cls(', '"../long name": cls(')
    result = run_export(root, tmp_path / "site")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "welcome" / "_long_name.html").is_file()
    assert not (tmp_path / "long name.html").exists()
    other = copy_of_shipped(tmp_path / "other")  # a fresh root: its modules are imported anew
    rewrite(other / "welcome" / "__init__.py", '"long-name": cls(', '"../long name": cls(')
    rewrite(other / "welcome" / "__init__.py", '"non-ascii": cls(', '"../long_name": cls(')
    result = run_export(other, tmp_path / "site")
    assert result.exit_code == 1
    assert (
        "welcome: samples '../long name' and '../long_name' would both be written" in result.output
    )


def test_export_works_from_a_plain_static_host(site, browser):
    """Any static host: here the standard library's file server, with nothing configured."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    target, _ = site
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(target))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        failed = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        page.goto(f"http://127.0.0.1:{server.server_port}/")
        page.locator('a[href="receipt/twenty-items.html"]').click()
        frame = page.frame_locator("#email-frame")
        expect(frame.locator("h1")).to_contain_text("Thanks for your order, Ada Lovelace")
        logo = frame.locator("img.logo")
        logo.evaluate("img => img.decode()")
        assert logo.evaluate("img => img.naturalWidth") == 64
        page.locator('a[href="twenty-items.eml"]').wait_for()
        assert failed == []
        page.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_3000_character_subject_keeps_the_phone_page_short(tmp_path, emails_root, browser):
    emails_root.write(
        "long/__init__.py",
        "from emailkit import Email\n\nclass Long(Email):\n    @classmethod\n"
        "    def previews(cls):\n        return {'default': cls()}\n",
    )
    emails_root.write("long/subject.txt", "Overdue " + "invoice " * 375)
    emails_root.write("long/body.html", "<p>Pay it</p>")
    result = run_export(emails_root.path, tmp_path / "site")
    assert result.exit_code == 0, result.output
    page = browser.new_page(viewport={"width": 375, "height": 900})
    page.goto((tmp_path / "site" / "long" / "default.html").as_uri())
    line = page.locator(".inbox-line")
    expect(line).to_contain_text("Overdue invoice invoice")
    expect(page.locator(".avatar")).to_have_text("S")  # of "Set [tool.emailkit] sender...", as live
    assert line.evaluate("e => e.getBoundingClientRect().height") < 80  # 3 lines, not 100
    assert page.locator("#email-frame").evaluate("e => e.getBoundingClientRect().top") < 400
    page.close()
