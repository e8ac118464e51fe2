"""Lifecycle stages: which stages exist, which of them are customers, and how a change
moves the counts that retention is computed from.

Pure Python, like api/scoring.py: the contacts service applies these rules, the
reports read what they leave behind, and tests call them directly.

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

from dataclasses import dataclass
from datetime import date, datetime

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
