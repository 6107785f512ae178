"""Checks of the locales: every variant against the class, missing parts, untranslated text."""

from __future__ import annotations

from ..errors import EmailError
from ..model.email import Email, preview_samples
from ..templating.i18n.catalogs import untranslated
from ..templating.templates import HTML, SUBJECT, TEXT
from . import Finding, context


def check(cls: type[Email], locales: list[str]) -> list[Finding]:
    findings: list[Finding] = []
    templates = cls.templates()
    folder = cls._require_folder().name
    # Each part's default file (the HTML part may be body.mjml), for the parts that exist.
    defaults = {
        part: default
        for part in (SUBJECT, TEXT, HTML)
        for default in [templates.part_name(folder, part, None)]
        if (templates.root / default).is_file()
    }
    for locale in locales:
        findings += context.check(cls, locale)
        has_variants = any(
            templates.part_name(folder, part, locale) != default
            for part, default in defaults.items()
        )
        for kind, default in defaults.items():
            name = templates.part_name(folder, kind, locale)
            part = default.rpartition("/")[2]
            if has_variants and name == default and "{% trans" not in _text(templates, name):
                findings.append(
                    Finding(
                        "warning",
                        "locale.missing-part",
                        cls.email_name,
                        f"{part} has no {locale} variant: {locale} readers get the default's",
                        f"translate it as {part.replace('.', f'.{locale}.', 1)}",
                        file=name,
                    )
                )
        try:
            samples = preview_samples(cls)
        except EmailError:  # reported once, by the rendering check
            samples = {}
        for sample, email in samples.items():
            try:
                email.render(locale)
            except EmailError as error:
                findings.append(
                    Finding(
                        "error",
                        "render.fails",
                        cls.email_name,
                        f"does not render in {locale}: {getattr(error, 'message', error)}",
                        getattr(error, "hint", None) or "fix the template or the sample",
                        sample,
                        getattr(error, "filename", None),
                        getattr(error, "lineno", None),
                    )
                )
    return findings


def check_catalogs(emails: list[type[Email]]) -> list[Finding]:
    """Untranslated or fuzzy messages in the catalogs of the emails' roots."""
    findings = []
    roots = {cls.templates().root: cls for cls in emails}
    for root, cls in roots.items():
        for po in sorted((root / "_locales").glob("*/LC_MESSAGES/messages.po")):
            missing = untranslated(po)
            if not missing:
                continue
            relative = po.relative_to(root).as_posix()
            shown = ", ".join(repr(msgid) for msgid, _ in missing[:3])
            findings.append(
                Finding(
                    "warning",
                    "locale.untranslated",
                    cls.email_name,
                    f"{len(missing)} message(s) untranslated in {relative}: {shown}",
                    "translate them (msgstr), or remove the fuzzy flag once checked",
                    file=relative,
                    line=missing[0][1],
                )
            )
    return findings


def _text(templates, name: str) -> str:  # type: ignore[no-untyped-def]
    return (templates.root / name).read_text(encoding="utf-8", errors="replace")
