"""The MJML example in Chromium: columns side by side on desktop, stacked on phones; the
preview shows an MJML mistake at its line and recovers on save."""

from __future__ import annotations

import struct
import zlib

from playwright.sync_api import expect

from emailkit import discover

from ..conftest import SHIPPED_ROOT
from ..preview.test_preview_browser import change_and_wait_for_reload


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour PNG, standing in for the example's remote images (no network here)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def story_columns(page) -> list[dict[str, float]]:
    """The boxes of the 50% columns: the header's two, then each row of stories' two."""
    return page.eval_on_selector_all(
        ".mj-column-per-50",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })",
    )


def test_newsletter_columns_sit_side_by_side_on_desktop_and_stack_on_mobile(browser, artifacts):
    html = discover(SHIPPED_ROOT)["newsletter"].previews()["default"].render().html
    image = png(56, 32, (79, 70, 229))
    boxes = {}
    for name, width in (("desktop", 800), ("mobile", 375)):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.route(
            "**/*",
            lambda route: (
                route.fulfill(body=image, content_type="image/png")
                if "picsum.photos" in route.request.url
                else route.abort()
            ),
        )
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(artifacts / f"mjml-newsletter-{name}.png"), full_page=True)
        boxes[name] = story_columns(page)
        page.close()

    desktop, mobile = boxes["desktop"], boxes["mobile"]
    assert len(desktop) == len(mobile) == 6  # header, then two rows of two stories
    for left, right in zip(desktop[::2], desktop[1::2], strict=True):
        assert abs(left["y"] - right["y"]) < 1, "side by side on desktop"
        assert right["x"] >= left["x"] + left["width"] - 1
        assert 250 < left["width"] < 320
    for left, right in zip(mobile[2::2], mobile[3::2], strict=True):
        assert abs(left["x"] - right["x"]) < 1, "stacked on mobile"
        assert right["y"] >= left["y"] + left["height"] - 1
        assert left["width"] > 300, "each story takes the phone's width"


def test_preview_shows_an_mjml_mistake_at_its_line_and_recovers(preview_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(preview_server.url + "/newsletter/default")
    frame = page.frame_locator("#email-frame")
    expect(frame.locator("text=Read the story")).to_be_visible()
    body = preview_server.root / "newsletter" / "body.mjml"
    change_and_wait_for_reload(page, body, "<mj-button href", "<mj-buton href")
    expect(page.locator(".problem-where")).to_contain_text("newsletter/body.mjml, line 27")
    expect(page.locator(".error-page")).to_contain_text("Did you mean 'mj-button'?")
    change_and_wait_for_reload(page, body, "<mj-buton href", "<mj-button href")
    expect(frame.locator("text=Read the story")).to_be_visible()
    page.locator("button[data-tab=source]").click()
    page.locator("a", has_text="MJML source").click()
    expect(page.locator(".source .listing")).to_contain_text("<mj-button")
    expect(page.locator(".source .listing")).to_have_attribute("aria-label", "MJML source")
