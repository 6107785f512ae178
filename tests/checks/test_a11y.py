"""The accessibility audit: axe-core in Debian's Chromium (the session's one browser), in light,
dark and inverted modes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from emailkit import Email, discover
from emailkit.checks import a11y, run_checks
from emailkit.checks.a11y import Auditor, AuditTimeout
from emailkit.checks.deliverability import Deliverability
from emailkit.cli import main

from ..conftest import SHIPPED_ROOT

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Hello</title>
<style>
@media (prefers-color-scheme: dark) {{
  body {{ background-color: #111118 !important; color: #e6e6f0 !important; }}
}}
</style></head>
<body style="background-color:#ffffff;color:#222222">
{body}
</body></html>
"""
BROKEN = """
<p>Your order shipped.</p>
<img src="https://acme.example.com/truck.png" width="40" height="40">
<p><a href="https://acme.example.com/track"></a></p>
<p><a href="https://acme.example.com/help" style="color:#1a1a8a">Get help</a></p>
<p style="background-color:#777777;color:#000000">Grey box</p>
"""


def email_with(emails_root, body: str, samples=None) -> type[Email]:
    folder = emails_root.email("shipped", subject_txt="Shipped", body_html=PAGE.format(body=body))
    namespace = {
        "template": folder,
        "__annotations__": {"n": "int"},
        "previews": classmethod(lambda cls: samples or {"default": cls(n=1)}),
    }
    return type("Shipped", (Email,), namespace)


def audit(cls, browser, **config):
    report = run_checks(
        {cls.email_name: cls},
        deliverability=Deliverability(a11y=True, browser=browser, config=config),
    )
    return [f for f in report.findings if f.check.startswith("a11y.") and "." in f.check]


def test_missing_alt_empty_link_and_dark_and_inverted_contrast_are_found(emails_root, browser):
    found = audit(email_with(emails_root, BROKEN), browser)
    by_check: dict[str, list] = {}
    for finding in found:
        by_check.setdefault(finding.check, []).append(finding)
    (alt,) = by_check["a11y.image-alt"]
    assert alt.severity == "error" and "light, dark, inverted modes" in alt.message
    assert "truck.png" in alt.message and alt.sample == "default"
    assert "alt" in alt.hint and "dequeuniversity.com/rules/axe" in alt.hint
    (name,) = by_check["a11y.link-name"]
    assert "acme.example.com/track" in name.message
    contrast = {f.message.split("; ")[1].split(")")[0]: f for f in by_check["a11y.color-contrast"]}
    # The dark-blue link reads on white, not on the email's own dark background...
    assert "Get help" in contrast["dark mode"].message
    assert "insufficient color contrast" in contrast["dark mode"].hint
    # ...and black on mid grey passes until Gmail-style inversion makes it white on light grey.
    inverted = contrast["inverted mode"]
    assert "p:nth-child(5) <p>Grey box</p>" in inverted.message
    assert "foreground color: #ffffff, background color: #888888" in inverted.hint
    assert not any("light" in mode for mode in contrast)


def test_the_shipped_emails_have_no_serious_or_critical_finding_in_any_mode(browser):
    report = run_checks(
        discover(SHIPPED_ROOT), deliverability=Deliverability(a11y=True, browser=browser)
    )
    audited = [f for f in report.findings if f.check.startswith("a11y.")]
    assert [f for f in audited if f.severity == "error"] == []
    assert not any(f.check in ("a11y.timeout", "a11y.unavailable") for f in audited)
    assert report.samples == 16


def test_html_that_hangs_the_browser_is_a_finding_and_the_next_sample_is_audited(
    emails_root, browser
):
    cls = email_with(emails_root, "<p>{% if n == 2 %}<script>for(;;){}</script>{% endif %}hi</p>")
    auditor = Auditor({"EMAILKIT_A11Y_TIMEOUT": "2"}, browser=browser)
    try:
        hanging = cls(n=2).render().html
        with pytest.raises(AuditTimeout, match="Timeout 2000ms exceeded"):
            auditor.audit(hanging, "light")
        auditor.timeout = 120  # the renderer that hung was thrown away: the next one works
        assert auditor.audit(cls(n=1).render().html, "light") == []
    finally:
        auditor.close()


def test_hang_becomes_one_timeout_finding(emails_root, browser):
    cls = email_with(emails_root, "<p><script>for(;;){}</script>hi</p>")
    found = audit(cls, browser, EMAILKIT_A11Y_TIMEOUT="1")
    (timeout,) = found
    assert timeout.check == "a11y.timeout" and timeout.severity == "error"
    assert "light mode did not finish within 1 s" in timeout.message


def test_chromium_missing_is_one_finding_and_the_other_checks_run(emails_root):
    cls = email_with(emails_root, BROKEN)
    report = run_checks(
        {cls.email_name: cls},
        deliverability=Deliverability(
            a11y=True, config={"EMAILKIT_CHROMIUM": "/nonexistent/chromium"}
        ),
    )
    (missing,) = [f for f in report.findings if f.check == "a11y.unavailable"]
    assert "/nonexistent/chromium" in missing.message and "apt-get install chromium" in missing.hint
    assert any(
        f.check.startswith("links.") or f.check.startswith("support.") for f in report.findings
    )


def test_cli_a11y_json_and_github_annotations(emails_root, browser, monkeypatch):
    shared = browser
    emails_root.email("shipped", subject_txt="Shipped", body_html=PAGE.format(body=BROKEN))
    emails_root.write(
        "shipped/__init__.py",
        """
        from emailkit import Email


        class Shipped(Email):
            @classmethod
            def previews(cls):
                return {"default": cls()}
        """,
    )
    # The command launches its own Chromium; here it uses the session's (one per process).
    monkeypatch.setattr(a11y, "Auditor", lambda config, browser=None: Auditor(config, shared))
    monkeypatch.chdir(emails_root.path.parent)
    runner = CliRunner()
    args = ["--emails", str(emails_root.path), "check", "--a11y"]
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 1
    checks = {f["check"]: f for f in json.loads(result.output)["findings"]}
    assert "mode" in checks["a11y.image-alt"]["message"]
    github = runner.invoke(main, [*args, "--format", "github"])
    assert github.exit_code == 1
    line = next(x for x in github.output.splitlines() if "title=a11y.image-alt" in x)
    assert line.startswith("::error file=emails/shipped/body.html,title=a11y.image-alt::shipped ")
