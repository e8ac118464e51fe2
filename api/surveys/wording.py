"""What a survey says: the built-in wording of each kind in each locale, under the
workspace's own texts.

The built-in wording comes from the gettext catalogs (``api.i18n.catalogs``); a survey's
``texts`` override it per locale and per key. Placeholders are left for
``api.i18n.placeholders.fill``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TypedDict

from api.i18n import catalogs
from api.i18n.negotiation import pick_locale
from api.scoring import CATEGORIES

__all__ = ["DEFAULTS", "SurveyTexts", "survey_texts"]


class SurveyTexts(TypedDict):
    """The wording of one survey kind in one locale.

    ``follow_up`` and ``thank_you`` are keyed by the kind's categories
    (``api.scoring.CATEGORIES``), because what we ask next depends on the answer.
    """

    question: str
    follow_up: dict[str, str]
    thank_you: dict[str, str]
    low_label: str
    high_label: str


def _defaults(locale: str) -> dict[str, SurveyTexts]:
    """One locale's catalog strings, from "<kind>.<key>[.<category>]" into nested texts."""
    by_kind: dict = {}
    for name, text in catalogs.survey_strings(locale).items():
        kind, key, *category = name.split(".")
        texts = by_kind.setdefault(kind, {})
        if category:
            texts.setdefault(key, {})[category[0]] = text
        else:
            texts[key] = text
    return by_kind


# DEFAULTS[locale][kind]. Treat as read-only; ``survey_texts`` hands out copies.
DEFAULTS: dict[str, dict[str, SurveyTexts]] = {
    locale: _defaults(locale) for locale in catalogs.LOCALES
}

_SINGLE_KEYS = ("question", "low_label", "high_label")
_PER_CATEGORY_KEYS = ("follow_up", "thank_you")


def survey_texts(
    kind: str, locale: str | None, overrides: Mapping[str, object] | None = None
) -> SurveyTexts:
    """The wording one survey shows in one locale: built-in defaults plus its overrides.

    ``overrides`` is the survey's stored JSON, keyed by locale code, e.g.
    ``{"en": {"question": "...", "follow_up": {"detractor": "..."}}, "de": {...}}``.
    Only the requested locale's overrides apply, so an English rewording never shows
    up in a German survey. Blank, non-string or unknown entries are ignored (the
    default stays), so a half-filled settings form cannot blank out a question.
    ``locale`` is normalised with ``pick_locale`` (unsupported -> ``DEFAULT_LOCALE``).
    Raises ValueError for an unknown kind. Placeholders are left for ``fill``.
    """
    if kind not in CATEGORIES:
        raise ValueError(f"unknown survey kind: {kind!r}")
    locale = pick_locale(locale)
    texts = copy.deepcopy(DEFAULTS[locale][kind])
    own = (overrides or {}).get(locale)
    if not isinstance(own, Mapping):
        return texts
    for key in _SINGLE_KEYS:
        if _is_text(own.get(key)):
            texts[key] = own[key]
    for key in _PER_CATEGORY_KEYS:
        by_category = own.get(key)
        if not isinstance(by_category, Mapping):
            continue
        for category in CATEGORIES[kind]:
            if _is_text(by_category.get(category)):
                texts[key][category] = by_category[category]
    return texts


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
