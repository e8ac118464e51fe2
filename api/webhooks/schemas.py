from marshmallow import Schema, ValidationError, fields, validate

from api.http.pagination import PageArgs
from api.webhooks import endpoints
from api.webhooks.models import DELIVERY_STATUSES, FORMATS, STANDARD
from api.webhooks.ssrf import MAX_URL_LENGTH


class EventTypes(fields.List):
    def __init__(self, **kwargs):
        super().__init__(
            fields.String(validate=validate.Length(min=1, max=64)),
            validate=validate.Length(min=1, max=100),
            metadata={"description": "Event types, `*` for all, or prefixes such as `referral.*`."},
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        patterns = super()._deserialize(value, attr, data, **kwargs)
        problems = [error for error in map(endpoints.pattern_error, patterns) if error]
        if problems:
            raise ValidationError(problems)
        return list(dict.fromkeys(patterns))


class EndpointFields(Schema):
    url = fields.String(
        validate=validate.Length(min=1, max=MAX_URL_LENGTH),
        metadata={"description": "https, on a public address (checked now and at each attempt)."},
    )
    description = fields.String(validate=validate.Length(max=500))
    event_types = EventTypes()
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "`standard` (JSON, Standard Webhooks) or `slack` (Block Kit)."},
    )
    enabled = fields.Boolean()


class EndpointCreateSchema(EndpointFields):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_URL_LENGTH),
        metadata=EndpointFields._declared_fields["url"].metadata,
    )
    description = fields.String(load_default="", validate=validate.Length(max=500))
    event_types = EventTypes(load_default=lambda: [endpoints.ALL])
    format = fields.String(load_default=STANDARD, validate=validate.OneOf(FORMATS))
    enabled = fields.Boolean(load_default=True)


class EndpointSchema(Schema):
    id = fields.String()
    url = fields.String()
    description = fields.String()
    event_types = fields.List(fields.String())
    format = fields.String()
    enabled = fields.Boolean()
    disabled_reason = fields.String(
        allow_none=True,
        metadata={
            "description": "`manual` (by the API), `gone` (the receiver answered 410) or "
            "`failing` (every attempt failed for days)."
        },
    )
    previous_secret_expires_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "Until when the secret before the last rotation still signs."},
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class NewSecretSchema(EndpointSchema):
    secret = fields.String(
        metadata={"description": "The signing secret (`whsec_...`). Shown this once only."}
    )


class EndpointFilterArgs(PageArgs):
    enabled = fields.Boolean()


class RotateSecretSchema(Schema):
    grace_hours = fields.Integer(
        load_default=24,
        validate=validate.Range(min=0, max=24 * 30),
        metadata={"description": "How long the old secret keeps signing too (0: stops now)."},
    )


class DeliveryFilterArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    event_type = fields.String(validate=validate.Length(max=64))


class AttemptSchema(Schema):
    attempted_at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer()
    response_body = fields.String(
        allow_none=True, metadata={"description": "The first 2 KB of the answer."}
    )
    error = fields.String(
        allow_none=True,
        metadata={
            "description": "None for a 2xx; else `http_status`, `redirect`, `timeout`, "
            "`connection`, `tls`, `refused_address`, `unresolvable`, `endpoint_disabled`."
        },
    )
    error_message = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String()
    endpoint_id = fields.String()
    event_id = fields.String(metadata={"description": "Also the `webhook-id` header."})
    event_type = fields.String()
    status = fields.String(metadata={"description": "`pending`, `succeeded` or `failed`."})
    attempts = fields.Integer(metadata={"description": "Attempts since it was last queued."})
    next_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class DeliveryWithAttemptsSchema(DeliverySchema):
    attempt_log = fields.List(
        fields.Nested(AttemptSchema), metadata={"description": "Oldest first."}
    )


class RecoverSchema(Schema):
    since = fields.AwareDateTime(
        required=True, metadata={"description": "Deliveries created at or after this time."}
    )
    until = fields.AwareDateTime(
        load_default=None, metadata={"description": "...and before this one (default: now)."}
    )
