"""Request and response schemas of the referral API.

Amounts are read as JSON numbers or numeric strings and written as strings
("49.90"), so no amount ever passes through a binary float.
"""

from pathlib import Path

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from api.contacts.schemas import (
    REFERENCE_DESCRIPTION,
    ContactFieldsSchema,
    ContactReferenceSchema,
)
from api.http.pagination import PageArgs
from api.referrals import links
from api.referrals.models import (
    ATTRIBUTION_MODELS,
    REFERRAL_STATUSES,
    REWARD_EVENTS,
    REWARD_KINDS,
    REWARD_SIDES,
    REWARD_STATUSES,
)
from api.referrals.stats import PERIODS

_DATA = Path(__file__).parent / "data"
CURRENCIES = frozenset(
    code
    for line in (_DATA / "currencies.txt").read_text().splitlines()
    if not line.startswith("#")
    for code in line.split()
)

MAX_AMOUNT = 10**12


def _currency(value: str) -> None:
    if value not in CURRENCIES:
        raise ValidationError("Use an ISO 4217 currency code such as `USD` or `EUR`.")


def _upper(data, *names):
    if isinstance(data, dict):
        data = dict(data)
        for name in names:
            if isinstance(data.get(name), str):
                data[name] = data[name].strip().upper()
    return data


def amount_field(**kwargs):
    return fields.Decimal(
        places=2,
        as_string=True,
        allow_nan=False,
        validate=validate.Range(min=0, max=MAX_AMOUNT, min_inclusive=False),
        **kwargs,
    )


# --- program ----------------------------------------------------------------------------


class RewardRuleSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(REWARD_KINDS))
    amount = amount_field(required=True)
    currency = fields.String(
        allow_none=True,
        validate=_currency,
        metadata={"description": "ISO 4217; required for `money`, absent for other kinds."},
    )

    @pre_load
    def _normalise(self, data, **_kwargs):
        return _upper(data, "currency")

    @validates_schema
    def _coherent(self, data, **_kwargs):
        kind, currency = data.get("kind"), data.get("currency")
        if kind == "money" and not currency:
            raise ValidationError("A money reward needs a currency.", "currency")
        if kind != "money" and currency:
            raise ValidationError("Only money rewards have a currency.", "currency")
        if kind == "percent_discount" and data.get("amount", 0) > 100:
            raise ValidationError("A percent discount is at most 100.", "amount")


class ProgramSchema(Schema):
    """The whole program; PUT replaces it, fields left out take their defaults."""

    enabled = fields.Boolean(load_default=False)
    landing_url = fields.URL(
        allow_none=True,
        load_default=None,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=2000),
        metadata={"description": "Where `/r/{code}` sends people; required to enable."},
    )
    attribution_window_days = fields.Integer(
        load_default=30, validate=validate.Range(min=1, max=365)
    )
    attribution_model = fields.String(
        load_default="last_click", validate=validate.OneOf(ATTRIBUTION_MODELS)
    )
    qualification_window_days = fields.Integer(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=1, max=3650),
        metadata={"description": "Days a friend has to buy before expiry; null: never."},
    )
    referrer_reward = fields.Nested(RewardRuleSchema, allow_none=True, load_default=None)
    friend_reward = fields.Nested(RewardRuleSchema, allow_none=True, load_default=None)
    reward_event = fields.String(load_default="purchase", validate=validate.OneOf(REWARD_EVENTS))
    min_purchase_amount = amount_field(allow_none=True, load_default=None)
    min_purchase_currency = fields.String(allow_none=True, load_default=None, validate=_currency)
    hold_days = fields.Integer(load_default=14, validate=validate.Range(min=0, max=365))
    cap_per_referrer = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=1)
    )
    cap_period_days = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=1, max=3650)
    )
    allow_paid_traffic = fields.Boolean(load_default=True)
    ip_burst_limit = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10_000))
    code_burst_limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100_000))
    created_at = fields.DateTime(dump_only=True, allow_none=True)
    updated_at = fields.DateTime(dump_only=True, allow_none=True)

    @pre_load
    def _normalise(self, data, **_kwargs):
        return _upper(data, "min_purchase_currency")

    @validates_schema
    def _coherent(self, data, **_kwargs):
        if data.get("enabled") and not data.get("landing_url"):
            raise ValidationError("A landing URL is required to enable the program.", "landing_url")
        if (data.get("cap_per_referrer") is None) != (data.get("cap_period_days") is None):
            raise ValidationError(
                "Give both cap_per_referrer and cap_period_days, or neither.", "cap_period_days"
            )
        if (data.get("min_purchase_amount") is None) != (data.get("min_purchase_currency") is None):
            raise ValidationError(
                "Give both min_purchase_amount and min_purchase_currency, or neither.",
                "min_purchase_currency",
            )


# --- codes ------------------------------------------------------------------------------


class CodeCreateSchema(Schema):
    contact = fields.Nested(
        ContactReferenceSchema, required=True, metadata={"description": REFERENCE_DESCRIPTION}
    )
    vanity = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "The advocate's own word; letters, digits, single hyphens."},
    )


class CodeUpdateSchema(Schema):
    disabled = fields.Boolean(required=True)


class CodeSchema(Schema):
    id = fields.String()
    code = fields.String()
    link = fields.Function(lambda code: links.link_for(code.code))
    vanity = fields.Boolean()
    disabled = fields.Boolean()
    contact_id = fields.String()
    contact_external_id = fields.String(attribute="contact.external_id")
    disabled_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class CodeFilterArgs(PageArgs):
    contact_id = fields.String(validate=validate.Length(max=32))
    external_id = fields.String(validate=validate.Length(max=255))
    disabled = fields.Boolean()


# --- referrals --------------------------------------------------------------------------


class CustomerSchema(ContactFieldsSchema):
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=255))


class ReferralCreateSchema(Schema):
    click_id = fields.String(
        validate=validate.Length(max=500),
        metadata={"description": "The `ffclick` value our redirect added to the landing URL."},
    )
    click_ids = fields.List(
        fields.String(validate=validate.Length(max=500)),
        validate=validate.Length(max=20),
        metadata={"description": "Every `ffclick` seen for this visitor; the model picks one."},
    )
    code = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "A code typed at sign-up; used when no click attributes."},
    )
    customer = fields.Nested(CustomerSchema, required=True)
    ip = fields.IP(
        metadata={"description": "The sign-up's client IP; only its keyed hash is kept."}
    )


class ReferralSchema(Schema):
    id = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    flags = fields.List(fields.String())
    source = fields.String()
    code_id = fields.String()
    code = fields.String(attribute="code.code")
    referrer_contact_id = fields.String()
    referred_contact_id = fields.String()
    referred_external_id = fields.String(attribute="referred.external_id")
    click_id = fields.String(allow_none=True)
    clicked_at = fields.DateTime(allow_none=True)
    signed_up_at = fields.DateTime()
    qualifies_until = fields.DateTime(allow_none=True)
    converted_at = fields.DateTime(allow_none=True)
    review_note = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ReferralFilterArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(REFERRAL_STATUSES))
    code_id = fields.String(validate=validate.Length(max=32))
    referrer_contact_id = fields.String(validate=validate.Length(max=32))


class ReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


# --- conversions and rewards ------------------------------------------------------------


class ConversionCreateSchema(Schema):
    order_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    amount = fields.Decimal(
        required=True,
        places=2,
        allow_nan=False,
        validate=validate.Range(min=0, max=MAX_AMOUNT),
    )
    currency = fields.String(required=True, validate=_currency)

    @pre_load
    def _normalise(self, data, **_kwargs):
        return _upper(data, "currency")


class ConversionSchema(Schema):
    id = fields.String()
    referral_id = fields.String()
    order_id = fields.String()
    amount = fields.Decimal(as_string=True)
    currency = fields.String()
    qualified = fields.Boolean()
    refunded_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class RefundCreateSchema(Schema):
    order_id = fields.String(required=True, validate=validate.Length(min=1, max=255))


class RewardSchema(Schema):
    id = fields.String()
    referral_id = fields.String()
    conversion_id = fields.String(allow_none=True)
    side = fields.String()
    contact_id = fields.String()
    kind = fields.String()
    amount = fields.Decimal(as_string=True)
    currency = fields.String(allow_none=True)
    status = fields.String()
    held = fields.Boolean()
    approve_after = fields.DateTime()
    approved_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    payout_reference = fields.String(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    clawback_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class RewardFilterArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(REWARD_STATUSES))
    side = fields.String(validate=validate.OneOf(REWARD_SIDES))
    contact_id = fields.String(validate=validate.Length(max=32))
    referral_id = fields.String(validate=validate.Length(max=32))


class PayoutSchema(Schema):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=255))


# --- stats ------------------------------------------------------------------------------


class PeriodArgs(Schema):
    period = fields.String(
        load_default="30d",
        validate=validate.OneOf(tuple(PERIODS)),
        metadata={"description": "7d, 30d (default), 90d, 365d or all."},
    )


class LeaderboardArgs(PeriodArgs):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


_REVENUE = fields.Dict(
    keys=fields.String(),
    values=fields.String(),
    metadata={"description": "Purchases not refunded, per currency."},
)


class LeaderboardEntrySchema(Schema):
    rank = fields.Integer()
    code_id = fields.String(allow_none=True, metadata={"description": "Null: no referral code."})
    code = fields.String(allow_none=True)
    contact_id = fields.String()
    contact_external_id = fields.String()
    first_name = fields.String(allow_none=True)
    clicks = fields.Integer()
    signups = fields.Integer()
    conversions = fields.Integer()
    reviews = fields.Integer(metadata={"description": "Reviews left (self-reported or recorded)."})
    testimonials = fields.Integer(metadata={"description": "Testimonials approved."})
    revenue = _REVENUE


class LeaderboardSchema(Schema):
    period = fields.String()
    data = fields.List(fields.Nested(LeaderboardEntrySchema))


class RewardTotalSchema(Schema):
    kind = fields.String()
    currency = fields.String(allow_none=True)
    count = fields.Integer()
    pending = fields.String()
    approved = fields.String()
    paid = fields.String()


class CodeStatsSchema(Schema):
    code_id = fields.String()
    code = fields.String()
    period = fields.String()
    clicks = fields.Integer()
    signups = fields.Integer()
    conversions = fields.Integer()
    revenue = _REVENUE
    rewards = fields.List(fields.Nested(RewardTotalSchema))


class FunnelSchema(Schema):
    period = fields.String()
    advocates = fields.Integer()
    clicks = fields.Integer()
    signups = fields.Integer()
    conversions = fields.Integer()
    viral_coefficient = fields.Float()


class ContactRewardTotalsSchema(Schema):
    contact_id = fields.String()
    contact_external_id = fields.String(allow_none=True)
    totals = fields.List(fields.Nested(RewardTotalSchema))


class RewardTotalsListSchema(Schema):
    data = fields.List(fields.Nested(ContactRewardTotalsSchema))


class RewardTotalsArgs(Schema):
    contact_id = fields.String(validate=validate.Length(max=32))
