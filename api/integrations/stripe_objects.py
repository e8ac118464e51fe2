"""What a Stripe object says, as plain values: pure functions over the event's JSON.

Stripe objects change shape between API versions (an invoice's payment intent
moved into `invoice.payments` in 2025-03-31) and fields may arrive as an id or as
the expanded object; every reader here accepts both and any missing field.
"""

from dataclasses import dataclass, field
from decimal import Decimal

# Amounts are integers in the currency's smallest unit; these currencies have none,
# and these three decimals (Stripe requires the last digit 0, so two remain).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def ref(value) -> str | None:
    """An object's id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def _text(value) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def amount(minor_units, currency: str) -> Decimal:
    exponent = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    return (Decimal(int(minor_units)) / (10**exponent)).quantize(Decimal("0.01"))


def _currency(obj: dict) -> str | None:
    value = _text(obj.get("currency"))
    return value.upper() if value and len(value) == 3 else None


def _amount(obj: dict, key: str) -> Decimal | None:
    """The object's `key` amount in its currency; None when either is missing or odd."""
    minor_units, currency = obj.get(key), _currency(obj)
    return amount(minor_units, currency) if isinstance(minor_units, int) and currency else None


@dataclass
class Payment:
    """A purchase (a completed Checkout Session, a paid invoice) or a refund or dispute."""

    object_id: str | None
    order_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    paid: bool = True
    customer_id: str | None = None
    email: str | None = None
    client_reference_id: str | None = None
    metadata: dict = field(default_factory=dict)
    promotion_codes: list = field(default_factory=list)
    payment_intent_id: str | None = None
    charge_id: str | None = None
    invoice_id: str | None = None
    promotion_code: str | None = None  # a promotion code object's own text

    @property
    def touches(self) -> list[tuple[str, dict]]:
        """The ways this purchase names a referrer, in the order they are tried:
        (rule, the sign-up fields it gives)."""
        found = []
        reference = self.client_reference_id
        if reference and not reference.startswith("ref_"):
            found.append(("client_reference_id", {"click_id": reference}))
        if _text(self.metadata.get("ffclick")):
            found.append(("metadata.ffclick", {"click_id": self.metadata["ffclick"].strip()}))
        if _text(self.metadata.get("referral_code")):
            found.append(("metadata.referral_code", {"code": self.metadata["referral_code"]}))
        found += [("promotion_code", {"code": code}) for code in self.promotion_codes]
        return found

    @property
    def referral_id(self) -> str | None:
        reference = self.client_reference_id
        return reference if reference and reference.startswith("ref_") else None


def _metadata(*sources) -> dict:
    merged: dict = {}
    for source in sources:
        if isinstance(source, dict):
            merged.update({k: v for k, v in source.items() if isinstance(v, str)})
    return merged


def promotion_code_refs(obj: dict) -> list:
    """Promotion codes applied: an expanded object's `code` text, or a `promo_` id."""
    discounts = [d for d in obj.get("discounts") or [] if isinstance(d, dict)]
    if isinstance(obj.get("discount"), dict):  # invoices before the 2022 API
        discounts.append(obj["discount"])
    found = []
    for discount in discounts:
        promotion = discount.get("promotion_code")
        if isinstance(promotion, dict) and _text(promotion.get("code")):
            found.append(promotion["code"].strip())
        elif _text(promotion):
            found.append(promotion.strip())
    return found


def checkout_session(obj: dict) -> Payment:
    """A subscription's first payment is both this session and its invoice: the invoice
    is the order then, so `invoice.paid` for the same payment adds nothing."""
    invoice = ref(obj.get("invoice"))
    details = obj.get("customer_details") if isinstance(obj.get("customer_details"), dict) else {}
    return Payment(
        object_id=ref(obj),
        order_id=invoice or ref(obj),
        amount=_amount(obj, "amount_total"),
        currency=_currency(obj),
        # "unpaid": a delayed payment method; async_payment_succeeded follows when it is.
        paid=obj.get("payment_status") != "unpaid",
        customer_id=ref(obj.get("customer")),
        email=_text(details.get("email")) or _text(obj.get("customer_email")),
        client_reference_id=_text(obj.get("client_reference_id")),
        metadata=_metadata(obj.get("metadata")),
        promotion_codes=promotion_code_refs(obj),
        payment_intent_id=ref(obj.get("payment_intent")),
        invoice_id=invoice,
    )


def invoice(obj: dict) -> Payment:
    subscription = obj.get("subscription_details") or {}
    parent = (obj.get("parent") or {}).get("subscription_details") or {}
    return Payment(
        object_id=ref(obj),
        order_id=ref(obj),
        amount=_amount(obj, "amount_paid"),
        currency=_currency(obj),
        customer_id=ref(obj.get("customer")),
        email=_text(obj.get("customer_email")),
        # A subscription's metadata reaches each of its invoices; the invoice's own wins.
        metadata=_metadata(
            subscription.get("metadata") if isinstance(subscription, dict) else None,
            parent.get("metadata") if isinstance(parent, dict) else None,
            obj.get("metadata"),
        ),
        promotion_codes=promotion_code_refs(obj),
        payment_intent_id=ref(obj.get("payment_intent")),
        charge_id=ref(obj.get("charge")),
        invoice_id=ref(obj),
    )


def charge(obj: dict) -> Payment:
    """A refunded charge: `amount` is what was refunded so far."""
    return Payment(
        object_id=ref(obj),
        amount=_amount(obj, "amount_refunded"),
        currency=_currency(obj),
        customer_id=ref(obj.get("customer")),
        payment_intent_id=ref(obj.get("payment_intent")),
        charge_id=ref(obj),
        invoice_id=ref(obj.get("invoice")),
    )


def dispute(obj: dict) -> Payment:
    return Payment(
        object_id=ref(obj),
        amount=_amount(obj, "amount"),
        currency=_currency(obj),
        payment_intent_id=ref(obj.get("payment_intent")),
        charge_id=ref(obj.get("charge")),
    )


def invoice_payment(obj: dict) -> Payment:
    """Since the 2025-03-31 API an invoice names its payments only through these."""
    payment = obj.get("payment") if isinstance(obj.get("payment"), dict) else {}
    return Payment(
        object_id=ref(obj),
        payment_intent_id=ref(payment.get("payment_intent")),
        charge_id=ref(payment.get("charge")),
        invoice_id=ref(obj.get("invoice")),
    )


def promotion_code(obj: dict) -> Payment:
    """A promotion code made at Stripe: its text, so purchases naming its id match."""
    code = _text(obj.get("code"))
    return Payment(object_id=ref(obj), promotion_code=code[:255] if code else None)
