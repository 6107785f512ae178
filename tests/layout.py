"""Layout checks for screenshots: no horizontal overflow, no controls drawn over each other."""

from __future__ import annotations

from pathlib import Path

from .preview.test_preview_layout import LAYOUT_PROBLEMS

WIDTHS = (375, 768, 1440)

_OVERLAPS = """
() => {
  const selector = "a, button, input, select, textarea, iframe, h1, h2, [role=tab], .field-error";
  const shown = [...document.querySelectorAll(selector)].filter((el) => {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && style.visibility !== "hidden";
  });
  const found = [];
  for (let i = 0; i < shown.length; i++) {
    for (let j = i + 1; j < shown.length; j++) {
      const a = shown[i], b = shown[j];
      if (a.contains(b) || b.contains(a)) continue;
      if (a.closest("label") && a.closest("label") === b.closest("label")) continue;
      const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
      const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (x > 1 && y > 1) found.push([a.outerHTML.slice(0, 80), b.outerHTML.slice(0, 80)]);
    }
  }
  return found;
}
"""


def check_layout(page, artifacts: Path, name: str, widths=WIDTHS) -> list[Path]:
    """Screenshot the page at each width; fail on horizontal overflow or overlapping controls."""
    shots = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
        overlaps = page.evaluate(_OVERLAPS)
        assert not overlaps, f"{name} at {width}px: overlapping controls {overlaps[:3]}"
        # and the viewer's own, stricter rules (labels, badges, nothing off screen)
        problems = page.evaluate(LAYOUT_PROBLEMS)
        assert not problems, f"{name} at {width}px: {problems[:5]}"
        path = artifacts / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)
    return shots
