"""The viewer's deliverability section: DKIM as configured, the spam score from a real spamd and
the axe audit, in the preview server's own process."""

from __future__ import annotations

import os

import pytest

from emailkit.sending.dkim import generate

from ..conftest import running_preview


@pytest.fixture
def deliverable_preview(tmp_path, spamd):
    pair = generate("acme.example.com", "mail2026", "ed25519")
    key = tmp_path / "dkim.pem"
    key.write_bytes(pair.private_pem)
    os.chmod(key, 0o600)
    env = {
        "EMAILKIT_SPAMD": spamd.address,
        "EMAILKIT_DKIM_DOMAIN": "acme.example.com",
        "EMAILKIT_DKIM_SELECTOR": "mail2026",
        "EMAILKIT_DKIM_PRIVATE_KEY": str(key),
        "MAIL_DEFAULT_SENDER": "Acme <noreply@acme.example.com>",
    }
    with running_preview(tmp_path, env) as server:
        yield server


def test_checks_tab_shows_dkim_spam_and_accessibility(deliverable_preview, browser, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    try:
        page.goto(f"{deliverable_preview.url}/welcome/default?tab=checks")
        checks = page.locator("[data-panel=checks]")
        assert "Signed on sending: d=acme.example.com, s=mail2026, a=ed25519-sha256" in (
            checks.inner_text()
        )
        assert "the From domain aligns with d= (DMARC)" in checks.inner_text()
        page.click("a.run-deliverability", timeout=120_000)
        page.wait_for_selector("ul.findings.a11y", timeout=120_000)
        text = checks.inner_text()
        assert "SpamAssassin content score 0.7 (threshold 5; network tests off" in text
        assert "spam.HTML_FONT_LOW_CONTRAST" in text
        assert "Accessibility: axe-core in light, dark and inverted modes" in text
        assert not page.locator("ul.findings.a11y .badge.error").count()
        page.screenshot(path=str(artifacts / "deliverability-checks.png"), full_page=True)
        page.goto(f"{deliverable_preview.url}/welcome/default?tab=headers")
        headers = page.locator("[data-panel=headers]").inner_text()
        assert "DKIM-Signature" in headers and "d=acme.example.com" in headers
    finally:
        page.close()
