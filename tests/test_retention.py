"""The retention report on a seeded history whose answers are worked out by hand here.

Six contacts, January to June 2025 (every date below is UTC):

    E  customer 2024-12-15, churned 2025-01-31
    A  onboarding 2025-01-10, customer 2025-02-15, churned 2025-04-20
    B  onboarding 2025-01-20, customer 2025-03-01 (stays)
    C  trial 2025-01-05, customer 2025-02-10, churned 2025-02-25
    D  customer 2025-02-01, churned 2025-03-15, customer again 2025-05-01
    F  lead 2025-01-03 (never a customer)

Customers when January began: E (1).
    Jan  start 1; joined A, B (2); left E (1), one of the starting ones: churned 1
         retained 0; end 1 + 2 - 1 = 2 (A, B)
    Feb  start 2 (A, B); joined C, D (2); left C (1), who joined in February: churned 0
         retained 2; end 2 + 2 - 1 = 3 (A, B, D). A onboarding -> customer is no flow.
    Mar  start 3; left D: churned 1; retained 2; end 2 (A, B)
    Apr  start 2; left A: churned 1; retained 1; end 1 (B)
    May  start 1; joined D (back): end 2; churned 0
    Jun  start 2; nothing; end 2
Average monthly churn: (1 + 0 + 1 + 1 + 0 + 0) churns over (1 + 2 + 3 + 2 + 1 + 2)
customer-months = 3 / 11.

Cohorts (the month a contact first became a customer): January A, B (size 2),
customers at the end of Jan..Jun 2, 2, 2, 1 (A left in April), 1, 1. February C, D
(size 2): 1 (C left in February), 0 (D left in March), 0, 1 (D back in May), 1.
March to June: nobody.

NPS responses, and whether the customer left within 90 days of answering:
    A  9 on 2025-01-05   not yet a customer (joined 01-10): not counted
    A  7 on 2025-01-15   passive; left 04-20, 95 days later: not within 90
    A  3 on 2025-03-01   detractor; left 04-20, 50 days later: churned
    B  10 on 2025-02-01  promoter; never left
    B  6 on 2025-03-10   detractor; never left
    B  9 on 2025-05-01   promoter; never left
    C  9 on 2025-02-12   promoter; left 02-25: churned
    D  8 on 2025-02-20   passive; left 03-15: churned
    D  2 on 2025-03-20   had left on 03-15: not counted
    E  5 on 2025-01-02   detractor; left 01-31: churned
    F  10 on 2025-02-02  a lead: not counted
So promoters 1 of 3 churned, passives 1 of 2, detractors 2 of 3.
"""

import math
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from api import lifecycle
from api.contacts import service as contacts
from api.contacts import stages
from api.database import utcnow
from api.extensions import db
from api.reports import demo_history, retention, score_churn
from api.responses import service as responses
from api.surveys.invitations import invite
from api.surveys.models import Invitation
from api.worker import periodic
from api.worker.loop import Worker
from tests.factories import make_survey

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)

HISTORY = {
    "E": [("2024-12-15", "customer"), ("2025-01-31", "churned")],
    "A": [("2025-01-10", "onboarding"), ("2025-02-15", "customer"), ("2025-04-20", "churned")],
    "B": [("2025-01-20", "onboarding"), ("2025-03-01", "customer")],
    "C": [("2025-01-05", "trial"), ("2025-02-10", "customer"), ("2025-02-25", "churned")],
    "D": [("2025-02-01", "customer"), ("2025-03-15", "churned"), ("2025-05-01", "customer")],
    "F": [("2025-01-03", "lead")],
}
SCORES = [
    ("A", "2025-01-05", 9),
    ("A", "2025-01-15", 7),
    ("A", "2025-03-01", 3),
    ("B", "2025-02-01", 10),
    ("B", "2025-03-10", 6),
    ("B", "2025-05-01", 9),
    ("C", "2025-02-12", 9),
    ("D", "2025-02-20", 8),
    ("D", "2025-03-20", 2),
    ("E", "2025-01-02", 5),
    ("F", "2025-02-02", 10),
]


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


def agresti_coull(k: int, n: int) -> tuple[float, float]:
    """The 95% interval of k of n, written out here: n~ = n + z^2, p~ = (k + z^2/2) / n~,
    p~ -/+ z sqrt(p~ (1 - p~) / n~), clipped to 0..1."""
    z = 1.96
    n_adj = n + z * z
    p = (k + z * z / 2) / n_adj
    half = z * math.sqrt(p * (1 - p) / n_adj)
    return max(0.0, p - half), min(1.0, p + half)


def share(k: int, n: int) -> dict:
    if n == 0:
        return {"value": None, "low": None, "high": None}
    low, high = agresti_coull(k, n)
    return {"value": pytest.approx(k / n, abs=1e-4), "low": pytest.approx(low, abs=1e-4),
            "high": pytest.approx(high, abs=1e-4)}  # fmt: skip


def seed_history(app, workspace_id: str) -> str:
    """The history above, written through the services as it would have happened;
    returns the NPS survey's id."""
    with app.app_context():
        survey = make_survey(workspace_id, "nps", resurvey_days=0)
        people = {name: contacts.upsert_contact(workspace_id, name, {})[0] for name in HISTORY}
        for name, changes in HISTORY.items():
            for day, stage in changes:
                stages.change(people[name], stage, "api", at(day))
        for name, day, score in SCORES:
            [(invitation, _)], skipped = invite(
                survey, [{"contact_id": people[name].id}], "email", now=at(day)
            )
            assert not skipped
            responses.submit(db.session.get(Invitation, invitation.id), score, now=at(day))
        db.session.commit()
        return survey.id


@pytest.fixture
def seeded(app, tenant):
    return seed_history(app, tenant.id)


def close_all(app, now: datetime | None = None) -> int:
    """Run the worker's step until nothing is due, as the worker does; returns the steps."""
    with app.app_context():
        return periodic.drain(score_churn.close_due, now or utcnow(), 4)


def report(app, tenant, **kwargs) -> dict:
    with app.app_context():
        return retention.retention_report(
            tenant.id, start=date(2025, 1, 1), end=date(2025, 6, 1), now=NOW, **kwargs
        )


def test_monthly_retention_of_the_seeded_history(app, tenant, seeded):
    found = report(app, tenant)
    #            start joined left churned retained end
    expected = [
        (date(2025, 1, 1), 1, 2, 1, 1, 0, 2),
        (date(2025, 2, 1), 2, 2, 1, 0, 2, 3),
        (date(2025, 3, 1), 3, 0, 1, 1, 2, 2),
        (date(2025, 4, 1), 2, 0, 1, 1, 1, 1),
        (date(2025, 5, 1), 1, 1, 0, 0, 1, 2),
        (date(2025, 6, 1), 2, 0, 0, 0, 2, 2),
    ]
    rows = found["months"]
    assert [
        (r["month"], r["customers_start"], r["joined"], r["left"], r["churned"], r["retained"],
         r["customers_end"])
        for r in rows
    ] == expected  # fmt: skip
    assert all(r["complete"] for r in rows)
    for row, (_, start, _, _, churned, _, _) in zip(rows, expected, strict=True):
        assert row["churn_rate"] == share(churned, start)
    assert rows[0]["churn_rate"]["value"] == 1.0  # E was January's only starting customer
    assert found["churn_rate"] == share(3, 11)
    assert found["customer_stages"] == ["onboarding", "adopting", "customer", "advocate"]


def test_cohorts_by_the_month_contacts_became_customers(app, tenant, seeded):
    cohorts = {row["cohort"]: row for row in report(app, tenant)["cohorts"]}
    assert sorted(cohorts) == [date(2025, month, 1) for month in range(1, 7)]
    january, february = cohorts[date(2025, 1, 1)], cohorts[date(2025, 2, 1)]
    assert (january["size"], january["active"]) == (2, [2, 2, 2, 1, 1, 1])
    assert january["retention"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    assert (february["size"], february["active"]) == (2, [1, 0, 0, 1, 1])
    assert february["retention"] == [0.5, 0.0, 0.0, 0.5, 0.5]
    assert cohorts[date(2025, 3, 1)] == {
        "cohort": date(2025, 3, 1),
        "size": 0,
        "active": [0, 0, 0, 0],
        "retention": [None, None, None, None],
    }


def test_churn_within_90_days_per_nps_category(app, tenant, seeded):
    before = report(app, tenant)["churn_by_category"]
    # Nothing is counted until the worker has closed the days.
    assert before["counted_through"] is None
    assert [c["responses"] for c in before["categories"]] == [0, 0, 0]
    steps = close_all(app, NOW)
    # From the first response (2025-01-02) to 91 days before NOW, 31 days a step.
    through = NOW.date() - timedelta(days=91)
    assert steps == math.ceil(((through - date(2025, 1, 2)).days + 1) / 31)
    found = report(app, tenant)["churn_by_category"]
    assert found["counted_through"] == through
    assert (found["kind"], found["window_days"], found["survey_id"]) == ("nps", 90, None)
    assert [
        {key: c[key] for key in ("category", "responses", "churned")} for c in found["categories"]
    ] == [
        {"category": "promoter", "responses": 3, "churned": 1},
        {"category": "passive", "responses": 2, "churned": 1},
        {"category": "detractor", "responses": 3, "churned": 2},
    ]
    for category, (k, n) in zip(found["categories"], [(1, 3), (1, 2), (2, 3)], strict=True):
        assert {key: category[key] for key in ("value", "low", "high")} == share(k, n)
    # Counted once: running it again adds nothing.
    assert close_all(app, NOW) == 0
    assert report(app, tenant)["churn_by_category"] == found


def test_days_are_closed_only_once_their_window_has_passed(app, tenant, seeded):
    # On 2025-05-02 the window of 2025-01-31's responses has passed, not 02-01's.
    close_all(app, datetime(2025, 5, 2, tzinfo=UTC))
    early = report(app, tenant)["churn_by_category"]
    assert early["counted_through"] == date(2025, 1, 31)
    # E (detractor, 01-02) and A (passive, 01-15); A's answer of 01-05 is not a customer's.
    assert [(c["responses"], c["churned"]) for c in early["categories"]] == [(0, 0), (1, 0), (1, 1)]
    close_all(app, NOW)
    assert [(c["responses"], c["churned"]) for c in report(app, tenant)["churn_by_category"][
        "categories"]] == [(3, 1), (2, 1), (3, 2)]  # fmt: skip


def test_the_api_serves_the_report(app, tenant, seeded):
    close_all(app)
    response = tenant.get(
        "/v1/reports/retention", query_string={"from": "2025-01", "to": "2025-06"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["from"], body["to"]) == ("2025-01-01", "2025-06-01")
    assert [m["churned"] for m in body["months"]] == [1, 0, 1, 1, 0, 0]
    assert body["churn_rate"] == share(3, 11)
    assert [c["churned"] for c in body["churn_by_category"]["categories"]] == [1, 1, 2]
    narrowed = tenant.get(
        "/v1/reports/retention",
        query_string={"from": "2025-01", "to": "2025-06", "survey_id": seeded},
    ).get_json()["churn_by_category"]
    assert narrowed["survey_id"] == seeded and narrowed["categories"] == body[
        "churn_by_category"]["categories"]  # fmt: skip


def test_another_workspace_sees_none_of_it(app, tenant, seeded, make_tenant):
    close_all(app, NOW)
    other = make_tenant("Other")
    body = other.get("/v1/reports/retention", query_string={"from": "2025-01", "to": "2025-06"})
    months = body.get_json()["months"]
    assert {(m["customers_start"], m["joined"], m["left"]) for m in months} == {(0, 0, 0)}
    assert [c["responses"] for c in body.get_json()["churn_by_category"]["categories"]] == [0, 0, 0]
    assert other.get(
        "/v1/reports/retention", query_string={"survey_id": seeded}
    ).status_code == 404  # fmt: skip


def test_the_period_is_checked(tenant):
    for query, field in (
        ({"from": "2025-13"}, "from"),
        ({"to": "2025"}, "to"),
        ({"from": "2025-06", "to": "2025-01"}, "from"),
        ({"from": "2020-01", "to": "2025-01"}, "from"),  # more than 36 months
    ):
        response = tenant.get("/v1/reports/retention", query_string=query)
        assert response.status_code == 422, query
        assert field in response.get_json()["error"]["fields"], response.get_json()
    default = tenant.get("/v1/reports/retention").get_json()
    this_month = date.today().replace(day=1)
    assert default["to"] == this_month.isoformat()
    assert default["from"] == lifecycle.add_months(this_month, -11).isoformat()
    assert default["months"][-1]["complete"] is False


def test_churned_after_counts_the_window_end_in():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    window = timedelta(days=90)
    changes = [
        (start - timedelta(days=1), None, "customer"),
        (start + window, "customer", "churned"),
    ]
    assert lifecycle.churned_after(changes, start, window) is True
    later = [(start - timedelta(days=1), None, "customer"),
             (start + window + timedelta(seconds=1), "customer", "churned")]  # fmt: skip
    assert lifecycle.churned_after(later, start, window) is False
    # A move between paying stages is no leaving; a lead cannot churn.
    moved = [(start - timedelta(days=1), None, "onboarding"), (start, "onboarding", "customer")]
    assert lifecycle.churned_after(moved, start + timedelta(days=1), window) is False
    assert lifecycle.churned_after([(start, None, "lead")], start, window) is None
    assert lifecycle.churned_after([], start, window) is None


def test_the_worker_step_runs_from_the_command_line(app, tenant, seeded, runner):
    result = runner.invoke(args=["retention", "count-churn", "--batch", "3"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        r"days counted into the retention report: \d+ steps of up to 31 days of one survey each\n",
        result.output,
    )
    assert [c["churned"] for c in report(app, tenant)["churn_by_category"]["categories"]] == [
        1,
        1,
        2,
    ]


def test_the_demo_workspace_has_a_year_of_customers_to_show(app, tenant):
    """What `make run` seeds: churn per category, detractors costing the most, and
    detractors asked again, some recovered."""
    with app.app_context():
        demo_history.seed(tenant.id)
        db.session.commit()
    body = tenant.get("/v1/reports/retention").get_json()
    promoters, passives, detractors = body["churn_by_category"]["categories"]
    assert min(c["responses"] for c in (promoters, passives, detractors)) >= 10
    assert detractors["value"] > passives["value"] > promoters["value"]
    assert body["recovery"]["answered"] > 0 and body["recovery"]["recovered"] > 0
    assert body["months"][-1]["customers_end"] > 0
    waiting = tenant.get("/v1/queues/follow_up/items", query_string={"status": "open"})
    assert waiting.get_json()["data"] == []  # every one was handled


def test_the_worker_counts_churn_after_scores_with_no_cli_call(app, tenant, seeded):
    done = Worker(app).run_once(utcnow())
    assert done.periodic["retention.count_churn"] > 0
    found = report(app, tenant)["churn_by_category"]
    assert [c["churned"] for c in found["categories"]] == [1, 1, 2]
