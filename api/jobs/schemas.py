from marshmallow import Schema, fields, validate

from api.http.pagination import PageArgs
from api.jobs.models import STATUSES


class JobFilterArgs(PageArgs):
    kind = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(STATUSES))


class JobErrorSchema(Schema):
    code = fields.String()
    message = fields.String()


class JobSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "What the job does, e.g. `webhooks.recover`."})
    status = fields.String(
        metadata={"description": "`queued`, `running`, `succeeded` or `failed`."}
    )
    progress = fields.Dict(metadata={"description": "What it has done so far."})
    result = fields.Dict(allow_none=True, metadata={"description": "What it did, once succeeded."})
    error = fields.Nested(JobErrorSchema, allow_none=True)
    attempts = fields.Integer()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
