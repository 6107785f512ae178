"""Message catalogs: extracting ``{% trans %}`` strings, and what is left untranslated."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

_METHODS = [("_*/**.html", "ignore"), ("**.html", "jinja2"), ("**.txt", "jinja2")]
_OPTIONS = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern in ("**.html", "**.txt")}


def extract(root: Path, output: Path | None = None) -> tuple[Path, int]:
    """Write ``<root>/_locales/messages.pot`` (or ``output``); returns it and the count."""
    catalog = Catalog(project="emails", charset="utf-8")
    methods = [
        (pattern, "jinja2.ext:babel_extract" if how == "jinja2" else how)
        for pattern, how in _METHODS[1:]
    ]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), methods, _OPTIONS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    target = output or root / "_locales" / "messages.pot"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as file:
        write_po(file, catalog, width=100)
    return target, len(catalog)


def untranslated(po: Path) -> list[tuple[str, int | None]]:
    """The messages of a .po file that have no translation, with their first source line."""
    with open(po, "rb") as file:
        catalog = read_po(file)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            msgid = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
            missing.append((str(msgid), message.lineno))
    return missing
