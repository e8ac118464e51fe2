"""The built-in texts: completeness of every locale, locale choice, filling, survey wording."""

import re

import pytest

from api.i18n.catalogs import DEFAULT_LOCALE, LOCALES, UI, counted
from api.i18n.messages import UI_COUNTED
from api.i18n.negotiation import pick_locale
from api.i18n.placeholders import fill
from api.scoring import CATEGORIES
from api.surveys.wording import DEFAULTS, survey_texts

UI_KEYS = {
    "submit",
    "next",
    "skip",
    "send_comment",
    "comment_label",
    "comment_placeholder",
    "thank_you_title",
    "score_label",
    "chosen_score",
    "change_score",
    "not_found_title",
    "not_found_body",
    "expired_title",
    "expired_body",
    "unsubscribe_title",
    "unsubscribe_body",
    "unsubscribe_button",
    "unsubscribed_title",
    "unsubscribed_body",
    "resubscribe_button",
    "email_footer_unsubscribe",
    "email_intro",
    "referral_title",
    "referral_body",
    "copy_link",
    "referral_link_label",
    "referral_code_label",
    "status_clicks",
    "status_signups",
    "status_conversions",
    "status_rewards_pending",
    "status_rewards_approved",
    "link_expired_title",
    "link_expired_body",
    "forbidden_title",
    "forbidden_body",
    "rate_limited_title",
    "rate_limited_body",
    "error_title",
    "reference",
    "score_required",
    "your_answer",
    "your_comment",
    "resubscribed_body",
    "one_click_done",
    "copied",
    "share_email",
    "share_x",
    "share_linkedin",
    "share_whatsapp",
    "powered_by",
    "close",
    "error_retry",
    "funnel_advocates",
    "funnel_clicks",
    "funnel_signups",
    "funnel_conversions",
    "funnel_step",
    "funnel_count",
    "funnel_rate",
    "funnel_viral",
    # Advocacy: the asks after an answer, the preference page and the wall.
    "testimonial_title",
    "testimonial_text_label",
    "testimonial_name_label",
    "testimonial_role_label",
    "testimonial_company_label",
    "testimonial_consent",
    "testimonial_submit",
    "testimonial_thanks",
    "testimonial_incomplete",
    "consent_required",
    "withdraw_link",
    "review_title",
    "review_body",
    "review_done_button",
    "review_thanks",
    "review_email_done",
    "advocate_title",
    "advocate_body",
    "act_testimonial",
    "act_review",
    "act_referral",
    "act_case_study",
    "act_reference_call",
    "act_advisory_board",
    "advocate_submit",
    "advocate_thanks",
    "save",
    "saved",
    "testimonials_heading",
    "withdraw_button",
    "withdrawn_notice",
    "wall_title",
    "wall_empty",
}
TEXT_KEYS = {"question", "follow_up", "thank_you", "low_label", "high_label"}
PLACEHOLDER = re.compile(r"\{([^{}|]+)(?:\|[^{}]*)?\}")


def all_default_strings(locale):
    """(path, text) for every built-in string of one locale."""
    for key, text in UI[locale].items():
        yield f"UI.{key}", text
    for key in UI_COUNTED:  # each plural form: one, many (fr, es: a million), other
        for n in (1, 1_000_000, 2):
            yield f"UI.{key}[{n}]", counted(locale, key, n)
    for kind, texts in DEFAULTS[locale].items():
        for key, value in texts.items():
            if isinstance(value, dict):
                for category, text in value.items():
                    yield f"{kind}.{key}.{category}", text
            else:
                yield f"{kind}.{key}", value


# --- completeness -------------------------------------------------------------------------


def test_locales():
    assert LOCALES == ("en", "de", "fr", "es")
    assert DEFAULT_LOCALE == "en"
    assert set(UI) == set(DEFAULTS) == set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_ui_has_exactly_the_documented_keys(locale):
    assert set(UI[locale]) == UI_KEYS
    assert set(UI_COUNTED) == {"comment_too_long", "funnel_heading"}


@pytest.mark.parametrize("locale", LOCALES)
def test_defaults_cover_every_kind_and_category(locale):
    assert set(DEFAULTS[locale]) == set(CATEGORIES)
    for kind, texts in DEFAULTS[locale].items():
        assert set(texts) == TEXT_KEYS, kind
        assert set(texts["follow_up"]) == set(CATEGORIES[kind]), kind
        assert set(texts["thank_you"]) == set(CATEGORIES[kind]), kind


@pytest.mark.parametrize("locale", LOCALES)
def test_no_blank_strings(locale):
    for path, text in all_default_strings(locale):
        assert isinstance(text, str) and text.strip(), path
        assert text == text.strip() and "  " not in text, path


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != "en"])
def test_translations_use_the_same_placeholders_as_english(locale):
    english = dict(all_default_strings("en"))
    for path, text in all_default_strings(locale):
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[path])), path


@pytest.mark.parametrize(
    ("locale", "informal"),
    [
        ("de", r"\b(du|dich|dir|dein\w*)\b"),
        ("fr", r"\b(tu|toi|ton|ta|tes)\b"),
        ("es", r"\b(tú|tu|tus|te|ti)\b"),
    ],
)
def test_translations_use_polite_address(locale, informal):
    for path, text in all_default_strings(locale):
        assert not re.search(informal, text, re.IGNORECASE), path


def test_english_defaults_match_the_spec():
    nps, csat, ces = (DEFAULTS["en"][kind] for kind in ("nps", "csat", "ces"))
    assert nps["question"] == "How likely are you to recommend {product} to a friend or colleague?"
    assert csat["question"] == "How satisfied are you with {product}?"
    assert ces["question"] == "How easy was it to get what you needed from {product}?"
    assert nps["follow_up"] == {
        "promoter": "What do you love most about {product}?",
        "passive": "What would make {product} a 10 for you?",
        "detractor": "We're sorry to hear that. What could we do better?",
    }
    assert (nps["low_label"], nps["high_label"]) == ("Not at all likely", "Extremely likely")
    assert (csat["low_label"], csat["high_label"]) == ("Very unsatisfied", "Very satisfied")
    assert (ces["low_label"], ces["high_label"]) == ("Very difficult", "Very easy")
    assert UI["en"]["email_footer_unsubscribe"] == "Don't want these emails? Unsubscribe"
    assert UI["en"]["referral_title"] == "Share {product} with a friend"


@pytest.mark.parametrize(
    ("locale", "word"), [("en", "share"), ("de", "teilen"), ("fr", "partager"), ("es", "compart")]
)
def test_promoter_thank_you_asks_to_share(locale, word):
    assert word in DEFAULTS[locale]["nps"]["thank_you"]["promoter"].lower()


@pytest.mark.parametrize("locale", LOCALES)
def test_score_label_names_score_and_maximum(locale):
    assert set(PLACEHOLDER.findall(UI[locale]["score_label"])) == {"score", "max"}


# --- pick_locale --------------------------------------------------------------------------


def test_first_supported_candidate_wins_over_browser():
    assert pick_locale("fr", "de", accept_language="es") == "fr"
    assert pick_locale(None, "", "it", "de", accept_language="es") == "de"


@pytest.mark.parametrize("tag", ["de-AT", "de_at", "DE", " de-CH "])
def test_only_the_language_part_counts(tag):
    assert pick_locale(tag) == "de"


def test_accept_language_honours_q_values():
    header = "it, fr;q=0.8, de;q=0.9, es;q=0.85"
    assert pick_locale(accept_language=header) == "de"


def test_accept_language_ties_keep_header_order():
    assert pick_locale(accept_language="es;q=0.5, fr;q=0.5") == "es"


def test_accept_language_region_tags():
    assert pick_locale("pt-BR", accept_language="pt-BR, fr-CA;q=0.7") == "fr"


@pytest.mark.parametrize(
    "header",
    [
        "de;q=0, fr;q=0.1",  # q=0 means "not acceptable"
        "de;q=abc, fr;q=0.1",  # malformed weight
        "de;q=2, fr;q=0.1",  # weight above 1
        "d€, fr;q=0.1",  # malformed tag
        "de;q=0.9;x=1, fr;q=0.1",  # extra parameter
        ";;, ,fr;q=0.1",  # empty parts
    ],
)
def test_accept_language_skips_unacceptable_and_malformed_parts(header):
    assert pick_locale(accept_language=header) == "fr"


@pytest.mark.parametrize("header", [None, "", "*", "it, pt;q=0.9", "garbage;;;"])
def test_default_locale_when_nothing_matches(header):
    assert pick_locale(None, "xx", accept_language=header) == "en"


# --- fill ---------------------------------------------------------------------------------


def test_fill_replaces_placeholders_with_str_values():
    assert (
        fill(
            "{first_name} rated {product} {score}",
            {"first_name": "Ann", "product": "Acme", "score": 0},
        )
        == "Ann rated Acme 0"
    )


def test_fill_accepts_attribute_names_with_hyphens():
    assert fill("Plan: {plan-name}", {"plan-name": "Pro"}) == "Plan: Pro"


def test_inline_fallback_used_only_when_value_missing_or_blank():
    template = "Hi {first_name|there}!"
    assert fill(template, {}) == "Hi there!"
    assert fill(template, {"first_name": "  "}) == "Hi there!"
    assert fill(template, {"first_name": None}) == "Hi there!"
    assert fill(template, {"first_name": "Ann"}) == "Hi Ann!"


def test_fallbacks_mapping_comes_after_inline_fallback():
    fallbacks = {"first_name": "friend", "company": "your team"}
    assert fill("Hi {first_name}", {}, fallbacks) == "Hi friend"
    assert fill("Hi {first_name|there}", {}, fallbacks) == "Hi there"
    assert fill("Hi {first_name}", {"first_name": "Ann"}, fallbacks) == "Hi Ann"
    assert fill("At {company}", {"company": ""}, fallbacks) == "At your team"


def test_values_are_stripped():
    assert fill("Hi {first_name}.", {"first_name": " Ann "}) == "Hi Ann."


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {first_name}, how are you?", "Hi, how are you?"),
        ("Thanks {first_name}!", "Thanks!"),
        ("Dear {title} {last_name},\nthank you", "Dear,\nthank you"),
        ("{first_name} welcome back", "welcome back"),
        ("Welcome back {first_name}", "Welcome back"),
        ("A {x} B {y} C", "A B C"),
        ("Hello ({nickname})", "Hello ()"),
        ("x{a}y", "xy"),
        ("¡Hola {first_name}!", "¡Hola!"),
        ("Merci {first_name}\u00a0!", "Merci\u00a0!"),  # French spacing is kept
        ("Hi  there {x}", "Hi  there"),  # only gaps are tidied, not the user's own text
    ],
)
def test_missing_values_leave_tidy_text(template, expected):
    assert fill(template, {}) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{0} and {1}",
        "{a.b}",
        "{__class__}",
        "{first_name.__class__.__mro__}",
        "{a[0]}",
        "{!r}",
        "{:>10}",
        "unbalanced { brace",
        "unbalanced } brace",
        "{{double}}",
        "{",
        "}{",
    ],
)
def test_fill_never_raises_or_evaluates(template):
    values = {"a": {"b": "EVALUATED"}, "0": "EVALUATED", "__class__": "EVALUATED"}
    result = fill(template, values)
    assert "EVALUATED" not in result
    assert "class '" not in result and "<" not in result


def test_double_braces_fill_the_inner_placeholder():
    assert fill("{{double}}", {"double": "x"}) == "{x}"


def test_fill_does_not_escape_html():
    assert fill("Hi {first_name}", {"first_name": "<b>Ann</b> & co"}) == "Hi <b>Ann</b> & co"


def test_builtin_intro_reads_well_without_a_name():
    intros = {locale: fill(UI[locale]["email_intro"], {}) for locale in LOCALES}
    assert intros["en"].startswith("Hi, we'd love")
    assert intros["de"].startswith("Guten Tag, Ihre")
    assert intros["fr"].startswith("Bonjour, votre")
    assert intros["es"].startswith("Hola, nos")


# --- survey_texts -------------------------------------------------------------------------


def test_survey_texts_defaults():
    assert survey_texts("csat", "fr", None) == DEFAULTS["fr"]["csat"]


def test_overrides_merge_per_key_and_per_category():
    overrides = {
        "en": {
            "question": "Would you recommend {product}?",
            "follow_up": {"detractor": "What went wrong?"},
            "thank_you": {"promoter": "Cheers!"},
        }
    }
    texts = survey_texts("nps", "en", overrides)
    assert texts["question"] == "Would you recommend {product}?"
    assert texts["follow_up"]["detractor"] == "What went wrong?"
    assert texts["follow_up"]["passive"] == DEFAULTS["en"]["nps"]["follow_up"]["passive"]
    assert texts["thank_you"]["promoter"] == "Cheers!"
    assert texts["low_label"] == DEFAULTS["en"]["nps"]["low_label"]


def test_overrides_of_another_locale_do_not_leak():
    overrides = {"en": {"question": "English only", "follow_up": {"detractor": "English only"}}}
    assert survey_texts("nps", "de", overrides) == DEFAULTS["de"]["nps"]


def test_locale_is_normalised_before_looking_up_overrides():
    texts = survey_texts("ces", "de-AT", {"de": {"high_label": "Kinderleicht"}})
    assert texts["high_label"] == "Kinderleicht"
    assert texts["question"] == DEFAULTS["de"]["ces"]["question"]
    assert survey_texts("ces", "it", None) == DEFAULTS["en"]["ces"]


@pytest.mark.parametrize(
    "bad",
    [
        {"en": {"question": ""}},
        {"en": {"question": "   "}},
        {"en": {"question": 42}},
        {"en": {"follow_up": "not a mapping"}},
        {"en": {"follow_up": {"promoter": "wrong kind"}}},
        {"en": {"follow_up": {"hard": None}}},
        {"en": {"colour": "unknown key"}},
        {"en": "not a mapping"},
    ],
)
def test_bad_overrides_are_ignored(bad):
    assert survey_texts("ces", "en", bad) == DEFAULTS["en"]["ces"]


def test_survey_texts_returns_a_copy():
    texts = survey_texts("nps", "en", None)
    texts["follow_up"]["detractor"] = "mutated"
    assert DEFAULTS["en"]["nps"]["follow_up"]["detractor"] != "mutated"


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="unknown survey kind"):
        survey_texts("nope", "en", None)


def test_pick_locale_asks_the_browser_before_the_fallback():
    assert pick_locale(None, accept_language="es", fallback="fr") == "es"
    assert pick_locale("de", accept_language="es", fallback="fr") == "de"
    assert pick_locale(None, accept_language="it", fallback="fr") == "fr"
    assert pick_locale(None, accept_language="it", fallback="it") == "en"


def test_fill_only_given_keeps_the_placeholders_it_has_no_value_for():
    template = "Hi {first_name|there}, how is {product}? {plan}"
    assert (
        fill(template, {"product": "Acme"}, only_given=True)
        == "Hi {first_name|there}, how is Acme? {plan}"
    )
    # A name given without a value still takes its inline fallback or disappears.
    assert fill("{product|our app} rocks", {"product": None}, only_given=True) == ("our app rocks")
