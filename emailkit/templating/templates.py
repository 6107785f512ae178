"""The Jinja environment of an emails root and its cache of compiled emails.

Each email folder is compiled once: its subject, text and HTML templates are loaded and the
HTML gets its CSS inlined into the template source (see :mod:`emailkit.templating.inline`). The
result is cached; with ``auto_reload`` on (the preview server), a changed file recompiles it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)

from ..errors import TemplateError
from . import compilecache
from .compiled import CompiledEmail, single_line, unchanged
from .components import expand_components
from .flatten import Flattened, flatten
from .fragments import FILTER, FragmentInliner, Site
from .i18n import locales
from .i18n.translated import holds_markup
from .loader import EmailLoader, read_text
from .mjml import compiler as mjml
from .tags import Tag, Unflattenable, syntax_message
from .text.lines import TextLineBreaks
from .text.source import NotCompilable
from .text.tables import FILTERS as TABLE_FILTERS
from .text.template import compile_text
from .text.values import CHECKS as TEXT_CHECKS
from .text.values import GeneratedText

logger = logging.getLogger("emailkit")

SUBJECT, TEXT, HTML, CSS = "subject.txt", "body.txt", "body.html", "style.css"
# written instead of body.html: compiled to it once (see emailkit.templating.mjml.compiler)
MJML = "body.mjml"


class Templates:
    """Jinja environment and compile cache of one emails root; shared through :func:`for_root`."""

    def __init__(self, root: Path, *, auto_reload: bool = False) -> None:
        self.root = root
        self.env = Environment(
            loader=EmailLoader(root),
            autoescape=select_autoescape(("html", "htm", "xml", "mjml"), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=auto_reload,
            extensions=["jinja2.ext.i18n", TextLineBreaks],
        )
        disk = compilecache.current()
        if disk is not None:
            self.env.bytecode_cache = disk.bytecode_cache()
        self.env.filters.update(locales.FILTERS)
        self.fragments = FragmentInliner()
        self.env.filters[FILTER] = self.fragments
        self.catalogs = locales.Catalogs(root)
        locales.install_gettext(self.env, self.catalogs)
        self.subject_env = self.env.overlay(finalize=single_line)
        # The generated text part: same syntax, no HTML escaping, values checked as printed.
        self.text_env = self.env.overlay(autoescape=False)
        self.text_env.filters = {**self.env.filters, **TEXT_CHECKS, **TABLE_FILTERS}
        self._compiled: dict[tuple[str, str], CompiledEmail] = {}
        self._lock = threading.Lock()
        self.auto_reload = auto_reload

    @property
    def auto_reload(self) -> bool:
        """Recompile an email when one of its files changed (costs a few stat calls a render)."""
        return self._auto_reload

    @auto_reload.setter
    def auto_reload(self, value: bool) -> None:
        self._auto_reload = value
        self.env.auto_reload = value
        self.subject_env.auto_reload = value

    def compiled(self, name: str, locale: str | None = None) -> CompiledEmail:
        """The compiled templates of the email folder ``name`` in ``locale`` (each part from
        its most specific variant file), compiling them when needed."""
        key = (name, locale or "")
        compiled = self._compiled.get(key)
        if compiled is not None and (not self._auto_reload or compiled.is_uptodate()):
            return compiled
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is None or (self._auto_reload and not compiled.is_uptodate()):
                compiled = self._compile_traced(name, locale)
                self._compiled[key] = compiled
        return compiled

    def locales(self, name: str) -> list[str]:
        """The locales the email ``name`` has: its variant files, and the catalogs when its
        templates use ``{% trans %}``."""
        folder = self.root / name
        found = {m.group(2) for p in folder.glob("*.*.*") if (m := locales.VARIANT.match(p.name))}
        uses_trans = any(
            "{% trans" in p.read_text(encoding="utf-8", errors="replace")
            for p in folder.glob("*.*")
            if p.suffix in (".html", ".txt", mjml.SUFFIX)
        )
        if uses_trans:
            found |= set(self.catalogs.languages())
        return sorted(found)

    def _compile_traced(self, name: str, locale: str | None) -> CompiledEmail:
        """:meth:`_compile`, with every failure a :class:`TemplateError` naming the email."""
        try:
            return self._compile(name, locale)
        except TemplateSyntaxError as error:
            raise TemplateError(
                syntax_message(error),
                email=name,
                filename=error.name,
                lineno=error.lineno,
                hint="Fix the template syntax at that line.",
            ) from error
        except TemplateError as error:
            raise error.in_email(name) from error.__cause__

    def _content_locale(self, name: str, locale: str | None) -> str | None:
        """The language the text is actually in: the most specific locale of the chain that
        the email has (variant files or catalogs), None for the default templates."""
        available = set(self.locales(name))
        return next((code for code in locales.chain(locale) if code in available), None)

    def part_name(self, name: str, part: str, locale: str | None) -> str:
        """The template that holds ``part`` of email ``name`` in ``locale``; the HTML part
        is ``body.mjml`` (or its variant) where that is the one written."""
        candidates = (HTML, MJML) if part == HTML else (part,)
        for code in (*locales.chain(locale), None):
            found = [
                variant
                for candidate in candidates
                for variant in [locales.variant_name(candidate, code) if code else candidate]
                if (self.root / name / variant).is_file()
            ]
            if len(found) > 1:
                raise TemplateError(
                    f"both {found[0]} and {found[1]} exist",
                    email=name,
                    hint="Keep one of them: the HTML part is written once, in HTML or MJML.",
                )
            if found:
                return f"{name}/{found[0]}"
        return f"{name}/{part}"

    def _compile(self, name: str, locale: str | None) -> CompiledEmail:
        folder = self.root / name
        if not folder.is_dir():
            raise TemplateError(
                f"no email folder at {folder}", email=name, hint="Create it or fix the name."
            )
        variants = [
            folder / locales.variant_name(part, code)
            for part in (SUBJECT, TEXT, HTML, MJML)
            for code in locales.chain(locale)
        ]
        checks = tuple(
            unchanged(path)
            for path in (folder / TEXT, folder / HTML, folder / MJML, folder / CSS, *variants)
        )
        try:
            subject = self.subject_env.get_template(self.part_name(name, SUBJECT, locale))
        except TemplateNotFound:
            raise TemplateError(
                f"{SUBJECT} is missing",
                email=name,
                hint=f"Create {folder / SUBJECT} holding the subject line.",
            ) from None
        text = self._optional(self.part_name(name, TEXT, locale))
        html_source = self._optional(self.part_name(name, HTML, locale))
        if text is None and html_source is None:
            raise TemplateError(
                f"neither {HTML} nor {TEXT} exists",
                email=name,
                hint=f"Create {folder / HTML} (and optionally {folder / TEXT}).",
            )
        css_path = folder / CSS
        css = read_text(css_path, f"{name}/{CSS}") if css_path.is_file() else ""
        html, reason, inlined = html_source, None, None
        is_mjml = html_source is not None and mjml.is_mjml(html_source.name)
        if html_source is not None:
            html, reason, sources_checks, inlined = self._inline(name, html_source, css, locale)
            checks += sources_checks
            if reason is not None:
                part = (html_source.name or HTML).rpartition("/")[2]
                how = "compiled and inlined" if is_mjml else "inlined"
                logger.warning("%s: %s is %s on every render: %s", name, part, how, reason)
        generated_text, text_reason = None, None
        if text is None and html is not None:
            generated_text, text_reason = self._generated_text(html, inlined, reason)
        return CompiledEmail(
            name=name,
            root=self.root,
            locale=locale,
            content_locale=self._content_locale(name, locale),
            subject=subject,
            text=text,
            html=html,
            html_source=html_source,
            css=css,
            inline_reason=reason,
            uptodate_checks=checks,
            mjml=is_mjml,
            generated_text=generated_text,
            text_reason=text_reason,
        )

    def _generated_text(
        self, html: Template, inlined: str | None, inline_reason: str | None
    ) -> tuple[GeneratedText | None, str | None]:
        """The text template derived from the inlined HTML, or why the text part is
        converted from the HTML on every render."""
        if inlined is None:
            return None, f"the HTML is inlined on every render ({inline_reason})"
        disk = compilecache.current()
        key = disk.key("text", str(html.name), inlined) if disk else ""
        entry = disk.load(key) if disk else None
        if entry is None:
            entry = self._text_entry(inlined, str(html.name))
            if disk:
                disk.store(key, entry)
        if entry["reason"] is not None:
            return None, entry["reason"]
        template = self.text_env.template_class.from_code(
            self.text_env, entry["code"], self.text_env.make_globals(None), None
        )
        verified_entry = {**entry, "verified": True}

        def remember() -> None:
            if disk:
                disk.store(key, verified_entry)

        verified = bool(entry.get("verified"))
        return GeneratedText(template, verified=verified, on_verified=remember), None

    def _text_entry(self, inlined: str, name: str) -> dict[str, Any]:
        try:
            source = compile_text(inlined)
            code = self.text_env.compile(source, name=name, filename=f"<text of {name}>")
        except NotCompilable as reason:
            return {"reason": str(reason)}
        except TemplateSyntaxError as error:
            return {"reason": f"the text template does not compile ({error.message})"}
        return {"reason": None, "code": code}

    def _optional(self, template: str) -> Template | None:
        if not (self.root / template).is_file():
            return None
        return self.env.get_template(template)

    def _inline(
        self, name: str, source_template: Template, css: str, locale: str | None = None
    ) -> tuple[Template, str | None, tuple[Callable[[], bool], ...], str | None]:
        """Compile the CSS-inlined template (also returned as source), or say why the source
        must be inlined per render."""
        loader = self.env.loader
        assert loader is not None
        checks: list[Callable[[], bool]] = []
        read: list[str] = []

        def get_source(template: str) -> str:
            try:
                source, _, uptodate = loader.get_source(self.env, template)
            except TemplateNotFound:
                # An include may try it first ({% include ["a", "b"] %}): recompile once it exists.
                checks.append(unchanged(self.root.joinpath(*template.split("/"))))
                raise
            if uptodate is not None:
                checks.append(uptodate)
            read.append(f"{template}\0{source}")
            return source

        if mjml.is_mjml(source_template.name):
            mjml.compiler()  # installed? say so at compile time, not at the first render
        try:
            flattened = flatten(source_template.name or f"{name}/{HTML}", get_source)
            flattened = expand_components(flattened, get_source)
        except Unflattenable as reason:
            return source_template, str(reason), tuple(checks), None
        for used in flattened.names:
            self.env.get_template(used)  # syntax errors, reported at their own file and line
        catalogs: tuple[str, ...] = ()
        if any(isinstance(p, Tag) and holds_markup(p) for p in flattened.parts):
            # Translated messages holding markup are written in for this locale.
            catalogs = self._catalog_sources(locale, checks)
        disk = compilecache.current()
        key = disk.key("html", str(source_template.name), css, *read, *catalogs) if disk else ""
        entry = disk.load(key) if disk else None
        if entry is None:
            translate = self.catalogs.translations(locale).gettext
            entry = self._inline_entry(
                flattened, css, str(source_template.name), get_source, translate
            )
            if disk:
                disk.store(key, entry)
        if entry["reason"] is not None:
            return source_template, entry["reason"], tuple(checks), None
        for ancestors, stylesheets in entry.get("sites", ()):
            self.fragments.register(Site(ancestors, stylesheets))
        template = self.env.template_class.from_code(
            self.env, entry["code"], self.env.make_globals(None), None
        )
        return template, None, tuple(checks), entry["source"]

    def _catalog_sources(
        self, locale: str | None, checks: list[Callable[[], bool]]
    ) -> tuple[str, ...]:
        """The locale and its catalogs' bytes, for the cache key; their files join ``checks``."""
        found = [f"locale\0{locale or ''}"]
        for code in locales.chain(locale):
            for suffix in ("po", "mo"):
                path = self.catalogs.folder / code / "LC_MESSAGES" / f"messages.{suffix}"
                checks.append(unchanged(path))
                if path.is_file():
                    found.append(f"{path.name}\0{path.read_bytes().hex()}")
        return tuple(found)

    def _inline_entry(
        self,
        flattened: Flattened,
        css: str,
        name: str,
        get_source: Callable[[str], str],
        translate: Callable[[str], str] | None = None,
    ) -> dict[str, Any]:
        """Compile MJML to HTML if it is MJML, inline the CSS (premailer, imported only
        here) and compile the result; ``sites`` are where values bring markup
        (:mod:`emailkit.templating.fragments`), as plain tuples the disk cache can store."""
        from .inline import inline_template_with_fragments

        try:
            if mjml.is_mjml(name):
                flattened = mjml.compile_flattened(flattened, get_source, self.env)
            inlined = inline_template_with_fragments(flattened, css, translate)
            code = self.env.compile(inlined.source, name=name, filename=f"<inlined {name}>")
        except Unflattenable as reason:
            return {"reason": str(reason)}
        except TemplateSyntaxError as error:
            return {"reason": f"the inlined template does not compile ({error.message})"}
        sites = tuple((site.ancestors, site.stylesheets) for site in inlined.sites)
        return {
            "reason": None,
            "source": inlined.source,
            "code": code,
            "sites": sites,
        }


_registry: dict[Path, Templates] = {}
_registry_lock = threading.Lock()


def for_root(root: Path) -> Templates:
    """The shared :class:`Templates` of an emails root."""
    root = root.resolve()
    templates = _registry.get(root)
    if templates is None:
        with _registry_lock:
            templates = _registry.setdefault(root, Templates(root))
    return templates
