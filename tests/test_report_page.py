"""The report page for people: signed links, secret keys, refusals, and what it shows."""

import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from api import signing
from api.database import utcnow
from api.i18n.catalogs import UI
from api.reports import charts, pages
from tests.factories import click as make_click
from tests.test_reports import TEN, answer, at, make_survey
from tests.test_retention import close_all, seed_history

PERIOD = "from=2026-03-01&to=2026-03-31"


def link_for(tenant, survey_id, **body) -> str:
    """The path and query of a fresh signed report link."""
    response = tenant.post(f"/v1/surveys/{survey_id}/report-links", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    url = urlsplit(response.get_json()["url"])
    return f"{url.path}?{url.query}"


def token_of(path: str) -> str:
    return path.split("token=", 1)[1]


def sign_in_app(app, payload, purpose=signing.REPORT_LINK) -> str:
    with app.test_request_context():
        return signing.sign(purpose, payload)


@pytest.fixture
def survey_id(app, tenant):
    survey_id = make_survey(app, tenant.id, name="Onboarding")
    answer(app, survey_id, at("2026-03-04"), TEN)
    return survey_id


def test_signed_link_shows_the_report(client, tenant, survey_id):
    page = client.get(f"{link_for(tenant, survey_id)}&{PERIOD}")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Onboarding" in html
    assert '<p class="headline">NPS 30</p>' in html
    assert "n = 10 responses" in html
    # The interval by its ends, never as 30 ± 42.1: adjusted Wald is not centred on 30.
    assert "95% interval -19.1 to 65.2" in html
    assert "±" not in html and "adjusted Wald" in html
    assert "100% (10 responses to 10 invitations sent in this period)" in html
    assert "No comparison" in html  # nothing in February
    # The five charts, inline: the trend with its band, the distribution, the queues,
    # the workspace's monthly churn and churn per category, each drawn for a desktop
    # card and for a phone.
    assert html.count('<div class="chart wide"><svg') == 5
    assert html.count('<div class="chart narrow"><svg') == 5
    assert html.count("<svg") == 10
    assert "<polygon" in html or 'stroke-width="6"' in html  # margin band or error bar
    assert 'class="bar"' in html
    assert "Follow-up open" in html and "Advocacy open" in html
    assert "<script" not in html


def test_page_headers(client, tenant, survey_id):
    page = client.get(link_for(tenant, survey_id))
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    nonce = re.search(r"style-src 'nonce-([^']+)'", csp).group(1)
    assert "default-src 'none'" in csp and "img-src 'self' data:" in csp
    assert "script-src" not in csp  # falls back to default-src 'none'
    assert f'<style nonce="{nonce}">' in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    other = client.get(link_for(tenant, survey_id))
    assert other.headers["Content-Security-Policy"] != csp  # a fresh nonce per response


def test_change_is_called_significant_or_not(app, client, tenant, survey_id):
    answer(app, survey_id, at("2026-02-10"), [0] * 10)  # February: all detractors
    html = client.get(f"{link_for(tenant, survey_id)}&{PERIOD}").get_data(as_text=True)
    assert "+130 against the previous period" in html
    assert "n = 10): significant" in html

    small = make_survey(app, tenant.id, name="Small")
    answer(app, small, at("2026-02-10"), [10, 0, 8])
    answer(app, small, at("2026-03-10"), [10, 10, 0])
    html = client.get(f"{link_for(tenant, small)}&{PERIOD}").get_data(as_text=True)
    assert "+33.3 against the previous period" in html
    assert "not significant" in html


def test_weekly_and_segment_views(app, client, tenant):
    survey_id = make_survey(app, tenant.id, segments=["plan"])
    answer(app, survey_id, at("2026-03-04"), [10, 0], {"plan": "pro"})
    path = link_for(tenant, survey_id)
    html = client.get(f"{path}&{PERIOD}&interval=week&segment=plan").get_data(as_text=True)
    assert "per week" in html
    assert "By plan" in html and "<td>pro</td>" in html
    bad = client.get(f"{path}&segment=region")
    assert bad.status_code == 422
    assert "segment_attributes" in bad.get_data(as_text=True)
    assert client.get(f"{path}&interval=year").status_code == 422
    assert client.get(f"{path}&from=2026-03-10&to=2026-03-01").status_code == 422


def test_no_or_forged_token_is_404(client, tenant, survey_id):
    path = link_for(tenant, survey_id)
    token = token_of(path)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    pages = [
        client.get(f"/reports/{survey_id}"),
        client.get(f"/reports/{survey_id}?token="),
        client.get(f"/reports/{survey_id}?token={flipped}"),
        client.get(f"/reports/{survey_id}?token=not-a-token"),
    ]
    texts = set()
    for page in pages:
        assert page.status_code == 404
        assert page.mimetype == "text/html"
        assert "Traceback" not in page.get_data(as_text=True)
        # Minus what differs per response anyway: the request id and the CSP nonce.
        text = re.sub(r"Reference: \w+", "", page.get_data(as_text=True))
        texts.add(re.sub(r'nonce="[^"]+"', "", text))
        assert page.headers["Cache-Control"] == "no-store"
    assert len(texts) == 1  # the same page whatever failed


def test_token_for_another_purpose_is_404(app, client, tenant, survey_id):
    payload = {"survey_id": survey_id, "workspace_id": tenant.id, "expires_at": 2**40}
    token = sign_in_app(app, payload, purpose=signing.SURVEY_LINK)
    assert client.get(f"/reports/{survey_id}?token={token}").status_code == 404
    genuine = sign_in_app(app, payload)
    assert client.get(f"/reports/{survey_id}?token={genuine}").status_code == 200


def test_token_for_survey_a_on_survey_b_is_404(app, client, tenant, survey_id, make_tenant):
    other_survey = make_survey(app, tenant.id, name="Other")
    token = token_of(link_for(tenant, survey_id))
    assert client.get(f"/reports/{other_survey}?token={token}").status_code == 404
    # Nor can a payload name a survey in one workspace and claim another's.
    stranger = make_tenant("Stranger")
    payload = {"survey_id": survey_id, "workspace_id": stranger.id, "expires_at": 2**40}
    forged_scope = sign_in_app(app, payload)
    assert client.get(f"/reports/{survey_id}?token={forged_scope}").status_code == 404


def test_expired_link_is_410(app, client, tenant, survey_id):
    payload = {"survey_id": survey_id, "workspace_id": tenant.id, "expires_at": int(time.time())}
    token = sign_in_app(app, payload)
    page = client.get(f"/reports/{survey_id}?token={token}")
    assert page.status_code == 410
    assert "expired" in page.get_data(as_text=True)


def test_link_older_than_the_configured_bound_is_410(app, client, tenant, survey_id, monkeypatch):
    payload = {"survey_id": survey_id, "workspace_id": tenant.id, "expires_at": 2**40}
    max_age = app.config["REPORT_LINK_MAX_AGE_DAYS"] * 86400
    real = time.time
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: real() - max_age - 60)
        token = sign_in_app(app, payload)
    assert client.get(f"/reports/{survey_id}?token={token}").status_code == 410


def test_link_expires_after_its_own_days(app, client, tenant, survey_id, monkeypatch):
    path = link_for(tenant, survey_id, expires_in_days=1)
    assert client.get(path).status_code == 200
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 86400 + 60)
    assert client.get(path).status_code == 410


def test_secret_key_opens_the_page(client, tenant, survey_id, make_tenant):
    page = tenant.get(f"/reports/{survey_id}?{PERIOD}")
    assert page.status_code == 200
    assert '<p class="headline">NPS 30</p>' in page.get_data(as_text=True)
    assert 'name="token"' not in page.get_data(as_text=True)
    stranger = make_tenant("Stranger")
    assert stranger.get(f"/reports/{survey_id}").status_code == 404
    publishable = {"Authorization": f"Bearer {tenant.publishable_key}"}
    assert client.get(f"/reports/{survey_id}", headers=publishable).status_code == 404


def test_survey_name_is_escaped(app, client, tenant):
    survey_id = make_survey(app, tenant.id, name="<script>alert(1)</script>")
    answer(app, survey_id, at("2026-03-04"), [10, 0])
    html = client.get(f"{link_for(tenant, survey_id)}&{PERIOD}").get_data(as_text=True)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_empty_report_page(app, client, tenant):
    survey_id = make_survey(app, tenant.id, kind="ces", name="Support")
    page = client.get(f"{link_for(tenant, survey_id)}&{PERIOD}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "CES: no responses in this period" in html
    assert "no invitations were sent in this period" in html
    assert charts.NO_DATA in html


# --- the referral funnel --------------------------------------------------------------------


def funnel_section(html: str) -> str | None:
    found = re.search(
        r'<section class="card" aria-labelledby="funnel-heading">.*?</section>', html, re.S
    )
    return found.group(0) if found else None


def enable_program(tenant, enabled=True):
    response = tenant.put(
        "/v1/referral-program",
        json={"enabled": enabled, "landing_url": "https://shop.example.com/"},
    )
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def referrals(app, client, tenant):
    """Ann: 3 clicks, 2 sign-ups, 1 purchase; Bo: 1 click; and a click of Bo's 40 days ago."""
    enable_program(tenant)
    codes = {
        name: tenant.post(
            "/v1/referral-codes", json={"contact": {"external_id": name, "attributes": {}}}
        ).get_json()
        for name in ("ann", "bo")
    }

    def click(name):
        location = client.get(f"/r/{codes[name]['code']}").headers["Location"]
        return parse_qs(urlsplit(location).query)["ffclick"][0]

    first, second, _third, _bo = click("ann"), click("ann"), click("ann"), click("bo")
    signed_up = [
        tenant.post("/v1/referrals", json={"click_id": token, "customer": {"external_id": friend}})
        for friend, token in (("friend-1", first), ("friend-2", second))
    ]
    assert [response.status_code for response in signed_up] == [201, 201]
    bought = tenant.post(
        f"/v1/referrals/{signed_up[0].get_json()['id']}/conversions",
        json={"order_id": "o-1", "amount": "30.00", "currency": "EUR"},
    )
    assert bought.status_code < 300, bought.get_json()
    make_click(app, codes["bo"]["code"], utcnow() - timedelta(days=40))  # outside the 30 days
    return codes


def test_funnel_section_shows_the_programs_numbers(client, tenant, survey_id, referrals):
    html = client.get(f"{link_for(tenant, survey_id)}&{PERIOD}").get_data(as_text=True)
    section = funnel_section(html)
    assert section is not None
    assert '<h2 id="funnel-heading">Referral program, last 30 days</h2>' in section
    assert html.count("<svg") == 12 and section.count("<svg") == 2  # wide and narrow
    assert 'role="img"' in section and "</title>" in section and "</desc>" in section
    assert "Advocates: 2; Clicks: 4; Sign-ups: 2; Conversions: 1." in section
    rows = re.findall(
        r'<tr><td>([^<]+)</td><td class="num">(\d+)</td><td class="num">([^<]*)</td></tr>', section
    )
    assert rows == [
        ("Advocates", "2", ""),
        ("Clicks", "4", "200%"),
        ("Sign-ups", "2", "50%"),
        ("Conversions", "1", "50%"),
    ]
    assert "Viral coefficient: 0.50 new customers per advocate" in section
    assert "<script" not in html


def test_funnel_of_an_empty_program(client, tenant, survey_id):
    enable_program(tenant)
    section = funnel_section(client.get(link_for(tenant, survey_id)).get_data(as_text=True))
    assert "Advocates: 0; Clicks: 0; Sign-ups: 0; Conversions: 0." in section
    assert section.count("\u2013") == 3  # no step before has anyone to divide by
    assert "Viral coefficient: 0.00 new customers" in section


def test_no_funnel_without_a_program(client, tenant, survey_id, make_tenant):
    path = link_for(tenant, survey_id)
    html = client.get(path).get_data(as_text=True)
    assert funnel_section(html) is None and "Referral program" not in html
    assert html.count("<svg") == 10
    enable_program(tenant, enabled=False)  # saved, but switched off
    assert funnel_section(client.get(path).get_data(as_text=True)) is None
    # Another workspace's program shows nothing here either.
    enable_program(make_tenant("Other"))
    assert funnel_section(client.get(path).get_data(as_text=True)) is None


def test_funnel_escapes_markup_in_names(app, client, tenant, referrals, monkeypatch):
    survey_id = make_survey(app, tenant.id, name="<script>alert(1)</script>")
    monkeypatch.setitem(UI["en"], "funnel_clicks", "<b>Clicks</b>")
    html = client.get(link_for(tenant, survey_id)).get_data(as_text=True)
    section = funnel_section(html)
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert section.count("&lt;b&gt;Clicks&lt;/b&gt;") >= 3  # table, bar label, description


def test_funnel_speaks_each_locale(app, tenant, referrals):
    with app.app_context():
        german = pages._funnel_view(tenant.id, "de")
        french = pages._funnel_view(tenant.id, "fr")
    assert german["heading"] == "Empfehlungsprogramm, letzte 30 Tage"
    assert [step["rate"] for step in german["steps"]] == [
        "",
        "200\u00a0%",
        "50\u00a0%",
        "50\u00a0%",
    ]
    assert german["viral_text"] == "Viraler Koeffizient: 0,50 Neukunden pro Botschafter"
    assert french["columns"]["step"] == "Étape"
    assert french["viral_text"].startswith("Coefficient viral\u00a0: 0,50 ")


def retention_section(html: str) -> str:
    match = re.search(
        r'<section class="card" aria-labelledby="retention-heading">.*?</section>', html, re.S
    )
    assert match, "no retention section"
    return match.group(0)


def test_retention_section_shows_the_workspaces_months_and_this_surveys_churn(app, client, tenant):
    survey_id = seed_history(app, tenant.id)
    close_all(app)
    html = client.get(f"{link_for(tenant, survey_id)}&from=2025-06-01&to=2025-06-30").get_data(
        as_text=True
    )
    section = retention_section(html)
    assert "Jul 2024 to Jun 2025 (UTC)" in section  # months as the reader's locale writes them
    # 3 churns over 11 customer-months (tests/test_retention.py works them out).
    assert '<p class="headline">Monthly churn 27.3%</p>' in section
    assert "Customers now: 2" in section
    months = re.findall(
        r'<tr><td>(\d{4}-\d{2})[^<]*</td><td class="num">(\d+)</td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td><td class="num">(\d+)</td>',
        section,
    )
    assert months[-6:] == [
        ("2025-01", "1", "2", "1", "1"),
        ("2025-02", "2", "2", "1", "0"),
        ("2025-03", "3", "0", "1", "1"),
        ("2025-04", "2", "0", "1", "1"),
        ("2025-05", "1", "1", "0", "0"),
        ("2025-06", "2", "0", "0", "0"),
    ]
    categories = re.findall(
        r'<tr><td>(Promoter|Passive|Detractor)</td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td>\s*<td class="num">([^<]+)</td>',
        section,
    )
    assert categories == [
        ("Promoter", "3", "1", "33.3%"),
        ("Passive", "2", "1", "50%"),
        ("Detractor", "3", "2", "66.7%"),
    ]
    assert "Detractor: 66.7%, 95% interval" in section  # the chart says it in words too
    cohort = re.search(r'<th scope="row">2025-01</th><td class="num">2</td>(.*?)</tr>', section)
    assert re.findall(r">([^<]+)</td>", cohort.group(1)) == [
        "100%", "100%", "100%", "50%", "50%", "50%"
    ]  # fmt: skip


def test_retention_section_without_customers(client, tenant, survey_id):
    section = retention_section(client.get(link_for(tenant, survey_id)).get_data(as_text=True))
    assert "Monthly churn: no customers in these months yet" in section
    assert section.count("No data yet</text>") == 4  # both charts, wide and narrow


def test_recovery_is_told_in_words():
    found = {
        "scheduled": 4,
        "waiting": 0,
        "cancelled": 0,
        "sent": 4,
        "answered": 3,
        "recovered": 2,
        "rate": {"value": 2 / 3, "low": 0.2024, "high": 0.9437},
        "median_days_to_recover": 22.5,
    }
    assert pages._recovery_text(found, "nps") == [
        "4 asked again after their follow-up: 4 sent, 0 not yet due, 0 cancelled; "
        "3 answered since.",
        "Recovered (passive or promoter at their next answer): 2 of 3, 66.7%; "
        "95% interval 20.2% to 94.4%.",
        "Median time to recover: 22.5 days from the unhappy answer.",
    ]
    nobody = found | {"scheduled": 0}
    assert pages._recovery_text(nobody, "nps") == [
        "No follow-up item of this survey scheduled a re-survey in these months."
    ]


# --- languages --------------------------------------------------------------------------------

# Headings each locale must translate: none of these English words may be left on its page.
ENGLISH_HEADINGS = ("Score distribution", "Queue items now", "Another period", "Detractor recovery")


@pytest.mark.parametrize(
    ("locale", "distribution", "interval", "period"),
    [
        ("de", "Verteilung der Bewertungen", "95\u00a0%-Intervall -19,1 bis 65,2", "01.03.2026"),
        ("fr", "Répartition des notes", "intervalle à 95\u00a0% de -19,1 à 65,2", "1 mars 2026"),
        (
            "es",
            "Distribución de las puntuaciones",
            "intervalo del 95\u00a0% de -19,1 a 65,2",
            "1 mar 2026",
        ),
    ],
)
def test_the_page_speaks_the_browsers_language(
    client, tenant, survey_id, locale, distribution, interval, period
):
    page = client.get(
        f"{link_for(tenant, survey_id)}&{PERIOD}",
        headers={"Accept-Language": f"{locale}, en;q=0.5"},
    )
    html = page.get_data(as_text=True)
    assert f'<html lang="{locale}">' in html
    assert distribution in html
    assert interval in html  # the locale's decimal mark and percent sign
    assert period in html  # and its way of writing a date
    assert not [heading for heading in ENGLISH_HEADINGS if heading in html]


def test_the_locale_parameter_beats_the_browser_and_is_kept_by_the_form(client, tenant, survey_id):
    page = client.get(
        f"{link_for(tenant, survey_id)}&{PERIOD}&locale=fr", headers={"Accept-Language": "de"}
    )
    html = page.get_data(as_text=True)
    assert '<html lang="fr">' in html and "Répartition des notes" in html
    assert '<input type="hidden" name="locale" value="fr">' in html
    english = client.get(f"{link_for(tenant, survey_id)}&locale=it").get_data(as_text=True)
    assert '<html lang="en">' in english and "Score distribution" in english


def test_a_refusal_speaks_the_readers_language(client, survey_id):
    page = client.get(f"/reports/{survey_id}?token=nope", headers={"Accept-Language": "de"})
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert "Diesen Bericht gibt es nicht" in html and '<html lang="de">' in html
