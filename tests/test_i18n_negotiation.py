"""Locale negotiation: werkzeug reads Accept-Language, our precedence picks the locale."""

import pytest
from flask import Flask, request

from api.i18n.negotiation import browser_languages, pick_locale

HEADERS = [
    "it, fr;q=0.8, de;q=0.9, es;q=0.85",
    "es;q=0.5, fr;q=0.5",
    "de-AT, de;q=0.9, *;q=0.1",
    "de;q=abc, fr;q=0.1",
    "",
]


@pytest.mark.parametrize("header", HEADERS)
def test_the_browser_languages_are_werkzeugs_reading(header):
    with Flask(__name__).test_request_context(headers={"Accept-Language": header}):
        werkzeug = [tag for tag, quality in request.accept_languages if quality > 0]
    assert browser_languages(header) == werkzeug


def test_not_acceptable_languages_are_left_out():
    assert browser_languages("de;q=0, fr;q=0.1") == ["fr"]
    assert pick_locale(accept_language="de;q=0") == "en"


def test_a_wildcard_chooses_nothing():
    # "*" says any language will do: the survey's own default is the better choice.
    assert pick_locale(accept_language="*", fallback="fr") == "fr"
    assert pick_locale(accept_language="it, *;q=0.5, es;q=0.4", fallback="fr") == "es"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("de-AT", "de"), ("fr_CA", "fr"), ("ES", "es"), ("en-GB-oxendict", "en"), ("pt-BR", None)],
)
def test_region_and_variant_tags_match_their_language(tag, expected):
    assert pick_locale(tag, fallback="it") == (expected or "en")


def test_precedence_person_then_browser_then_fallback():
    # An explicit choice (a `locale` parameter, the invitation's or contact's locale)
    # beats the browser, which beats the survey's default locale.
    assert pick_locale("fr", accept_language="de", fallback="es") == "fr"
    assert pick_locale(None, "", accept_language="de", fallback="es") == "de"
    assert pick_locale(None, accept_language="pt, it", fallback="es") == "es"
    assert pick_locale(None, accept_language="pt", fallback=None) == "en"
