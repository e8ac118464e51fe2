"""Survey reports: numbers worked out by hand, buckets, periods, segments, and the API."""

import re
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest

from api.contacts.models import Contact
from api.extensions import db
from api.reports import service
from api.responses import service as responses
from api.surveys import invitations
from api.surveys.models import Survey
from tests.db import statements

_serial = count()

# 5 promoters, 3 passives, 2 detractors: the worked example used throughout.
TEN = [9, 10, 9, 10, 10, 7, 8, 8, 0, 6]


def make_survey(app, workspace_id, *, kind="nps", name="Onboarding", segments=()) -> str:
    with app.app_context():
        survey = Survey(
            workspace_id=workspace_id, name=name, kind=kind, segment_attributes=list(segments)
        )
        db.session.add(survey)
        db.session.commit()
        return survey.id


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def invite(app, survey_id, when: datetime, attributes: dict | None = None):
    """One new contact invited to the survey at `when`; returns the invitation."""
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        contact = Contact(
            workspace_id=survey.workspace_id,
            external_id=f"c-{next(_serial)}",
            attributes=attributes or {},
        )
        db.session.add(contact)
        db.session.flush()
        [(invitation, _)], skipped = invitations.invite(
            survey, [{"contact_id": contact.id}], "link", now=when
        )
        assert not skipped
        db.session.commit()
        return invitation


def answer(app, survey_id, when: datetime, scores, attributes: dict | None = None) -> list:
    """Each score from its own invited contact, submitted at `when`; returns the invitations."""
    made = []
    for score in scores:
        invitation = invite(app, survey_id, when, attributes)
        with app.app_context():
            responses.submit(invitation, score, now=when)
            db.session.commit()
        made.append(invitation)
    return made


def report(app, survey_id, start, end, interval="day", segment=None) -> dict:
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        return service.survey_report(
            survey,
            start=date.fromisoformat(start),
            end=date.fromisoformat(end),
            interval=interval,
            segment=segment,
        )


@pytest.fixture
def survey_id(app, tenant):
    return make_survey(app, tenant.id)


# --- the numbers --------------------------------------------------------------------------


def test_totals_distribution_and_shares(app, survey_id):
    answer(app, survey_id, at("2026-03-04"), TEN)
    result = report(app, survey_id, "2026-03-01", "2026-03-31")

    # NPS = 50% promoters - 20% detractors = 30. Adjusted Wald, by hand: n' = 13,
    # p' = 5.75/13 = .44231, d' = 2.75/13 = .21154, var = .65385 - .23077^2 = .60059,
    # margin = 196 * sqrt(.60059/13) = 42.13, centre 23.08, so 23.08 -/+ 42.13.
    assert result["totals"] == {"n": 10, "value": 30.0, "margin": 42.1, "low": -19.1, "high": 65.2}
    assert result["categories"] == [
        {"category": "promoter", "count": 5, "share": 0.5},
        {"category": "passive", "count": 3, "share": 0.3},
        {"category": "detractor", "count": 2, "share": 0.2},
    ]
    expected = {0: 1, 6: 1, 7: 1, 8: 2, 9: 2, 10: 3}
    assert result["distribution"] == [
        {"score": s, "count": expected.get(s, 0), "share": expected.get(s, 0) / 10}
        for s in range(11)
    ]
    assert (result["kind"], result["measure"], result["value_min"], result["value_max"]) == (
        "nps",
        "NPS",
        -100.0,
        100.0,
    )


def test_csat_is_percent_satisfied(app, tenant):
    survey_id = make_survey(app, tenant.id, kind="csat")
    answer(app, survey_id, at("2026-03-04"), [5, 4, 4, 5, 2])
    totals = report(app, survey_id, "2026-03-04", "2026-03-04")["totals"]
    # Agresti-Coull: n~ = 5 + 1.96^2 = 8.8416, p~ = (4 + 1.9208)/8.8416 = .66965,
    # margin = 196 * sqrt(.66965 * .33035 / 8.8416) = 31.00.
    assert totals == {"n": 5, "value": 80.0, "margin": 31.0, "low": 36.0, "high": 98.0}
    assert [
        row["score"] for row in report(app, survey_id, "2026-03-04", "2026-03-04")["distribution"]
    ] == [1, 2, 3, 4, 5]


def test_empty_period(app, survey_id):
    result = report(app, survey_id, "2026-03-01", "2026-03-03")
    assert result["totals"] == {"n": 0, "value": None, "margin": None, "low": None, "high": None}
    assert all(row["count"] == 0 and row["share"] == 0.0 for row in result["distribution"])
    assert [p["n"] for p in result["trend"]] == [0, 0, 0]
    assert result["response_rate"] == {"responses": 0, "invitations": 0, "rate": None}
    assert result["previous_period"]["change"] is None
    assert result["previous_period"]["significant"] is False


def test_changed_score_counts_once_under_the_new_score(app, survey_id):
    [invitation] = answer(app, survey_id, at("2026-03-04"), [3])
    with app.app_context():
        responses.submit(invitation, 10, now=at("2026-03-05"))
        db.session.commit()
    result = report(app, survey_id, "2026-03-01", "2026-03-31")
    assert result["totals"]["n"] == 1
    assert result["totals"]["value"] == 100.0
    counts = {row["score"]: row["count"] for row in result["distribution"]}
    assert counts[10] == 1 and counts[3] == 0
    # Counted on the day of the first answer, which is the response's day.
    assert [p["bucket"] for p in result["trend"] if p["n"]] == [date(2026, 3, 4)]
    assert result["queues"]["follow_up"]["open"] == 0
    assert result["queues"]["advocacy"]["open"] == 1


# --- trend buckets ------------------------------------------------------------------------


def test_daily_trend_has_every_day(app, survey_id):
    answer(app, survey_id, at("2026-03-02"), [10, 0])
    answer(app, survey_id, at("2026-03-04"), [9])
    trend = report(app, survey_id, "2026-03-01", "2026-03-04")["trend"]
    assert [(p["bucket"], p["n"], p["value"]) for p in trend] == [
        (date(2026, 3, 1), 0, None),
        (date(2026, 3, 2), 2, 0.0),
        (date(2026, 3, 3), 0, None),
        (date(2026, 3, 4), 1, 100.0),
    ]
    assert all(p["from"] == p["to"] == p["bucket"] for p in trend)


def test_weekly_buckets_start_on_monday(app, survey_id):
    # 2026-03-01 is a Sunday, 2026-03-02 the Monday after it.
    answer(app, survey_id, at("2026-02-25"), [10])  # Wednesday: week of Mon 02-23
    answer(app, survey_id, at("2026-03-01", 23), [10, 0])  # Sunday night: same week
    answer(app, survey_id, at("2026-03-02", 0), [0])  # Monday just after midnight: next week
    answer(app, survey_id, at("2026-03-10"), [8])
    trend = report(app, survey_id, "2026-02-25", "2026-03-18", interval="week")["trend"]
    assert [(p["bucket"], p["from"], p["to"], p["n"], p["value"]) for p in trend] == [
        # The label is the calendar week's Monday, even when the period starts mid-week.
        (date(2026, 2, 23), date(2026, 2, 25), date(2026, 3, 1), 3, 33.3),
        (date(2026, 3, 2), date(2026, 3, 2), date(2026, 3, 8), 1, -100.0),
        (date(2026, 3, 9), date(2026, 3, 9), date(2026, 3, 15), 1, 0.0),
        (date(2026, 3, 16), date(2026, 3, 16), date(2026, 3, 18), 0, None),
    ]


def test_monthly_buckets(app, survey_id):
    answer(app, survey_id, at("2026-01-31"), [10])
    answer(app, survey_id, at("2026-02-01"), [10, 0])
    answer(app, survey_id, at("2026-02-28"), [7])
    answer(app, survey_id, at("2026-03-01"), [0])
    trend = report(app, survey_id, "2026-01-15", "2026-03-01", interval="month")["trend"]
    assert [(p["bucket"], p["from"], p["to"], p["n"], p["value"]) for p in trend] == [
        (date(2026, 1, 1), date(2026, 1, 15), date(2026, 1, 31), 1, 100.0),
        (date(2026, 2, 1), date(2026, 2, 1), date(2026, 2, 28), 3, 0.0),
        (date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 1), 1, -100.0),
    ]


def test_bucket_helper_across_a_leap_february():
    assert service.buckets(date(2028, 2, 27), date(2028, 3, 1), "month") == [
        (date(2028, 2, 1), date(2028, 2, 27), date(2028, 2, 29)),
        (date(2028, 3, 1), date(2028, 3, 1), date(2028, 3, 1)),
    ]
    assert service.bucket_start(date(2028, 1, 2), "week") == date(2027, 12, 27)


# --- rate, comparison, segments, queues ---------------------------------------------------


def test_response_rate(app, survey_id):
    answer(app, survey_id, at("2026-03-04"), [9])
    for _ in range(3):
        invite(app, survey_id, at("2026-03-05"))
    invite(app, survey_id, at("2026-04-01"))  # outside the period
    rate = report(app, survey_id, "2026-03-01", "2026-03-31")["response_rate"]
    assert rate == {"responses": 1, "invitations": 4, "rate": 0.25}


def test_previous_period_of_equal_length(app, survey_id):
    answer(app, survey_id, at("2026-03-05"), [0] * 10)  # previous period: 03-01..03-10
    answer(app, survey_id, at("2026-03-12"), [10] * 10)  # this period: 03-11..03-20
    previous = report(app, survey_id, "2026-03-11", "2026-03-20")["previous_period"]
    # Both intervals by hand (adjusted Wald, n' = 13): all detractors -76.9 +/- 29.4 gives
    # -100..-47.5 (clipped); all promoters 47.5..100. They do not overlap: significant.
    assert previous == {
        "from": date(2026, 3, 1),
        "to": date(2026, 3, 10),
        "n": 10,
        "value": -100.0,
        "margin": 29.4,
        "low": -100.0,
        "high": -47.5,
        "change": 200.0,
        "significant": True,
        "direction": "up",
    }


def test_small_change_is_not_significant(app, survey_id):
    answer(app, survey_id, at("2026-03-05"), [10, 0, 8])
    answer(app, survey_id, at("2026-03-12"), [10, 10, 0])
    previous = report(app, survey_id, "2026-03-11", "2026-03-20")["previous_period"]
    assert previous["change"] == pytest.approx(33.3, abs=0.05)
    assert previous["significant"] is False


def test_segment_rows(app, tenant):
    survey_id = make_survey(app, tenant.id, segments=["plan"])
    answer(app, survey_id, at("2026-03-04"), [10, 10, 0], {"plan": "pro"})
    answer(app, survey_id, at("2026-03-05"), [0], {"plan": "free"})
    answer(app, survey_id, at("2026-03-05"), [8], {"region": "eu"})  # no plan
    segments = report(app, survey_id, "2026-03-01", "2026-03-31", segment="plan")["segments"]
    assert segments["attribute"] == "plan"
    assert segments["not_set"] == 1
    rows = {row["segment"]: row for row in segments["rows"]}
    assert [row["segment"] for row in segments["rows"]] == ["pro", "free"]  # largest first
    assert rows["pro"]["n"] == 3 and rows["pro"]["value"] == pytest.approx(33.3, abs=0.05)
    assert rows["pro"]["categories"] == {"promoter": 2, "passive": 0, "detractor": 1}
    assert rows["free"]["n"] == 1 and rows["free"]["value"] == -100.0
    assert report(app, survey_id, "2026-03-01", "2026-03-31")["segments"] is None


def test_segment_names_are_not_wildcards(app, tenant):
    survey_id = make_survey(app, tenant.id, segments=["p_an", "plan"])
    answer(app, survey_id, at("2026-03-04"), [10], {"plan": "pro"})
    segments = report(app, survey_id, "2026-03-01", "2026-03-31", segment="p_an")["segments"]
    assert segments["rows"] == [] and segments["not_set"] == 1


def test_undeclared_segment_is_422(app, tenant):
    survey_id = make_survey(app, tenant.id, segments=["plan"])
    response = tenant.get(f"/v1/surveys/{survey_id}/report?segment=region")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "segment_attributes" in error["message"]
    assert "segment" in error["fields"]


def test_queue_counts(app, survey_id):
    answer(app, survey_id, at("2026-03-04"), [0, 3, 10, 8])
    queues = report(app, survey_id, "2026-03-01", "2026-03-31")["queues"]
    assert queues == {
        "follow_up": {"open": 2, "claimed": 0, "done": 0, "dismissed": 0},
        "advocacy": {"open": 1, "claimed": 0, "done": 0, "dismissed": 0},
    }


def test_reads_only_rollups_never_responses(app, survey_id):
    answer(app, survey_id, at("2026-03-04"), TEN)
    with app.app_context(), statements(app) as sent:
        survey = db.session.get(Survey, survey_id)
        service.survey_report(
            survey, start=date(2026, 3, 1), end=date(2026, 3, 31), interval="week"
        )
    assert sent
    assert not [s for s in sent if re.search(r"\bresponses\b", s)]


# --- the API ------------------------------------------------------------------------------


def test_api_report(app, tenant, survey_id):
    answer(app, survey_id, at("2026-03-04"), TEN)
    response = tenant.get(
        f"/v1/surveys/{survey_id}/report?from=2026-03-01&to=2026-03-31&interval=week"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["from"] == "2026-03-01" and body["to"] == "2026-03-31"
    assert body["totals"]["value"] == 30.0 and body["totals"]["n"] == 10
    assert body["trend"][0] == {
        "bucket": "2026-02-23",
        "from": "2026-03-01",
        "to": "2026-03-01",
        "n": 0,
        "value": None,
        "margin": None,
        "low": None,
        "high": None,
    }
    assert body["trend"][1]["bucket"] == "2026-03-02" and body["trend"][1]["n"] == 10
    assert body["previous_period"]["from"] == "2026-01-29"
    assert body["previous_period"]["to"] == "2026-02-28"
    assert body["response_rate"] == {"responses": 10, "invitations": 10, "rate": 1.0}
    assert body["segments"] is None
    assert len(body["distribution"]) == 11


def test_api_defaults_to_the_last_30_days(tenant, survey_id):
    body = tenant.get(f"/v1/surveys/{survey_id}/report").get_json()
    today = datetime.now(UTC).date()
    assert body["to"] == today.isoformat()
    assert body["from"] == (today - timedelta(days=29)).isoformat()
    assert body["interval"] == "day" and len(body["trend"]) == 30
    only_from = tenant.get(f"/v1/surveys/{survey_id}/report?from={today.isoformat()}")
    assert only_from.get_json()["to"] == today.isoformat()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-10&to=2026-03-01", "from"),
        ("interval=year", "interval"),
        ("from=2026-02-30", "from"),
        ("to=yesterday", "to"),
        ("from=2020-01-01&to=2023-01-02", "from"),  # 1,098 days: over 3 years
    ],
)
def test_bad_params_are_422(tenant, survey_id, query, field):
    response = tenant.get(f"/v1/surveys/{survey_id}/report?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["error"]["fields"]


def test_three_years_is_allowed(tenant, survey_id):
    response = tenant.get(
        f"/v1/surveys/{survey_id}/report?from=2020-01-01&to=2022-12-31&interval=month"
    )
    assert response.status_code == 200
    assert len(response.get_json()["trend"]) == 36


def test_other_workspace_survey_is_404(app, make_tenant, survey_id):
    other = make_tenant("Other")
    assert other.get(f"/v1/surveys/{survey_id}/report").status_code == 404
    assert other.post(f"/v1/surveys/{survey_id}/report-links", json={}).status_code == 404
    assert other.get("/v1/surveys/srv_nope/report").status_code == 404


def test_report_needs_a_secret_key(client, tenant, survey_id):
    assert client.get(f"/v1/surveys/{survey_id}/report").status_code == 401
    publishable = {"Authorization": f"Bearer {tenant.publishable_key}"}
    assert client.get(f"/v1/surveys/{survey_id}/report", headers=publishable).status_code == 403


def test_report_link(app, tenant, survey_id):
    response = tenant.post(f"/v1/surveys/{survey_id}/report-links", json={})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    base = app.config["BASE_URL"]
    assert body["url"].startswith(f"{base}/reports/{survey_id}?token=")
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)

    no_body = tenant.post(f"/v1/surveys/{survey_id}/report-links")
    assert no_body.status_code == 201, no_body.get_data(as_text=True)
    longer = tenant.post(f"/v1/surveys/{survey_id}/report-links", json={"expires_in_days": 30})
    expires = datetime.fromisoformat(longer.get_json()["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    for bad in (0, 31, "soon"):
        refused = tenant.post(
            f"/v1/surveys/{survey_id}/report-links", json={"expires_in_days": bad}
        )
        assert refused.status_code == 422
        assert "expires_in_days" in refused.get_json()["error"]["fields"]


def test_openapi_documents_the_report(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/surveys/{survey_id}/report"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"from", "to", "interval", "segment"} <= names
    schema = spec["components"]["schemas"]["Report"]
    assert {"totals", "distribution", "trend", "response_rate", "previous_period"} <= set(
        schema["properties"]
    )
    assert "/v1/surveys/{survey_id}/report-links" in spec["paths"]
