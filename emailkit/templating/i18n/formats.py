"""Compiled Babel formats: each (locale, pattern, currency) is parsed once, values formatted fast.

``babel.numbers.format_currency`` and ``babel.dates.format_date`` parse the locale and the
pattern on every call (about 25 us); a receipt makes dozens of calls with amounts no cache has
seen. Here the pattern is parsed once into a formatter that only does the per-value work
(quantize, group, put the symbols around), giving results identical to Babel's: anything the
fast path does not cover (scientific and significant-digit patterns, ``¤¤¤`` names, quotes
next to the number, infinities, unusual date fields) is delegated to Babel itself.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers

Formatter = Callable[[Any], str]


@lru_cache(maxsize=1024)
def _quantum(digits: int) -> decimal.Decimal:
    return decimal.Decimal(1).scaleb(-digits)


@lru_cache(maxsize=512)
def currency_formatter(locale: str, currency: str, format: str | None = None) -> Formatter:
    """Like ``format_currency(value, currency, format=format, locale=locale)``."""
    parsed = Locale.parse(locale)
    pattern = babel_numbers.parse_pattern(format) if format else parsed.currency_formats["standard"]
    digits = babel_numbers.get_currency_precision(currency)
    return _number_formatter(
        pattern,
        parsed,
        (digits, digits),
        currency,
        lambda value: babel_numbers.format_currency(value, currency, format=format, locale=locale),
    )


@lru_cache(maxsize=512)
def decimal_formatter(locale: str, format: str | None = None) -> Formatter:
    """Like ``format_decimal(value, format=format, locale=locale)``."""
    parsed = Locale.parse(locale)
    pattern = babel_numbers.parse_pattern(format or parsed.decimal_formats[None])
    return _number_formatter(
        pattern,
        parsed,
        pattern.frac_prec,
        None,
        lambda value: babel_numbers.format_decimal(value, format=format, locale=locale),
    )


@lru_cache(maxsize=512)
def percent_formatter(locale: str, format: str | None = None) -> Formatter:
    """Like ``format_percent(value, format=format, locale=locale)``."""
    parsed = Locale.parse(locale)
    pattern = babel_numbers.parse_pattern(format or parsed.percent_formats[None])
    return _number_formatter(
        pattern,
        parsed,
        pattern.frac_prec,
        None,
        lambda value: babel_numbers.format_percent(value, format=format, locale=locale),
    )


def _number_formatter(
    pattern: babel_numbers.NumberPattern,
    locale: Locale,
    frac_prec: tuple[int, int],
    currency: str | None,
    babel: Formatter,
) -> Formatter:
    """The per-value part of ``NumberPattern.apply`` for plain patterns, else ``babel``."""
    if pattern.exp_prec or "@" in pattern.pattern or not pattern.number_pattern:
        return babel
    affixes = []
    for text in (*pattern.prefix, *pattern.suffix):
        if "¤¤¤" in text:  # the currency's name agrees with the amount (plural forms)
            return babel
        if currency is not None and "¤" in text:
            text = text.replace("¤¤", currency.upper())
            text = text.replace("¤", babel_numbers.get_currency_symbol(currency, locale))
        affixes.append(text)
    group = babel_numbers.get_group_symbol(locale)
    decimal_symbol = babel_numbers.get_decimal_symbol(locale)
    if any("'" in text for text in (*affixes, group, decimal_symbol)):
        return babel  # Babel unquotes the whole result; the number could take part in it
    negative_prefix, negative_suffix = affixes[1], affixes[3]
    positive_prefix, positive_suffix = affixes[0], affixes[2]
    scale = pattern.scale
    min_int = pattern.int_prec[0]
    first_group, other_groups = pattern.grouping
    min_frac, max_frac = frac_prec
    quantum = _quantum(max_frac)
    Decimal = decimal.Decimal
    plain_grouping = (first_group, other_groups) == (3, 3) and min_int <= 1 and min_frac == max_frac
    swap = (
        None
        if (group, decimal_symbol) == (",", ".")
        else str.maketrans({",": group, ".": decimal_symbol})
    )

    def group_digits(digits: str) -> str:
        if len(digits) < min_int:
            digits = "0" * (min_int - len(digits)) + digits
        if len(digits) <= first_group:
            return digits
        out = digits[-first_group:]
        digits = digits[:-first_group]
        while len(digits) > other_groups:
            out = digits[-other_groups:] + group + out
            digits = digits[:-other_groups]
        return digits + group + out

    def format_value(given: Any) -> str:
        value = given
        if type(value) is not Decimal:
            if not isinstance(value, (int, float, str, Decimal)) or isinstance(value, bool):
                return babel(given)
            value = Decimal(str(value))
        if not value.is_finite():
            return babel(given)
        if scale:
            value = value.scaleb(scale)
        negative = value.is_signed()
        try:
            rounded = abs(value).normalize().quantize(quantum)
        except decimal.InvalidOperation:  # more digits than the context holds: Babel says so
            return babel(given)
        if plain_grouping:
            # Python groups by threes and writes exactly the quantum's digits, which is what
            # the pattern asks when it has min = max fraction digits: only swap the symbols.
            number = f"{rounded:,f}"
            if swap is not None:
                number = number.translate(swap)
            if negative:
                return negative_prefix + number + negative_suffix
            return positive_prefix + number + positive_suffix
        whole, _, fraction = f"{rounded:f}".partition(".")
        number = group_digits(whole)
        fraction = fraction or "0"
        if len(fraction) < min_frac:
            fraction += "0" * (min_frac - len(fraction))
        if max_frac and not (min_frac == 0 and int(fraction) == 0):
            fraction = fraction.rstrip("0")
            if len(fraction) < min_frac:
                fraction += "0" * (min_frac - len(fraction))
            number += decimal_symbol + fraction
        if negative:
            return negative_prefix + number + negative_suffix
        return positive_prefix + number + positive_suffix

    return format_value


# Date fields computed here; every other field is asked of Babel's DateTimeFormat.
_MONTH_WIDTHS = {3: "abbreviated", 4: "wide", 5: "narrow"}


@lru_cache(maxsize=512)
def date_formatter(locale: str, format: str = "medium") -> Formatter:
    """Like ``format_date(value, format=format, locale=locale)``."""
    parsed = Locale.parse(locale)
    if format in ("full", "long", "medium", "short"):
        pattern = str(babel_dates.get_date_format(format, locale=parsed))  # type: ignore[arg-type]
    else:
        pattern = format
    pieces: list[str | Callable[[_dt.date], str]] = []
    token: Any
    for kind, token in babel_dates.tokenize_pattern(pattern):
        if kind == "chars":
            pieces.append(token)  # already unquoted
        else:
            pieces.append(_date_field(parsed, token[0], token[1]))

    def format_value(value: Any) -> str:
        if isinstance(value, _dt.datetime):
            value = value.date()
        if not isinstance(value, _dt.date):
            return babel_dates.format_date(value, format=format, locale=locale)  # type: ignore[arg-type]
        return "".join(piece if isinstance(piece, str) else piece(value) for piece in pieces)

    return format_value


def _date_field(locale: Locale, char: str, count: int) -> Callable[[_dt.date], str]:
    # Babel pads numbers with "%0*d"; the format specifier "0{count}d" pads the same way.
    if char == "d":
        return lambda value: f"{value.day:0{count}d}"
    if char == "y":
        if count == 2:
            return lambda value: f"{value.year:02d}"[-2:]
        return lambda value: f"{value.year:0{count}d}"
    if char in "ML":
        if count <= 2:
            return lambda value: f"{value.month:0{count}d}"
        context: Any = "format" if char == "M" else "stand-alone"
        width: Any = _MONTH_WIDTHS[count]
        names = babel_dates.get_month_names(width, context, locale)
        return lambda value: names[value.month]
    field = char * count
    return lambda value: babel_dates.DateTimeFormat(value, locale)[field]
