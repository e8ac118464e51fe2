from marshmallow import Schema, fields, validate

from api.workspaces.keys import KINDS


class ApiKeySchema(Schema):
    id = fields.String()
    kind = fields.String()
    name = fields.String()
    prefix = fields.String(metadata={"description": "The visible start of the key."})
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewApiKeySchema(ApiKeySchema):
    key = fields.String(metadata={"description": "The whole key. Shown this once only."})


class CreateKeySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(sorted(KINDS)))
    name = fields.String(load_default="", validate=validate.Length(max=100))


class RotateKeySchema(Schema):
    grace_hours = fields.Integer(
        load_default=24,
        validate=validate.Range(min=0, max=24 * 30),
        metadata={"description": "How long the old key keeps working (0: stops now)."},
    )


class ApiKeyListSchema(Schema):
    data = fields.List(fields.Nested(ApiKeySchema))


class WorkspaceSchema(Schema):
    id = fields.String()
    name = fields.String()
    follow_up_sla_hours = fields.Integer()
    advocacy_sla_hours = fields.Integer()
    created_at = fields.DateTime()


class WorkspaceSettingsSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    follow_up_sla_hours = fields.Integer(validate=validate.Range(min=1, max=24 * 90))
    advocacy_sla_hours = fields.Integer(validate=validate.Range(min=1, max=24 * 90))
