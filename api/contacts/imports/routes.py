from flask import request
from flask.views import MethodView
from marshmallow import ValidationError

from api.contacts.imports import csv_file, service
from api.contacts.imports import job as import_job
from api.contacts.imports.schemas import ContactImportSchema, ImportOptionsSchema
from api.domain_errors import found
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint, Uploads
from api.http.errors import ApiError
from api.jobs import queue as jobs

CSV_TYPES = ("text/csv", "multipart/form-data")
# A multipart body holds the file and its boundaries and headers besides.
_MULTIPART_ROOM = 64 * 1024

bp = ApiBlueprint(
    "contact_imports",
    __name__,
    url_prefix="/v1/contacts/imports",
    description="CSV imports of contacts, applied by the worker.",
    uploads=Uploads(CSV_TYPES, csv_file.MAX_BYTES + _MULTIPART_ROOM),
)

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "mode": {"type": "string", "enum": ["upsert", "create_only"]},
                        "dry_run": {"type": "boolean"},
                    },
                }
            },
        },
    }
}


def _upload(options: dict) -> tuple[bytes, str | None, dict]:
    """The file's bytes, its name, and the options (form fields count as query ones)."""
    if request.mimetype != "multipart/form-data":
        return request.get_data(), None, options
    files = request.files
    if list(files) != ["file"] or len(files.getlist("file")) != 1:
        raise ApiError(
            422,
            "validation_error",
            "Send one CSV file, in a form field named `file`.",
            {"file": ["Missing or repeated."]},
        )
    try:
        options = options | ImportOptionsSchema().load(request.form.to_dict(), partial=True)
    except ValidationError as error:
        raise ApiError(
            422, "validation_error", "Some fields are missing or invalid.", error.messages
        ) from None
    upload = files["file"]
    return upload.read(csv_file.MAX_BYTES + 1), upload.filename, options


@bp.route("")
class Imports(MethodView):
    @bp.arguments(ImportOptionsSchema, location="query")
    @bp.response(202, ContactImportSchema)
    @bp.doc(**_UPLOAD_DOC)
    def post(self, options):
        """Import contacts from a CSV file: 202 with the import; the worker applies it.

        Columns by header: `external_id` (required), `email`, `first_name`,
        `last_name`, `locale`, `stage`, `unsubscribed`, and `attr.<name>`. Empty cells
        change nothing. Up to 100,000 rows and 20 MB, UTF-8, `,` or `;`.
        """
        content, filename, options = _upload(options)
        try:
            job = service.create_import(
                current_workspace_id(), content, filename=filename, **options
            )
        except csv_file.TooLarge as error:
            raise ApiError(413, error.code, error.message) from None
        # In this request's transaction: the job exists exactly when the import does.
        jobs.enqueue(import_job.KIND, job.workspace_id, {"import_id": job.id})
        return job, 202, {"Location": f"/v1/contacts/imports/{job.id}"}


@bp.route("/<import_id>")
class ImportById(MethodView):
    @bp.response(200, ContactImportSchema)
    def get(self, import_id):
        """Its status, counts, and the first 100 row errors with their lines."""
        return found(service.get_import(current_workspace_id(), import_id), "import")
