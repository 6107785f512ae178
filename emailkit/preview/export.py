"""``emailkit export DIR``: every email, sample and locale as a static site for reviewers.

Each sample gets a page with the tabs of the preview (HTML, text, headers, checks) plus its
``.eml`` and ``.txt``, and an index lists them all. Pages link to each other by relative
paths and show the HTML in a ``srcdoc`` iframe, so the site works from ``file://`` and from
any static host, with no server. Relative images are copied under ``_images/`` (only those the
sending path would embed: files of the email or ``_assets/``).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape

from ..errors import ConfigError, TemplateError
from ..mime import images
from ..project.settings import default_sender
from .catalog import Catalog, SampleView

MARKER = ".emailkit-export"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class ExportReport:
    """What an export wrote: pages per (email, sample, locale), and the ones that failed."""

    target: Path
    pages: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    images: int = 0
    unloaded: list[str] = field(default_factory=list)  # emails (or samples) that do not load


@dataclass(frozen=True)
class _Page:
    email: str
    sample: str
    locale: str
    view: SampleView

    @property
    def stem(self) -> str:
        return _slug(self.sample) + (f".{_slug(self.locale)}" if self.locale else "")

    @property
    def href(self) -> str:
        """The page's path from the site's root."""
        return f"{_slug(self.email)}/{self.stem}.html"


def export(root: Path, target: Path, *, sender: str | None = None) -> ExportReport:
    """Write the static site of the emails under ``root`` into ``target``.

    ``target`` must be empty, missing, or an earlier export (which is replaced). Messages show
    ``sender`` as From, by default ``[tool.emailkit] sender`` (see :func:`default_sender`).
    """
    root = root.resolve()
    sender = sender or default_sender(None, root)
    target = target.resolve()
    _prepare(target, root)
    catalog = Catalog(root, sender)
    catalog.refresh()
    if catalog.problems and not catalog.emails:
        problem = next(iter(catalog.problems.values()))
        raise ConfigError(f"no email under {root} could be loaded: {problem.message}")
    pages = [
        _Page(email, sample, locale, catalog.view(email, sample, locale))
        for email, sample in catalog.samples()
        for locale in ["", *catalog.locales(email)]
    ]
    seen: dict[str, _Page] = {}
    for page in pages:
        other = seen.setdefault(page.href, page)
        if other is not page:
            raise ConfigError(
                f"{page.email}: samples {other.sample!r} and {page.sample!r} would both be "
                f"written to {page.href}; rename one of them in previews()."
            )
    env = Environment(
        loader=PackageLoader("emailkit.preview", "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    report = ExportReport(target)
    copied: set[str] = set()
    page_template = env.get_template("emailkit_export/sample.html")
    for at, page in enumerate(pages):
        folder = target / _slug(page.email)
        folder.mkdir(parents=True, exist_ok=True)
        html = None
        if page.view.html is not None:
            html = _with_copied_images(page.view.html, root, page.email, target, copied)
        report_of_email = catalog.checks(page.email)
        siblings = [p for p in pages if (p.email, p.sample) == (page.email, page.sample)]
        (folder / f"{page.stem}.html").write_text(
            page_template.render(
                page=page,
                view=page.view,
                html=html,
                findings=report_of_email.for_sample(page.email, page.sample),
                scores=report_of_email.scores.get(page.email, {}),
                siblings=siblings,
                previous=pages[at - 1] if at > 0 else None,
                next=pages[at + 1] if at + 1 < len(pages) else None,
                up="../",
            ),
            encoding="utf-8",
        )
        if page.view.problem is None:
            (folder / f"{page.stem}.eml").write_bytes(page.view.eml)
            (folder / f"{page.stem}.txt").write_text(page.view.text, encoding="utf-8")
            report.pages.append(page.href)
        else:
            report.broken.append(page.href)
    for name, problem in sorted(catalog.problems.items()):
        where = f"{problem.filename}, line {problem.lineno}: " if problem.lineno else ""
        report.unloaded.append(f"{name}: {where}{' '.join(problem.message.split())}")
    index = env.get_template("emailkit_export/index.html").render(
        pages=pages, problems=catalog.problems, root=root.name, locales=catalog.locales
    )
    (target / "index.html").write_text(index, encoding="utf-8")
    static = target / "_static"
    static.mkdir(exist_ok=True)
    for name in ("preview.css", "export.css", "export.js", "search.js"):
        source = resources.files("emailkit.preview").joinpath("static", name)
        (static / name).write_bytes(source.read_bytes())
    report.images = len(copied)
    return report


def _prepare(target: Path, root: Path) -> None:
    if target == root or target.is_relative_to(root) or root.is_relative_to(target):
        raise ConfigError(f"export into {target}: choose a folder outside the emails root {root}")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"export into {target}: it is a file; choose a folder")
    if target.is_dir() and any(target.iterdir()):
        if not (target / MARKER).is_file():
            raise ConfigError(
                f"export into {target}: the folder is not empty and not an earlier export; "
                "choose an empty or new folder"
            )
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    (target / MARKER).write_text("Written by `emailkit export`; replaced by the next one.\n")


def _with_copied_images(html: str, root: Path, email: str, target: Path, copied: set[str]) -> str:
    """The HTML with its relative (and file-named ``cid:``) images copied under ``_images/``."""

    def copy(src: str) -> str | None:
        if src.lower().startswith("cid:"):
            found = images.named_by_cid(root, email, src[4:])
            if found is None:
                return None
            image = found[1]
        elif not images.is_local(src):
            return None
        else:
            try:
                image = images.resolve(root, email, src)
            except TemplateError:
                return None  # the sample's page already says why (the message fails to build)
        if image.relative not in copied:
            destination = target / "_images" / image.relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(image.data())
            copied.add(image.relative)
        return "../_images/" + quote(image.relative)

    return images.rewrite(html, copy)


def _slug(name: str) -> str:
    """A file name for an email, sample or locale name: safe characters only, never ``..``."""
    return _UNSAFE.sub("_", name).lstrip(".") or "_"
