"""The text form of a check report, grouped by email."""

from __future__ import annotations

from itertools import groupby

from . import SEVERITIES, Report

_MARKS = {"error": "✗ error  ", "warning": "! warning", "info": "· info   "}


def as_text(report: Report, *, show_info: bool = False) -> str:
    lines: list[str] = []
    shown = [f for f in report.findings if show_info or f.severity != "info"]
    emails = sorted({f.email for f in report.findings} | set(report.scores))
    by_email = {email: list(group) for email, group in groupby(shown, key=lambda f: f.email)}
    for email in emails:
        lines.append(email)
        for finding in by_email.get(email, []):
            where = " ".join(
                part
                for part in (f"[{finding.sample}]" if finding.sample else "", finding.where)
                if part
            )
            lines.append(f"  {_MARKS[finding.severity]} {finding.message}")
            lines.append(f"    {where + ': ' if where else ''}{finding.hint}  ({finding.check})")
        if report.locales.get(email):
            lines.append("  locales: default, " + ", ".join(report.locales[email]))
        scores = report.scores.get(email)
        if scores:
            ranked = sorted(scores.items(), key=lambda item: item[1])
            lines.append("  client support: " + ", ".join(f"{c} {s:g}%" for c, s in ranked))
    counts = ", ".join(
        f"{report.count(s)} {s}{'s' if report.count(s) != 1 else ''}" for s in SEVERITIES
    )
    hidden = "" if show_info else " (info hidden: --all shows it)"
    lines.append(f"{counts} in {len(emails)} emails, {report.samples} samples{hidden}")
    return "\n".join(lines)
