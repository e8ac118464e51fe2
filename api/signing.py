"""The one way to sign: itsdangerous, one salt per purpose, max_age always checked.

A token minted for one purpose never verifies for another. Tokens are signed,
not encrypted (never put a secret in one), and not single-use by themselves:
whatever must happen once is settled by state in the database.
"""

from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SURVEY_LINK = "survey-link"
PREFERENCES = "preferences"
REPORT_LINK = "report-link"
REFERRAL_CLICK = "referral-click"
WIDGET_DISPLAY = "widget-display"
REVIEW_LINK = "review-link"
PURPOSES = (SURVEY_LINK, PREFERENCES, REPORT_LINK, REFERRAL_CLICK, WIDGET_DISPLAY, REVIEW_LINK)


class TokenInvalid(Exception):
    """Forged, damaged or minted for another purpose."""


class TokenExpired(Exception):
    """Genuine, but older than it may be."""


def _keys(purpose: str) -> tuple[str, ...]:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown signing purpose {purpose!r}")
    config = current_app.config
    # The newest key signs; the fallbacks still verify, so keys rotate without breaking links.
    return (*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"])


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _cached_serializer(purpose, _keys(purpose))


@lru_cache(maxsize=64)
def _cached_serializer(purpose: str, keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    """One serializer per purpose and key set: building one derives its keys."""
    return URLSafeTimedSerializer(list(keys), salt=purpose)


def sign(purpose: str, payload) -> str:
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, token: str, max_age_seconds: int):
    try:
        return _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise TokenExpired from None
    except BadSignature:
        raise TokenInvalid from None
