"""Load templates from an emails root, with local stylesheets pulled in.

``<link rel="stylesheet" href="base.css">`` to a file inside the root becomes a ``<style>``
holding that file, on the same line, so line numbers in errors still match the file on disk.
Links to other hosts are left alone and never fetched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from jinja2 import BaseLoader, Environment, TemplateNotFound
from jinja2.loaders import split_template_path

from ..errors import TemplateError

_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
_JINJA_OPENER = re.compile(r"\{[{%#]")


def mtime(path: Path) -> float | None:
    """The file's modification time, or None when it does not exist."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def read_text(path: Path, name: str) -> str:
    """A template or stylesheet as text; a file that is not UTF-8 is a :class:`TemplateError`
    at the line of the first byte that is not."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        lineno = data.count(b"\n", 0, error.start) + 1
        raise TemplateError(
            f"not UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded)",
            filename=name,
            lineno=lineno,
            hint="Save the file as UTF-8 (most editors offer it under Save As or Encoding).",
        ) from None


class EmailLoader(BaseLoader):
    """Loads ``name/part.html`` style names from the root, refusing paths that leave it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, name: str) -> Path:
        return self.root.joinpath(*split_template_path(name))

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = self.path_for(template)
        stamp = mtime(path)
        if stamp is None or not path.is_file():
            raise TemplateNotFound(template)
        source = read_text(path, template)
        source, stylesheets = _pull_in_stylesheets(source, path, self.root, template)
        watched = [(path, stamp), *((sheet, mtime(sheet)) for sheet in stylesheets)]

        def uptodate() -> bool:
            return all(mtime(file) == stamp for file, stamp in watched)

        return source, str(path), uptodate

    def list_templates(self) -> list[str]:
        return sorted(
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.suffix in (".html", ".txt", ".mjml") and path.is_file()
        )


def _pull_in_stylesheets(source: str, path: Path, root: Path, name: str) -> tuple[str, list[Path]]:
    stylesheets: list[Path] = []

    def replace(match: re.Match[str]) -> str:
        attributes = {
            key.lower(): next(v for v in values if v is not None)
            for key, *values in _ATTRIBUTE.findall(match.group())
        }
        href = attributes.get("href", "")
        if "stylesheet" not in attributes.get("rel", "").lower().split():
            return match.group()
        if not href or _REMOTE.match(href) or _JINJA_OPENER.search(href):
            return match.group()
        lineno = source.count("\n", 0, match.start()) + 1
        target = (root / href.lstrip("/")) if href.startswith("/") else path.parent / href
        target = target.resolve()
        if not target.is_relative_to(root.resolve()):
            raise TemplateError(
                f"stylesheet {href!r} is outside the emails root",
                filename=name,
                lineno=lineno,
                hint=f"Move it under {root}.",
            )
        if not target.is_file():
            raise TemplateError(
                f"stylesheet {href!r} not found (looked for {target})",
                filename=name,
                lineno=lineno,
                hint="Create the file or fix the href.",
            )
        stylesheets.append(target)
        # One line, so the template's line numbers still match the file.
        relative = target.relative_to(root.resolve()).as_posix()
        css = " ".join(read_text(target, relative).splitlines())
        media = attributes.get("media")
        opening = f'<style media="{media}">' if media else "<style>"
        style = f"{opening}{css}</style>"
        if _JINJA_OPENER.search(css):
            style = "{% raw %}" + style + "{% endraw %}"
        return style

    return _LINK.sub(replace, source), stylesheets
