"""The on-disk cache of compiled emails, so that a new process renders without compiling.

Compiling an email runs premailer and inscriptis (and importing them costs a quarter of a
second). Their results, the CSS-inlined template and the text template, are stored as Jinja
bytecode under a key hashing everything they depend on: the sources read (templates,
layouts, partials, stylesheets), and the versions of Python, Jinja, premailer, cssutils,
lxml, inscriptis, mjml-python and of emailkit's own modules. Any change gives a new key, so a stale
entry is never served; an entry that does not load is recompiled and rewritten.

Where: ``$EMAILKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/emailkit``, else
``~/.cache/emailkit``. Deleting the folder is always safe. ``EMAILKIT_CACHE_DIR=off`` (or
empty) turns the cache off.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, FileSystemBytecodeCache

logger = logging.getLogger("emailkit")

VARIABLE = "EMAILKIT_CACHE_DIR"
_OFF = {"", "0", "off", "false", "no", "none"}
_FORMAT = b"emailkit-compiled-1\n"
# Distributions whose code shapes what compiling produces.
_COMPILERS = (
    "Jinja2",
    "premailer",
    "cssutils",
    "lxml",
    "inscriptis",
    "MarkupSafe",
    "mjml-python",
    "css_inline",
)


def directory() -> Path | None:
    """Where compiled emails are kept, or None when the cache is off."""
    setting = os.environ.get(VARIABLE)
    if setting is not None:
        return None if setting.strip().lower() in _OFF else Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "emailkit"


@cache
def _versions() -> str:
    """Python, the compilers' versions, and a stamp of emailkit's own source files."""
    import jinja2

    parts = [sys.version]
    # The dist-info folders next to Jinja's name the installed versions; one listing is
    # much cheaper than asking importlib.metadata for each distribution.
    wanted = {name.lower() for name in _COMPILERS}
    site = Path(jinja2.__file__).resolve().parent.parent
    found = sorted(
        entry
        for entry in os.listdir(site)
        if entry.endswith(".dist-info") and entry.split("-")[0].lower() in wanted
    )
    parts += found
    if len(found) < len(wanted):  # installed elsewhere: ask the slow way
        from importlib import metadata

        for name in _COMPILERS:
            try:
                parts.append(f"{name}={metadata.version(name)}")
            except metadata.PackageNotFoundError:
                parts.append(f"{name}=none")
    package = Path(__file__).parents[1]  # all of emailkit, its subpackages included
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        parts.append(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


class CompileCache:
    """Entries of compiled code under one directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def key(self, *parts: str) -> str:
        digest = hashlib.sha256(_versions().encode())
        for part in parts:
            digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / "compiled" / key[:2] / f"{key}.bin"

    def load(self, key: str) -> dict[str, Any] | None:
        """The entry stored under ``key``; None if there is none or it does not load."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            if not data.startswith(_FORMAT):
                raise ValueError("not an emailkit cache entry")
            entry = marshal.loads(data[len(_FORMAT) :])
            if not isinstance(entry, dict) or entry.get("key") != key:
                raise ValueError("entry for another key")
            return entry
        except Exception as error:  # corrupt or from another Python: compile again
            logger.info("compile cache: ignoring %s (%s)", path, error)
            return None

    def store(self, key: str, entry: dict[str, Any]) -> None:
        """Write ``entry`` (str, None, bool and code values) atomically; failures are
        logged, never raised: the cache only saves time."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = _FORMAT + marshal.dumps({**entry, "key": key})
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except OSError as error:
            logger.info("compile cache: cannot write %s (%s)", path, error)

    def bytecode_cache(self) -> BytecodeCache | None:
        """Jinja's own cache for the templates as written (subject, body.txt, layouts)."""
        folder = self.root / "jinja"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            logger.info("compile cache: cannot create %s (%s)", folder, error)
            return None
        return _QuietBytecodeCache(str(folder))


class _QuietBytecodeCache(FileSystemBytecodeCache):
    """Jinja's file cache, where a file that cannot be read or written is only a miss."""

    def load_bytecode(self, bucket: Any) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception as error:  # a truncated or foreign file: compile the template
            logger.info("compile cache: ignoring bytecode (%s)", error)
            bucket.reset()

    def dump_bytecode(self, bucket: Any) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as error:
            logger.info("compile cache: cannot write bytecode (%s)", error)


def current() -> CompileCache | None:
    """The cache at :func:`directory`, or None when it is off."""
    root = directory()
    return CompileCache(root) if root is not None else None
