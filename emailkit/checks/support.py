"""Client support: the HTML and CSS features an email uses, against the caniemail data set.

The data (MIT, from caniemail.com, version and date in ``data/SOURCE.md``) ships inside the
package. For every feature the inlined HTML uses, each client's newest tested version says
supported, partial or not; a feature a major client does not support is a warning, a partial
one is info, and each client gets a support score like the mail-testing tools show: the share
of the used features it supports, partial ones counting half.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from ..model.email import Email
from . import Finding, Severity, trace
from .markup import Sample

DATA = Path(__file__).parent / "data" / "caniemail.json"

MAJOR_CLIENTS = {
    ("gmail", "desktop-webmail"),
    ("gmail", "ios"),
    ("gmail", "android"),
    ("outlook", "windows"),
    ("outlook", "outlook-com"),
    ("outlook", "macos"),
    ("outlook", "ios"),
    ("apple-mail", "macos"),
    ("apple-mail", "ios"),
    ("yahoo", "desktop-webmail"),
    ("yahoo", "ios"),
    ("samsung-email", "android"),
}
_PROPERTY = re.compile(r"(?:^|[;{\s])([a-z-]+)\s*:", re.IGNORECASE)
_UNIT = re.compile(r"\d(px|em|rem|%|vh|vw|pt|ch|ex|cm|mm|in|pc|vmin|vmax)\b")


@cache
def _data() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


@cache
def _features() -> dict[str, dict[str, Any]]:
    return {feature["slug"]: feature for feature in _data()["data"]}


@cache
def _property_slugs() -> dict[str, str]:
    """CSS property name -> feature slug: the slug's own name, and keywords that are longhands
    of it (``margin-left`` for css-margin; not ``color`` for css-accent-color)."""
    found: dict[str, str] = {}
    for slug, feature in _features().items():
        if feature["category"] != "css":
            continue
        base = slug.removeprefix("css-")
        found.setdefault(base, slug)
        for keyword in (feature.get("keywords") or "").split(","):
            keyword = keyword.strip()
            if keyword.startswith(base + "-") and re.fullmatch(r"[a-z]+(-[a-z]+)*", keyword):
                found.setdefault(keyword, slug)
    return found


_LONGHAND = re.compile(r"-(top|right|bottom|left|width|color|style)$")


def _property_slug(name: str) -> str | None:
    """The feature of a property, falling back from longhands (``border-top-color``)."""
    properties = _property_slugs()
    while name:
        if name in properties:
            return properties[name]
        shorter = _LONGHAND.sub("", name)
        if shorter == name:
            return None
        name = shorter
    return None


def client_name(family: str, platform: str) -> str:
    nice = _data()["nicenames"]
    return f"{nice['family'].get(family, family)} {nice['platform'].get(platform, platform)}"


def _newest(versions: dict[str, str]) -> str:
    """The support letter of the newest tested version (``y``, ``a``, ``n`` or ``u``)."""
    newest = max(versions, key=_version_key)
    return versions[newest].split()[0]


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"[.-]", version))


def support(slug: str) -> dict[tuple[str, str], str]:
    """Each client's support for a feature: ``{(family, platform): letter}``."""
    stats = _features()[slug]["stats"]
    return {
        (family, platform): _newest(versions)
        for family, platforms in stats.items()
        for platform, versions in platforms.items()
        if versions
    }


def used_features(sample: Sample) -> set[str]:
    """caniemail slugs of what the sample's HTML uses."""
    document = sample.document
    if document is None:
        return set()
    features = _features()
    used: set[str] = set()
    css = [
        element.get("style") or "" for element in document.iter() if isinstance(element.tag, str)
    ]
    css += [style.text or "" for style in document.iter("style")]
    for block in css:
        for name in _PROPERTY.findall(block):
            slug = _property_slug(name.lower())
            if slug:
                used.add(slug)
        used |= set(_css_extras(block))
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        used |= set(_html_features(element.tag.lower(), element.attrib))
    return {slug for slug in used if slug in features}


def _css_extras(css: str) -> Iterator[str]:
    lowered = css.lower()
    for value in ("flex", "grid", "none"):
        if re.search(rf"display\s*:\s*{value}\b", lowered):
            yield f"css-display-{value}"
    checks = {
        "!important": "css-important",
        "@media": "css-at-media",
        "prefers-color-scheme": "css-at-media-prefers-color-scheme",
        "@font-face": "css-at-font-face",
        "@import": "css-at-import",
        ":hover": "css-pseudo-class-hover",
        "rgba(": "css-rgba",
        "rgb(": "css-rgb",
        "linear-gradient(": "css-linear-gradient",
        "calc(": "css-unit-calc",
        "var(--": "css-variables",
    }
    for needle, slug in checks.items():
        if needle in lowered:
            yield slug
    for unit in set(_UNIT.findall(lowered)):
        yield "css-unit-percent" if unit == "%" else f"css-unit-{unit}"


def _html_features(tag: str, attributes: Any) -> Iterator[str]:
    if re.fullmatch(r"h[1-6]", tag):
        yield "html-h1-h6"
    elif tag in ("ul", "ol", "li"):
        yield "html-lists"
    else:
        yield f"html-{tag}"
    for name in attributes:
        if name in (
            "lang",
            "dir",
            "align",
            "valign",
            "width",
            "height",
            "cellpadding",
            "cellspacing",
            "background",
            "role",
            "srcset",
            "target",
            "hidden",
        ):
            yield f"html-{name}"
        elif name == "loading":
            yield "html-loading-attribute"
        elif name.startswith("aria-"):
            yield f"html-{name}"
    href = attributes.get("href", "")
    if tag == "a" and href.startswith("mailto:"):
        yield "html-mailto-links"
    elif tag == "a" and href.startswith("#"):
        yield "html-anchor-links"
    if tag == "meta" and attributes.get("name") == "color-scheme":
        yield "html-meta-color-scheme"


# Every HTML email has a <body>: clients that drop the element keep its content, and there is
# nothing to change. (Its background belongs on a wrapper table, which the starter layout has.)
_NOT_REPORTED = frozenset({"html-body"})
# Features a client without them simply ignores, leaving an email that works: what it shows
# instead. Reported as info, not as a warning to act on.
_ENHANCEMENTS = {
    "css-at-media": "clients without @media show the inlined styles (the desktop layout)",
    "css-at-media-prefers-color-scheme": "clients without it show the light colours",
    "html-meta-color-scheme": "clients without it ignore the tag",
    "css-border-radius": "clients without it show square corners",
}


def check(cls: type[Email], samples: list[Sample]) -> tuple[list[Finding], dict[str, float]]:
    """Findings for unsupported features, and the support score of each major client.

    Each finding names the file and line of the sources that write the feature, and the
    sample when not every sample uses it. A feature no source of the author writes came from
    MRML (an MJML email's generated styles) and is not reported; it still counts in the score.
    """
    by_sample = {sample.name: used_features(sample) for sample in samples}
    used: set[str] = set().union(*by_sample.values())
    lines = trace.source_lines(cls)
    mjml = any(name.endswith(".mjml") for name in lines)  # written in MJML, compiled by MRML
    findings: list[Finding] = []
    tally: dict[tuple[str, str], list[float]] = {client: [] for client in MAJOR_CLIENTS}
    for slug in sorted(used):
        feature = _features()[slug]
        letters = support(slug)
        missing, partial = [], []
        for client in sorted(MAJOR_CLIENTS):
            letter = letters.get(client, "u")
            if letter == "y":
                tally[client].append(1.0)
            elif letter == "a":
                tally[client].append(0.5)
                partial.append(client_name(*client))
            elif letter == "n":
                tally[client].append(0.0)
                missing.append(client_name(*client))
        if slug in _NOT_REPORTED or not (missing or partial):
            continue
        where = trace.locate(slug, lines)
        if where is None and mjml:
            continue  # MRML's own markup and styles: nothing the author can change
        users = [name for name, features in by_sample.items() if slug in features]
        sample = users[0] if len(users) < len(by_sample) else None
        if missing and slug in _ENHANCEMENTS:
            severity: Severity = "info"
            message = f"{feature['title']} is not supported by {', '.join(missing)}"
            hint = f"{_ENHANCEMENTS[slug]}; see {feature['url']}"
        elif missing:
            severity = "warning"
            message = f"{feature['title']} is not supported by {', '.join(missing)}"
            hint = f"make sure the email still works without it; see {feature['url']}"
        else:
            severity = "info"
            message = f"{feature['title']} is only partly supported by {', '.join(partial)}"
            hint = f"see the notes at {feature['url']}"
        findings.append(
            Finding.of(
                cls, severity, f"support.{slug}", message, hint, sample, where or (None, None)
            )
        )
    scores = {
        client_name(*client): round(100 * sum(values) / len(values), 1)
        for client, values in sorted(tally.items())
        if values
    }
    return findings, scores
