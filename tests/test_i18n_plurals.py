"""Built-in strings with a count in them take the count's plural form from the catalogs:
one and other in English and German, and in French (where 0 and 1 are singular) and
Spanish also "many", for a million and its multiples ("1 000 000 de réponses").

Each through what its reader gets: the report page, its charts and sentences, and the
hosted survey page."""

from html import unescape

import pytest

from api.extensions import db
from api.i18n import formatting
from api.referrals import stats as referral_stats
from api.reports import charts, pages, score_churn
from api.responses import service as responses
from tests.test_report_page import enable_program, link_for
from tests.test_reports import answer, at, invite, make_survey
from tests.test_survey_page import SAME_ORIGIN, make_case

ONE_DAY = "from=2026-03-04&to=2026-03-04"
TWO_DAYS = "from=2026-03-04&to=2026-03-05"


def report_page(client, tenant, survey_id: str, period: str, locale: str) -> str:
    page = client.get(f"{link_for(tenant, survey_id)}&{period}&locale={locale}")
    assert page.status_code == 200
    return unescape(page.get_data(as_text=True))


@pytest.fixture
def one_and_two(app, tenant) -> tuple[str, str]:
    """A survey with one response on 4 March, and one with two."""
    one = make_survey(app, tenant.id, name="One")
    answer(app, one, at("2026-03-04"), [10])
    two = make_survey(app, tenant.id, name="Two")
    answer(app, two, at("2026-03-04"), [10, 10])
    return one, two


@pytest.mark.parametrize(
    ("locale", "singular", "plural"),
    [
        (
            "en",
            ["n = 1 response", "100% (1 response to 1 invitation sent in this period)"],
            ["n = 2 responses", "100% (2 responses to 2 invitations sent in this period)"],
        ),
        (
            "fr",
            [
                "n = 1 réponse",
                "100\u00a0% (1 réponse pour 1 invitation envoyée sur cette période)",
            ],
            [
                "n = 2 réponses",
                "100\u00a0% (2 réponses pour 2 invitations envoyées sur cette période)",
            ],
        ),
        (
            "de",
            [
                "n = 1 Antwort",
                "100\u00a0% (1 Antwort auf 1 in diesem Zeitraum gesendete Einladung)",
            ],
            [
                "n = 2 Antworten",
                "100\u00a0% (2 Antworten auf 2 in diesem Zeitraum gesendete Einladungen)",
            ],
        ),
    ],
)
def test_the_reports_response_counts(client, tenant, one_and_two, locale, singular, plural):
    one, two = (report_page(client, tenant, survey, ONE_DAY, locale) for survey in one_and_two)
    for text in singular:
        assert text in one and text not in two
    for text in plural:
        assert text in two and text not in one


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        ("en", "1 response; no invitations", "2 responses; no invitations"),
        ("fr", "1 réponse\u00a0; aucune invitation", "2 réponses\u00a0; aucune invitation"),
        ("es", "1 respuesta; no se enviaron", "2 respuestas; no se enviaron"),
    ],
)
def test_responses_without_invitations_in_the_period(app, client, tenant, locale, one, two):
    """Invited in February, answered in March: March has responses and no invitations."""
    shown = []
    for count in (1, 2):
        survey_id = make_survey(app, tenant.id)
        for _ in range(count):
            invitation = invite(app, survey_id, at("2026-02-20"))
            with app.app_context():
                responses.submit(invitation, 9, now=at("2026-03-04"))
                db.session.commit()
        shown.append(report_page(client, tenant, survey_id, ONE_DAY, locale))
    assert one in shown[0] and two in shown[1]


@pytest.mark.parametrize(
    ("locale", "texts"),
    [
        (
            "en",
            {
                "periods": ("1 period from 2026-03-04", "2 periods from 2026-03-04"),
                "tooltip": ("10: 1 response (100%)", "10: 2 responses (100%)"),
                "description": ("1 response: promoter 1", "2 responses: promoter 2"),
            },
        ),
        (
            "fr",
            {
                "periods": ("1 période du 2026-03-04", "2 périodes du 2026-03-04"),
                "tooltip": (
                    "10\u00a0: 1 réponse (100\u00a0%)",
                    "10\u00a0: 2 réponses (100\u00a0%)",
                ),
                "description": ("1 réponse\u00a0: promoteurs 1", "2 réponses\u00a0: promoteurs 2"),
            },
        ),
    ],
)
def test_the_charts_counts(client, tenant, one_and_two, locale, texts):
    """The trend's periods (1 day against 2) and the distribution's responses."""
    one_html = report_page(client, tenant, one_and_two[0], ONE_DAY, locale)
    two_html = report_page(client, tenant, one_and_two[1], TWO_DAYS, locale)
    for singular, plural in texts.values():
        assert singular in one_html and plural not in one_html
        assert plural in two_html and singular not in two_html


def test_french_zero_is_singular(client, tenant, one_and_two):
    """A score nobody gave: "0 responses" in English, "0 réponse" in French."""
    english = report_page(client, tenant, one_and_two[0], ONE_DAY, "en")
    french = report_page(client, tenant, one_and_two[0], ONE_DAY, "fr")
    assert "9: 0 responses (0%)" in english
    assert "9\u00a0: 0 réponse (0\u00a0%)" in french


@pytest.mark.parametrize(
    ("locale", "one", "many"),
    [
        (
            "en",
            [
                "Churn within 1 day of a response",
                "left within 1 day of answering",
                "once 1 day has passed",
            ],
            [
                "Churn within 90 days of a response",
                "left within 90 days of answering",
                "once 90 days have passed",
            ],
        ),
        (
            "de",
            ["innerhalb von 1 Tag nach einer Antwort", "sobald 1 Tag vergangen ist"],
            ["innerhalb von 90 Tagen nach einer Antwort", "sobald 90 Tage vergangen sind"],
        ),
        (
            "fr",
            ["dans un délai de 1 jour après une réponse", "une fois 1 jour écoulé ("],
            ["dans les 90 jours suivant une réponse", "une fois 90 jours écoulés ("],
        ),
    ],
)
def test_the_churn_window(client, tenant, one_and_two, monkeypatch, locale, one, many):
    plural = report_page(client, tenant, one_and_two[0], ONE_DAY, locale)
    monkeypatch.setattr(score_churn, "WINDOW_DAYS", 1)
    singular = report_page(client, tenant, one_and_two[0], ONE_DAY, locale)
    for text in one:
        assert text in singular and text not in plural
    for text in many:
        assert text in plural and text not in singular


@pytest.mark.parametrize(
    ("locale", "one", "thirty"),
    [
        ("en", "Referral program, last 1 day", "Referral program, last 30 days"),
        (
            "fr",
            "Programme de parrainage, 1 dernier jour",
            "Programme de parrainage, 30 derniers jours",
        ),
        (
            "es",
            "Programa de recomendación, último 1 día",
            "Programa de recomendación, últimos 30 días",
        ),
    ],
)
def test_the_funnels_period(client, tenant, one_and_two, monkeypatch, locale, one, thirty):
    enable_program(tenant)
    assert thirty in report_page(client, tenant, one_and_two[0], ONE_DAY, locale)
    monkeypatch.setitem(referral_stats.PERIODS, "1d", 1)
    monkeypatch.setattr(pages, "FUNNEL_PERIOD", "1d")
    assert one in report_page(client, tenant, one_and_two[0], ONE_DAY, locale)


RECOVERY = {
    "waiting": 0,
    "cancelled": 0,
    "recovered": 1,
    "rate": {"value": 1.0, "low": 0.2, "high": 1.0},
}


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        (
            "en",
            "1 asked again after their follow-up: 1 sent, 0 not yet due, 0 cancelled; "
            "1 answered since.",
            "2 asked again after their follow-up: 2 sent, 0 not yet due, 0 cancelled; "
            "2 answered since.",
        ),
        (
            "fr",
            "1 interrogé à nouveau après son suivi\u00a0: 1 envoyée, 0 pas encore due, "
            "0 annulée\u00a0; 1 a répondu depuis.",
            "2 interrogés à nouveau après leur suivi\u00a0: 2 envoyées, 0 pas encore due, "
            "0 annulée\u00a0; 2 ont répondu depuis.",
        ),
        (
            "es",
            "1 consultado de nuevo tras su seguimiento: 1 enviada, 0 aún pendientes, "
            "0 canceladas; 1 ha respondido desde entonces.",
            "2 consultados de nuevo tras su seguimiento: 2 enviadas, 0 aún pendientes, "
            "0 canceladas; 2 han respondido desde entonces.",
        ),
    ],
)
def test_the_recovery_counts(locale, one, two):
    """Each count of the sentence agrees on its own (Spanish 0 is plural, French 0 not)."""
    for n, expected in ((1, one), (2, two)):
        found = RECOVERY | {"scheduled": n, "sent": n, "answered": n}
        found["median_days_to_recover"] = None
        assert pages._recovery_text(found, "nps", locale)[0] == expected


@pytest.mark.parametrize(
    ("locale", "days", "expected"),
    [
        ("en", 1, "Median time to recover: 1 day from the unhappy answer."),
        ("en", 1.5, "Median time to recover: 1.5 days from the unhappy answer."),
        ("en", 2, "Median time to recover: 2 days from the unhappy answer."),
        ("fr", 1, "Délai médian de récupération\u00a0: 1 jour après la réponse mécontente."),
        ("fr", 1.5, "Délai médian de récupération\u00a0: 1,5 jour après la réponse mécontente."),
        ("fr", 2, "Délai médian de récupération\u00a0: 2 jours après la réponse mécontente."),
        ("de", 1, "Mittlere Zeit bis zur Rückgewinnung: 1 Tag nach der unzufriedenen Antwort."),
        (
            "de",
            1.5,
            "Mittlere Zeit bis zur Rückgewinnung: 1,5 Tage nach der unzufriedenen Antwort.",
        ),
    ],
)
def test_the_median_days_to_recover(locale, days, expected):
    found = RECOVERY | {"scheduled": 1, "sent": 1, "answered": 1, "median_days_to_recover": days}
    assert pages._recovery_text(found, "nps", locale)[-1] == expected


def test_a_million_takes_the_many_form_in_french_and_spanish():
    """CLDR's third form: "1 000 000 de réponses", against "2 réponses"."""
    points = [charts.TrendPoint(label=str(i), value=50.0, low=None, high=None, n=1) for i in (1, 2)]
    million = {10: 1_000_000}
    french = charts.distribution_svg(million, kind="nps", title="t", width=charts.WIDE, locale="fr")
    spanish = charts.distribution_svg(
        million, kind="nps", title="t", width=charts.WIDE, locale="es"
    )
    english = charts.distribution_svg(
        million, kind="nps", title="t", width=charts.WIDE, locale="en"
    )
    assert "1\u202f000\u202f000 de réponses\u00a0:" in french
    assert "1.000.000 de respuestas:" in spanish
    assert "1,000,000 responses:" in english
    assert formatting.plural_count(1_000_000, "fr") == 1_000_000
    assert "2 périodes du 1 au 2." in charts.trend_svg(
        points, y_min=0, y_max=100, title="t", measure="NPS", width=charts.WIDE, locale="fr"
    )


@pytest.mark.parametrize(
    ("locale", "one", "many"),
    [
        ("en", "at most 1 character, please", "at most 5000 characters, please"),
        ("fr", "1 caractère au maximum", "5000 caractères au maximum"),
        ("es", "1 carácter como máximo", "5000 caracteres como máximo"),
    ],
)
def test_the_hosted_pages_comment_limit(app, client, monkeypatch, locale, one, many):
    shown = []
    for limit in (5000, 1):
        monkeypatch.setattr(responses, "MAX_COMMENT", limit)
        case = make_case(app, contact={"locale": locale})
        client.post(case.url, data={"score": "6"}, headers=SAME_ORIGIN)
        page = client.post(
            f"{case.url}/comment", data={"comment": "x" * (limit + 1)}, headers=SAME_ORIGIN
        )
        assert page.status_code == 422
        shown.append(page.get_data(as_text=True))
    assert many in shown[0] and one in shown[1]
