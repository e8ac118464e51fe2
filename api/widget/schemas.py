from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate

from api.contacts.schemas import attributes_fit
from api.http import intake

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
