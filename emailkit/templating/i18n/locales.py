"""Locales: names, fallback chains, text direction, Babel filters and gettext catalogs.

A part of an email in locale ``pt_BR`` comes from the most specific file that exists:
``body.pt_BR.html``, then ``body.pt.html``, then ``body.html``. Templates see ``locale``
(``pt_BR``), ``lang`` (``pt-BR``, for ``<html lang>``) and ``dir`` (``rtl`` for Arabic,
Hebrew, Persian, Urdu...), and format values with Babel filters in that locale:
``{{ total|currency("EUR") }}`` gives ``12,50 €`` in ``fr``. ``{% trans %}`` blocks use the
catalogs ``_locales/<lang>/LC_MESSAGES/messages.po`` (or ``.mo``) under the emails root.
"""

from __future__ import annotations

import gettext
import io
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from jinja2 import pass_context
from jinja2.runtime import Context

from ...errors import ContextError
from ..loader import mtime
from . import formats

DEFAULT = "en"
VARIANT = re.compile(r"^(subject|body)\.([A-Za-z]{2,3}(?:_[A-Za-z0-9]+)*)\.(txt|html|mjml)$")


@lru_cache(maxsize=256)
def parse(name: str) -> Locale:
    """The Babel locale for ``name`` (``pt_BR`` or ``pt-BR``); a clear error when unknown."""
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ContextError(
            f"unknown locale {name!r}: use a language code such as 'fr', 'pt_BR' or 'ar'"
        ) from None


def chain(name: str | None) -> tuple[str, ...]:
    """The variant names to try, most specific first: ``("pt_BR", "pt")``; none for None."""
    if not name:
        return ()
    locale = parse(name)
    return tuple(dict.fromkeys([str(locale), locale.language]))


def variant_name(part: str, code: str) -> str:
    """``body.html`` in ``fr`` is ``body.fr.html``."""
    stem, _, extension = part.partition(".")
    return f"{stem}.{code}.{extension}"


def template_context(name: str | None) -> dict[str, str]:
    """What templates see of the locale."""
    locale = parse(name or DEFAULT)
    return {
        "locale": str(locale) if name else "",
        "lang": str(locale).replace("_", "-"),
        "dir": locale.text_direction,
    }


def _babel_locale(context: Context) -> str:
    return context.get("locale") or DEFAULT


# Babel takes 10-25 us a call. Currencies, numbers and dates go through formats compiled once
# per (locale, pattern, currency) (see :mod:`emailkit.templating.i18n.formats`), so a fresh value
# costs a few microseconds; datetimes and times (time zones) keep Babel behind a bounded result
# cache, which is exact since the results depend only on the arguments.
def _cached(function: Any) -> Any:
    memo = lru_cache(maxsize=8192)(function)

    def call(*args: Any, **kwargs: Any) -> str:
        try:
            return memo(*args, **kwargs)
        except TypeError:  # an unhashable value: format it without the cache
            return function(*args, **kwargs)

    call.cache_clear = memo.cache_clear  # type: ignore[attr-defined]
    return call


_format_datetime = _cached(babel_dates.format_datetime)
_format_time = _cached(babel_dates.format_time)


@pass_context
def currency(context: Context, value: Any, code: str, format: str | None = None) -> str:
    return formats.currency_formatter(_babel_locale(context), code, format)(value)


@pass_context
def number(context: Context, value: Any, format: str | None = None) -> str:
    return formats.decimal_formatter(_babel_locale(context), format)(value)


@pass_context
def percent(context: Context, value: Any, format: str | None = None) -> str:
    return formats.percent_formatter(_babel_locale(context), format)(value)


@pass_context
def date(context: Context, value: Any, format: str = "medium") -> str:
    return formats.date_formatter(_babel_locale(context), format)(value)


@pass_context
def datetime(context: Context, value: Any, format: str = "medium") -> str:
    return _format_datetime(value, format=format, locale=_babel_locale(context))


@pass_context
def time(context: Context, value: Any, format: str = "short") -> str:
    return _format_time(value, format=format, locale=_babel_locale(context))


@pass_context
def timedelta(context: Context, value: Any, add_direction: bool = False) -> str:
    """A duration in words: ``3 days``, or with ``add_direction`` ``in 3 days``."""
    return babel_dates.format_timedelta(
        value, add_direction=add_direction, locale=_babel_locale(context)
    )


FILTERS = {
    "currency": currency,
    "number": number,
    "percent": percent,
    "date": date,
    "datetime": datetime,
    "time": time,
    "timedelta": timedelta,
}


class Catalogs:
    """The gettext catalogs under ``<root>/_locales``, reloaded when a file changes."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "_locales"
        self._loaded: dict[str, tuple[tuple[Any, ...], gettext.NullTranslations]] = {}
        self._lock = threading.Lock()

    def languages(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(
            path.name
            for path in self.folder.iterdir()
            if (path / "LC_MESSAGES" / "messages.po").is_file()
            or (path / "LC_MESSAGES" / "messages.mo").is_file()
        )

    def translations(self, name: str | None) -> gettext.NullTranslations:
        """Translations for ``name`` with its fallback chain; a no-op without catalogs."""
        result: gettext.NullTranslations = gettext.NullTranslations()
        for code in reversed(chain(name)):
            found = self._load(code)
            if found is not None:
                found.add_fallback(result)
                result = found
        return result

    def _load(self, code: str) -> gettext.NullTranslations | None:
        messages = self.folder / code / "LC_MESSAGES"
        po, mo = messages / "messages.po", messages / "messages.mo"
        stamp = (mtime(po), mtime(mo))
        if stamp == (None, None):
            return None
        with self._lock:
            cached = self._loaded.get(code)
            if cached is None or cached[0] != stamp:
                if stamp[1] is not None and (stamp[0] is None or stamp[1] >= stamp[0]):
                    data = mo.read_bytes()
                else:  # babel's catalog reader, imported only when a .po file is read
                    from babel.messages.mofile import write_mo
                    from babel.messages.pofile import read_po

                    with open(po, "rb") as file:
                        catalog = read_po(file, locale=code)
                    buffer = io.BytesIO()
                    write_mo(buffer, catalog)
                    data = buffer.getvalue()
                cached = (stamp, gettext.GNUTranslations(io.BytesIO(data)))
                self._loaded[code] = cached
            # A fresh object each time: fallbacks are chained per call.
            translations = gettext.GNUTranslations.__new__(gettext.GNUTranslations)
            translations.__dict__.update(cached[1].__dict__)
            translations._fallback = None  # type: ignore[attr-defined]
            return translations


def install_gettext(environment: Any, catalogs: Catalogs) -> None:
    """``{% trans %}`` in the locale each render passes (safe with concurrent renders)."""

    @pass_context
    def _gettext(context: Context, message: str) -> str:
        return catalogs.translations(context.get("locale")).gettext(message)

    @pass_context
    def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
        return catalogs.translations(context.get("locale")).ngettext(singular, plural, count)

    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)
