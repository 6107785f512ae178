"""The preview server in a real browser: Chromium, driven by Playwright, against preview_app.py."""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import Page, expect

from .test_preview import rewrite


def painted(page: Page) -> None:
    """Return once the browser has painted the current state (two animation frames)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def frame_width_becomes(page: Page, width: str) -> None:
    """Wait for the email frame's width transition to end at ``width`` pixels."""
    page.wait_for_function(
        f"document.querySelector('.frame').getBoundingClientRect().width {width}", timeout=5000
    )


def change_and_wait_for_reload(page: Page, path, old: str, new: str) -> float:
    """Edit a file; returns the seconds until the reloaded page has loaded."""
    started = time.perf_counter()
    with page.expect_event("load", timeout=10_000):
        rewrite(path, old, new)
    return time.perf_counter() - started


def test_index_search_and_viewer_controls(preview_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(preview_server.url + "/")
    expect(page.locator(".sample-row")).to_have_count(16)
    page.keyboard.press("/")
    page.keyboard.type("receipt twenty")
    expect(page.locator(".sample-row:visible")).to_have_count(1)
    page.locator(".sample-row:visible a").click()

    expect(page).to_have_url(preview_server.url + "/receipt/twenty-items")
    frame = page.frame_locator("#email-frame")
    expect(frame.locator("h1")).to_contain_text("Thanks for your order, Ada Lovelace")
    expect(page.locator(".inbox-preheader")).to_contain_text("20 items, €512.56 in total")

    page.keyboard.press("2")
    expect(page.locator("[data-panel=text]")).to_be_visible()
    expect(page.locator("[data-panel=text]")).to_contain_text("Subtotal")
    expect(page.locator("[data-panel=html]")).to_be_hidden()
    assert "tab=text" in page.url
    page.locator("button[data-tab=source]").click()
    expect(page.locator(".source .listing")).to_be_visible()
    page.keyboard.press("4")
    expect(page.locator("table.headers")).to_contain_text("Message-ID")
    page.keyboard.press("1")

    page.locator("button[data-width=mobile]").click()
    expect(page.locator("#viewer")).to_have_attribute("data-width", "mobile")
    frame_width_becomes(page, "=== 375")
    page.reload()
    expect(page.locator("#viewer")).to_have_attribute("data-width", "mobile")
    frame_width_becomes(page, "=== 375")
    page.keyboard.press("f")
    frame_width_becomes(page, "> 1000")

    page.keyboard.press("n")
    expect(page.locator("#email-frame")).to_have_attribute(
        "src", re.compile(r"/receipt/twenty-items\.html\?mode=dark$")
    )
    body = frame.locator("table.wrapper")
    expect(body).to_have_css("background-color", "rgb(17, 17, 24)")
    page.keyboard.press("i")
    expect(frame.locator("html")).to_have_css("filter", "invert(1) hue-rotate(180deg)")
    page.keyboard.press("l")
    expect(body).to_have_css("background-color", "rgb(244, 244, 247)")

    page.keyboard.press("]")
    expect(page).to_have_url(
        preview_server.url + "/receipt/non-ascii-yen?tab=html&width=full&mode=light&source=after"
    )


def test_edits_show_up_live_and_errors_recover(preview_server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(preview_server.url + "/receipt/default")
    frame = page.frame_locator("#email-frame")
    expect(frame.locator("h1")).to_contain_text("Thanks for your order")
    body = preview_server.root / "receipt" / "body.html"
    latencies = []

    started = time.perf_counter()
    change_and_wait_for_reload(
        page, body, "Thanks for your order", "Thank you kindly for your order"
    )
    expect(frame.locator("h1")).to_contain_text("Thank you kindly for your order")
    painted(page)
    latencies.append(time.perf_counter() - started)

    change_and_wait_for_reload(page, body, "{% for item in items %}", "{% for item in items %")
    expect(page.locator(".problem-where")).to_contain_text("receipt/body.html, line 14")
    expect(page.locator(".problem-excerpt .hit")).to_contain_text("<tr>")

    change_and_wait_for_reload(page, body, "{% for item in items %", "{% for item in items %}")
    expect(frame.locator("h1")).to_contain_text("Thank you kindly for your order")

    started = time.perf_counter()
    css = preview_server.root / "_layouts" / "base.css"
    change_and_wait_for_reload(page, css, "color: #1f1f39", "color: #b91c1c")
    expect(frame.locator("h1")).to_have_css("color", "rgb(185, 28, 28)")
    painted(page)
    latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    module = preview_server.root / "receipt" / "__init__.py"
    change_and_wait_for_reload(
        page, module, '"customer_name": "Ada Lovelace"', '"customer_name": "Countess Ada"'
    )
    expect(frame.locator("h1")).to_contain_text("Countess Ada")
    painted(page)
    latencies.append(time.perf_counter() - started)

    page.screenshot(path=str(artifacts / "preview-viewer.png"))
    started = time.perf_counter()
    page.goto(preview_server.url + "/receipt/default")
    cached = time.perf_counter() - started
    timings = {
        "save_to_paint_seconds": {
            "template": round(latencies[0], 3),
            "stylesheet": round(latencies[1], 3),
            "python_class": round(latencies[2], 3),
        },
        "unchanged_page_load_seconds": round(cached, 3),
    }
    (artifacts / "preview-latency.json").write_text(json.dumps(timings, indent=2))
    print("preview timings:", timings)


def test_a_page_that_connects_after_a_change_still_reloads(preview_server, browser):
    """livereload tells only the pages already connected; one still loading checks itself."""
    url = preview_server.url + "/receipt/default"
    connected = browser.new_page()
    connected.goto(url)
    late = browser.new_page()
    held = []  # late's livereload.js, held back until the change has been announced
    late.route("**/livereload.js*", lambda route: held.append(route))
    late.goto(url, wait_until="commit")
    deadline = time.monotonic() + 10
    while not held:
        assert time.monotonic() < deadline, "livereload.js was never requested"
        late.wait_for_timeout(20)
    rendered = late.locator("body").get_attribute("data-version")
    body = preview_server.root / "receipt" / "body.html"
    # The connected page reloading shows the server has announced the change, to it alone.
    change_and_wait_for_reload(connected, body, "Thanks for your order", "Thanks a lot")
    held[0].continue_()
    expect(late.locator("body")).not_to_have_attribute("data-version", rendered, timeout=10_000)
    connected.close()
    late.close()
