"""Survey reports, read from the rollup tables only.

Every response moves its counts in `response_rollups` (per survey, day, segment,
score) in the same transaction as the response itself, so a report never scans
`responses`: each query here touches at most days x scores rows per segment,
and its cost grows with the date range, not with the number of responses.

The period is inclusive at both ends and counted in UTC days, like the rollup.
"""

import calendar
import time
from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from api import scoring, signing
from api.database import utcnow
from api.domain_errors import Invalid
from api.extensions import db
from api.queues.models import QUEUES, STATUSES, QueueCount
from api.responses.models import InvitationRollup, ResponseRollup
from api.surveys import service as surveys
from api.surveys.models import Survey

INTERVALS = ("day", "week", "month")
DEFAULT_DAYS = 30
# Three years, a leap day included: enough for year-over-year views and still a
# bounded read (at most ~1,100 days x 11 scores per segment).
MAX_RANGE_DAYS = 3 * 365 + 1
DIGITS = 1
TOTAL = ""  # the rollup segment that counts all responses

MEASURES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
# The scale each kind's value lives on, for charts and readers.
VALUE_BOUNDS = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}


def default_period(today: date) -> tuple[date, date]:
    """The last 30 days, today included."""
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def period_problem(start: date, end: date) -> str | None:
    """What is wrong with the days start..end as a report's period, if anything."""
    if start > end:
        return "`from` must not be after `to`."
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        return f"A report covers at most {MAX_RANGE_DAYS} days (3 years); narrow the range."
    return None


def survey_report(
    survey: Survey,
    *,
    start: date,
    end: date,
    interval: str = "day",
    segment: str | None = None,
    include_queues: bool = True,
) -> dict:
    """Everything a report shows for `survey` over the days start..end (inclusive).

    `segment` names one of the survey's segment_attributes to split the totals by.
    `include_queues=False` leaves out the queue counts (None), the one part that is not
    read from a rollup: the bench uses it to time the rollup part on its own.
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    if start > end:
        raise ValueError("start must not be after end")
    if segment is not None:
        _check_segment(survey, segment)
    kind = survey.kind
    per_day = _counts_per_day(survey.id, start, end)
    counts = _sum_days(per_day.values())
    summary = scoring.summarize(kind, counts)
    length = end - start
    previous_end = start - timedelta(days=1)
    previous_start = previous_end - length
    previous_counts = _counts(survey.id, previous_start, previous_end)
    return {
        "survey_id": survey.id,
        "survey_name": survey.name,
        "kind": kind,
        "measure": MEASURES[kind],
        "value_min": VALUE_BOUNDS[kind][0],
        "value_max": VALUE_BOUNDS[kind][1],
        "from": start,
        "to": end,
        "interval": interval,
        "totals": _numbers(summary),
        "categories": [
            {
                "category": category,
                "count": summary.counts[category],
                "share": round(summary.shares[category], DIGITS + 2),
            }
            for category in scoring.CATEGORIES[kind]
        ],
        "distribution": [
            {
                "score": score,
                "count": counts.get(score, 0),
                "share": round(counts.get(score, 0) / summary.n, DIGITS + 2) if summary.n else 0.0,
            }
            for score in scoring.score_range(kind)
        ],
        "trend": _trend(kind, per_day, start, end, interval),
        "response_rate": _response_rate(survey.id, summary.n, start, end),
        "previous_period": _comparison(kind, previous_counts, counts, previous_start, previous_end),
        "segments": _segment_rows(survey, segment, start, end, summary.n) if segment else None,
        "queues": queue_counts(survey) if include_queues else None,
    }


def _check_segment(survey: Survey, attribute: str) -> None:
    declared = list(survey.segment_attributes or [])
    if attribute not in declared:
        # The rollup keeps per-segment counts only for declared attributes, from the
        # moment they are declared; there is nothing to read for any other.
        known = ", ".join(declared) if declared else "none"
        message = (
            f"`{attribute}` is not a segment attribute of this survey (it has: {known}). "
            "Add it to the survey's segment_attributes; responses are counted by it from then on."
        )
        raise Invalid(message, fields={"segment": [message]})


# --- reading the rollup -------------------------------------------------------------------


def _days(rollup, survey_id: str, start: date, end: date) -> tuple:
    """The conditions for a survey's rollup rows of the days start..end, both included."""
    return rollup.survey_id == survey_id, rollup.day >= start, rollup.day <= end


def _counts_per_day(survey_id: str, start: date, end: date) -> dict[date, dict[int, int]]:
    """{day: {score: count}} of all responses; at most days x scores rows come back.

    The rollup holds one row per (survey, day, segment, score), so with the total
    segment the GROUP BY is already what is stored; it stays in SQL so the query
    reads the same if the rollup ever gains finer rows (hours, channels).
    """
    rows = db.session.execute(
        select(ResponseRollup.day, ResponseRollup.score, func.sum(ResponseRollup.count))
        .where(
            *_days(ResponseRollup, survey_id, start, end),
            ResponseRollup.segment == TOTAL,
        )
        .group_by(ResponseRollup.day, ResponseRollup.score)
    )
    per_day: dict[date, dict[int, int]] = defaultdict(dict)
    for day, score, count in rows:
        if count:  # a changed score leaves a zero row behind
            per_day[day][score] = int(count)
    return per_day


def _counts(survey_id: str, start: date, end: date) -> dict[int, int]:
    """{score: count} of all responses in the period, summed by the database."""
    rows = db.session.execute(
        select(ResponseRollup.score, func.sum(ResponseRollup.count))
        .where(
            *_days(ResponseRollup, survey_id, start, end),
            ResponseRollup.segment == TOTAL,
        )
        .group_by(ResponseRollup.score)
    )
    return {score: int(count) for score, count in rows if count}


def _sum_days(days) -> dict[int, int]:
    total: dict[int, int] = defaultdict(int)
    for counts in days:
        for score, count in counts.items():
            total[score] += count
    return dict(total)


# --- trend --------------------------------------------------------------------------------


def bucket_start(day: date, interval: str) -> date:
    """The first day of the bucket holding `day`: itself, its Monday, or the 1st."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def _bucket_end(first: date, interval: str) -> date:
    if interval == "week":
        return first + timedelta(days=6)
    if interval == "month":
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first


def buckets(start: date, end: date, interval: str) -> list[tuple[date, date, date]]:
    """(label, first day, last day) of each bucket, clipped to start..end.

    The label is the calendar bucket's start even when the period begins mid-bucket,
    so the same week or month has the same label in every report.
    """
    result = []
    label = bucket_start(start, interval)
    while label <= end:
        last = _bucket_end(label, interval)
        result.append((label, max(label, start), min(last, end)))
        label = last + timedelta(days=1)
    return result


def _trend(kind: str, per_day: dict, start: date, end: date, interval: str) -> list[dict]:
    by_bucket: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for day, counts in per_day.items():
        bucket = by_bucket[bucket_start(day, interval)]
        for score, count in counts.items():
            bucket[score] += count
    # Buckets without responses are kept (n = 0, value None): a gap, not a dropped period.
    return [
        {
            "bucket": label,
            "from": first,
            "to": last,
            **_numbers(scoring.summarize(kind, dict(by_bucket.get(label, {})))),
        }
        for label, first, last in buckets(start, end, interval)
    ]


# --- the other parts ----------------------------------------------------------------------


def _numbers(summary: scoring.Summary) -> dict:
    numbers = summary.as_dict(DIGITS)
    return {key: numbers[key] for key in ("n", "value", "margin", "low", "high")}


def _response_rate(survey_id: str, responses: int, start: date, end: date) -> dict:
    """Responses recorded in the period over invitations sent in it.

    Both are counted by their own day, so a period that starts just after a big
    send can exceed 100%; over periods longer than the link lifetime it settles.
    """
    invitations = db.session.scalar(
        select(func.coalesce(func.sum(InvitationRollup.count), 0)).where(
            *_days(InvitationRollup, survey_id, start, end),
        )
    )
    invitations = int(invitations or 0)
    return {
        "responses": responses,
        "invitations": invitations,
        "rate": round(responses / invitations, 4) if invitations else None,
    }


def _comparison(kind: str, before: dict, after: dict, start: date, end: date) -> dict:
    compared = scoring.compare(kind, before, after)
    return {
        "from": start,
        "to": end,
        **_numbers(compared.before),
        "change": compared.as_dict(DIGITS)["change"],
        "significant": compared.significant,
        "direction": compared.direction,
    }


def _segment_rows(survey: Survey, attribute: str, start: date, end: date, total: int) -> dict:
    prefix = f"{attribute}="
    rows = db.session.execute(
        select(ResponseRollup.segment, ResponseRollup.score, func.sum(ResponseRollup.count))
        .where(
            *_days(ResponseRollup, survey.id, start, end),
            # autoescape: an attribute name may hold % or _, which LIKE would read as wildcards.
            ResponseRollup.segment.startswith(prefix, autoescape=True),
        )
        .group_by(ResponseRollup.segment, ResponseRollup.score)
    )
    by_value: dict[str, dict[int, int]] = defaultdict(dict)
    for segment, score, count in rows:
        if count:
            by_value[segment[len(prefix) :]][score] = int(count)
    summaries = [(value, scoring.summarize(survey.kind, c)) for value, c in by_value.items()]
    summaries.sort(key=lambda item: (-item[1].n, item[0]))
    counted = sum(summary.n for _, summary in summaries)
    return {
        "attribute": attribute,
        "rows": [
            {
                "segment": value,
                **_numbers(summary),
                "categories": dict(summary.counts),
            }
            for value, summary in summaries
        ],
        # Responses from contacts without this attribute (or from before it was declared).
        "not_set": max(total - counted, 0),
    }


def queue_counts(survey: Survey) -> dict[str, dict[str, int]]:
    """Current queue items of the survey per queue and status (not limited to the period).

    Read from the counters api.queues moves with every change, so the cost does not
    grow with the number of items.
    """
    counts = {queue: dict.fromkeys(STATUSES, 0) for queue in QUEUES}
    rows = db.session.execute(
        select(QueueCount.queue, QueueCount.status, func.sum(QueueCount.count))
        .where(QueueCount.survey_id == survey.id)
        .group_by(QueueCount.queue, QueueCount.status)
    )
    for queue, status, count in rows:
        if queue in counts and status in counts[queue]:
            counts[queue][status] = int(count)
    return counts


# --- signed links for people --------------------------------------------------------------


def report_link(survey: Survey, expires_in_days: int, now: datetime | None = None) -> dict:
    """A signed URL to the survey's report page, valid for `expires_in_days`.

    The expiry is an explicit epoch inside the signed payload: itsdangerous checks a
    token's age only against a max_age given at verification, while the lifetime is
    chosen per link when it is issued. Verification still passes the configured
    REPORT_LINK_MAX_AGE_DAYS as max_age, as an upper bound for every link.
    """
    limit = current_app.config["REPORT_LINK_MAX_AGE_DAYS"]
    if not 1 <= expires_in_days <= limit:
        message = f"A report link lives 1 to {limit} days."
        raise Invalid(message, fields={"expires_in_days": [message]})
    now = now or utcnow()
    expires_at = (now + timedelta(days=expires_in_days)).replace(microsecond=0)
    token = signing.sign(
        signing.REPORT_LINK,
        {
            "survey_id": survey.id,
            "workspace_id": survey.workspace_id,
            "expires_at": int(expires_at.timestamp()),
        },
    )
    base = current_app.config["BASE_URL"]
    return {"url": f"{base}/reports/{survey.id}?token={token}", "expires_at": expires_at}


def survey_for_token(survey_id: str, token: str) -> Survey:
    """The survey a report token grants, if it is the one asked for.

    Raises signing.TokenInvalid (forged, other purpose, other survey, survey gone)
    or signing.TokenExpired (past its own expiry, or older than the configured bound).
    """
    max_age = current_app.config["REPORT_LINK_MAX_AGE_DAYS"] * 86400
    payload = signing.unsign(signing.REPORT_LINK, token, max_age)
    if not isinstance(payload, dict) or payload.get("survey_id") != survey_id:
        raise signing.TokenInvalid
    workspace_id, expires_at = payload.get("workspace_id"), payload.get("expires_at")
    if not isinstance(workspace_id, str) or not isinstance(expires_at, int):
        raise signing.TokenInvalid
    survey = surveys.find_survey(workspace_id, survey_id)
    if survey is None:
        raise signing.TokenInvalid
    if expires_at <= time.time():
        raise signing.TokenExpired
    return survey
