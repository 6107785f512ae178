"""What the preview shows: every email and sample of a root, kept fresh as files change.

Each request calls :meth:`Catalog.refresh`, which compares the root's file modification
times with the last look (a directory walk, well under a millisecond for a few dozen files).
On a change it reloads the email modules whose files changed, rediscovers the emails and
drops the cached renders; otherwise every page comes from the cache.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType

from ..checks import Report, run_checks
from ..errors import LoadError, SampleError, TemplateError
from ..mime import images
from ..model.email import Email, preview_samples
from ..project.discovery import discover
from ..project.settings import PLACEHOLDER_SENDER, load_settings
from ..sending.dkim import DkimSigner
from ..templating.inline import inject_css
from ..templating.mjml import compiler as mjml
from ..templating.templates import for_root
from . import display
from .deliverability import DeepChecks

logger = logging.getLogger("emailkit.preview")
# Kept for code that imported it: without a configured sender the preview shows a placeholder.
PREVIEW_SENDER = PLACEHOLDER_SENDER
PREVIEW_RECIPIENT = "Ada Lovelace <ada@example.com>"


@dataclass(frozen=True)
class Problem:
    """Why something could not be shown: a message, and where, with the lines around it."""

    title: str
    message: str
    filename: str | None = None
    lineno: int | None = None
    excerpt: tuple[tuple[int, str], ...] = ()

    @classmethod
    def from_exception(cls, error: BaseException, root: Path) -> Problem:
        filename, lineno = _locate(error, root)
        title = type(error).__name__
        if isinstance(error, (LoadError, SampleError)) and error.__cause__ is not None:
            title = type(error.__cause__).__name__
        if isinstance(error, TemplateError):
            message = error.message
            if error.hint:
                message += (" " if message.endswith(".") else ". ") + error.hint
        elif isinstance(error, SyntaxError):
            message = f"SyntaxError: {error.msg}"
        else:
            message = f"{type(error).__name__}: {error}"
        excerpt: tuple[tuple[int, str], ...] = ()
        path = root / filename if filename else None
        if path and lineno and path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            first = max(1, lineno - 4)
            excerpt = tuple(
                (n, lines[n - 1]) for n in range(first, min(len(lines), lineno + 4) + 1)
            )
        return cls(title, message, filename, lineno, excerpt)


def _locate(error: BaseException, root: Path) -> tuple[str | None, int | None]:
    """The file (relative to ``root``) and line an error points at, where it can be traced."""
    if isinstance(error, TemplateError) and error.filename:
        return error.filename, error.lineno
    if isinstance(error, SyntaxError) and error.filename:
        try:
            return Path(error.filename).resolve().relative_to(root).as_posix(), error.lineno
        except ValueError:
            pass
    found: tuple[str | None, int | None] = (None, None)
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        try:
            relative = Path(frame.f_code.co_filename).resolve().relative_to(root)
        except ValueError:
            continue
        found = (relative.as_posix(), lineno)
    return found


@dataclass
class SampleView:
    """One sample, rendered with everything the viewer shows, or the problem that stopped it."""

    email: str
    sample: str
    problem: Problem | None = None
    subject: str = ""
    html: str | None = None
    text: str = ""
    html_before_inlining: str | None = None
    mjml_source: str | None = None  # body.mjml rendered, for MJML emails
    eml: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    inline_reason: str | None = None

    @cached_property
    def preheader(self) -> str:
        return display.preheader(self.html) if self.html else self.text[:140]

    @property
    def sender(self) -> str:
        return dict(self.headers).get("From", "")


class Catalog:
    """The emails under one root, reloaded when their files change."""

    def __init__(self, root: Path, sender: str = PREVIEW_SENDER) -> None:
        self.root = root.resolve()
        self.sender = sender
        self.emails: dict[str, type[Email]] = {}
        self.problems: dict[str, Problem] = {}
        self.version = 0
        self._stamps: dict[str, int] = {}
        self._views: dict[tuple[str, str, str], SampleView] = {}
        self._reports: dict[str, Report] = {}
        self._locales: dict[str, list[str]] = {}
        self._lock = threading.RLock()
        self.signer: DkimSigner | None = None
        self.deep = DeepChecks()
        for_root(self.root).auto_reload = True

    def use_signer(self, signer: DkimSigner | None) -> None:
        """Sign the messages shown with ``signer`` (the app's DKIM key), as sending would."""
        with self._lock:
            if signer != self.signer:
                self.signer = signer
                self._views.clear()

    def use_sender(self, sender: str) -> None:
        """Show messages as sent from ``sender`` (the app's default sender)."""
        with self._lock:
            if sender != self.sender:
                self.sender = sender
                self._views.clear()

    def refresh(self) -> bool:
        """Pick up changed files; True when something changed since the last call."""
        with self._lock:
            stamps = dict(self._scan())
            if stamps == self._stamps:
                return False
            changed = {path for path, stamp in stamps.items() if self._stamps.get(path) != stamp}
            first = not self._stamps
            self._stamps = stamps
            self._views.clear()
            self._reports.clear()
            self.deep.reset()
            self._locales.clear()
            self.version += 1
            self.problems = {}
            if not first:
                self._reload_modules(changed)
            errors: dict[str, Exception] = {}
            try:
                self.emails = discover(self.root, errors=errors)
            except Exception as error:  # the root itself is unusable
                self.emails = {}
                errors[""] = error
            for name, failure in errors.items():
                problem = Problem.from_exception(failure, self.root)
                self.problems[name] = problem
                where = f"{problem.filename}, line {problem.lineno}: " if problem.lineno else ""
                logger.error(
                    "%s does not load: %s%s", name or "the emails root", where, problem.message
                )
            return True

    def _scan(self) -> Iterator[tuple[str, int]]:
        for directory, folders, files in os.walk(self.root):
            folders[:] = [f for f in folders if f != "__pycache__" and not f.startswith(".")]
            for name in files:
                if name.endswith((".pyc", ".swp", "~")) or name.startswith(".#"):
                    continue
                path = os.path.join(directory, name)
                try:
                    yield path, os.stat(path).st_mtime_ns
                except OSError:
                    continue

    def _reload_modules(self, changed: set[str]) -> None:
        """Reload the already imported modules whose source files changed."""
        for module in self._modules_under_root():
            source = getattr(module, "__file__", None)
            if source and os.path.realpath(source) in changed:
                try:
                    importlib.reload(module)
                except Exception:  # discovery imports it again and reports the error
                    sys.modules.pop(module.__name__, None)

    def _modules_under_root(self) -> list[ModuleType]:
        root = str(self.root) + os.sep
        return [
            module
            for module in list(sys.modules.values())
            if os.path.realpath(getattr(module, "__file__", None) or "/").startswith(root)
        ]

    def samples(self) -> list[tuple[str, str]]:
        """Every (email, sample) pair, in the order the index shows them."""
        pairs: list[tuple[str, str]] = []
        for name in sorted(self.emails):
            broken: dict[str, SampleError] = {}
            try:
                previews = preview_samples(self.emails[name], broken)
            except Exception as error:
                self.problems.setdefault(name, Problem.from_exception(error, self.root))
                continue
            pairs.extend((name, sample) for sample in previews)
            for sample, problem in broken.items():  # the email's other samples still show
                self.problems.setdefault(
                    f"{name}/{sample}", Problem.from_exception(problem, self.root)
                )
        return pairs

    def view(self, email: str, sample: str, locale: str = "") -> SampleView:
        """The rendered sample in ``locale`` (cached until a file changes)."""
        with self._lock:
            key = (email, sample, locale)
            if key not in self._views:
                self._views[key] = self._render(email, sample, locale)
            return self._views[key]

    def locales(self, email: str) -> list[str]:
        """The email's locales (cached until a file changes: finding them reads its files)."""
        if email not in self._locales:
            try:
                self._locales[email] = self.emails[email].locales()
            except Exception:
                self._locales[email] = []
        return self._locales[email]

    def _render(self, email: str, sample: str, locale: str = "") -> SampleView:
        cls = self.emails[email]
        try:
            instance = preview_samples(cls, {})[sample]
            rendered = instance.render(locale or None)
            parts = images.preview_parts(rendered.html or "", self.root, email)
            message = rendered.message(PREVIEW_RECIPIENT, sender=self.sender, attachments=parts)
            message.freeze()
            compiled = cls.templates().compiled(cls._require_folder().name, locale or None)
            before = mjml_source = None
            if compiled.html_source is not None:
                source = compiled.html_source.render(instance.template_context(compiled.locale))
                if compiled.mjml:  # the Source tab shows the MJML, and the HTML MRML made of it
                    mjml_source = source
                    source = mjml.to_html(source, compiled.html_source.name or "")
                before = inject_css(source, compiled.css)
            eml = message.as_bytes()
            if self.signer is not None:
                eml = self.signer.sign(eml)
            headers = display.headers(eml)
            return SampleView(
                email=email,
                sample=sample,
                subject=rendered.subject,
                html=rendered.html,
                text=rendered.text,
                html_before_inlining=before,
                mjml_source=mjml_source,
                eml=eml,
                headers=headers,
                inline_reason=compiled.inline_reason,
            )
        except Exception as error:
            return SampleView(email, sample, Problem.from_exception(error, self.root))

    def checks(self, email: str) -> Report:
        """The ``emailkit check`` findings of one email (cached until a file changes)."""
        with self._lock:
            if email not in self._reports:
                accepted = load_settings(self.root).check_ignore
                self._reports[email] = run_checks({email: self.emails[email]}, ignore=accepted)
            return self._reports[email]
