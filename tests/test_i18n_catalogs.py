"""The gettext catalogs: every string in the code translated in every locale, the
committed .mo files compiled from their .po, translations keeping their placeholders."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
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
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def po(locale):
    path = catalogs.DIRECTORY / locale / "LC_MESSAGES" / f"{catalogs.DOMAIN}.po"
    with open(path, "rb") as file:
        return read_po(file, locale=locale)


def entries(catalog) -> dict[tuple[str | None, str], object]:
    return {(message.context, message.id): message for message in catalog if message.id}


def test_each_locale_but_english_has_a_catalog():
    on_disk = {path.name for path in catalogs.DIRECTORY.iterdir() if path.is_dir()}
    assert on_disk == set(TRANSLATED)


def test_the_keyed_strings_are_extracted(extracted):
    keyed = {*messages.UI.items(), *messages.SURVEY.items()}
    assert keyed <= extracted


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_string_in_the_code_is_translated(locale, extracted):
    found = entries(po(locale))
    missing = extracted - set(found)
    assert not missing, f"not in {locale}.po (run `make messages`, then translate): {missing}"
    obsolete = set(found) - extracted
    assert not obsolete, f"in {locale}.po but no longer in the code: {obsolete}"
    for key, message in found.items():
        assert message.string and message.string.strip(), f"untranslated in {locale}: {key}"
        assert not message.fuzzy, f"fuzzy (a guess to check) in {locale}: {key}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_the_placeholders(locale):
    for (context, msgid), message in entries(po(locale)).items():
        english, translated = PLACEHOLDER.findall(msgid), PLACEHOLDER.findall(message.string)
        assert set(translated) == set(english), (locale, context, msgid)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_committed_mo_is_compiled_from_the_po(locale):
    path = catalogs.DIRECTORY / locale / "LC_MESSAGES" / f"{catalogs.DOMAIN}.mo"
    with open(path, "rb") as file:
        compiled = {key: message.string for key, message in entries(read_mo(file)).items()}
    source = {key: message.string for key, message in entries(po(locale)).items()}
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
