"""The viewer's deliverability section: DKIM as configured, and on request the spam score and
the accessibility audit of an email (slow: spamd and Chromium), cached until a file changes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from ..checks import SETTINGS, Deliverability, Finding, Report, Spamd, run_checks
from ..errors import ConfigError
from ..model.email import Email
from ..sending.dkim import DOMAIN_KEY, DkimSigner, aligned

logger = logging.getLogger("emailkit.preview")


@dataclass(frozen=True)
class DkimStatus:
    """How the preview's messages would be signed: the signer, or why there is none."""

    signer: DkimSigner | None = None
    problem: str | None = None
    aligned: bool = True

    @classmethod
    def of(cls, config: Mapping[str, Any], sender: str) -> DkimStatus:
        try:
            signer = DkimSigner.from_config(config)
        except ConfigError as error:
            return cls(problem=str(error))
        if signer is None:
            return cls()
        domain = parseaddr(sender)[1].rpartition("@")[2]
        return cls(signer, aligned=aligned(domain, signer.domain) if domain else False)

    @property
    def summary(self) -> str:
        if self.problem:
            return f"Not signed: {self.problem}"
        if self.signer is None:
            return (
                "Not signed: set EMAILKIT_DKIM_DOMAIN, EMAILKIT_DKIM_SELECTOR and "
                "EMAILKIT_DKIM_PRIVATE_KEY (`emailkit dkim keygen` makes a key)."
            )
        s = self.signer
        alignment = (
            "the From domain aligns with d= (DMARC)"
            if self.aligned
            else f"the From domain does not align with d={s.domain}: DMARC fails"
        )
        return f"Signed on sending: d={s.domain}, s={s.selector}, a={s.algorithm}; {alignment}."


@dataclass
class DeepChecks:
    """Spam and accessibility findings per email, run when asked for and kept until reset."""

    _reports: dict[str, Report] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self._reports.clear()

    def cached(self, email: str) -> Report | None:
        return self._reports.get(email)

    def run(self, email: str, cls: type[Email], sender: str, config: Mapping[str, Any]) -> Report:
        """Run both checks on ``email`` in a thread of their own: Playwright's sync API
        refuses a thread that runs an event loop, as the live-reloading server's may."""
        with self._lock:
            if email in self._reports:
                return self._reports[email]
        settings = {key: config.get(key) for key in _KEYS if config.get(key) is not None}
        deep = Deliverability(spam=True, a11y=True, sender=sender, config=settings)
        result: list[Report] = []
        failures: list[BaseException] = []

        def work() -> None:
            try:
                result.append(run_checks({email: cls}, deliverability=deep))
            except Exception as error:  # shown in the tab; the server goes on
                logger.exception("deliverability checks of %s failed", email)
                failures.append(error)

        worker = threading.Thread(target=work, name="emailkit-deliverability")
        worker.start()
        worker.join()
        if failures:
            error = failures[0]
            report = Report(
                findings=[
                    Finding(
                        "error",
                        "deliverability.failed",
                        email,
                        f"the spam and accessibility checks failed: {type(error).__name__}: "
                        f"{error}",
                        "see the preview server's log",
                    )
                ]
            )
        else:
            report = result[0]
            report.findings = [
                f
                for f in report.findings
                if f.check.split(".")[0] in ("spam", "a11y", "dkim", "deliverability")
            ]
        with self._lock:
            self._reports[email] = report
        return report


_KEYS = (
    "EMAILKIT_SPAMD",
    "EMAILKIT_SPAMD_TIMEOUT",
    "EMAILKIT_A11Y_TIMEOUT",
    "EMAILKIT_CHROMIUM",
    DOMAIN_KEY,
)


def sections(report: Report, email: str, sample: str) -> dict[str, list[Finding]]:
    """The sample's deliverability findings by section: spam, accessibility."""
    shown = [
        f for f in report.findings if f.email in (email, SETTINGS) and f.sample in (None, sample)
    ]
    failed = [f for f in shown if f.check.startswith("deliverability.")]
    return {
        "spam": failed
        + sorted(
            (f for f in shown if f.check.startswith("spam.")), key=lambda f: f.check != "spam.score"
        ),
        "a11y": [f for f in shown if f.check.startswith("a11y.")],
    }


def spamd_address(config: Mapping[str, Any]) -> str:
    return Spamd.from_config(config).address
