"""A workspace's Stripe connection and every Stripe event it received.

One row per Stripe event id and workspace (a unique constraint): a delivery of an
event already claimed, even one arriving at the same moment, only counts itself
in `deliveries`, so every event is processed once.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.database import UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id
from api.referrals.models import Money

# What a received event did: changed a referral; kept a fact later events are matched
# by (a promotion code's text, an invoice's payment); found no referral (`reason` says
# why); or needed nothing (a type we do not handle, a payment still pending).
OUTCOMES = ("matched", "recorded", "unmatched", "ignored")


class StripeIntegration(db.Model):
    """Where a workspace's Stripe events arrive, and the secret Stripe signs them with.

    Both are sealed (see api/integrations/sealing.py): the signing secret is Stripe's,
    so it must be read back to verify, and the URL's token must be shown again. The
    token is also kept as a SHA-256 hash, which is how a delivery finds its workspace.
    """

    __tablename__ = "stripe_integrations"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_token: Mapped[str] = mapped_column(Text)
    sealed_signing_secret: Mapped[str | None] = mapped_column(Text)
    signing_secret_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeEvent(db.Model):
    """A Stripe event as received, the Stripe ids it named, and what it did here.

    No personal data: the customer is kept as Stripe's id, never their email.
    """

    __tablename__ = "stripe_events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "event_id"),
        Index("ix_stripe_events_workspace", "workspace_id", "id"),
        # A refund or a dispute names the payment; the purchase event named it first.
        Index("ix_stripe_events_payment_intent", "workspace_id", "payment_intent_id"),
        Index("ix_stripe_events_charge", "workspace_id", "charge_id"),
        # A promotion code's text, by its Stripe id (promotion_code.* events).
        Index("ix_stripe_events_object", "workspace_id", "object_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("sev"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    # The id of the event's object (cs_..., in_..., ch_..., dp_..., promo_...).
    object_id: Mapped[str | None] = mapped_column(String(255))
    stripe_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    # matched: what was done (signup, conversion, refund, flagged); how the referral was found.
    action: Mapped[str | None] = mapped_column(String(32))
    matched_by: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    referral_id: Mapped[str | None] = mapped_column(ForeignKey("referrals.id", ondelete="SET NULL"))
    order_id: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    customer_id: Mapped[str | None] = mapped_column(String(255))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    charge_id: Mapped[str | None] = mapped_column(String(255))
    invoice_id: Mapped[str | None] = mapped_column(String(255))
    promotion_code: Mapped[str | None] = mapped_column(String(255))
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
