"""Stripe events in: verified, claimed once, and turned into referral changes.

A delivery is verified with the `stripe` package on its raw body, then claimed
by inserting its row (`ON CONFLICT DO NOTHING` on the event id): a twin arriving
at the same moment waits for the first to commit and then only counts itself.
The claim, the referral changes and the outcome commit together, so a failure
(the database going away) leaves nothing behind and Stripe's retry starts over.

Every referral change goes through the referral services (attribution, rewards);
this module only finds which referral a Stripe object is about.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from sqlalchemy import Select, or_, select, update

from api.contacts import service as contacts
from api.database import insert_ignore, utcnow
from api.domain_errors import DomainError, Invalid
from api.events import service as events
from api.extensions import db
from api.ids import new_id
from api.integrations import stripe_objects, stripe_setup
from api.integrations.models import StripeEvent, StripeIntegration
from api.integrations.stripe_objects import Payment
from api.referrals import attribution, rewards
from api.referrals.models import Referral, ReferralConversion

# Most sales were never referred: an event that names no referrer is kept, not announced.
QUIETLY_UNMATCHED = ("no_referral", "no_conversion")


class Unverified(Invalid):
    """Not provably Stripe's: no secret to check with, a bad or old signature, no event."""


@dataclass
class Outcome:
    outcome: str
    action: str | None = None
    matched_by: str | None = None
    reason: str | None = None
    referral_id: str | None = None
    order_id: str | None = None


def receive(
    integration: StripeIntegration, payload: bytes, signature: str | None
) -> tuple[StripeEvent, bool]:
    """Verify and process one delivery; (its row, True) when it was a repeat."""
    event = _verified(integration, payload, signature)
    workspace_id = integration.workspace_id
    now = utcnow()
    obj = event["data"]["object"]
    created = event.get("created")
    stripe_created_at = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else now
    row_id = new_id("sev")
    claimed = insert_ignore(
        StripeEvent,
        {
            "id": row_id,
            "workspace_id": workspace_id,
            "event_id": event["id"],
            "type": event["type"][:100],
            "livemode": bool(event.get("livemode")),
            "object_id": stripe_objects.ref(obj),
            "stripe_created_at": stripe_created_at,
            "outcome": "ignored",
            "deliveries": 1,
            "received_at": now,
            "last_received_at": now,
        },
        ["workspace_id", "event_id"],
    )
    if not claimed:
        return _repeat(workspace_id, event["id"], now), True
    row = db.session.get(StripeEvent, row_id)
    # Attribution windows and holds run from the moment of the purchase, not of a retry
    # days later; Stripe gives it in whole seconds, so a click in that second counts.
    moment = min(stripe_created_at + timedelta(seconds=1), now)
    if row.type not in HANDLERS:
        result = Outcome("ignored", reason="unhandled_type")
    else:
        read, handle = HANDLERS[row.type]
        payment = read(obj)
        _keep(row, payment)
        try:
            # A rule that says no undoes only its own part; the event is answered and kept.
            with db.session.begin_nested():
                result = handle(workspace_id, payment, moment)
        except DomainError as error:
            result = Outcome("unmatched", reason=error.code, order_id=payment.order_id)
    for name, value in vars(result).items():
        if value is not None:  # the order id read from the object stays unless replaced
            setattr(row, name, value)
    db.session.flush()
    if row.outcome == "unmatched" and row.reason not in QUIETLY_UNMATCHED:
        events.record(
            workspace_id,
            "stripe_event.unmatched",
            row.id,
            {"event_id": row.event_id, "type": row.type, "reason": row.reason},
        )
    return row, False


def _verified(integration: StripeIntegration, payload: bytes, signature: str | None) -> dict:
    secret = stripe_setup.signing_secret(integration)
    if secret is None:
        raise Unverified(
            "Set this endpoint's Stripe signing secret first (PUT /v1/integrations/stripe).",
            code="signing_secret_missing",
        )
    try:
        # Stripe's own check on the raw bytes, with its default 300 s tolerance.
        event = stripe.Webhook.construct_event(payload, signature, secret).to_dict()
    except stripe.SignatureVerificationError:
        raise Unverified(
            "The Stripe-Signature header does not match this endpoint's signing secret, "
            "or is more than 5 minutes old.",
            code="invalid_signature",
        ) from None
    except ValueError:  # not JSON, or not UTF-8, yet signed with the secret
        raise Unverified("The body is not a Stripe event.", code="malformed_event") from None
    data = event.get("data")
    if (
        not isinstance(event.get("id"), str)
        or not 0 < len(event["id"]) <= 255
        or not isinstance(event.get("type"), str)
        or not isinstance(data, dict)
        or not isinstance(data.get("object"), dict)
    ):
        raise Unverified("The body is not a Stripe event.", code="malformed_event")
    return event


def _repeat(workspace_id: str, event_id: str, now: datetime) -> StripeEvent:
    condition = (StripeEvent.workspace_id == workspace_id, StripeEvent.event_id == event_id)
    db.session.execute(
        update(StripeEvent)
        .where(*condition)
        .values(deliveries=StripeEvent.deliveries + 1, last_received_at=now)
    )
    return db.session.scalar(
        select(StripeEvent).where(*condition).execution_options(populate_existing=True)
    )


def _keep(row: StripeEvent, payment: Payment) -> None:
    """The Stripe ids later events are matched by (a refund names the payment intent)."""
    row.order_id = payment.order_id
    row.promotion_code = payment.promotion_code
    row.amount = payment.amount
    row.currency = payment.currency
    row.customer_id = payment.customer_id
    row.payment_intent_id = payment.payment_intent_id
    row.charge_id = payment.charge_id
    row.invoice_id = payment.invoice_id


# --- purchases ----------------------------------------------------------------------------


def _purchase(workspace_id: str, payment: Payment, moment: datetime) -> Outcome:
    """A conversion on the referral the purchase names; its sign-up made first if need be."""
    if not payment.paid:
        return Outcome("ignored", reason="payment_pending", order_id=payment.order_id)
    if payment.amount is None or payment.order_id is None:
        return Outcome("ignored", reason="no_amount", order_id=payment.order_id)
    payment.promotion_codes = _promotion_code_texts(workspace_id, payment.promotion_codes)
    found = _referral_for(workspace_id, payment, moment)
    if isinstance(found, Outcome):
        if payment.amount <= 0 and found.reason == "no_referral":
            return Outcome("ignored", reason="no_payment")
        return found
    referral, matched_by, signed_up_now = found
    base = {"matched_by": matched_by, "referral_id": referral.id, "order_id": payment.order_id}
    if referral.status == "rejected":
        return Outcome("unmatched", reason="referral_rejected", **base)
    if payment.amount <= 0:  # a trial or a free order: the sign-up counts, no purchase
        if signed_up_now:
            return Outcome("matched", action="signup", **base)
        return Outcome("ignored", reason="no_payment", **base)
    rewards.record_conversion(
        referral,
        {"order_id": payment.order_id, "amount": payment.amount, "currency": payment.currency},
        now=moment,
    )
    return Outcome("matched", action="conversion", **base)


def _referral_for(workspace_id: str, payment: Payment, moment):
    """(referral, rule, signed up now) for a purchase, or the Outcome saying why none.

    In order: a referral id as `client_reference_id`; the customer's referral, when
    they signed up before; a sign-up made now from the first click or code that
    attributes (`client_reference_id`, `metadata.ffclick`, `metadata.referral_code`,
    a promotion code); else none: `no_attribution` when one was named, `no_referral`
    when nothing named a referrer.
    """
    if payment.referral_id:
        referral = db.session.scalar(
            attribution.referrals_of(workspace_id).where(Referral.id == payment.referral_id)
        )
        if referral is not None:
            return referral, "client_reference_id", False
    known = _customer_referral(workspace_id, payment)
    if known is not None:
        return (*known, False)
    external_id = _friend_external_id(workspace_id, payment)
    touches = payment.touches
    if touches and external_id is None:
        return Outcome("unmatched", reason="no_customer")
    if not touches:
        return Outcome("unmatched", reason="no_referral")
    for rule, fields in touches:
        customer = {"external_id": external_id}
        if payment.email:
            customer["email"] = payment.email.lower()
        try:
            referral, _ = attribution.report_signup(
                workspace_id, {**fields, "customer": customer}, now=moment
            )
        except DomainError as error:
            if error.code == "no_attribution":
                continue  # forged, foreign, expired or unknown: try the next way
            raise
        return referral, rule, True
    return Outcome("unmatched", reason="no_attribution")


def _customer_referral(workspace_id: str, payment: Payment) -> tuple[Referral, str] | None:
    if payment.customer_id:
        contact = contacts.get_contact(workspace_id, payment.customer_id)
        referral = contact and attribution.live_referral_of(workspace_id, contact.id)
        if referral is not None:
            return referral, "customer"
    if payment.email:
        referral = attribution.live_referral_by_email(workspace_id, payment.email)
        if referral is not None:
            return referral, "email"
    return None


def _friend_external_id(workspace_id: str, payment: Payment) -> str | None:
    """Who the buyer is among the contacts: known by Stripe's customer id or by email,
    else a new contact keyed by the Stripe customer id (or, for a guest, the email)."""
    if payment.customer_id and contacts.get_contact(workspace_id, payment.customer_id):
        return payment.customer_id
    if payment.email:
        contact = db.session.scalar(
            contacts.filter_contacts(workspace_id, {"email": payment.email}).limit(1)
        )
        if contact is not None:
            return contact.external_id
    return payment.customer_id or (payment.email.lower() if payment.email else None)


def _promotion_code_texts(workspace_id: str, refs: list[str]) -> list[str]:
    """Codes as typed: a `promo_` id is looked up in the promotion_code events received."""
    texts = []
    for value in refs:
        if not value.startswith("promo_"):
            texts.append(value)
            continue
        text = db.session.scalar(
            select(StripeEvent.promotion_code)
            .where(
                StripeEvent.workspace_id == workspace_id,
                StripeEvent.object_id == value,
                StripeEvent.promotion_code.is_not(None),
            )
            .order_by(StripeEvent.stripe_created_at.desc(), StripeEvent.id.desc())
            .limit(1)
        )
        if text:
            texts.append(text)
    return texts


# --- refunds and disputes -------------------------------------------------------------------


def _conversion_paid_by(workspace_id: str, payment: Payment) -> ReferralConversion | None:
    """The conversion of the order this charge paid: its invoice, or the purchase (or
    invoice payment) event that named the same payment intent or charge."""
    orders = [payment.invoice_id] if payment.invoice_id else []
    same_payment = [
        column == value
        for column, value in (
            (StripeEvent.payment_intent_id, payment.payment_intent_id),
            (StripeEvent.charge_id, payment.charge_id),
        )
        if value
    ]
    if same_payment:
        for order_id, invoice_id in db.session.execute(
            select(StripeEvent.order_id, StripeEvent.invoice_id).where(
                StripeEvent.workspace_id == workspace_id, or_(*same_payment)
            )
        ):
            orders += [value for value in (order_id, invoice_id) if value]
    if not orders:
        return None
    return db.session.scalar(
        select(ReferralConversion)
        .where(
            ReferralConversion.workspace_id == workspace_id,
            ReferralConversion.order_id.in_(orders),
        )
        .order_by(ReferralConversion.created_at)
        .limit(1)
    )


def _refund(workspace_id: str, payment: Payment, moment: datetime) -> Outcome:
    """Full or partial, the order's refund: unpaid rewards voided, paid ones clawed back."""
    conversion = _conversion_paid_by(workspace_id, payment)
    if conversion is None:
        return Outcome("unmatched", reason="no_conversion")
    referral = attribution.get_referral(workspace_id, conversion.referral_id)
    rewards.record_refund(referral, conversion.order_id, now=moment)
    return Outcome(
        "matched",
        action="refund",
        matched_by="payment",
        referral_id=referral.id,
        order_id=conversion.order_id,
    )


def _dispute(workspace_id: str, payment: Payment, moment: datetime) -> Outcome:
    """A chargeback opened: the referral waits for a person's review, its rewards held."""
    conversion = _conversion_paid_by(workspace_id, payment)
    if conversion is None:
        return Outcome("unmatched", reason="no_conversion")
    referral = attribution.get_referral(workspace_id, conversion.referral_id)
    base = {"matched_by": "payment", "referral_id": referral.id, "order_id": conversion.order_id}
    if not attribution.flag_for_review(referral, "payment_dispute", moment):
        return Outcome("ignored", reason=f"referral_{referral.status}", **base)
    return Outcome("matched", action="flagged", **base)


# --- facts for later events -----------------------------------------------------------------


def _recorded(workspace_id: str, payment: Payment, moment: datetime) -> Outcome:
    """Kept for later events: a promotion code's text, an invoice's payment."""
    if payment.promotion_code is None and payment.invoice_id is None:
        return Outcome("ignored", reason="nothing_to_record")
    return Outcome("recorded")


# Each handled type: how to read its object, and what to do with it.
HANDLERS: dict[str, tuple[Callable[[dict], Payment], Callable[..., Outcome]]] = {
    "checkout.session.completed": (stripe_objects.checkout_session, _purchase),
    "checkout.session.async_payment_succeeded": (stripe_objects.checkout_session, _purchase),
    "invoice.paid": (stripe_objects.invoice, _purchase),
    "invoice_payment.paid": (stripe_objects.invoice_payment, _recorded),
    "charge.refunded": (stripe_objects.charge, _refund),
    "charge.dispute.created": (stripe_objects.dispute, _dispute),
    "promotion_code.created": (stripe_objects.promotion_code, _recorded),
    "promotion_code.updated": (stripe_objects.promotion_code, _recorded),
}


def received(workspace_id: str, filters: dict) -> Select:
    statement = select(StripeEvent).where(StripeEvent.workspace_id == workspace_id)
    for name in ("outcome", "type"):
        if filters.get(name):
            statement = statement.where(getattr(StripeEvent, name) == filters[name])
    return statement
