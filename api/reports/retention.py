"""The retention report: customers month by month, cohorts, churn after a score, and
what became of detractors asked again.

Read from rollups only: `stage_rollups` (moved by every stage change) and
`score_churn_rollups` (each day added once by the worker), so the report reads
months x cohorts and months x categories rows, whatever the number of contacts,
stage changes or responses; recovery reads the period's re-surveys. The statistics
are api/lifecycle.py's.
"""

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from api import lifecycle, scoring
from api.bulk import matching
from api.contacts.models import StageRollup
from api.database import utcnow
from api.domain_errors import Invalid
from api.extensions import db
from api.queues.models import Resurvey
from api.reports import score_churn
from api.reports.models import ScoreChurnProgress, ScoreChurnRollup
from api.responses.models import Response
from api.surveys.models import Survey

DEFAULT_MONTHS = 12
MAX_MONTHS = 36
DIGITS = 4  # shares are fractions: 4 places are a tenth of a percent point


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months, this one included."""
    this_month = lifecycle.month_of(today)
    return lifecycle.add_months(this_month, 1 - DEFAULT_MONTHS), this_month


def period_problem(start: date, end: date) -> str | None:
    """What is wrong with the months start..end as a report's period, if anything."""
    if start > end:
        return "`from` must not be after `to`."
    if len(lifecycle.months(start, end)) > MAX_MONTHS:
        return f"A retention report covers at most {MAX_MONTHS} months; narrow the range."
    return None


def retention_report(
    workspace_id: str,
    *,
    start: date,
    end: date,
    survey: Survey | None = None,
    now: datetime | None = None,
) -> dict:
    """Everything the retention report shows for the months start..end (first days).

    `survey` narrows churn after a score to that survey (of any kind, by its
    categories); without one it covers the workspace's NPS surveys.
    """
    if start != lifecycle.month_of(start) or end != lifecycle.month_of(end):
        raise ValueError("start and end are first days of months")
    problem = period_problem(start, end)
    if problem:
        raise Invalid(problem, fields={"from": [problem]})
    in_months = lifecycle.months(start, end)
    this_month = lifecycle.month_of(now or utcnow())
    rows = lifecycle.retention_by_month(
        _customers_before(workspace_id, start), _flows_by_month(workspace_id, start, end), in_months
    )
    complete = [row for row in rows if row.month < this_month]
    cohorts = lifecycle.cohort_table(
        flows_by_cohort(workspace_id, start, end), in_months, min(end, this_month)
    )
    return {
        "from": start,
        "to": end,
        "customer_stages": sorted(lifecycle.CUSTOMER_STAGES, key=lifecycle.STAGES.index),
        "months": [_month(row, row.month < this_month) for row in rows],
        "churn_rate": _share(lifecycle.pooled_churn(complete)),
        "cohorts": [
            {
                "cohort": cohort.cohort,
                "size": cohort.size,
                "active": cohort.active,
                "retention": [None if r is None else round(r, DIGITS) for r in cohort.retention],
            }
            for cohort in cohorts
            if cohort.cohort <= this_month
        ],
        "churn_by_category": _churn_by_category(workspace_id, survey, start, end),
        "recovery": _recovery(workspace_id, survey, start, end),
    }


def _month(row: lifecycle.MonthRetention, complete: bool) -> dict:
    return {
        "month": row.month,
        "complete": complete,
        "customers_start": row.customers_start,
        "joined": row.joined,
        "left": row.left,
        "churned": row.churned,
        "retained": row.retained,
        "customers_end": row.customers_end,
        "churn_rate": _share(row.churn_rate),
    }


def _share(found: scoring.Share) -> dict:
    numbers = found.as_dict(DIGITS)
    return {key: numbers[key] for key in ("value", "low", "high")}


# --- reading the stage rollup --------------------------------------------------------------


def _customers_before(workspace_id: str, start: date) -> int:
    """Customers when the month `start` began: every joining before it less every leaving."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(StageRollup.joined - StageRollup.left), 0)).where(
            StageRollup.workspace_id == workspace_id, StageRollup.month < start
        )
    )
    return int(total or 0)


def _flows_by_month(workspace_id: str, start: date, end: date) -> dict[date, lifecycle.Flow]:
    rows = db.session.execute(
        select(
            StageRollup.month,
            func.sum(StageRollup.new),
            func.sum(StageRollup.joined),
            func.sum(StageRollup.left),
            func.sum(StageRollup.churned),
        )
        .where(
            StageRollup.workspace_id == workspace_id,
            StageRollup.month >= start,
            StageRollup.month <= end,
        )
        .group_by(StageRollup.month)
    )
    return {month: lifecycle.Flow(*map(int, counts)) for month, *counts in rows}


def flows_by_cohort(
    workspace_id: str, start: date, end: date
) -> dict[tuple[date, date], lifecycle.Flow]:
    """The rollup's counters per (cohort, month), cohorts start..end, months up to end.

    bench/retention_scaling.py compares bulk-written rollups through it too."""
    rows = db.session.execute(
        select(
            StageRollup.cohort,
            StageRollup.month,
            StageRollup.new,
            StageRollup.joined,
            StageRollup.left,
            StageRollup.churned,
        ).where(
            StageRollup.workspace_id == workspace_id,
            StageRollup.cohort >= start,
            StageRollup.cohort <= end,
            StageRollup.month <= end,
        )
    )
    return {(cohort, month): lifecycle.Flow(*counts) for cohort, month, *counts in rows}


# --- churn after a score -------------------------------------------------------------------


def _churn_by_category(workspace_id: str, survey: Survey | None, start: date, end: date) -> dict:
    """Per category, the share of customers' responses of the period whose customer left
    within the window, counted up to the last day the worker has counted."""
    kind = survey.kind if survey is not None else "nps"
    surveys = select(Survey.id).where(Survey.workspace_id == workspace_id)
    surveys = (
        surveys.where(Survey.id == survey.id)
        if survey is not None
        else surveys.where(Survey.kind == "nps")
    )
    rows = db.session.execute(
        select(
            ScoreChurnRollup.category,
            func.sum(ScoreChurnRollup.responses),
            func.sum(ScoreChurnRollup.churned),
        )
        .where(
            ScoreChurnRollup.survey_id.in_(surveys.scalar_subquery()),
            ScoreChurnRollup.month >= start,
            ScoreChurnRollup.month <= end,
        )
        .group_by(ScoreChurnRollup.category)
    )
    counts = {category: (int(n), int(k)) for category, n, k in rows}
    through = db.session.scalar(
        select(func.min(ScoreChurnProgress.closed_through)).where(
            ScoreChurnProgress.survey_id.in_(surveys.scalar_subquery())
        )
    )
    categories = []
    for category in scoring.CATEGORIES[kind]:
        responses, churned = counts.get(category, (0, 0))
        categories.append(
            {"category": category, "responses": responses, "churned": churned}
            | _share(scoring.share(churned, responses))
        )
    return {
        "survey_id": survey.id if survey is not None else None,
        "kind": kind,
        "window_days": score_churn.WINDOW_DAYS,
        "counted_through": through,
        "categories": categories,
    }


# --- detractor recovery --------------------------------------------------------------------


def _recovery(workspace_id: str, survey: Survey | None, start: date, end: date) -> dict:
    """What became of the re-surveys scheduled in the months (by the item's resolution).

    Reads the period's `resurveys`, then their contacts' answers by contact (a few
    each, through the contact index): the cost grows with the re-surveys of the
    period, never with a survey's responses.
    """
    unhappy = aliased(Response)
    statement = (
        select(
            Resurvey.status,
            Resurvey.survey_id,
            Resurvey.contact_id,
            Resurvey.sent_at,
            Survey.kind,
            unhappy.created_at,
        )
        .join(Survey, Survey.id == Resurvey.survey_id)
        .join(unhappy, unhappy.id == Resurvey.response_id)
        .where(
            Resurvey.workspace_id == workspace_id,
            Resurvey.created_at >= _first_moment(start),
            Resurvey.created_at < _first_moment(lifecycle.add_months(end, 1)),
        )
    )
    if survey is not None:
        statement = statement.where(Resurvey.survey_id == survey.id)
    asked = db.session.execute(statement).all()
    answers = _answers_of(sorted({row.contact_id for row in asked if row.sent_at is not None}))
    found = lifecycle.recovery(
        lifecycle.Ask(status, kind, unhappy_at, *_next_answer(answers, contact_id, survey_id, sent))
        for status, survey_id, contact_id, sent, kind, unhappy_at in asked
    )
    return {
        "scheduled": found.scheduled,
        "waiting": found.waiting,
        "cancelled": found.cancelled,
        "sent": found.sent,
        "answered": found.answered,
        "recovered": found.recovered,
        "rate": _share(found.rate),
        "median_days_to_recover": (
            None if found.median_days is None else round(found.median_days, 1)
        ),
    }


def _answers_of(contact_ids: list[str]) -> dict[str, list[tuple]]:
    """Each contact's answers as (survey id, time, category), oldest first."""
    found: dict[str, list[tuple]] = {}
    for named in matching(Response.contact_id, contact_ids):
        rows = db.session.execute(
            select(Response.contact_id, Response.survey_id, Response.created_at, Response.category)
            .where(named)
            .order_by(Response.created_at, Response.id)
        )
        for contact_id, survey_id, created_at, category in rows:
            found.setdefault(contact_id, []).append((survey_id, created_at, category))
    return found


def _next_answer(answers: dict, contact_id: str, survey_id: str, sent_at) -> tuple:
    """(category, time) of the contact's first answer to the survey once asked again,
    or (None, None)."""
    if sent_at is not None:
        for answered_survey, answered_at, category in answers.get(contact_id, ()):
            if answered_survey == survey_id and answered_at >= sent_at:
                return category, answered_at
    return None, None


def _first_moment(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)
