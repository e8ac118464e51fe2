from marshmallow import Schema, fields, validate

from api.contacts.imports.models import MODES


class ImportOptionsSchema(Schema):
    """Query parameters, or form fields beside the file in a multipart upload."""

    mode = fields.String(
        load_default="upsert",
        validate=validate.OneOf(MODES),
        metadata={"description": "upsert: create or update; create_only: leave existing ones."},
    )
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "Validate and count, write nothing."},
    )


class CountsSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    failed = fields.Integer()


class RowErrorSchema(Schema):
    line = fields.Integer(metadata={"description": "The file line where the row starts."})
    row = fields.Integer(metadata={"description": "The row as a spreadsheet numbers it."})
    external_id = fields.String(
        allow_none=True, metadata={"description": "Null once that contact is erased."}
    )
    reason = fields.String(
        metadata={
            "description": "Why the row failed, naming the field when one is wrong; "
            "`erased` when its contact was erased before the import reached it (the row "
            "was taken out of the file, and `external_id` is null)."
        }
    )
    fields_ = fields.Dict(data_key="fields", attribute="fields")


class ContactImportSchema(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "queued, running, completed or failed"})
    mode = fields.String()
    dry_run = fields.Boolean()
    filename = fields.String(allow_none=True)
    size_bytes = fields.Integer()
    total_rows = fields.Integer()
    rows_done = fields.Integer()
    counts = fields.Method("_counts", metadata={"description": "Rows by what became of them."})
    errors = fields.List(
        fields.Nested(RowErrorSchema),
        metadata={"description": "The first 100 rows that failed, with why."},
    )
    failure = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)

    def _counts(self, job) -> dict:
        return CountsSchema().dump(job)
