"""The preview's screens in Chromium at 375, 768 and 1440 px: the send-a-test form within
reach and its refusals shown as errors, a compact viewer on phones, outbox rows with subject,
recipients and date, caniemail links; screenshots in test-artifacts/ui/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from emailkit.preview import display

from ..conftest import running_preview
from ..layout import WIDTHS, check_layout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui")
    with running_preview(folder, env={"EMAILKIT_PREVIEW_RECIPIENTS": "*@example.com"}) as running:
        yield running


@pytest.fixture
def shots(artifacts):
    folder = artifacts / "ui"
    folder.mkdir(exist_ok=True)
    return folder


def test_send_form_is_within_reach_and_refusals_look_like_errors(server, browser, shots):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(server.url + "/receipt/default")
    form = page.locator("form.send-test")
    box = form.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900, box  # above the fold
    page.fill("input[name=to]", "mallory@evil.example")
    page.click("text=Send a test")
    error = page.locator(".flash-error")
    expect(error).to_contain_text("Not sent.")
    expect(error).to_contain_text("mallory@evil.example is not allowed")
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator(".flash-success")).to_have_count(0)
    colour = error.evaluate("e => getComputedStyle(e).color")
    check_layout(page, shots, "send-refused")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.fill("input[name=to]", "qa@example.com")
    page.click("text=Send a test")
    success = page.locator(".flash-success")
    expect(success).to_contain_text("Sent to qa@example.com")
    expect(page.locator(".flash-error")).to_have_count(0)
    assert success.evaluate("e => getComputedStyle(e).color") != colour
    check_layout(page, shots, "send-sent")
    page.close()


def test_the_email_starts_near_the_top_on_a_phone(server, browser, shots):
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(server.url + "/receipt/default")
    top = page.locator("#email-frame").bounding_box()["y"]
    assert top <= 122, f"the email starts {top} px down at 375 px"
    # every control is still reachable: the row scrolls sideways, the page does not
    page.locator("button[data-tab=checks]").click()
    expect(page.locator("[data-panel=checks]")).to_be_visible()
    page.locator("button[data-tab=html]").click()
    check_layout(page, shots, "viewer")
    page.close()


def test_the_index_search_placeholder_fits_on_a_phone(server, browser, shots):
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(server.url + "/")
    fits = page.evaluate(
        """() => {
          const input = document.getElementById("search");
          const style = getComputedStyle(input);
          const context = document.createElement("canvas").getContext("2d");
          context.font = style.font;
          const room = input.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight);
          return context.measureText(input.placeholder).width <= room;
        }"""
    )
    assert fits
    check_layout(page, shots, "index")
    page.close()


def test_outbox_rows_show_subject_recipients_and_date(server, browser, shots):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(server.url + "/welcome/default")
    page.fill("input[name=to]", "ada@example.com, bob@example.com")
    page.click("text=Send a test")
    expect(page.locator(".flash-success")).to_be_visible()
    page.goto(server.url + "/outbox")
    row = page.locator(".sample-row").first
    expect(row.locator(".subject")).to_contain_text("Welcome")
    expect(row.locator(".preheader")).to_have_text("to ada@example.com, bob@example.com")
    expect(row.locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    check_layout(page, shots, "outbox")
    row.locator("a").click()
    expect(page.locator(".crumb").last).to_contain_text("Welcome")
    assert not re.search(r"\d{8}T\d{6}", page.locator(".crumbs").inner_text())
    page.close()


def test_caniemail_urls_in_the_checks_tab_are_links(server, browser):
    linked = display.linked("not supported; see https://www.caniemail.com/features/css-gap/.")
    assert str(linked) == (
        'not supported; see <a href="https://www.caniemail.com/features/css-gap/" '
        'target="_blank" rel="noopener noreferrer">https://www.caniemail.com/features/css-gap/'
        "</a>."
    )
    assert "&lt;b&gt;" in str(display.linked("<b> https://x.example/?a=1&b=2"))
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    found = 0
    for path in ("/receipt/default", "/newsletter/default", "/digest/default", "/welcome/default"):
        page.goto(server.url + path + "?tab=checks")
        hints = page.locator("[data-panel=checks]").inner_text()
        urls = re.findall(r"https://\S*caniemail\S*[^\s.,;)]", hints)
        links = page.locator("[data-panel=checks] a[href*=caniemail]")
        assert links.count() == len(urls), path
        for index in range(links.count()):
            expect(links.nth(index)).to_have_attribute("target", "_blank")
            expect(links.nth(index)).to_have_attribute("rel", re.compile("noopener"))
        found += len(urls)
    assert found > 0, "no caniemail finding in the shipped emails to check"
    page.close()


def test_no_preview_page_overflows_sideways(server, browser, shots):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    for name, path in [
        ("index", "/"),
        ("viewer", "/receipt/twenty-items"),
        ("viewer-checks", "/newsletter/default?tab=checks"),
        ("editor", "/receipt/default/edit"),
        ("outbox", "/outbox"),
    ]:
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(server.url + path)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
            page.screenshot(path=str(shots / f"page-{name}-{width}.png"))
    page.close()
