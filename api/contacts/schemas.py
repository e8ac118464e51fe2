import json

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.contacts.models import external_id_problem
from api.http.pagination import PageArgs
from api.lifecycle import STAGES

_STAGE_DESCRIPTION = (
    "Lifecycle stage: lead, trial, onboarding, adopting, customer, advocate or churned. "
    "The four from onboarding to advocate are paying customers for retention; every "
    "change is kept in the contact's stage history."
)

LOCALE = validate.Regexp(
    r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error="Use a tag like `de` or `pt-BR`."
)
MAX_ATTRIBUTES_BYTES = 16 * 1024


def _valid_external_id(value: str) -> None:
    problem = external_id_problem(value)
    if problem:
        raise ValidationError(problem)


EXTERNAL_ID = _valid_external_id


def normal_email(value: str) -> str:
    """An email as contacts keep it: `Ada@Example.com ` and `ada@example.com` are one."""
    return value.strip().lower()


class NormalEmail(fields.Email):
    """An email field whose value is loaded in the form contacts keep (`normal_email`);
    the email and length checks see that form."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return normal_email(super()._deserialize(value, attr, data, **kwargs))


def attributes_fit(value: dict) -> None:
    if any(len(key) > 64 for key in value):
        raise ValidationError("Attribute names are at most 64 characters.")
    if len(json.dumps(value)) > MAX_ATTRIBUTES_BYTES:
        raise ValidationError(f"Attributes take at most {MAX_ATTRIBUTES_BYTES} bytes of JSON.")


class ContactFieldsSchema(Schema):
    """The writable fields, shared by every way of writing a contact."""

    email = NormalEmail(allow_none=True, validate=validate.Length(max=320))
    first_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    last_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    locale = fields.String(allow_none=True, validate=LOCALE)
    stage = fields.String(
        allow_none=True,
        validate=validate.OneOf(STAGES),
        metadata={"description": _STAGE_DESCRIPTION},
    )
    # JSON names are strings already: a key field would only load each one again.
    attributes = fields.Dict(validate=attributes_fit)
    unsubscribed = fields.Boolean(
        metadata={"description": "True stops every survey invitation to this contact."}
    )


class ContactUpsertSchema(ContactFieldsSchema):
    external_id = fields.String(required=True, validate=EXTERNAL_ID)


REFERENCE_DESCRIPTION = (
    '`{"contact_id": "con_..."}` or `{"external_id": "u-1"}` names an existing contact '
    "(none: `contact_not_found`); an inline contact, `external_id` with fields "
    "(`email`, `first_name`, `last_name`, `locale`, `stage`, `attributes`), is created "
    "or updated first (given fields change, attributes merge). `unsubscribed` cannot "
    "be set in a reference: use the contacts API."
)


class ContactReferenceSchema(ContactFieldsSchema):
    """A contact named in a request: by our id, by yours, or inline (api/contacts/references.py)."""

    class Meta:
        # A reference never changes consent: a stale `unsubscribed: false` in a
        # partner's sync must not undo a one-click unsubscribe.
        exclude = ("unsubscribed",)

    contact_id = fields.String(
        validate=validate.Length(min=1, max=32), metadata={"description": "Our contact id."}
    )
    external_id = fields.String(validate=EXTERNAL_ID, metadata={"description": "Your id."})

    @validates_schema
    def _one_way_to_name(self, data: dict, **_kwargs) -> None:
        if "contact_id" in data and len(data) > 1:
            raise ValidationError(
                "Name a contact by contact_id alone, or by external_id with its fields.",
                "contact_id",
            )
        if "contact_id" not in data and "external_id" not in data:
            raise ValidationError("Give contact_id or external_id.", "external_id")


class ContactSchema(Schema):
    id = fields.String()
    external_id = fields.String()
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    stage_changed_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the contact entered its stage."}
    )
    attributes = fields.Dict()
    unsubscribed = fields.Boolean()
    unsubscribed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class StageChangeSchema(Schema):
    id = fields.String()
    from_stage = fields.String(
        data_key="from", allow_none=True, metadata={"description": "Null: no stage before."}
    )
    to_stage = fields.String(
        data_key="to", allow_none=True, metadata={"description": "Null: the stage was cleared."}
    )
    source = fields.String(
        metadata={
            "description": "What made the change: `api`, `import` (a CSV import), "
            "`erasure`, `backfill` (a stage set before history was kept) or `demo`."
        }
    )
    changed_at = fields.DateTime()


class ContactFilterArgs(PageArgs):
    email = fields.String(validate=validate.Length(max=320))
    stage = fields.String(validate=validate.OneOf(STAGES))
    updated_since = fields.AwareDateTime(
        metadata={"description": "ISO 8601 time with a zone; contacts changed at or after it."}
    )
