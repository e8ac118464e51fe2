from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate

from api.contacts.schemas import attributes_fit
from api.http import intake
from api.referrals.schemas import RewardTotalSchema

ORIGIN = validate.Regexp(
    r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$",
    error="An origin is scheme://host[:port], like https://shop.example.com.",
)


class WidgetEligibilityArgs(Schema):
    key = fields.String(metadata={"description": "The publishable key (pk_...)."})
    user_id = fields.String(validate=validate.Length(max=255))
    user_hash = fields.String(validate=validate.Length(max=128))
    url = fields.String(validate=validate.Length(max=2000))
    locale = fields.String(validate=validate.Length(max=16))
    anonymous_id = fields.String(
        validate=validate.Regexp(
            r"^[A-Za-z0-9_-]{16,64}$", error="16 to 64 letters, digits, '-' or '_'."
        ),
        metadata={
            "description": "A visitor without user_id: a random id the widget keeps in the "
            "browser, so the survey's sampling draws once per visitor, not per page view."
        },
    )
    attributes = fields.String(
        metadata={
            "description": "JSON object of contact attributes; only used with a valid user_hash."
        }
    )


class WidgetDisplaySchema(Schema):
    display = fields.String(required=True, validate=validate.Length(max=1000))


class WidgetAnswerSchema(WidgetDisplaySchema):
    score = fields.Integer(required=True, strict=True)
    page = fields.String(validate=validate.Length(max=2000))


class WidgetCommentSchema(WidgetDisplaySchema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class WidgetSettingsSchema(Schema):
    allowed_origins = fields.List(fields.String(validate=ORIGIN), validate=validate.Length(max=50))
    identity_secret = fields.String(
        dump_only=True,
        metadata={
            "description": "Compute user_hash = hex(HMAC-SHA256(identity_secret, user_id)) "
            "on your server."
        },
    )


def parse_attributes(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        value = intake.loads(text, current_app.config["JSON_MAX_DEPTH"])
    except intake.Refused as refused:
        raise ValidationError(refused.fields or [refused.message]) from None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValidationError("attributes must be a JSON object.")
    attributes_fit(value)
    return value


# --- answers, as documented (the views build them; these describe them) -------------


class WidgetEligibilityResultSchema(Schema):
    show = fields.Boolean(required=True)
    reason = fields.String(metadata={"description": "Why not, when `show` is false."})
    display = fields.String(
        metadata={"description": "The display token the widget's later calls present."}
    )
    survey = fields.Dict(
        metadata={"description": "What to show: kind, scale, labels and texts in the locale."}
    )


class WidgetReferralStatusSchema(Schema):
    clicks = fields.Integer(required=True)
    signups = fields.Integer(required=True)
    conversions = fields.Integer(required=True)
    rewards = fields.List(
        fields.Nested(RewardTotalSchema),
        required=True,
        metadata={"description": "The advocate's rewards, summed per kind and currency."},
    )


class WidgetReferralSchema(Schema):
    code = fields.String(required=True)
    url = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    share = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": "Share links."}
    )
    status = fields.Nested(WidgetReferralStatusSchema)
    locale = fields.String()
    ui = fields.Dict(keys=fields.String(), values=fields.String())


class WidgetAnswerResultSchema(Schema):
    response_id = fields.String(required=True)
    category = fields.String(required=True)
    referral = fields.Dict(
        allow_none=True, metadata={"description": "For a promoter: their referral link, shown now."}
    )


class WidgetDisplayResultSchema(Schema):
    display_id = fields.String(required=True)


class WidgetDeclineResultSchema(WidgetDisplayResultSchema):
    declined = fields.Boolean(required=True)


class WidgetCommentResultSchema(Schema):
    response_id = fields.String(required=True)


class WidgetAsksSchema(Schema):
    review = fields.Dict(allow_none=True, metadata={"description": "The review ask, or null."})
    testimonial = fields.Dict(allow_none=True, metadata={"description": "The consent form."})
    testimonial_given = fields.Dict(allow_none=True)
    advocate = fields.Dict(allow_none=True, metadata={"description": "The opt-in, or null."})
    agreed = fields.List(fields.String(), metadata={"description": "Acts opted in to."})
    preferences_url = fields.String(allow_none=True)
    ui = fields.Dict(keys=fields.String(), values=fields.String())


class WidgetTestimonialResultSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)


class WidgetReviewedResultSchema(Schema):
    reviewed = fields.Boolean(required=True)


class WidgetOptInResultSchema(Schema):
    acts = fields.List(fields.String(), required=True)
