"""Where an email's sources write a client-support feature: the file and line to report.

The features are found in the rendered HTML, which holds what emailkit, premailer and MRML
wrote besides the author's markup (MRML's own ``<head>`` styles, ``cursor``, ``word-spacing``...).
Tracing each feature back to the files the author wrote (the email's templates and
stylesheets, and the layouts, partials, components and stylesheets they reference) gives the
line to report, and tells the generated ones apart: those nobody can change are not reported.
"""

from __future__ import annotations

import re
from functools import cache

from ..model.email import Email
from ..templating.loader import read_text

_REFERENCE = re.compile(r"""\{%-?\s*(?:extends|include|import|from)\s+["']([^"']+)["']""")
_LINK = re.compile(r"""<link\b[^>]*?\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
_SUFFIXES = (".html", ".mjml", ".css")

# Features whose marker in the sources is not their own name.
_EXTRAS = {
    "css-important": r"!\s*important",
    "css-at-media": r"@media\b",
    "css-at-media-prefers-color-scheme": r"prefers-color-scheme",
    "css-at-font-face": r"@font-face\b",
    "css-at-import": r"@import\b",
    "css-pseudo-class-hover": r":hover\b",
    "css-rgba": r"\brgba\(",
    "css-rgb": r"\brgb\(",
    "css-linear-gradient": r"linear-gradient\(",
    "css-unit-calc": r"\bcalc\(",
    "css-variables": r"var\(--",
    "css-unit-percent": r"\d%",
    "css-display-flex": r"display\s*:\s*flex\b",
    "css-display-grid": r"display\s*:\s*grid\b",
    "css-display-none": r"display\s*:\s*none\b",
    "html-h1-h6": r"<h[1-6]\b",
    "html-lists": r"<(?:ul|ol|li)\b",
    "html-loading-attribute": r"\bloading\s*=",
    "html-mailto-links": r"mailto:",
    "html-anchor-links": r"""href\s*=\s*["']#""",
    "html-meta-color-scheme": r"""name\s*=\s*["']color-scheme""",
}


def source_lines(cls: type[Email]) -> dict[str, list[str]]:
    """The lines of every file the author wrote for ``cls``'s HTML: its folder's templates
    and stylesheets first, then what they extend, include, import or link, by root-relative
    name."""
    root = cls.templates().root.resolve()
    folder = cls._require_folder().resolve()
    queue = [path for path in sorted(folder.iterdir()) if path.suffix in _SUFFIXES]
    found: dict[str, list[str]] = {}
    while queue:
        path = queue.pop(0).resolve()
        if not path.is_file() or not path.is_relative_to(root):
            continue
        name = path.relative_to(root).as_posix()
        if name in found:
            continue
        try:
            text = read_text(path, name)
        except Exception:  # not UTF-8: reported by the checks that render
            continue
        found[name] = text.splitlines()
        queue += [root / reference for reference in _REFERENCE.findall(text)]
        for href in _LINK.findall(text):
            if not _REMOTE.match(href) and "{" not in href:
                queue.append(
                    root / href.lstrip("/") if href.startswith("/") else path.parent / href
                )
    return found


@cache
def marker(slug: str) -> re.Pattern[str]:
    """How a caniemail feature shows in a template or stylesheet."""
    if slug in _EXTRAS:
        return re.compile(_EXTRAS[slug], re.IGNORECASE)
    if slug.startswith("css-unit-"):
        return re.compile(rf"\d{re.escape(slug.removeprefix('css-unit-'))}\b", re.IGNORECASE)
    if slug.startswith("css-"):
        name = re.escape(slug.removeprefix("css-"))
        return re.compile(rf"(?<![\w-]){name}(?:-[a-z-]+)?\s*:", re.IGNORECASE)
    name = re.escape(slug.removeprefix("html-"))
    return re.compile(rf"<{name}\b|(?<![\w-]){name}\s*=", re.IGNORECASE)


def locate(slug: str, lines: dict[str, list[str]]) -> tuple[str, int] | None:
    """The first file and line of ``lines`` that writes the feature ``slug``."""
    pattern = marker(slug)
    for name, text in lines.items():
        for number, line in enumerate(text, 1):
            if pattern.search(line):
                return name, number
    return None
