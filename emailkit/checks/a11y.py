"""The accessibility audit: axe-core, in Debian's Chromium, on each sample in three modes.

``light`` is the HTML as written; ``dark`` matches the email's own ``prefers-color-scheme:
dark`` rules (Apple Mail, iOS Mail); ``inverted`` applies the forced colour inversion of Gmail
and Outlook.com, the viewer's ``invert(1) hue-rotate(180deg)``, to every element's computed
colours before axe reads them. A CSS filter or Chromium's auto dark mode
(``--blink-settings=forceDarkModeEnabled=true``) changes only the painted pixels, which axe
never sees: its contrast rule reads computed styles, so the inverted colours are written into
the page instead, and a link unreadable after inversion is caught.

axe-core comes from the ``axe-playwright-python`` package (it ships ``axe.min.js``, axe-core
4.12, MPL-2.0), so nothing is fetched at run time; every request the page makes is refused.
Each sample and mode has a deadline (``EMAILKIT_A11Y_TIMEOUT`` [20 s]): HTML that hangs the
browser is a finding, and its browser context is thrown away.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..model.email import Email
from . import Finding, Severity
from .sent import setting

MODES = ("light", "dark", "inverted")
#: axe rules that mean something in an email; no landmark, region or skip-link rules (an
#: email has no page structure to navigate), no form rules beyond buttons.
RULES = (
    "image-alt",
    "role-img-alt",
    "svg-img-alt",
    "input-image-alt",
    "area-alt",
    "object-alt",
    "image-redundant-alt",
    "link-name",
    "link-in-text-block",
    "button-name",
    "color-contrast",
    "html-has-lang",
    "html-lang-valid",
    "valid-lang",
    "document-title",
    "heading-order",
    "empty-heading",
    "list",
    "listitem",
    "definition-list",
    "dlitem",
    "presentation-role-conflict",
    "td-headers-attr",
    "th-has-data-cells",
    "td-has-header",
    "table-duplicate-name",
    "table-fake-caption",
    "scope-attr-valid",
    "empty-table-header",
    "duplicate-id-aria",
    "aria-allowed-attr",
    "aria-hidden-body",
    "aria-required-attr",
    "aria-roles",
    "aria-valid-attr",
    "aria-valid-attr-value",
    "nested-interactive",
    "frame-title",
    "meta-refresh",
    "marquee",
    "blink",
)
_IMPACT: dict[str | None, Severity] = {
    "critical": "error",
    "serious": "error",
    "moderate": "warning",
    "minor": "info",
}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu"]
CHROMIUM_INSTALL = (
    "install Chromium (Debian/Ubuntu: apt-get install chromium) and Playwright's Python "
    "package (pip install 'Flask-EmailKit[checks]'), or set EMAILKIT_CHROMIUM to its path"
)

# Runs in the page: on the first poll, apply the inversion (in ``inverted`` mode) and start axe;
# later polls return its JSON once ready. Polling by wait_for_function keeps every step under
# Playwright's own timeout, even when the page's main thread never comes back.
_AUDIT = """([options, invert, token]) => {
  if (window.__emailkitToken !== token) {
    window.__emailkitToken = token;
    window.__emailkitAudit = "started";
    if (invert) {
      const m = [[-0.574, 1.43, 0.144], [0.426, 0.43, 0.144], [0.426, 1.43, -0.856]];
      const flip = (value) => {
        const c = value.match(/rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?/);
        if (!c) return null;
        const v = [255 - c[1], 255 - c[2], 255 - c[3]];
        const o = m.map(r => Math.round(
          Math.min(255, Math.max(0, r[0] * v[0] + r[1] * v[1] + r[2] * v[2]))));
        return c[4] === undefined ? `rgb(${o})` : `rgba(${o},${c[4]})`;
      };
      const props = ["color", "background-color", "border-top-color", "border-bottom-color",
                     "border-left-color", "border-right-color"];
      const all = [document.documentElement, ...document.documentElement.querySelectorAll("*")];
      const found = all.map(el => {
        const style = getComputedStyle(el);
        return props.map(p => [p, flip(style.getPropertyValue(p))]);
      });
      const root = getComputedStyle(document.documentElement).backgroundColor;
      all.forEach((el, i) => found[i].forEach(([p, v]) => {
        if (v) el.style.setProperty(p, v, "important");
      }));
      if (root === "rgba(0, 0, 0, 0)") {
        document.documentElement.style.setProperty("background-color", "rgb(0, 0, 0)", "important");
      }
    }
    axe.run(document, options).then(
      r => { window.__emailkitAudit = JSON.stringify({violations: r.violations}); },
      e => { window.__emailkitAudit = JSON.stringify({error: String(e)}); });
  }
  return window.__emailkitAudit !== "started" && window.__emailkitAudit;
}"""


class AuditUnavailable(Exception):
    """The browser or axe-core could not be started: ``reason`` says why and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Violation:
    """One axe rule a sample breaks in one mode, with the elements that break it."""

    rule: str
    impact: str | None
    help: str
    help_url: str
    elements: list[tuple[str, str, str]]  # (selector, outer HTML, what to fix)


class AuditTimeout(Exception):
    pass


class Auditor:
    """One Chromium for all the audits of a run; ``close()`` when done.

    ``browser``: a Playwright browser to use (and leave open) instead of launching one.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, browser: Any = None) -> None:
        self.timeout = float(setting(config, "EMAILKIT_A11Y_TIMEOUT") or 20.0)
        executable = setting(config, "EMAILKIT_CHROMIUM") or next(
            (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))),
            "/usr/bin/chromium",
        )
        try:
            from axe_playwright_python.base import AXE_SCRIPT
            from playwright.sync_api import sync_playwright
        except ImportError as error:
            raise AuditUnavailable(
                f"the accessibility audit needs {error.name}: {CHROMIUM_INSTALL}"
            ) from error
        if not os.path.exists(executable):
            raise AuditUnavailable(f"no Chromium at {executable}: {CHROMIUM_INSTALL}")
        self._script = AXE_SCRIPT
        self._pages: dict[str, Any] = {}
        self._audits = 0
        self._playwright: Any = None
        self._browser = browser
        if browser is not None:
            return
        try:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS, timeout=self.timeout * 1000
            )
        except Exception as error:
            if self._playwright is not None:
                self._playwright.stop()
            raise AuditUnavailable(
                f"Chromium ({executable}) did not start: {str(error).splitlines()[0]}; "
                f"{CHROMIUM_INSTALL}"
            ) from error

    def _page(self, mode: str) -> Any:
        """The page audits in ``mode`` reuse (axe-core stays loaded in it)."""
        if mode not in self._pages:
            context = self._browser.new_context(
                color_scheme="dark" if mode == "dark" else "light",
                viewport={"width": 800, "height": 900},
            )
            context.add_init_script(self._script)
            context.route("**/*", lambda route: route.abort())  # no network, ever
            self._pages[mode] = context.new_page()
        return self._pages[mode]

    def _discard(self, mode: str) -> None:
        page = self._pages.pop(mode, None)
        if page is not None:
            page.context.close()  # its renderer may be stuck for good: the next starts afresh

    def audit(self, html: str, mode: str) -> list[Violation]:
        """axe's violations of ``html`` in ``mode``; AuditTimeout past the deadline."""
        from playwright.sync_api import Error as PlaywrightError

        page = self._page(mode)
        self._audits += 1
        options = {
            "runOnly": {"type": "rule", "values": list(RULES)},
            "resultTypes": ["violations"],
        }
        try:
            page.set_content(html, wait_until="load", timeout=self.timeout * 1000)
            handle = page.wait_for_function(
                _AUDIT, arg=[options, mode == "inverted", self._audits], timeout=self.timeout * 1000
            )
            result = json.loads(handle.json_value())
        except PlaywrightError as error:  # a timeout, or a page that crashed
            self._discard(mode)
            raise AuditTimeout(str(error).splitlines()[0]) from error
        if "error" in result:
            raise AuditUnavailable(f"axe-core failed: {result['error']}")
        return [
            Violation(
                v["id"],
                v.get("impact"),
                v["help"],
                v.get("helpUrl", ""),
                [
                    (
                        " ".join(str(part) for part in node.get("target", [])),
                        node.get("html", ""),
                        node.get("failureSummary", ""),
                    )
                    for node in v.get("nodes", [])
                ],
            )
            for v in result.get("violations", [])
        ]

    def close(self) -> None:
        for mode in list(self._pages):
            self._discard(mode)
        if self._playwright is not None:
            self._browser.close()
            self._playwright.stop()


def check(cls: type[Email], samples: list[Any], auditor: Auditor) -> list[Finding]:
    """``a11y.<axe rule>`` findings for each sample with an HTML part, in every mode; the same
    elements failing the same rule in several modes are one finding naming the modes."""
    findings = []
    for sample in samples:
        html = sample.rendered.html
        if html is None:
            continue
        seen: dict[tuple[str, tuple[str, ...]], tuple[Violation, list[str]]] = {}
        for mode in MODES:
            try:
                violations = auditor.audit(html, mode)
            except AuditTimeout as error:
                findings.append(
                    Finding.of(
                        cls,
                        "error",
                        "a11y.timeout",
                        f"the accessibility audit in {mode} mode did not finish within "
                        f"{auditor.timeout:g} s ({error}); the HTML hangs or overloads a browser",
                        "look for scripts (mail clients run none), huge tables or deeply nested "
                        "markup; raise EMAILKIT_A11Y_TIMEOUT for a very large email",
                        sample.name,
                    )
                )
                break  # the other modes would hang the same way
            for violation in violations:
                key = (violation.rule, tuple(e[0] for e in violation.elements))
                seen.setdefault(key, (violation, []))[1].append(mode)
        for violation, modes in seen.values():
            findings.append(_finding(cls, sample.name, violation, modes))
    return findings


# The colours the inverted mode wrote into the page; left out of the element shown.
_INVERTED_STYLE = re.compile(r"\s*[a-z-]*color: (?:rgba?\([^)]*\)\s*)+!important;?")


def _finding(cls: type[Email], sample: str, violation: Violation, modes: list[str]) -> Finding:
    selector, html, summary = violation.elements[0]
    html = _INVERTED_STYLE.sub("", html).replace(' style=""', "")
    more = len(violation.elements) - 1
    fix = " ".join(line.strip() for line in summary.splitlines()[1:3] if line.strip())
    snippet = html if len(html) <= 120 else html[:117] + "..."
    return Finding.of(
        cls,
        _IMPACT.get(violation.impact, "warning"),
        f"a11y.{violation.rule}",
        f"{violation.help} ({violation.impact or 'no impact given'}; "
        f"{', '.join(modes)} mode{'s' if len(modes) > 1 else ''}): {selector} {snippet}"
        + (f" and {more} more element{'s' if more > 1 else ''}" if more > 0 else ""),
        f"{fix or violation.help} ({violation.help_url.split('?')[0]})",
        sample,
    )
