"""The text form of a check report, grouped by email."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from . import SEVERITIES, Finding, Report

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


_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def as_github(report: Report, root: Path, *, show_info: bool = False) -> str:
    """GitHub Actions workflow commands, one per finding, so a pull request shows each finding
    on the file and line it comes from (paths relative to the working directory).

    A finding without a file is shown on its email's body template.
    """
    lines = []
    for finding in report.findings:
        if finding.severity == "info" and not show_info:
            continue
        path = _annotated_file(root, finding)
        where = [f"file={_escape(path, True)}"] if path else []
        if path and finding.line:
            where.append(f"line={finding.line}")
        where.append(f"title={_escape(finding.check, True)}")
        sample = f"[{finding.sample}] " if finding.sample else ""
        text = f"{finding.email} {sample}{finding.message}. {finding.hint}"
        lines.append(f"::{_LEVELS[finding.severity]} {','.join(where)}::{_escape(text)}")
    return "\n".join(lines)


def _annotated_file(root: Path, finding: Finding) -> str | None:
    if finding.file:
        path = root / finding.file
    else:
        folder = root / finding.email
        path = next(
            (folder / n for n in ("body.html", "body.mjml", "body.txt") if (folder / n).exists()),
            folder,
        )
        if not path.exists():
            return None
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _escape(text: str, property: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text
