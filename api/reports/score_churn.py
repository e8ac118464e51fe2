"""Churn after a score: of the customers who answered, how many left within 90 days.

Whether a customer who answered on a day churned within 90 days is only known 90
days later, and then no longer changes. So each survey's days are counted once,
when the window of their last response has passed, into `score_churn_rollups`
(responses of customers, and how many of those churned, per month and category),
by a periodic task of the worker; the retention report reads those rows, never
the responses. A survey's days are counted in order, and `score_churn_progress`
holds the last day counted: a day is claimed by a conditional update, in the
transaction of its counts, so two workers never count a day twice.

A score changed after its day was counted (more than 90 days after it was given)
keeps the category it had then.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, update

from api import lifecycle
from api.bulk import matching
from api.contacts.models import StageChange
from api.database import insert_ignore, upsert_add, utcnow
from api.extensions import db
from api.reports.models import ScoreChurnProgress, ScoreChurnRollup
from api.responses.models import Response
from api.surveys.models import Survey

WINDOW_DAYS = 90
WINDOW = timedelta(days=WINDOW_DAYS)
# Days of one survey counted per step: a long history is caught up in steps, committed
# in batches, so no transaction stays open for long (an open one holds back the feed).
CHUNK_DAYS = 31


def closable_through(now: datetime) -> date:
    """The last day whose every response's window has passed by `now`.

    A response at the last moment of day d has its window end at the last moment of
    d + 90, so day d can be counted from the first moment of d + 91.
    """
    return now.date() - timedelta(days=WINDOW_DAYS + 1)


def close_due(now: datetime | None = None, batch: int = 20) -> int:
    """Count up to `batch` steps (each at most CHUNK_DAYS of one survey) of the days that
    are due and not yet counted; returns the steps taken. Run by the worker.

    The caller commits after each batch and calls again while it returns `batch`.
    A step another worker took first is skipped, not counted again.
    """
    last = closable_through(now or utcnow())
    steps = 0
    for survey_id in list(db.session.scalars(select(Survey.id).order_by(Survey.id))):
        while steps < batch and (step := _next_step(survey_id, last)) is not None:
            previous, first, through = step
            if not _claim(survey_id, previous, through):
                break  # another worker is counting this survey
            _count(survey_id, first, through)
            steps += 1
        if steps >= batch:
            break
    db.session.flush()
    return steps


def _next_step(survey_id: str, last: date) -> tuple[date | None, date, date] | None:
    """(last day counted, first day to count, last day to count), or None when done."""
    previous = db.session.scalar(
        select(ScoreChurnProgress.closed_through).where(ScoreChurnProgress.survey_id == survey_id)
    )
    if previous is None:
        first_answer = db.session.scalar(
            select(func.min(Response.created_at)).where(Response.survey_id == survey_id)
        )
        if first_answer is None:
            return None
        first = first_answer.date()
    else:
        first = previous + timedelta(days=1)
    if first > last:
        return None
    return previous, first, min(last, first + timedelta(days=CHUNK_DAYS - 1))


def _claim(survey_id: str, previous: date | None, through: date) -> bool:
    """Move the survey's progress from `previous` to `through`; False if another worker did."""
    if previous is None:
        return insert_ignore(
            ScoreChurnProgress, {"survey_id": survey_id, "closed_through": through}, ["survey_id"]
        )
    moved = db.session.execute(
        update(ScoreChurnProgress)
        .where(
            ScoreChurnProgress.survey_id == survey_id,
            ScoreChurnProgress.closed_through == previous,
        )
        .values(closed_through=through)
    )
    return moved.rowcount == 1


def _count(survey_id: str, first: date, through: date) -> None:
    """Write the counts of the days first..through (inclusive, UTC) of one survey."""
    begins = datetime.combine(first, time.min, tzinfo=UTC)
    ends = datetime.combine(through + timedelta(days=1), time.min, tzinfo=UTC)
    answers = db.session.execute(
        select(Response.contact_id, Response.created_at, Response.category).where(
            Response.survey_id == survey_id,
            Response.created_at >= begins,
            Response.created_at < ends,
            Response.contact_id.is_not(None),
        )
    ).all()
    changes = _changes_of(sorted({contact_id for contact_id, _, _ in answers}), ends + WINDOW)
    counts: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for contact_id, answered_at, category in answers:
        churned = lifecycle.churned_after(changes.get(contact_id, ()), answered_at, WINDOW)
        if churned is None:
            continue  # not a customer when they answered: nothing to churn from
        tally = counts[(lifecycle.month_of(answered_at), category)]
        tally[0] += 1
        tally[1] += int(churned)
    for (month, category), (responses, churned) in sorted(counts.items()):
        keys = {"survey_id": survey_id, "month": month, "category": category}
        upsert_add(ScoreChurnRollup, keys, "responses", responses)
        upsert_add(ScoreChurnRollup, keys, "churned", churned)


def _changes_of(contact_ids: list[str], before: datetime) -> dict[str, list[tuple]]:
    """Each contact's stage changes before `before`, as (time, from, to) in time order."""
    found: dict[str, list[tuple]] = defaultdict(list)
    for named in matching(StageChange.contact_id, contact_ids):
        rows = db.session.execute(
            select(
                StageChange.contact_id,
                StageChange.changed_at,
                StageChange.from_stage,
                StageChange.to_stage,
            )
            .where(named, StageChange.changed_at < before)
            .order_by(StageChange.contact_id, StageChange.changed_at, StageChange.id)
        )
        for contact_id, changed_at, before_stage, after_stage in rows:
            found[contact_id].append((changed_at, before_stage, after_stage))
    return found
