"""Referral program, codes, clicks, referrals, conversions and rewards.

Every rule that must hold under concurrency is a constraint here, so the
services can settle races with `ON CONFLICT` instead of read-then-write:

* one code per contact per workspace, and one canonical code across all
  workspaces (a `/r/<code>` link carries no workspace);
* one live referral per referred contact (`bound_contact_id`, NULL on rejected
  rows so rejections can be stored and listed without taking the slot);
* one conversion per order id per workspace;
* one reward per referral and side.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.contacts.models import Contact
from api.database import JSONType, UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id

ATTRIBUTION_MODELS = ("last_click", "first_click")
REWARD_EVENTS = ("signup", "purchase")
REWARD_KINDS = ("money", "credits", "free_months", "percent_discount", "points")
REFERRAL_STATUSES = ("signed_up", "flagged", "converted", "rejected", "expired")
REFERRAL_SOURCES = ("click", "code")
REWARD_SIDES = ("referrer", "friend")
REWARD_STATUSES = ("pending", "approved", "paid", "void")

# Money amounts: 12 digits before the point is more than any order we will see.
Money = Numeric(14, 2)


class ReferralProgram(db.Model):
    """A workspace's program settings; no row means the defaults, disabled."""

    __tablename__ = "referral_programs"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    landing_url: Mapped[str | None] = mapped_column(String(2000))
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=30)
    attribution_model: Mapped[str] = mapped_column(String(16), default="last_click")
    # How long a referred friend has to make the qualifying purchase; None: no limit.
    qualification_window_days: Mapped[int | None] = mapped_column(Integer)
    referrer_reward: Mapped[dict | None] = mapped_column(JSONType)
    friend_reward: Mapped[dict | None] = mapped_column(JSONType)
    reward_event: Mapped[str] = mapped_column(String(16), default="purchase")
    min_purchase_amount: Mapped[Decimal | None] = mapped_column(Money)
    min_purchase_currency: Mapped[str | None] = mapped_column(String(3))
    hold_days: Mapped[int] = mapped_column(Integer, default=14)
    cap_per_referrer: Mapped[int | None] = mapped_column(Integer)
    cap_period_days: Mapped[int | None] = mapped_column(Integer)
    allow_paid_traffic: Mapped[bool] = mapped_column(Boolean, default=True)
    # Soft-signal thresholds: this many sign-ups within an hour flag the next one.
    ip_burst_limit: Mapped[int] = mapped_column(Integer, default=3)
    code_burst_limit: Mapped[int] = mapped_column(Integer, default=10)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralCode(db.Model):
    __tablename__ = "referral_codes"
    __table_args__ = (
        UniqueConstraint("workspace_id", "contact_id"),
        # Global, canonical (upper-case, hyphen-free): case-insensitive uniqueness.
        UniqueConstraint("code"),
        Index("ix_referral_codes_workspace", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rc"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    vanity: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship(Contact, lazy="joined", innerjoin=True)

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


class ReferralClick(db.Model):
    """One visit of `/r/<code>`. The client IP is kept only as a keyed hash."""

    __tablename__ = "referral_clicks"
    __table_args__ = (
        Index("ix_referral_clicks_code", "code_id", "created_at"),
        Index("ix_referral_clicks_workspace", "workspace_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("clk"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    code_id: Mapped[str] = mapped_column(ForeignKey("referral_codes.id", ondelete="CASCADE"))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    referrer: Mapped[str | None] = mapped_column(String(512))
    # The paid-ad click id parameter the link carried (gclid, fbclid, ...), if any.
    ad_click_param: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Referral(db.Model):
    """A referred person attributed to a code; rejected ones are kept with their reason."""

    __tablename__ = "referrals"
    __table_args__ = (
        # One live referral per referred person: NULL (rejected rows) never conflicts.
        UniqueConstraint("workspace_id", "bound_contact_id"),
        Index("ix_referrals_workspace_status", "workspace_id", "status", "id"),
        Index("ix_referrals_workspace_ip", "workspace_id", "ip_hash", "signed_up_at"),
        Index("ix_referrals_code", "code_id", "signed_up_at"),
        Index("ix_referrals_referrer", "referrer_contact_id", "signed_up_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ref"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    code_id: Mapped[str] = mapped_column(ForeignKey("referral_codes.id", ondelete="CASCADE"))
    referrer_contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    referred_contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    bound_contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE")
    )
    click_id: Mapped[str | None] = mapped_column(
        ForeignKey("referral_clicks.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    flags: Mapped[list] = mapped_column(JSONType, default=list)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    email_key: Mapped[str | None] = mapped_column(String(320))
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_up_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    qualifies_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    code: Mapped[ReferralCode] = relationship(ReferralCode, lazy="joined", innerjoin=True)
    referred: Mapped[Contact] = relationship(
        Contact, foreign_keys=[referred_contact_id], lazy="joined", innerjoin=True
    )


class ReferralConversion(db.Model):
    """A purchase by a referred person; the order id makes reporting it idempotent."""

    __tablename__ = "referral_conversions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "order_id"),
        Index("ix_referral_conversions_referral", "referral_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cnv"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(255))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    qualified: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralReward(db.Model):
    """What a referral earns one side: pending -> approved -> paid | void."""

    __tablename__ = "referral_rewards"
    __table_args__ = (
        UniqueConstraint("referral_id", "side"),
        Index("ix_referral_rewards_workspace_status", "workspace_id", "status", "id"),
        Index("ix_referral_rewards_due", "status", "approve_after"),
        Index("ix_referral_rewards_contact", "workspace_id", "contact_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rwd"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    conversion_id: Mapped[str | None] = mapped_column(
        ForeignKey("referral_conversions.id", ondelete="SET NULL")
    )
    side: Mapped[str] = mapped_column(String(8))
    # Who receives it: the referrer, or the referred friend.
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    # A flagged referral's rewards wait for a review instead of the hold.
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    approve_after: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payout_reference: Mapped[str | None] = mapped_column(String(255))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(String(32))
    # A refund after payout: the money is out, so it is recorded for the partner to recover.
    clawback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
