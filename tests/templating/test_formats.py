"""Compiled formats give exactly what Babel's format_* functions give, for any value and locale."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.localedata import locale_identifiers
from hypothesis import given, settings
from hypothesis import strategies as st

from emailkit.templating.i18n import formats

LOCALES = sorted(locale_identifiers())
CURRENCIES = ["USD", "EUR", "JPY", "BHD", "CHF", "INR", "GBP", "KWD", "CLF", "XXX", "BRL"]
NUMBER_FORMATS = [None, "#,##0.00", "#,##0.###", "0.00", "#,##,##0.0#", "00000", "#,##0.00;(#)"]
CURRENCY_FORMATS = [None, "#,##0.00 ¤", "¤¤ #,##0.00", "¤#,##0.00;-¤#,##0.00", "'#'0.00 ¤"]
PERCENT_FORMATS = [None, "#,##0%", "0.0%", "#,##0.##%"]
DATE_FORMATS = ["full", "long", "medium", "short", "d MMM y", "EEEE d MMMM yyyy", "dd/MM/yy"]
DATE_FORMATS += ["LLLL y", "QQQ y", "w 'week' y", "MMMMM d, G", "y-MM-dd"]

examples = settings(max_examples=300, deadline=None)

amounts = st.one_of(
    st.decimals(
        min_value=Decimal("-1e15"), max_value=Decimal("1e15"), allow_nan=False, places=None
    ).filter(lambda d: d.is_finite()),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    st.sampled_from([Decimal("0"), Decimal("-0"), Decimal("0.005"), Decimal("2.5"), 0.125]),
    st.sampled_from([Decimal("Infinity"), Decimal("-Infinity"), float("inf")]),
)


def same(fast: object, babel: object) -> None:
    """Both calls give the same string, or both raise the same kind of error."""
    outcomes = []
    for call in (fast, babel):
        try:
            outcomes.append(("ok", call()))  # type: ignore[operator]
        except Exception as error:
            outcomes.append(("error", type(error).__name__))
    assert outcomes[0] == outcomes[1]


@examples
@given(
    amounts,
    st.sampled_from(CURRENCIES),
    st.sampled_from(CURRENCY_FORMATS),
    st.sampled_from(LOCALES),
)
def test_currency_matches_babel(value, code, pattern, locale):
    same(
        lambda: formats.currency_formatter(locale, code, pattern)(value),
        lambda: babel_numbers.format_currency(value, code, format=pattern, locale=locale),
    )


@examples
@given(amounts, st.sampled_from(NUMBER_FORMATS), st.sampled_from(LOCALES))
def test_decimal_matches_babel(value, pattern, locale):
    same(
        lambda: formats.decimal_formatter(locale, pattern)(value),
        lambda: babel_numbers.format_decimal(value, format=pattern, locale=locale),
    )


@examples
@given(amounts, st.sampled_from(PERCENT_FORMATS), st.sampled_from(LOCALES))
def test_percent_matches_babel(value, pattern, locale):
    same(
        lambda: formats.percent_formatter(locale, pattern)(value),
        lambda: babel_numbers.format_percent(value, format=pattern, locale=locale),
    )


@examples
@given(
    st.one_of(st.dates(), st.datetimes()),
    st.sampled_from(DATE_FORMATS),
    st.sampled_from(LOCALES),
)
def test_date_matches_babel(value, pattern, locale):
    same(
        lambda: formats.date_formatter(locale, pattern)(value),
        lambda: babel_dates.format_date(value, format=pattern, locale=locale),
    )


@pytest.mark.parametrize("locale", ["en", "fr", "de_CH", "ar", "hi_IN", "ja"])
def test_the_receipt_amounts_match_babel(locale):
    for cents in range(-2000, 200_000, 997):
        value = Decimal(cents) / 100
        assert formats.currency_formatter(locale, "EUR", None)(value) == (
            babel_numbers.format_currency(value, "EUR", locale=locale)
        )


def test_a_value_babel_refuses_is_refused_the_same_way():
    with pytest.raises(Exception) as babel_error:
        babel_numbers.format_currency("twelve", "EUR", locale="fr")
    with pytest.raises(type(babel_error.value)):
        formats.currency_formatter("fr", "EUR", None)("twelve")


def test_a_datetime_is_formatted_as_its_date():
    moment = dt.datetime(2026, 3, 14, 23, 59)
    assert formats.date_formatter("fr", "long")(moment) == "14 mars 2026"
