"""Every preview screen in Chromium from 320 to 2560 px: no horizontal overflow, no controls on
top of each other, screenshots at 375, 768 and 1440 px in test-artifacts/layout/; the source
listing lines up and copies without numbers; a broken email module shows its error card and
recovers; the live-reload websocket and a rebinding host are refused in a real browser.

One preview server (preview_app.py in a subprocess) serves the whole module.
"""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import Page, expect

from ..conftest import CHROMIUM, CHROMIUM_FLAGS, running_preview
from .test_preview import rewrite

SCREENSHOT_WIDTHS = (375, 768, 1440)
CHECKED_WIDTHS = (320, 2560)
TABS = ("html", "text", "source", "headers", "mime", "checks")

# Every visible control and label: none may overlap another or leave the viewport, except
# inside an element that scrolls on its own (the source listing, the raw MIME).
LAYOUT_PROBLEMS = """() => {
  const width = document.documentElement.clientWidth;
  const selector = "a, button, input, select, textarea, label, .crumb, .root, .avatar, " +
    ".inbox-from, .inbox-line, .badge, h1, h2";
  const scrolls = (e) => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (/(auto|scroll)/.test(s.overflowX)) return true;
    }
    return false;
  };
  const shown = [...document.querySelectorAll(selector)].filter((e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden";
  });
  const problems = [];
  const name = (e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "") +
    " '" + (e.textContent || e.value || "").trim().slice(0, 30) + "'";
  for (const e of shown) {
    const r = e.getBoundingClientRect();
    if ((r.left < -0.5 || r.right > width + 0.5) && !scrolls(e)) {
      problems.push("off screen: " + name(e) + " " + Math.round(r.left) + ".." +
        Math.round(r.right));
    }
  }
  for (let i = 0; i < shown.length; i++) {
    for (let j = i + 1; j < shown.length; j++) {
      const a = shown[i], b = shown[j];
      if (a.contains(b) || b.contains(a)) continue;
      // Per line box: an inline link that wraps has a bounding box spanning both lines.
      const hit = [...a.getClientRects()].some((p) => [...b.getClientRects()].some((q) => {
        const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        return x > 1 && y > 1;
      }));
      if (hit) problems.push("overlap: " + name(a) + " / " + name(b));
    }
  }
  const overflow = document.documentElement.scrollWidth - width;
  if (overflow > 0) problems.push("horizontal overflow: " + overflow + " px");
  return problems;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layout")
    with running_preview(folder, env={"EMAILKIT_PREVIEW_RECIPIENTS": "*@example.com"}) as running:
        yield running


@pytest.fixture
def shots(artifacts):
    folder = artifacts / "layout"
    folder.mkdir(exist_ok=True)
    return folder


def check_layout(page: Page, what: str) -> None:
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert problems == [], f"{what} at {page.viewport_size['width']} px: {problems}"


def test_every_screen_fits_from_320_to_2560_px(server, browser, shots):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(server.url + "/digest/default")
    page.fill("input[name=to]", "qa@example.com")
    page.click("text=Send a test")
    expect(page.locator(".flash")).to_contain_text("Sent to qa@example.com")
    page.goto(server.url + "/outbox")
    stem = page.locator(".sample-row a").first.get_attribute("href").rsplit("/", 1)[1]
    screens = {
        "index": "/",
        **{f"viewer-{tab}": f"/receipt/default?tab={tab}" for tab in TABS},
        "outbox": "/outbox",
        "outbox-message": f"/outbox/{stem}",
        "not-found": "/receipt/nope",
    }
    for width in (*SCREENSHOT_WIDTHS, *CHECKED_WIDTHS):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in screens.items():
            page.goto(server.url + path)
            if name.startswith("viewer-"):
                expect(page.locator(f"[data-panel={name[7:]}]")).to_be_visible()
            check_layout(page, name)
            if width in SCREENSHOT_WIDTHS:
                page.screenshot(path=str(shots / f"{name}-{width}.png"))
    page.close()


def test_the_source_listing_lines_up_and_copies_without_numbers(server, browser):
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(server.url + "/receipt/default?tab=source")
    listing = page.locator(".listing")
    expect(listing).to_be_visible()
    with urllib.request.urlopen(server.url + "/receipt/default.html") as response:
        source = response.read().decode()
    lines = source.splitlines()
    assert len(lines) > 99  # three-digit numbers, where the old column wrapped
    assert listing.locator(".line").count() == len(lines)
    copied = page.evaluate(
        """() => {
          const range = document.createRange();
          range.selectNodeContents(document.querySelector(".listing code"));
          getSelection().removeAllRanges();
          getSelection().addRange(range);
          return getSelection().toString();
        }"""
    )
    assert copied == "\n".join(lines)  # the code exactly, not one line number in it
    geometry = page.evaluate(
        """() => [...document.querySelectorAll(".listing .line")].map((line, index) => {
          const number = getComputedStyle(line, "::before");
          const context = document.createElement("canvas").getContext("2d");
          context.font = number.font;
          const digits = context.measureText(String(index + 1)).width;
          const box = line.getBoundingClientRect();
          const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
          const text = walker.nextNode();
          let top = box.top;
          if (text) {
            const range = document.createRange();
            range.setStart(text, 0);
            range.setEnd(text, Math.min(1, text.length));
            top = range.getClientRects()[0].top;
          }
          return {
            numberFits: digits <= parseFloat(number.width) - parseFloat(number.paddingRight),
            codeRight: parseFloat(getComputedStyle(line).paddingLeft) >= parseFloat(number.width),
            level: top - box.top < parseFloat(getComputedStyle(line).lineHeight) / 2,
            content: number.content,
          };
        })"""
    )
    assert all(g["content"] == "counter(line)" for g in geometry)
    assert all(g["numberFits"] for g in geometry), "a line number is wider than its column"
    assert all(g["codeRight"] for g in geometry), "code starts under the numbers"
    assert all(g["level"] for g in geometry), "a line's code starts below its number"
    page.close()


def test_a_python_error_in_an_email_class_shows_the_error_card_and_recovers(server, browser, shots):
    module = server.root / "digest" / "__init__.py"
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(server.url + "/digest/default")
    frame = page.frame_locator("#email-frame")
    expect(frame.locator("body")).to_contain_text("here is what happened")
    try:
        with page.expect_event("load", timeout=10_000):
            rewrite(module, "    user_name: str\n", "    user_name: str\n    oops(\n")
        expect(page.locator(".problem-where")).to_contain_text("digest/__init__.py, line")
        expect(page.locator(".problem-message")).to_contain_text("SyntaxError")
        expect(page.locator(".problem-excerpt .hit")).to_contain_text("oops(")
        expect(page.locator("text=Nothing here")).to_have_count(0)
        check_layout(page, "error card")
        for width in SCREENSHOT_WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(path=str(shots / f"error-card-{width}.png"))
    finally:
        with page.expect_event("load", timeout=10_000):
            rewrite(module, "    oops(\n", "")
    expect(frame.locator("body")).to_contain_text("here is what happened")
    log = (server.root.parent / "preview.log").read_text()
    assert "digest does not load: digest/__init__.py, line" in log
    page.close()


def test_the_reload_websocket_refuses_other_origins_in_the_browser(server, browser):
    port = server.url.rsplit(":", 1)[1]
    page = browser.new_page()
    page.goto(f"http://localhost:{port}/")  # an allowed host, but not the 127.0.0.1 origin
    opened = """url => new Promise(done => {
      const socket = new WebSocket(url);
      socket.onopen = () => { socket.close(); done("open"); };
      socket.onerror = () => done("refused");
    })"""
    assert page.evaluate(opened, f"ws://localhost:{port}/livereload") == "open"
    assert page.evaluate(opened, f"ws://127.0.0.1:{port}/livereload") == "refused"
    page.close()


def test_a_rebound_domain_gets_400_and_no_token_in_the_browser(server, browser):
    port = server.url.rsplit(":", 1)[1]
    # evil.example resolves to 127.0.0.1, as after a DNS rebinding attack.
    rules = "--host-resolver-rules=MAP evil.example 127.0.0.1"
    rebound = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, rules])
    try:
        page = rebound.new_page()
        for path in ("/", "/receipt/default", "/livereload.js"):
            response = page.goto(f"http://evil.example:{port}{path}")
            assert response is not None and response.status == 400, path
            assert "DNS rebinding" in page.content() and "csrf_token" not in page.content()
    finally:
        rebound.close()
