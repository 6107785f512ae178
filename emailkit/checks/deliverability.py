"""The checks that need a running part: the spam score (spamd) and the accessibility audit
(Chromium). Each starts once per run; one that cannot start is one finding saying how to
install it, and the other checks go on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..model.email import Email
from ..project.settings import default_sender
from . import Finding, Report, a11y, spam
from .alignment import SETTINGS
from .sent import setting

if TYPE_CHECKING:
    from .markup import Sample


@dataclass(frozen=True)
class Deliverability:
    """Which of the slow checks to run, and the From address messages are built with."""

    spam: bool = False
    a11y: bool = False
    sender: str | None = None
    config: Mapping[str, Any] | None = None
    #: A Playwright browser the audit uses instead of launching its own (tests, the viewer).
    browser: Any = None

    def start(self, report: Report) -> Running:
        sender = self.sender or default_sender(setting(self.config, "MAIL_DEFAULT_SENDER"))
        spamd = auditor = None
        if self.spam:
            spamd = spam.Spamd.from_config(self.config)
            try:
                spamd.ping()
            except spam.SpamdUnavailable as error:
                report.findings.append(
                    Finding("error", "spam.unavailable", SETTINGS, error.reason, error.hint)
                )
                spamd = None
        if self.a11y:
            try:
                auditor = a11y.Auditor(self.config, browser=self.browser)
            except a11y.AuditUnavailable as error:
                report.findings.append(
                    Finding(
                        "error", "a11y.unavailable", SETTINGS, error.reason, a11y.CHROMIUM_INSTALL
                    )
                )
        return Running(sender, spamd, auditor)


@dataclass
class Running:
    sender: str
    spamd: spam.Spamd | None
    auditor: a11y.Auditor | None

    def check(self, cls: type[Email], samples: list[Sample]) -> list[Finding]:
        findings: list[Finding] = []
        if self.spamd is not None:
            findings += spam.check(cls, samples, self.spamd, self.sender)
        if self.auditor is not None:
            findings += a11y.check(cls, samples, self.auditor)
        return findings

    def close(self) -> None:
        if self.auditor is not None:
            self.auditor.close()
            self.auditor = None
