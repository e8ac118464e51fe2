"""Which of our locales to talk to someone in."""

from __future__ import annotations

import re

from api.i18n.catalogs import DEFAULT_LOCALE, LOCALES

__all__ = ["pick_locale"]

# RFC 9110 language-range and weight; anything else in Accept-Language is ignored.
_LANGUAGE_RANGE = re.compile(r"\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_WEIGHT = re.compile(r"[qQ]=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")


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
    for tag in (*candidates, *_accepted_languages(accept_language or ""), fallback):
        language = _supported_language(tag)
        if language:
            return language
    return DEFAULT_LOCALE


def _supported_language(tag: str | None) -> str | None:
    if not tag:
        return None
    language = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return language if language in LOCALES else None


def _accepted_languages(header: str) -> list[str]:
    """Language ranges from an Accept-Language header, most preferred first.

    Ties keep header order; ``q=0`` means "not acceptable" and is dropped, as is any
    malformed part (a bad tag or weight), so one broken entry cannot hide the rest.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, *params = (piece.strip() for piece in part.split(";"))
        if not _LANGUAGE_RANGE.fullmatch(tag) or len(params) > 1:
            continue
        weight = _WEIGHT.fullmatch(params[0]) if params else None
        if params and weight is None:
            continue
        q = float(weight.group(1)) if weight else 1.0
        if q > 0:
            ranked.append((-q, position, tag))
    return [tag for _, _, tag in sorted(ranked)]
