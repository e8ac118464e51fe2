"""Numbers and dates for people, in a locale's conventions (Babel's CLDR data).

One rule for every number a page shows: at most one decimal, none when it is zero,
never "-0", and a dash for no value; the decimal mark, grouping, percent sign and its
spacing are the locale's ("12.5%" in English, "12,5 %" in German and French).
"""

from __future__ import annotations

from datetime import date

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent

__all__ = ["NO_VALUE", "count", "day", "decimal", "month", "number", "percent", "plural_count"]

NO_VALUE = "\u2013"  # an en dash


def _rounded(value: float, places: int) -> float:
    return round(value, places) + 0.0  # + 0.0 turns -0.0 into 0.0


def number(value: float | None, locale: str) -> str:
    """``31``, ``-19.1``; an en dash for None."""
    if value is None:
        return NO_VALUE
    # decimal_quantization=False: the decimals are the rounded value's, not the pattern's.
    return format_decimal(_rounded(value, 1), locale=locale, decimal_quantization=False)


def plural_count(value: float, locale: str) -> int:
    """The whole number to choose a plural form by (ngettext) for `value` as ``number``
    writes it. gettext's rules take whole numbers; a fraction gets the form CLDR gives it
    in the locale ("1.5 days" in English, "1,5 jour" in French, where all below 2 is
    singular), through 1 for CLDR's "one" and 2 for the rest, which is "other" in each
    of our locales.
    """
    shown = _rounded(value, 1)
    if shown.is_integer():
        return int(shown)
    return 1 if Locale.parse(locale).plural_form(shown) == "one" else 2


def percent(fraction: float | None, locale: str) -> str:
    """A share 0..1 as a percentage, to at most one decimal: ``0.125`` -> ``12.5%``."""
    if fraction is None:
        return NO_VALUE
    return format_percent(_rounded(fraction, 3), locale=locale, decimal_quantization=False)


def decimal(value: float, places: int, locale: str) -> str:
    """Exactly ``places`` decimals: ``0.50`` (a ratio read to two places)."""
    return format_decimal(value, format="0." + "0" * places, locale=locale)


def count(value: int, locale: str) -> str:
    """A whole number, grouped as the locale groups them (``12,000``, ``12.000``)."""
    return format_decimal(value, locale=locale)


def day(value: date, locale: str) -> str:
    """A date as the locale writes it in a sentence: ``Mar 1, 2026``, ``01.03.2026``."""
    return format_date(value, format="medium", locale=locale)


def month(value: date, locale: str) -> str:
    """A month and its year: ``Mar 2026``, ``März 2026``."""
    return format_skeleton("yMMM", value, locale=locale)
