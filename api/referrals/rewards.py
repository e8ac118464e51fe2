"""Conversions and the rewards ledger.

A reward exists at most once per referral and side (a unique constraint); a
conversion at most once per order id. Both are written with `INSERT ... ON
CONFLICT DO NOTHING`, so twenty concurrent reports of one order make one
conversion and one reward per side, and only the writer that inserted records
the event.

Rewards go pending -> approved -> paid, or void. A pending reward is approved
by the worker once its hold has passed (so a refund inside the hold voids it
before any payout), or by the API; a flagged referral's rewards are held until
a person approves the referral.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, select

from api.database import insert_ignore, utcnow
from api.domain_errors import Conflict, found
from api.events import service as events
from api.extensions import db
from api.filters import narrowed
from api.ids import new_id
from api.referrals import program as programs
from api.referrals.models import (
    Referral,
    ReferralConversion,
    ReferralProgram,
    ReferralReward,
)
from api.worker import periodic


def _event(reward: ReferralReward, type_: str) -> None:
    events.record(
        reward.workspace_id,
        type_,
        reward.id,
        {
            "referral_id": reward.referral_id,
            "side": reward.side,
            "contact_id": reward.contact_id,
            "kind": reward.kind,
            "amount": str(reward.amount),
            "currency": reward.currency,
            "status": reward.status,
        },
    )


def grant(
    referral: Referral,
    program: ReferralProgram,
    *,
    conversion: ReferralConversion | None = None,
    now: datetime | None = None,
) -> list[ReferralReward]:
    """Create the program's rewards for the referral; sides that have one already are kept."""
    now = now or utcnow()
    created = []
    sides = (
        ("referrer", program.referrer_reward, referral.referrer_contact_id),
        ("friend", program.friend_reward, referral.referred_contact_id),
    )
    for side, rule, contact_id in sides:
        if not rule:
            continue
        reward_id = new_id("rwd")
        inserted = insert_ignore(
            ReferralReward,
            {
                "id": reward_id,
                "workspace_id": referral.workspace_id,
                "referral_id": referral.id,
                "conversion_id": conversion.id if conversion else None,
                "side": side,
                "contact_id": contact_id,
                "kind": rule["kind"],
                "amount": Decimal(rule["amount"]),
                "currency": rule.get("currency"),
                "status": "pending",
                "held": referral.status == "flagged",
                "approve_after": now + timedelta(days=program.hold_days),
                "created_at": now,
                "updated_at": now,
            },
            ["referral_id", "side"],
        )
        if inserted:
            reward = db.session.get(ReferralReward, reward_id)
            _event(reward, "reward.created")
            created.append(reward)
    return created


def rewards_of_referral(referral: Referral) -> list[ReferralReward]:
    return list(
        db.session.scalars(
            select(ReferralReward)
            .where(ReferralReward.referral_id == referral.id)
            .order_by(ReferralReward.side)
        )
    )


def release(referral: Referral, now: datetime) -> None:
    """A reviewed referral's rewards follow the normal hold from now on."""
    for reward in rewards_of_referral(referral):
        if reward.held:
            reward.held = False
            reward.updated_at = now


def hold(referral: Referral, now: datetime) -> None:
    """A referral sent to review: its pending rewards wait for the verdict."""
    for reward in rewards_of_referral(referral):
        if reward.status == "pending" and not reward.held:
            reward.held = True
            reward.updated_at = now


def void_all(referral: Referral, reason: str, now: datetime) -> None:
    for reward in rewards_of_referral(referral):
        _void_or_claw_back(reward, reason, now)


def _void_or_claw_back(reward: ReferralReward, reason: str, now: datetime) -> None:
    if reward.status in ("pending", "approved"):
        reward.status = "void"
        reward.voided_at = now
        reward.void_reason = reason
        reward.updated_at = now
        _event(reward, "reward.voided")
    elif reward.status == "paid" and reward.clawback_at is None:
        # Already paid out: recorded so the partner can recover it.
        reward.clawback_at = now
        reward.void_reason = reason
        reward.updated_at = now
        _event(reward, "reward.clawed_back")


# --- conversions ------------------------------------------------------------------------


def _past_window(referral: Referral, now: datetime) -> bool:
    return referral.qualifies_until is not None and now > referral.qualifies_until


def qualifies(
    program: ReferralProgram, referral: Referral, amount: Decimal, currency: str, now: datetime
) -> bool:
    """A purchase earns the rewards: inside the qualification window and over the minimum."""
    if _past_window(referral, now):
        return False
    if program.min_purchase_amount is not None:
        if currency != program.min_purchase_currency:
            return False
        if amount < program.min_purchase_amount:
            return False
    return True


def record_conversion(
    referral: Referral, data: dict, now: datetime | None = None
) -> tuple[ReferralConversion, bool]:
    """Record a purchase once per order id; (conversion, True) when recorded now."""
    now = now or utcnow()
    workspace_id = referral.workspace_id
    if referral.status == "rejected":
        raise Conflict("A rejected referral cannot convert.", code="referral_rejected")
    program = programs.program_or_defaults(workspace_id)
    amount, currency = data["amount"], data["currency"]
    qualified = qualifies(program, referral, amount, currency, now)
    conversion_id = new_id("cnv")
    inserted = insert_ignore(
        ReferralConversion,
        {
            "id": conversion_id,
            "workspace_id": workspace_id,
            "referral_id": referral.id,
            "order_id": data["order_id"],
            "amount": amount,
            "currency": currency,
            "qualified": qualified,
            "created_at": now,
        },
        ["workspace_id", "order_id"],
    )
    if not inserted:
        existing = db.session.scalar(
            select(ReferralConversion).where(
                ReferralConversion.workspace_id == workspace_id,
                ReferralConversion.order_id == data["order_id"],
            )
        )
        if (
            existing.referral_id != referral.id
            or existing.amount != amount
            or existing.currency != currency
        ):
            raise Conflict(
                "This order id was reported already with another referral, amount or currency.",
                code="order_conflict",
                fields={"order_id": ["conflict"]},
            )
        return existing, False
    conversion = db.session.get(ReferralConversion, conversion_id)
    events.record(
        workspace_id,
        "referral.converted" if qualified else "referral.purchase",
        referral.id,
        {
            "conversion_id": conversion.id,
            "order_id": conversion.order_id,
            "amount": str(amount),
            "currency": currency,
            "qualified": qualified,
        },
    )
    if qualified:
        if referral.converted_at is None:
            referral.converted_at = now
        if referral.status == "signed_up":
            referral.status = "converted"
        referral.updated_at = now
        db.session.flush()
        if program.reward_event == "purchase":
            grant(referral, program, conversion=conversion, now=now)
    elif referral.status == "signed_up" and _past_window(referral, now):
        referral.status = "expired"
        referral.updated_at = now
        db.session.flush()
    return conversion, True


def record_refund(referral: Referral, order_id: str, now: datetime | None = None):
    """Mark the order refunded and void its unpaid rewards (claw back paid ones)."""
    now = now or utcnow()
    of_order = select(ReferralConversion).where(
        ReferralConversion.workspace_id == referral.workspace_id,
        ReferralConversion.referral_id == referral.id,
        ReferralConversion.order_id == order_id,
    )
    conversion = found(db.session.scalar(of_order), "conversion with this order id")
    if conversion.refunded_at is None:
        conversion.refunded_at = now
        events.record(
            referral.workspace_id,
            "referral.refunded",
            referral.id,
            {"conversion_id": conversion.id, "order_id": order_id},
        )
        for reward in rewards_of_referral(referral):
            if reward.conversion_id == conversion.id:
                _void_or_claw_back(reward, "refunded", now)
        db.session.flush()
    return conversion


# --- the ledger -------------------------------------------------------------------------


def rewards_in(workspace_id: str) -> Select:
    return select(ReferralReward).where(ReferralReward.workspace_id == workspace_id)


def filter_rewards(workspace_id: str, filters: dict) -> Select:
    names = ("status", "side", "contact_id", "referral_id")
    return narrowed(rewards_in(workspace_id), ReferralReward, filters, *names)


def get_reward(workspace_id: str, reward_id: str, *, for_update: bool = False) -> ReferralReward:
    statement = rewards_in(workspace_id).where(ReferralReward.id == reward_id)
    if for_update:  # a state change: concurrent approve/paid calls take turns
        statement = statement.with_for_update()
    return found(db.session.scalar(statement), "reward")


def approve(reward: ReferralReward, now: datetime | None = None) -> ReferralReward:
    """Approve now, before the hold ends (a person decided); approving twice is a no-op."""
    now = now or utcnow()
    if reward.status == "approved":
        return reward
    if reward.status != "pending":
        raise Conflict(f"A {reward.status} reward cannot be approved.", code="invalid_state")
    _approve(reward, now)
    db.session.flush()
    return reward


def _approve(reward: ReferralReward, now: datetime) -> None:
    reward.status = "approved"
    reward.approved_at = now
    reward.held = False
    reward.updated_at = now
    _event(reward, "reward.approved")


def mark_paid(reward: ReferralReward, reference: str, now: datetime | None = None):
    """The partner paid it out; the same reference again is a no-op."""
    now = now or utcnow()
    if reward.status == "paid" and reward.payout_reference == reference:
        return reward
    if reward.status != "approved":
        raise Conflict(
            f"Only approved rewards can be paid; this one is {reward.status}.", code="invalid_state"
        )
    reward.status = "paid"
    reward.paid_at = now
    reward.payout_reference = reference
    reward.updated_at = now
    db.session.flush()
    _event(reward, "reward.paid")
    return reward


def approve_due(now: datetime | None = None, batch: int = 500) -> int:
    """Approve up to `batch` pending, unheld rewards whose hold has passed; run by the worker.

    No reward is approved (and announced) twice by workers running at once
    (periodic.each_due). The caller commits after each batch and calls again while it
    returns `batch`.
    """
    now = now or utcnow()
    due = (
        select(ReferralReward)
        .where(
            ReferralReward.status == "pending",
            ReferralReward.held.is_(False),
            ReferralReward.approve_after <= now,
        )
        .order_by(ReferralReward.approve_after, ReferralReward.id)
    )
    return periodic.each_due(due, batch, lambda reward: _approve(reward, now))
