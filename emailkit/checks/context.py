"""The templates against the email class, without rendering: a typo is caught in any branch.

Each part is flattened (layouts and includes in place), parsed into Jinja's syntax tree, and
every name it reads must be a field, ``email`` or a Jinja global; every ``email.x`` must be a
field, property or method of the class. Fields no template reads are reported as info.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from jinja2 import TemplateSyntaxError, meta, nodes

from ..errors import TemplateError
from ..model.email import Email
from ..model.rendering import attribute_kind
from . import Finding
from .source import EmailSources

_JINJA_NAMES = {
    "loop",
    "super",
    "self",
    "varargs",
    "kwargs",
    "caller",
    "email",
    "locale",
    "lang",
    "dir",
}


def _imported_names(tree: nodes.Template) -> set[str]:
    """Names that ``{% from ... import %}`` and ``{% import ... as %}`` bind (components):
    Jinja's analysis misses them inside blocks when the import is at the template's top."""
    names = {node.target for node in tree.find_all(nodes.Import)}
    for node in tree.find_all(nodes.FromImport):
        names |= {name[1] if isinstance(name, tuple) else name for name in node.names}
    return names


def check(cls: type[Email], locale: str | None = None) -> list[Finding]:
    """Static checks of the email's templates in ``locale`` (its variant files)."""
    name = cls.email_name
    try:
        sources = EmailSources(cls, locale)
        parts = sources.parts
    except TemplateError as error:
        return [
            Finding(
                "error",
                "context.templates",
                name,
                error.message,
                error.hint or "",
                file=error.filename,
                line=error.lineno,
            )
        ]
    env = cls.templates().env
    fields = set(cls.fields())
    known = fields | _JINJA_NAMES | set(env.globals)
    used: set[str] = set()
    findings: list[Finding] = []
    for part, flattened in parts.items():
        # Only this part's tags: a name read in body.html is reported there, not at the first
        # file that happens to mention it (often subject.txt).
        tags = sources.tags(part)
        source = "".join(t.text for t in flattened.prelude) + "".join(
            p if isinstance(p, str) else p.text for p in flattened.parts
        )
        try:
            tree = env.parse(source)
        except TemplateSyntaxError:
            continue  # the rendering check reports it, at its real line
        undeclared = meta.find_undeclared_variables(tree) - _imported_names(tree)
        used |= undeclared
        for missing in sorted(undeclared - known):
            file, line = _where(tags, rf"\b{re.escape(missing)}\b")
            if hasattr(cls, missing):
                kind = attribute_kind(cls, missing)
                hint = (
                    f"{missing!r} is a {kind} of {cls.__name__}, not a field: "
                    f"templates reach it as `email.{missing}`"
                )
            else:
                hint = _suggest(missing, fields, f"declare `{missing}: ...` on {cls.__name__}")
            findings.append(
                Finding(
                    "error",
                    "context.undeclared",
                    name,
                    f"{part} reads {missing!r}, which is not a field of {cls.__name__}",
                    hint,
                    file=file,
                    line=line,
                )
            )
        for attribute in sorted(set(_email_attributes(tree))):
            used.add(attribute)
            if attribute in fields or hasattr(cls, attribute):
                continue
            file, line = _where(tags, rf"\bemail\.{re.escape(attribute)}\b")
            options = fields | {a for a in dir(cls) if not a.startswith("_")}
            findings.append(
                Finding(
                    "error",
                    "context.attribute",
                    name,
                    f"{part} reads email.{attribute}, which {cls.__name__} does not have",
                    _suggest(attribute, options, "add a property or fix the name"),
                    file=file,
                    line=line,
                )
            )
    for unused in sorted(fields - used):
        findings.append(
            Finding(
                "info",
                "context.unused",
                name,
                f"field {unused!r} is not read by any template",
                "remove it, unless a property or method the templates call uses it",
            )
        )
    return findings


def _email_attributes(tree: nodes.Template) -> Iterator[str]:
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "email":
            yield node.attr


def _where(tags: list, pattern: str) -> tuple[str | None, int | None]:  # type: ignore[type-arg]
    compiled = re.compile(pattern)
    for tag in tags:
        if tag.kind in ("var", "stmt") and compiled.search(tag.text):
            return tag.origin or None, tag.lineno
    return None, None


def _suggest(name: str, options: set[str], otherwise: str) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1)
    return f"did you mean {close[0]!r}? Otherwise {otherwise}" if close else otherwise.capitalize()
