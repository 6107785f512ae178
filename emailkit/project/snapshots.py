"""Snapshot files of rendered emails: one folder per email, three readable files per sample.

```
tests/snapshots/welcome/default.subject.txt
tests/snapshots/welcome/default.txt
tests/snapshots/welcome/default.html      # pretty-printed: a diff shows the changed element
```

Written by hand rather than with syrupy: syrupy keys snapshots by test module and test name
(``__snapshots__/test_x/...``) and its update and unused-snapshot logic follows that, while
these files are laid out by email so a designer can open them in a browser and a reviewer can
read them in a pull request.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import lxml.etree
import lxml.html

from ..errors import ContextError
from ..model.rendering import Rendered

PARTS = {"subject": ".subject.txt", "text": ".txt", "html": ".html"}
_SAFE_NAME = re.compile(r"^[\w][\w.-]*$")
_MAX_DIFF_LINES = 60


def pretty_html(html: str) -> str:
    """HTML with one element per line and two-space indents, text left as it is."""
    document = lxml.html.document_fromstring(html)
    lxml.etree.indent(document, space="  ")
    doctype = document.getroottree().docinfo.doctype or None
    text = lxml.html.tostring(document, encoding="unicode", doctype=doctype)
    return text if text.endswith("\n") else text + "\n"


def snapshot_parts(rendered: Rendered) -> dict[str, str]:
    """The text stored for each part of ``rendered``."""
    parts = {"subject": rendered.subject + "\n", "text": _ending_newline(rendered.text)}
    if rendered.html is not None:
        parts["html"] = pretty_html(rendered.html)
    return parts


def _ending_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


@dataclass
class Outcome:
    """What checking one sample against its snapshot found or did."""

    name: str
    written: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    differences: list[tuple[str, Path, str]] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.differences and not self.missing

    def report(self) -> str:
        if self.missing:
            lines = [f"{self.name}: no snapshot, and in CI a missing snapshot fails:"]
            lines += [f"  {path}" for path in self.missing]
            lines += [
                "",
                "Run pytest locally (without CI set) to write it, then commit it; or pass "
                "--emailkit-update to write it here.",
            ]
            return "\n".join(lines)
        lines = [f"{self.name}: the rendered email differs from its snapshot"]
        for part, path, diff in self.differences:
            lines += ["", f"--- {part} ({path})", diff]
        lines += ["", "Run pytest --emailkit-update to accept the new rendering."]
        return "\n".join(lines)


class SnapshotStore:
    """The snapshot folder of a project."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def paths(self, email: str, sample: str, locale: str | None = None) -> dict[str, Path]:
        """The files of a sample; a locale's go beside the default's as ``<sample>.<locale>.*``."""
        for name, kind in ((email, "email"), (sample, "sample")):
            if not _SAFE_NAME.match(name):
                raise ContextError(
                    f"{kind} name {name!r} cannot name a snapshot file; use letters, digits, "
                    "'-', '_' and '.'"
                )
        stem = f"{sample}.{locale}" if locale else sample
        return {part: self.folder / email / f"{stem}{suffix}" for part, suffix in PARTS.items()}

    def check(
        self,
        email: str,
        sample: str,
        rendered: Rendered,
        *,
        update: bool,
        locale: str | None = None,
        write_missing: bool = True,
    ) -> Outcome:
        """Compare, write what is missing, and with ``update`` rewrite what differs.

        Without ``write_missing`` (in CI) a missing file is a failure instead, unless
        ``update`` says to write it: a forgotten snapshot folder must not pass.
        """
        outcome = Outcome(f"{email}/{sample}" + (f"/{locale}" if locale else ""))
        paths = self.paths(email, sample, locale)
        for part, content in snapshot_parts(rendered).items():
            path = paths[part]
            if not path.is_file():
                if not (write_missing or update):
                    outcome.missing.append(path)
                    continue
                _write(path, content)
                outcome.written.append(path)
                continue
            stored = path.read_text(encoding="utf-8")
            if stored == content:
                continue
            if update:
                _write(path, content)
                outcome.updated.append(path)
            else:
                outcome.differences.append((part, path, _diff(stored, content, path)))
        return outcome

    def stale(self, current: Iterable[tuple[str, str, str | None]]) -> list[Path]:
        """Snapshot files whose email, sample or locale no longer exists."""
        expected = {path for key in current for path in self.paths(*key).values()}
        if not self.folder.is_dir():
            return []
        found = (
            path
            for path in self.folder.glob("*/*")
            if path.is_file() and path.name.endswith(tuple(PARTS.values()))
        )
        return sorted(path for path in found if path not in expected)


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def _diff(stored: str, rendered: str, path: Path) -> str:
    lines = list(
        difflib.unified_diff(
            stored.splitlines(),
            rendered.splitlines(),
            fromfile=f"{path.name} (snapshot)",
            tofile=f"{path.name} (rendered now)",
            lineterm="",
            n=2,
        )
    )
    if len(lines) > _MAX_DIFF_LINES:
        hidden = len(lines) - _MAX_DIFF_LINES
        lines = [*lines[:_MAX_DIFF_LINES], f"... {hidden} more diff lines"]
    return "\n".join(lines)
