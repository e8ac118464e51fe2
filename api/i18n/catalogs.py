"""The gettext catalogs: loading them, and the built-in strings by key in each locale.

English is the source language (the msgids, ``api.i18n.messages``); every other supported
locale has ``translations/<locale>/LC_MESSAGES/messages.po`` and its compiled ``.mo``,
which is committed so a clone runs without a build step (``make messages`` rebuilds it;
tests/test_i18n_catalogs.py fails when the two differ or a string is untranslated).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from api.i18n import messages

__all__ = ["DEFAULT_LOCALE", "DIRECTORY", "DOMAIN", "LOCALES", "UI", "counted", "translations"]

LOCALES: tuple[str, ...] = ("en", "de", "fr", "es")
DEFAULT_LOCALE = "en"
DIRECTORY = Path(__file__).parent / "translations"
DOMAIN = "messages"


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog of one supported locale, loaded once per process.

    English has no catalog: its strings are the msgids themselves.
    """
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale: {locale!r}")
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    found = Translations.load(str(DIRECTORY), [locale], DOMAIN)
    if not isinstance(found, Translations):  # a missing .mo must not pass as English
        raise FileNotFoundError(f"no compiled catalog for {locale!r} in {DIRECTORY}")
    return found


def _by_key(source: dict[str, str], locale: str) -> dict[str, str]:
    catalog = translations(locale)
    return {key: catalog.pgettext(key, english) for key, english in source.items()}


# UI[locale][key]: page, widget and e-mail chrome. Treat as read-only.
UI: dict[str, dict[str, str]] = {locale: _by_key(messages.UI, locale) for locale in LOCALES}


def counted(locale: str, key: str, n: int) -> str:
    """The keyed string with a count in it (``messages.UI_COUNTED``) in the form the
    locale gives `n`; its placeholders are still to fill, the count's included."""
    singular, plural = messages.UI_COUNTED[key]
    return translations(locale).npgettext(key, singular, plural, n)


def survey_strings(locale: str) -> dict[str, str]:
    """The built-in survey wording of one locale, keyed as in ``messages.SURVEY``."""
    return _by_key(messages.SURVEY, locale)
