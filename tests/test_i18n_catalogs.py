"""The gettext catalogs: every string in the code translated in every locale (each plural
form of the locale's), the committed .mo files compiled from their .po, translations
keeping their placeholders."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from api.i18n import catalogs, messages

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [locale for locale in catalogs.LOCALES if locale != catalogs.DEFAULT_LOCALE]
PLACEHOLDER = re.compile(r"\{([^{}|]+)(?:\|[^{}]*)?\}")


@pytest.fixture(scope="module")
def extracted() -> set[tuple[str | None, str]]:
    """(context, msgid) of every string `make messages` would extract, read as it does."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _, _, message, _, context in extract_from_dir(ROOT, method_map, options_map):
        found.add((context, singular(message)))
    return found


def po(locale):
    path = catalogs.DIRECTORY / locale / "LC_MESSAGES" / f"{catalogs.DOMAIN}.po"
    with open(path, "rb") as file:
        return read_po(file, locale=locale)


def entries(catalog) -> dict[tuple[str | None, str], object]:
    """Messages by (context, msgid); a plural one by its singular msgid."""
    return {(message.context, singular(message.id)): message for message in catalog if message.id}


def singular(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def forms(string: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A translation's forms: one for a plain message, one per plural form otherwise."""
    return (string,) if isinstance(string, str) else tuple(string)


def test_each_locale_but_english_has_a_catalog():
    on_disk = {path.name for path in catalogs.DIRECTORY.iterdir() if path.is_dir()}
    assert on_disk == set(TRANSLATED)


def test_the_keyed_strings_are_extracted(extracted):
    keyed = {*messages.UI.items(), *messages.SURVEY.items()}
    counted = {(key, forms[0]) for key, forms in messages.UI_COUNTED.items()}
    assert keyed | counted <= extracted


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_catalog_declares_the_locales_plural_forms(locale):
    """The Plural-Forms header is Babel's (CLDR's) for the locale: French and Spanish
    have a third form, for a million and its multiples ("1 000 000 de réponses")."""
    catalog = po(locale)
    assert catalog.plural_forms == get_plural(locale).plural_forms
    plural = [message for message in catalog if isinstance(message.id, tuple)]
    assert plural, "no plural entries"
    for message in plural:
        assert len(forms(message.string)) == catalog.num_plurals, (locale, message.id)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_string_in_the_code_is_translated(locale, extracted):
    found = entries(po(locale))
    missing = extracted - set(found)
    assert not missing, f"not in {locale}.po (run `make messages`, then translate): {missing}"
    obsolete = set(found) - extracted
    assert not obsolete, f"in {locale}.po but no longer in the code: {obsolete}"
    for key, message in found.items():
        translated = forms(message.string)
        assert all(form.strip() for form in translated), f"untranslated in {locale}: {key}"
        assert not message.fuzzy, f"fuzzy (a guess to check) in {locale}: {key}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_the_placeholders(locale):
    for (context, msgid), message in entries(po(locale)).items():
        english = {name for text in forms(message.id) for name in PLACEHOLDER.findall(text)}
        for form in forms(message.string):
            assert set(PLACEHOLDER.findall(form)) == english, (locale, context, msgid, form)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_committed_mo_is_compiled_from_the_po(locale):
    path = catalogs.DIRECTORY / locale / "LC_MESSAGES" / f"{catalogs.DOMAIN}.mo"
    with open(path, "rb") as file:
        compiled = {key: forms(message.string) for key, message in entries(read_mo(file)).items()}
    source = {key: forms(message.string) for key, message in entries(po(locale)).items()}
    assert compiled == source, "run `make messages` and commit the .mo files"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_catalogs_are_what_the_app_reads(locale):
    assert catalogs.UI[locale]["submit"] != messages.UI["submit"]
    assert (
        catalogs.translations(locale).pgettext("submit", "Submit") == catalogs.UI[locale]["submit"]
    )


def test_english_is_the_source_text():
    assert catalogs.UI["en"] == messages.UI
    assert catalogs.survey_strings("en") == messages.SURVEY


def test_an_unsupported_locale_has_no_catalog():
    with pytest.raises(ValueError, match="unsupported locale"):
        catalogs.translations("it")
