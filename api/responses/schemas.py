import json

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from api.contacts.schemas import LOCALE, REFERENCE_DESCRIPTION, ContactReferenceSchema
from api.http.pagination import PageArgs
from api.responses.service import MAX_COMMENT
from api.scoring import CATEGORIES

ALL_CATEGORIES = sorted({name for names in CATEGORIES.values() for name in names})
MAX_METADATA_BYTES = 4 * 1024


def _metadata_fits(value: dict) -> None:
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValidationError(f"Metadata takes at most {MAX_METADATA_BYTES} bytes of JSON.")


class ResponseCreateSchema(Schema):
    survey_id = fields.String(required=True, validate=validate.Length(min=1, max=32))
    contact = fields.Nested(
        ContactReferenceSchema,
        metadata={
            "description": f"Who answered. {REFERENCE_DESCRIPTION} "
            "Optional when `invitation_id` is given."
        },
    )
    invitation_id = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={
            "description": "The invitation answered. Without one, an invitation with channel "
            "`api` is created for the contact, subject to the survey's throttles."
        },
    )
    score = fields.Integer(
        required=True, strict=True, metadata={"description": "On the survey kind's scale."}
    )
    comment = fields.String(allow_none=True, validate=validate.Length(max=MAX_COMMENT))
    locale = fields.String(allow_none=True, validate=LOCALE)
    metadata = fields.Dict(
        keys=fields.String(),
        validate=_metadata_fits,
        metadata={"description": "Free JSON (page, user agent, custom properties), 4 KB at most."},
    )

    @validates_schema
    def _someone_answered(self, data, **_kwargs):
        if "contact" not in data and "invitation_id" not in data:
            raise ValidationError(
                "Give the `contact` who answered, or an `invitation_id`.", "contact"
            )


class CommentSchema(Schema):
    comment = fields.String(
        required=True, allow_none=True, validate=validate.Length(max=MAX_COMMENT)
    )


class ResponseFilterArgs(Schema):
    survey_id = fields.String(validate=validate.Length(max=32))
    category = fields.List(
        fields.String(validate=validate.OneOf(ALL_CATEGORIES)),
        metadata={"description": "Repeatable: `category=detractor&category=passive`."},
    )
    min_score = fields.Integer(validate=validate.Range(min=0, max=10))
    max_score = fields.Integer(validate=validate.Range(min=0, max=10))
    from_ = fields.AwareDateTime(
        data_key="from",
        metadata={"description": "ISO 8601 time with a zone; responses created at or after it."},
    )
    to = fields.AwareDateTime(
        metadata={"description": "ISO 8601 time with a zone; responses created before it."}
    )
    has_comment = fields.Boolean()

    @validates_schema
    def _ranges(self, data, **_kwargs):
        if data.get("min_score", 0) > data.get("max_score", 10):
            raise ValidationError("Must not be above `max_score`.", "min_score")
        if data.get("from_") and data.get("to") and data["from_"] >= data["to"]:
            raise ValidationError("Must be before `to`.", "from")

    @post_load
    def _service_names(self, data, **_kwargs):
        if "from_" in data:
            data["from"] = data.pop("from_")
        return data


class ResponseListArgs(ResponseFilterArgs, PageArgs):
    pass


class ContactBriefSchema(Schema):
    id = fields.String()
    external_id = fields.String()
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    name = fields.Method("_name", allow_none=True)

    def _name(self, contact) -> str | None:
        return " ".join(p for p in (contact.first_name, contact.last_name) if p) or None


class ResponseSchema(Schema):
    id = fields.String()
    survey_id = fields.String()
    invitation_id = fields.String()
    contact_id = fields.String(allow_none=True)
    contact = fields.Nested(
        ContactBriefSchema,
        allow_none=True,
        metadata={"description": "Null when there is none or it was erased."},
    )
    score = fields.Integer()
    category = fields.String()
    comment = fields.String(allow_none=True)
    channel = fields.String()
    locale = fields.String(allow_none=True)
    meta = fields.Dict(data_key="metadata")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
