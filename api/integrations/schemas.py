from marshmallow import Schema, fields, validate

from api.http.pagination import PageArgs
from api.integrations.models import OUTCOMES


class StripeSecretSchema(Schema):
    signing_secret = fields.String(
        required=True,
        load_only=True,
        validate=validate.Regexp(
            r"^whsec_[A-Za-z0-9+/=_-]{8,250}$",
            error="Give the endpoint's signing secret as Stripe shows it: `whsec_...`.",
        ),
        metadata={"description": "The endpoint's signing secret from Stripe; never shown again."},
    )


class StripeIntegrationSchema(Schema):
    receiving_url = fields.String(
        allow_none=True,
        metadata={"description": "Give Stripe this URL as the webhook endpoint."},
    )
    signing_secret_set = fields.Boolean()
    signing_secret_set_at = fields.DateTime(allow_none=True)
    handled_event_types = fields.List(
        fields.String(), metadata={"description": "Subscribe the endpoint to these."}
    )
    created_at = fields.DateTime(allow_none=True)


class StripeEventSchema(Schema):
    id = fields.String()
    event_id = fields.String(metadata={"description": "Stripe's event id (`evt_...`)."})
    type = fields.String()
    livemode = fields.Boolean()
    object_id = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": ", ".join(OUTCOMES)})
    action = fields.String(
        allow_none=True, metadata={"description": "signup, conversion, refund or flagged"}
    )
    matched_by = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    referral_id = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    amount = fields.Decimal(as_string=True, allow_none=True)
    currency = fields.String(allow_none=True)
    deliveries = fields.Integer(
        metadata={"description": "Times Stripe sent it; every one after the first was a no-op."}
    )
    stripe_created_at = fields.DateTime()
    received_at = fields.DateTime()
    last_received_at = fields.DateTime()


class StripeEventFilterArgs(PageArgs):
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    type = fields.String(validate=validate.Length(max=100))
