"""``emailkit check``: find what breaks in real inboxes before it is sent.

Every email and sample goes through the checks of :mod:`.context` (the templates against the
class's fields, statically), :mod:`.markup` (size, links, images, accessibility, the text
part, the compile path) and :mod:`.support` (the caniemail data on which clients support the
HTML and CSS used). Each :class:`Finding` has a severity, the email and sample, the file and
line where it can be traced, and a one-line hint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal

from ..errors import TemplateError
from ..model.email import Email

if TYPE_CHECKING:
    from .alignment import SETTINGS
    from .deliverability import Deliverability
    from .spam import Spamd

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One thing a check found."""

    severity: Severity
    check: str
    email: str
    message: str
    hint: str
    sample: str | None = None
    file: str | None = None
    line: int | None = None

    @classmethod
    def of(
        cls,
        email: type[Email],
        severity: Severity,
        check: str,
        message: str,
        hint: str,
        sample: str | None = None,
        where: tuple[str | None, int | None] = (None, None),
    ) -> Finding:
        """A finding about ``email``, at ``where`` (file, line) when it can be traced."""
        return cls(severity, check, email.email_name, message, hint, sample, where[0], where[1])

    @property
    def where(self) -> str:
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class Report:
    """All findings, and each email's support score per mail client (percent)."""

    findings: list[Finding] = field(default_factory=list)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    locales: dict[str, list[str]] = field(default_factory=dict)
    samples: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def for_sample(self, email: str, sample: str) -> list[Finding]:
        """What the viewer shows for one sample: its findings and its email's."""
        return [f for f in self.findings if f.email == email and f.sample in (None, sample)]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def as_dict(self) -> dict[str, Any]:
        return {
            "findings": [asdict(f) for f in self.findings],
            "scores": self.scores,
            "locales": self.locales,
            "summary": {s: self.count(s) for s in SEVERITIES} | {"samples": self.samples},
        }


def run_checks(
    emails: dict[str, type[Email]],
    only: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    unloaded: Mapping[str, Exception] | None = None,
    *,
    deliverability: Deliverability | None = None,
) -> Report:
    """Check every email (or those named in ``only``) and every sample of each.

    ``ignore`` holds check ids or patterns (``support.*``) of findings the project accepts;
    ``unloaded`` the email folders that did not import (see :func:`~emailkit.discover`),
    each reported as an error while the others are checked. ``deliverability`` adds the spam
    score and the accessibility audit (:mod:`.deliverability`).
    """
    from . import alignment, context, localized, markup, support

    report = Report()
    deep = deliverability.start(report) if deliverability is not None else None
    selected = set(only) if only is not None else None
    for name, error in sorted((unloaded or {}).items()):
        if selected is None or name in selected:
            report.findings.append(_unloaded(name, error))
    checked = []
    try:
        for name in sorted(emails):
            if selected is not None and name not in selected:
                continue
            cls = emails[name]
            checked.append(cls)
            report.findings.extend(context.check(cls))
            rendered = markup.render_samples(cls, report)
            report.findings.extend(markup.check(cls, rendered))
            findings, scores = support.check(cls, rendered)
            report.findings.extend(findings)
            report.scores[name] = scores
            report.locales[name] = cls.locales()
            report.findings.extend(localized.check(cls, report.locales[name]))
            if deep is not None:
                report.findings.extend(deep.check(cls, rendered))
    finally:
        if deep is not None:
            deep.close()
    report.findings.extend(alignment.check(deep.sender if deep else None))
    report.findings.extend(localized.check_catalogs(checked))
    accepted = tuple(ignore)
    report.findings = [
        finding
        for finding in dict.fromkeys(report.findings)
        if not any(fnmatchcase(finding.check, pattern) for pattern in accepted)
    ]
    order = {severity: rank for rank, severity in enumerate(SEVERITIES)}
    report.findings.sort(key=lambda f: (f.email, order[f.severity], f.sample or "", f.check))
    return report


def _unloaded(name: str, error: Exception) -> Finding:
    if isinstance(error, TemplateError):
        return Finding(
            "error",
            "load.fails",
            name,
            f"does not load: {error.message}",
            error.hint or "fix the email's module",
            file=error.filename,
            line=error.lineno,
        )
    return Finding("error", "load.fails", name, f"does not load: {error}", "fix the email")


# What the preview server uses of the checks, so it imports this package and none of its
# modules; loaded on first use (PEP 562), since the deliverability checks load dkimpy and DNS.
_LAZY = {"Deliverability": "deliverability", "SETTINGS": "alignment", "Spamd": "spam"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)


__all__ = [
    "SETTINGS",
    "SEVERITIES",
    "Deliverability",
    "Finding",
    "Report",
    "Severity",
    "Spamd",
    "run_checks",
]
