"""Everything a respondent reads, in one import for the survey, page and widget code.

The parts live where their job is: the gettext catalogs and the chrome strings by key
(``api.i18n.catalogs``), locale choice (``api.i18n.negotiation``), ``{product}``-style
filling (``api.i18n.placeholders``) and a survey's wording over the built-in defaults
(``api.surveys.wording``). README "Languages" describes how they fit together.
"""

from api.i18n.catalogs import DEFAULT_LOCALE, LOCALES, UI
from api.i18n.negotiation import pick_locale
from api.i18n.placeholders import fill, placeholder_names
from api.surveys.wording import DEFAULTS, SurveyTexts, survey_texts

__all__ = [
    "DEFAULTS",
    "DEFAULT_LOCALE",
    "LOCALES",
    "UI",
    "SurveyTexts",
    "fill",
    "pick_locale",
    "placeholder_names",
    "survey_texts",
]
