"""Which of our locales to talk to someone in.

The browser's ``Accept-Language`` is read by werkzeug (the parser behind
``request.accept_languages``) and matched to our locales by Babel's
``negotiate_locale``; what is ours here is only the order of precedence.
"""

from __future__ import annotations

from babel import negotiate_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from api.i18n.catalogs import DEFAULT_LOCALE, LOCALES

__all__ = ["browser_languages", "pick_locale"]


def pick_locale(
    *candidates: str | None, accept_language: str | None = None, fallback: str | None = None
) -> str:
    """The locale to talk to someone in.

    What we know of the person wins: pass it in priority order (e.g. the
    invitation's, then the contact's locale). Then the best supported language
    of the browser (``accept_language``), then ``fallback`` (e.g. the survey's
    default), finally ``DEFAULT_LOCALE``. Only the language part counts
    (``"de-AT"``, ``"de_at"`` -> ``"de"``), since we have one text per language.
    """
    for tag in (*candidates, *browser_languages(accept_language), fallback):
        language = _supported_language(tag)
        if language:
            return language
    return DEFAULT_LOCALE


def browser_languages(header: str | None) -> list[str]:
    """The language ranges of an ``Accept-Language`` header, most preferred first.

    werkzeug orders them by weight (ties in header order) and drops malformed weights;
    ``q=0`` means "not acceptable", so those are left out here.
    """
    accepted = parse_accept_header(header or "", LanguageAccept)
    return [tag for tag, quality in accepted if quality > 0]


def _supported_language(tag: str | None) -> str | None:
    if not tag:
        return None
    # Babel matches a region tag to its language ("de-AT" -> "de"), case-insensitively;
    # contacts' locales come with either separator, so both are read as "-".
    found = negotiate_locale([tag.strip().replace("_", "-")], LOCALES, sep="-")
    return found.lower() if found else None
