"""Advocate stats, the leaderboard, the program funnel and reward totals.

Every figure is a grouped aggregate over one table (clicks, referrals,
conversions, rewards, acts of advocacy) for one workspace and period, so a page
costs a handful of statements whatever the number of advocates; the per-code
and per-contact rows are joined in Python.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from api.advocacy.counts import acts_done
from api.contacts.models import Contact
from api.database import utcnow
from api.extensions import db
from api.referrals.models import (
    Referral,
    ReferralClick,
    ReferralCode,
    ReferralConversion,
    ReferralReward,
)

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}


def since_of(period: str, now: datetime | None = None) -> datetime | None:
    days = PERIODS[period]
    return None if days is None else (now or utcnow()) - timedelta(days=days)


def _after(column, since: datetime | None):
    return column >= since if since is not None else True


def _clicks_by_code(workspace_id: str, since, code_ids=None) -> dict[str, int]:
    statement = (
        select(ReferralClick.code_id, func.count())
        .where(ReferralClick.workspace_id == workspace_id, _after(ReferralClick.created_at, since))
        .group_by(ReferralClick.code_id)
    )
    if code_ids is not None:
        statement = statement.where(ReferralClick.code_id.in_(code_ids))
    return dict(db.session.execute(statement).all())


def _referrals_by_code(workspace_id: str, since, code_ids=None) -> dict[str, tuple[int, int]]:
    """(sign-ups, conversions) per code: accepted referrals, and those that converted."""
    statement = (
        select(
            Referral.code_id,
            func.count(),
            func.count(Referral.converted_at),
        )
        .where(
            Referral.workspace_id == workspace_id,
            Referral.status != "rejected",
            _after(Referral.signed_up_at, since),
        )
        .group_by(Referral.code_id)
    )
    if code_ids is not None:
        statement = statement.where(Referral.code_id.in_(code_ids))
    return {
        code_id: (signups, converted)
        for code_id, signups, converted in db.session.execute(statement)
    }


def _revenue_by_code(workspace_id: str, since, code_ids=None) -> dict[str, dict[str, str]]:
    """Purchases of referred people, not refunded, per code and currency."""
    statement = (
        select(Referral.code_id, ReferralConversion.currency, func.sum(ReferralConversion.amount))
        .join(Referral, Referral.id == ReferralConversion.referral_id)
        .where(
            ReferralConversion.workspace_id == workspace_id,
            ReferralConversion.refunded_at.is_(None),
            Referral.status != "rejected",
            _after(ReferralConversion.created_at, since),
        )
        .group_by(Referral.code_id, ReferralConversion.currency)
    )
    if code_ids is not None:
        statement = statement.where(Referral.code_id.in_(code_ids))
    revenue: dict[str, dict[str, str]] = defaultdict(dict)
    for code_id, currency, amount in db.session.execute(statement):
        revenue[code_id][currency] = _money(amount)
    return revenue


def _money(amount) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


def code_stats(code: ReferralCode, period: str = "all") -> dict:
    since = since_of(period)
    ids = [code.id]
    signups, conversions = _referrals_by_code(code.workspace_id, since, ids).get(code.id, (0, 0))
    return {
        "code_id": code.id,
        "code": code.code,
        "period": period,
        "clicks": _clicks_by_code(code.workspace_id, since, ids).get(code.id, 0),
        "signups": signups,
        "conversions": conversions,
        "revenue": _revenue_by_code(code.workspace_id, since, ids).get(code.id, {}),
        "rewards": reward_totals(code.workspace_id, code.contact_id, side="referrer").get(
            code.contact_id, []
        ),
    }


def leaderboard(workspace_id: str, period: str = "30d", limit: int = 10) -> dict:
    """Advocates ranked by what they did in the period.

    First by acts done (referred friends who converted, reviews left, testimonials
    published), then sign-ups, then clicks. An advocate without a code is ranked
    by their reviews and testimonials alone."""
    since = since_of(period)
    clicks = _clicks_by_code(workspace_id, since)
    referrals = _referrals_by_code(workspace_id, since)
    revenue = _revenue_by_code(workspace_id, since)
    done = acts_done(workspace_id, since)
    codes = {
        code.contact_id: code
        for code in db.session.scalars(
            select(ReferralCode).where(
                ReferralCode.workspace_id == workspace_id,
                ReferralCode.id.in_(set(clicks) | set(referrals)),
            )
        )
    }
    rows = {}
    for contact_id in set(codes) | {c for c, acts in done.items() if acts.keys() & _COUNTED}:
        code = codes.get(contact_id)
        signups, conversions = referrals.get(code.id, (0, 0)) if code else (0, 0)
        rows[contact_id] = {
            "code_id": code.id if code else None,
            "code": code.code if code else None,
            "contact_id": contact_id,
            "clicks": clicks.get(code.id, 0) if code else 0,
            "signups": signups,
            "conversions": conversions,
            "reviews": done.get(contact_id, {}).get("review", 0),
            "testimonials": done.get(contact_id, {}).get("testimonial", 0),
            "revenue": revenue.get(code.id, {}) if code else {},
        }

    def rank(row):
        acts = row["conversions"] + row["reviews"] + row["testimonials"]
        return (-acts, -row["signups"], -row["clicks"], row["contact_id"])

    top = sorted(rows.values(), key=rank)[:limit]
    contacts = {
        contact.id: contact
        for contact in db.session.scalars(
            select(Contact).where(
                Contact.workspace_id == workspace_id,
                Contact.id.in_([row["contact_id"] for row in top]),
            )
        )
    }
    entries = [
        {
            "rank": position,
            **row,
            "contact_external_id": contacts[row["contact_id"]].external_id,
            "first_name": contacts[row["contact_id"]].first_name,
        }
        for position, row in enumerate(top, start=1)
    ]
    return {"period": period, "data": entries}


# The acts of advocacy the leaderboard counts besides referrals.
_COUNTED = {"review", "testimonial"}


def funnel(workspace_id: str, period: str = "30d", now: datetime | None = None) -> dict:
    """Advocates -> clicks -> sign-ups -> conversions, and new customers per advocate."""
    since = since_of(period, now)
    advocates = db.session.scalar(
        select(func.count())
        .select_from(ReferralCode)
        .where(ReferralCode.workspace_id == workspace_id, ReferralCode.disabled_at.is_(None))
    )
    clicks = sum(_clicks_by_code(workspace_id, since).values())
    referrals = _referrals_by_code(workspace_id, since).values()
    signups = sum(s for s, _ in referrals)
    conversions = sum(c for _, c in referrals)
    return {
        "period": period,
        "advocates": advocates,
        "clicks": clicks,
        "signups": signups,
        "conversions": conversions,
        # New (converted) customers per advocate: the program's viral coefficient.
        "viral_coefficient": round(conversions / advocates, 4) if advocates else 0.0,
    }


def reward_totals(
    workspace_id: str, contact_id: str | None = None, side: str | None = None
) -> dict[str, list[dict]]:
    """Per contact: sums by kind, currency and status (void ones left out)."""
    statement = (
        select(
            ReferralReward.contact_id,
            ReferralReward.kind,
            ReferralReward.currency,
            ReferralReward.status,
            func.count(),
            func.sum(ReferralReward.amount),
        )
        .where(ReferralReward.workspace_id == workspace_id, ReferralReward.status != "void")
        .group_by(
            ReferralReward.contact_id,
            ReferralReward.kind,
            ReferralReward.currency,
            ReferralReward.status,
        )
        .order_by(ReferralReward.contact_id, ReferralReward.kind, ReferralReward.currency)
    )
    if contact_id:
        statement = statement.where(ReferralReward.contact_id == contact_id)
    if side:
        statement = statement.where(ReferralReward.side == side)
    totals: dict[str, dict[tuple, dict]] = defaultdict(dict)
    for contact, kind, currency, status, count, amount in db.session.execute(statement):
        row = totals[contact].setdefault(
            (kind, currency),
            {
                "kind": kind,
                "currency": currency,
                "count": 0,
                "pending": "0.00",
                "approved": "0.00",
                "paid": "0.00",
            },
        )
        row["count"] += count
        row[status] = _money(amount)
    return {contact: list(rows.values()) for contact, rows in totals.items()}


def contacts_totals(workspace_id: str, contact_id: str | None = None) -> list[dict]:
    totals = reward_totals(workspace_id, contact_id)
    external = (
        dict(
            db.session.execute(
                select(Contact.id, Contact.external_id).where(
                    Contact.workspace_id == workspace_id, Contact.id.in_(list(totals))
                )
            ).all()
        )
        if totals
        else {}
    )
    return [
        {"contact_id": cid, "contact_external_id": external.get(cid), "totals": rows}
        for cid, rows in totals.items()
    ]
