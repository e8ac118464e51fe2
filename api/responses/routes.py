import re

from flask import Response as HttpResponse
from flask import request, stream_with_context
from flask.views import MethodView

from api.domain_errors import found
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.errors import ApiError
from api.http.openapi import LOCATION
from api.http.pagination import page_of, paginate
from api.responses import export, intake, service
from api.responses.schemas import (
    CommentSchema,
    ResponseCreateSchema,
    ResponseFilterArgs,
    ResponseListArgs,
    ResponseSchema,
)
from api.responses.views import with_contacts

bp = ApiBlueprint(
    "responses",
    __name__,
    url_prefix="/v1/responses",
    description="Responses: scores and comments, filtered, paged and exported.",
)

ATTRIBUTE_PREFIX = "attr."
# Attribute names go into a JSON path; quotes, backslashes and control characters stay out.
_ATTRIBUTE_NAME = re.compile(r"^[^\"\\\x00-\x1f]{1,64}$")


def _attribute_filters() -> dict:
    """`attr.<name>=<value>` query parameters, which no fixed schema can name."""
    found = {}
    for key in request.args:
        if not key.startswith(ATTRIBUTE_PREFIX):
            continue
        name, values = key[len(ATTRIBUTE_PREFIX) :], request.args.getlist(key)
        if not _ATTRIBUTE_NAME.match(name) or len(values) > 1 or len(values[0]) > 500:
            raise ApiError(
                422,
                "validation_error",
                "Some fields are missing or invalid.",
                {
                    key: [
                        "Give one value of at most 500 characters for an attribute of at most "
                        "64 characters without quotes or backslashes."
                    ]
                },
            )
        found[name] = values[0]
    return found


def _filters(args: dict) -> dict:
    return {**args, "attributes": _attribute_filters()}


def _found(response_id: str):
    return found(service.get_response(current_workspace_id(), response_id), "response")


def _view(response):
    return with_contacts(current_workspace_id(), [response])[0]


@bp.route("")
class Responses(MethodView):
    @bp.arguments(ResponseListArgs, location="query")
    @bp.response(200, page_of(ResponseSchema))
    def get(self, args):
        """List responses, oldest first, filtered by survey, category, score, time, comment.

        Filter by a contact attribute with `attr.<name>=<value>` (for example
        `attr.plan=pro`); all such filters must match. Values compare as text.
        """
        statement = service.filter_responses(current_workspace_id(), _filters(args))
        page = paginate(statement, args)
        page["data"] = with_contacts(current_workspace_id(), page["data"])
        return page

    @bp.arguments(ResponseCreateSchema)
    @bp.response(200, ResponseSchema, headers=LOCATION)
    @bp.alt_response(201, schema=ResponseSchema, description="Created", headers=LOCATION)
    @bp.errors(404, 410)  # the invitation or contact it names; an expired invitation
    def post(self, data):
        """Record a score collected by your app: 201 when new, 200 when it changed the one
        response of that invitation.

        Recorded exactly as the hosted survey page records one: the rollups reports read,
        the follow-up and advocacy queues and the event feed all follow.
        """
        response, created = intake.record(current_workspace_id(), data)
        headers = {"Location": f"/v1/responses/{response.id}"}
        return _view(response), (201 if created else 200), headers


@bp.route("/export.csv")
class ResponsesExport(MethodView):
    @bp.arguments(ResponseFilterArgs, location="query")
    @bp.content(200, "text/csv", "CSV, one response a row.")
    def get(self, args):
        """Export responses as CSV, streamed; the same filters as the list.

        Columns: id, created_at, updated_at, survey_id, external_id, email, score, category,
        comment, channel, locale. Cells a spreadsheet would run as a formula (starting with
        `=`, `+`, `-`, `@`, tab or CR) get a leading `'`. Filter by a contact attribute with
        `attr.<name>=<value>`.
        """
        body = export.rows(current_workspace_id(), _filters(args))
        return HttpResponse(
            stream_with_context(body),
            mimetype="text/csv",
            headers={
                "Content-Disposition": 'attachment; filename="responses.csv"',
                "Cache-Control": "no-store",
            },
        )


@bp.route("/<response_id>")
class ResponseById(MethodView):
    @bp.response(200, ResponseSchema)
    def get(self, response_id):
        """Get a response."""
        return _view(_found(response_id))

    @bp.arguments(CommentSchema)
    @bp.response(200, ResponseSchema)
    def patch(self, data, response_id):
        """Set or clear the comment (`null` clears it)."""
        return _view(service.set_comment(_found(response_id), data["comment"]))
