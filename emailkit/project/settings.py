"""Project settings for the tools (CLI, pytest plugin): ``[tool.emailkit]`` in pyproject.toml.

```toml
[tool.emailkit]
root = "emails"                 # the emails root (default: emails/, or $EMAILKIT_ROOT)
snapshots = "tests/snapshots"   # turns on the snapshot tests, stored here
check_ignore = ["support.css-border-radius"]   # emailkit check findings accepted (patterns)
sender = "Acme <noreply@acme.example.com>"     # From of the preview, render -p eml and send
```

Paths are relative to the pyproject.toml that holds them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..errors import ConfigError
from .discovery import ROOT_VARIABLE

# The From of previews and rendered .eml files when neither the app nor the project names one.
PLACEHOLDER_SENDER = '"Set [tool.emailkit] sender or MAIL_DEFAULT_SENDER" <sender@example.com>'


@dataclass(frozen=True)
class ProjectSettings:
    """What ``[tool.emailkit]`` says, with paths made absolute."""

    root: Path
    snapshots: Path | None
    source: Path | None
    check_ignore: tuple[str, ...] = ()
    sender: str | None = None


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(start: Path | None = None) -> ProjectSettings:
    """Settings from the nearest pyproject.toml, falling back to ``$EMAILKIT_ROOT`` and emails/."""
    start = (start or Path.cwd()).resolve()
    source = find_pyproject(start)
    table: dict[str, Any] = {}
    if source is not None:
        try:
            table = (
                tomllib.loads(source.read_text(encoding="utf-8"))
                .get("tool", {})
                .get("emailkit", {})
            )
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{source}: not valid TOML ({error}); fix the file.") from None
    base = source.parent if source else start
    root = table.get("root") or os.environ.get(ROOT_VARIABLE) or "emails"
    snapshots = table.get("snapshots")
    return ProjectSettings(
        root=(base / root).resolve(),
        snapshots=(base / snapshots).resolve() if snapshots else None,
        source=source if table else None,
        check_ignore=tuple(table.get("check_ignore", ())),
        sender=str(table["sender"]) if table.get("sender") else None,
    )


def project_folder(start: Path | None = None) -> Path:
    """The project's root: the folder of the nearest pyproject.toml, else ``start`` (the
    working directory)."""
    start = (start or Path.cwd()).resolve()
    source = find_pyproject(start)
    return source.parent if source is not None else start


def put_project_on_path(start: Path | None = None) -> Path:
    """Put the project's root first on ``sys.path``, as ``flask run`` does for an app, so an
    email's module imports the project's own code (``from models import Order``)."""
    folder = project_folder(start)
    if not any(_resolves_to(entry, folder) for entry in sys.path):
        sys.path.insert(0, str(folder))
    return folder


def _resolves_to(entry: str, folder: Path) -> bool:
    try:
        return Path(entry or ".").resolve() == folder
    except (OSError, ValueError):
        return False


def default_sender(configured: object = None, start: Path | None = None) -> str:
    """The From that previews and rendered ``.eml`` files show: ``configured`` (the app's
    ``MAIL_DEFAULT_SENDER``, a string or a (name, address) pair), else the environment's
    ``MAIL_DEFAULT_SENDER`` (as the app itself would read it), else ``[tool.emailkit] sender``
    of the project around ``start``, else a placeholder saying how to set one."""
    configured = configured or os.environ.get("MAIL_DEFAULT_SENDER")
    if isinstance(configured, (tuple, list)) and len(configured) == 2:
        return f"{configured[0]} <{configured[1]}>"
    if configured:
        return str(configured)
    try:
        return load_settings(start).sender or PLACEHOLDER_SENDER
    except ConfigError:  # a broken pyproject.toml is reported by the commands that read it
        return PLACEHOLDER_SENDER
