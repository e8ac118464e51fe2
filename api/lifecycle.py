"""Lifecycle stages: which stages exist, which of them are customers, and how a change
moves the counts that retention is computed from.

Pure Python, like api/scoring.py: the contacts service applies these rules, the
reports read what they leave behind, and tests call them directly. Intervals are
api/scoring.py's (`share`: Agresti-Coull).

Stages, in the order a customer usually goes through them:

    lead        known to you, not trying the product
    trial       trying it
    onboarding  paying, being set up (too early to ask how it is going)
    adopting    paying, ramping up
    customer    paying, ramped up: the steady state
    advocate    a customer who advocates for you (a stage you set; separate from
                a contact's own opt-in to acts of advocacy)
    churned     was a customer, has left

The four paying stages (onboarding, adopting, customer, advocate) make a contact
a *customer* for retention. Moving between them is no coming or going; moving
into them from anything else (no stage, lead, trial, churned) is *joining*, and
moving out of them to anything else is *leaving*, whether to churned or back to
lead or trial, or to no stage at all (a PUT without a stage, an erasure).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from api.scoring import Share, queue_for, share

STAGES = ("lead", "trial", "onboarding", "adopting", "customer", "advocate", "churned")
CUSTOMER_STAGES = frozenset({"onboarding", "adopting", "customer", "advocate"})


def is_customer(stage: str | None) -> bool:
    """True for the paying stages (see the module docstring)."""
    return stage in CUSTOMER_STAGES


def month_of(moment: datetime | date) -> date:
    """The first day of the (UTC) month holding `moment`."""
    return date(moment.year, moment.month, 1)


@dataclass(frozen=True)
class Movement:
    """What one stage change does to the customer counts.

    ``deltas`` are added to the counters of ``(cohort, month)``: the month the
    contact first became a customer, and the month of the change. They are:

        new      +1 when the contact becomes a customer for the first time
        joined   +1 for every joining (the first one included, and every return)
        left     +1 for every leaving
        churned  +1 for a leaving by a contact who was a customer when the month
                 began (one who joined and left within the month is not one of
                 the month's starting customers, so is not their churn)

    ``first_customer_at`` and ``customer_since`` are the contact's values after the
    change: when they first joined (kept forever), and when their current time as a
    customer began (None while not a customer).
    """

    cohort: date | None
    month: date
    deltas: dict[str, int]
    first_customer_at: datetime | None
    customer_since: datetime | None


def movement(
    before: str | None,
    after: str | None,
    at: datetime,
    first_customer_at: datetime | None,
    customer_since: datetime | None,
) -> Movement:
    """The counts a change from ``before`` to ``after`` at ``at`` moves (see Movement).

    ``first_customer_at`` and ``customer_since`` are the contact's values before the
    change. A change that neither joins nor leaves moves nothing (empty deltas).
    """
    was, becomes = is_customer(before), is_customer(after)
    month = month_of(at)
    if becomes and not was:
        deltas = {"joined": 1}
        if first_customer_at is None:
            first_customer_at = at
            deltas["new"] = 1
        return Movement(month_of(first_customer_at), month, deltas, first_customer_at, at)
    if was and not becomes:
        deltas = {"left": 1}
        if customer_since is not None and customer_since < datetime.combine(
            month, datetime.min.time(), tzinfo=at.tzinfo
        ):
            deltas["churned"] = 1
        cohort = month_of(first_customer_at) if first_customer_at else month
        return Movement(cohort, month, deltas, first_customer_at, None)
    cohort = month_of(first_customer_at) if first_customer_at else None
    return Movement(cohort, month, {}, first_customer_at, customer_since)


# --- months ---------------------------------------------------------------------------------


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after `month`'s (before, if negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months(first: date, last: date) -> list[date]:
    """First days of the months from `first`'s to `last`'s, both included."""
    found, month = [], month_of(first)
    while month <= last:
        found.append(month)
        month = add_months(month, 1)
    return found


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """The counters of a month (or of one cohort in a month); see ``Movement``."""

    new: int = 0
    joined: int = 0
    left: int = 0
    churned: int = 0


@dataclass(frozen=True)
class MonthRetention:
    """One month of the customer base.

    ``customers_start``: customers when the month began. ``churned``: how many of
    them left during it (each counted once). ``retained`` = start - churned.
    ``joined``/``left``: every coming and going in the month, newcomers included,
    so ``customers_end`` = start + joined - left. ``churn_rate`` = churned / start,
    with its 95% interval: each starting customer either churns in the month or
    not, a binomial trial.
    """

    month: date
    customers_start: int
    joined: int
    left: int
    churned: int
    retained: int
    customers_end: int
    churn_rate: Share


def retention_by_month(
    customers_before: int, flows: Mapping[date, Flow], in_months: Sequence[date]
) -> list[MonthRetention]:
    """Month by month from ``customers_before`` (customers when the first month began).

    ``flows`` holds each month's counters summed over cohorts; a month missing from it
    had no coming or going. ``in_months`` are consecutive first days of months.
    """
    rows, start = [], customers_before
    for month in in_months:
        flow = flows.get(month, Flow())
        end = start + flow.joined - flow.left
        rows.append(
            MonthRetention(
                month=month,
                customers_start=start,
                joined=flow.joined,
                left=flow.left,
                churned=flow.churned,
                retained=start - flow.churned,
                customers_end=end,
                churn_rate=share(flow.churned, start),
            )
        )
        start = end
    return rows


def pooled_churn(rows: Sequence[MonthRetention]) -> Share:
    """The average monthly churn rate over ``rows``: all their churns over all their
    starting customers (customer-months), with its 95% interval.

    Treating each customer-month as its own trial is the usual pooled estimate; it
    weighs each month by its number of customers.
    """
    return share(sum(r.churned for r in rows), sum(r.customers_start for r in rows))


@dataclass(frozen=True)
class Cohort:
    """Contacts who first became customers in ``cohort`` (a first day of a month).

    ``active[k]`` is how many of them were customers at the end of the k-th month
    from their first (``active[0]``: at the end of the cohort's own month), those who
    came back after leaving included; ``retention[k]`` is that as a share of
    ``size`` (None for an empty cohort).
    """

    cohort: date
    size: int
    active: list[int]
    retention: list[float | None]


def cohort_table(
    flows: Mapping[tuple[date, date], Flow], cohorts: Sequence[date], last: date
) -> list[Cohort]:
    """One row per cohort, followed to the month ``last`` (a first day of a month).

    ``flows`` holds the counters by (cohort, month).
    """
    table = []
    for cohort in cohorts:
        size, active, count = 0, [], 0
        for month in months(cohort, last):
            flow = flows.get((cohort, month), Flow())
            size += flow.new
            count += flow.joined - flow.left
            active.append(count)
        table.append(Cohort(cohort, size, active, [(n / size if size else None) for n in active]))
    return table


# --- churn after a score -------------------------------------------------------------------


def churned_after(
    changes: Sequence[tuple[datetime, str | None, str | None]], at: datetime, window: timedelta
) -> bool | None:
    """Whether a contact who answered at ``at`` left the customer stages within ``window``.

    ``changes`` are the contact's stage changes as (time, from, to), in time order.
    None when they were not a customer at ``at`` (the stage of their last change at
    or before it is not a paying one, or they had none): they could not churn.
    Otherwise True when a change in (at, at + window] left the paying stages.
    """
    stage = None
    for changed_at, _before, after in changes:
        if changed_at > at:
            break
        stage = after
    if not is_customer(stage):
        return None
    return any(
        at < changed_at <= at + window and is_customer(before) and not is_customer(after)
        for changed_at, before, after in changes
    )


# --- detractor recovery --------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """One re-survey of an unhappy response: its status (scheduled, sent, cancelled),
    the survey's kind, when the unhappy answer was given, and the contact's next
    answer after the re-survey was sent (None until there is one)."""

    status: str
    kind: str
    unhappy_at: datetime
    next_category: str | None
    next_at: datetime | None


@dataclass(frozen=True)
class Recovery:
    """What became of re-surveys.

    ``answered`` of the ``sent`` ones have a next answer; ``recovered`` of those were
    no longer unhappy (NPS passive or promoter, CSAT neutral or satisfied, CES neutral
    or easy: a category that opens no follow-up item). ``rate`` = recovered /
    answered with its 95% interval: re-surveys not yet answered say nothing either
    way, so they are not in it. ``median_days``: from the unhappy answer to the
    recovering one, over the recovered (None without any).
    """

    scheduled: int
    waiting: int
    cancelled: int
    sent: int
    answered: int
    recovered: int
    rate: Share
    median_days: float | None


def recovery(asks: Iterable[Ask]) -> Recovery:
    """Count ``asks`` (every re-survey scheduled in a period) as ``Recovery`` says."""
    asks = list(asks)
    sent = [ask for ask in asks if ask.status == "sent"]
    answered = [ask for ask in sent if ask.next_category is not None]
    recovered = [ask for ask in answered if queue_for(ask.kind, ask.next_category) != "follow_up"]
    days = [(ask.next_at - ask.unhappy_at).total_seconds() / 86400 for ask in recovered]
    return Recovery(
        scheduled=len(asks),
        waiting=sum(ask.status == "scheduled" for ask in asks),
        cancelled=sum(ask.status == "cancelled" for ask in asks),
        sent=len(sent),
        answered=len(answered),
        recovered=len(recovered),
        rate=share(len(recovered), len(answered)),
        median_days=statistics.median(days) if days else None,
    )
