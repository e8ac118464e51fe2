"""The one error format, for every error the service returns.

    {"error": {"code": "validation_error", "message": "...",
               "fields": {"email": ["Not a valid email address."]},
               "request_id": "..."}}

The services' domain errors (api/domain_errors.py, each kind given its status in
DOMAIN_STATUS), the HTTP layer's own (`ApiError`), Flask's and Werkzeug's, the
validator's, the rate limiter's and the database's all pass through
`error_response`; those gunicorn finds itself (a request line too long) through
`error_body`, see server_errors.
Hosted pages for people get the same facts as an HTML page.

A database that does not answer (refused, timed out, gone mid-request) is a 503
`unavailable` with Retry-After, logged once per outage. A deadlock or
serialisation failure is run again (api/http/retries.py), and a 503 only when
it keeps losing. Any other server error
answers with the request id only and logs, under that id, the error's class,
SQLSTATE and traceback without messages (see log_format): a message can quote
the request's personal data.
"""

from collections.abc import Callable
from functools import partial

from flask import current_app, g, jsonify, render_template, request
from sqlalchemy import exc as sa
from werkzeug.exceptions import HTTPException, InternalServerError

from api import domain_errors as domain
from api.database import retryable
from api.extensions import db
from api.http.log_format import describe, traceback_text
from api.http.outages import Outage
from api.http.retries import retries_left

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    417: "expectation_failed",
    422: "validation_error",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}

MESSAGES = {
    404: "No such resource.",
    405: "This method is not allowed on this resource.",
    429: "Too many requests; slow down and retry after the time in Retry-After.",
    500: "Something went wrong on our side. Quote the request id if you contact support.",
    503: "The database is not answering; retry after the time in Retry-After.",
}


class ApiError(Exception):
    """A client error of the HTTP layer itself (auth, limits, the request's form), with its
    status; a service raises a domain error instead, and knows no statuses."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers: dict[str, str] = {}

    def with_headers(self, headers: dict[str, str]) -> "ApiError":
        self.headers.update(headers)
        return self


# Pages for people may show errors in their own words and language: a blueprint
# registers a renderer (status, error body) -> HTML here; every other page gets error.html.
html_renderers: dict[str, Callable[[int, dict], str]] = {}


def error_body(code: str, message: str, request_id: str | None, fields=None) -> dict:
    """The `error` object itself, also for callers outside a Flask request (gunicorn)."""
    body = {"code": code, "message": message, "request_id": request_id}
    if fields:
        body["fields"] = _string_keys(fields)
    return body


def _string_keys(messages):
    """marshmallow keys a list item's messages by its index, beside `_schema` for the
    list itself; JSON keys are strings, and the encoder cannot sort int beside str."""
    if isinstance(messages, dict):
        return {str(key): _string_keys(value) for key, value in messages.items()}
    return messages


def error_response(status: int, code: str, message: str, fields=None, headers=None):
    body = error_body(code, message, g.get("request_id"), fields)
    if _wants_html():
        render = html_renderers.get(request.blueprint or "", _render_error_html)
        response = current_app.make_response((render(status, body), status))
    else:
        response = jsonify(error=body)
        response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _render_error_html(status: int, body: dict) -> str:
    return render_template("error.html", status=status, error=body)


def _wants_html() -> bool:
    """Pages for people (not the JSON APIs) answer errors as HTML to browsers."""
    if request.path.startswith(("/v1/", "/w/", "/public/", "/openapi.json")):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes[best] > 0


def _validation_fields(error: HTTPException) -> tuple[str, dict]:
    """Flatten webargs' {location: {field: [messages]}} into {field: [messages]}."""
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    fields: dict = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            fields.update(location_messages)
        else:
            fields.setdefault("_body", []).extend(location_messages)
    return "Some fields are missing or invalid.", fields


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    headers = dict(error.get_headers()) if status == 405 else {}
    headers.pop("Content-Type", None)
    fields = None
    message = MESSAGES.get(status) or error.description or "Error."
    code = CODES.get(status, "error")
    if status == 422:
        message, fields = _validation_fields(error)
    elif isinstance(getattr(error, "exc", None), ValueError):  # JSON or UTF-8 decoding
        code, message = "malformed_json", "The request body is not valid JSON."
    elif status == 400 and error.description:
        message = error.description
    elif status == 429:
        message = f"{MESSAGES[429]} Limit: {error.description}."
        headers["Retry-After"] = str(getattr(error, "retry_after_seconds", 60))
    return error_response(status, code, message, fields, headers)


def handle_api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.fields, error.headers)


# Each kind of domain error and its status; a subclass takes its nearest listed base's.
DOMAIN_STATUS = {
    domain.Invalid: 422,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Gone: 410,
    domain.Unidentified: 401,
    domain.Forbidden: 403,
    domain.DomainError: 422,
}


def domain_status(error: domain.DomainError) -> int:
    return next(s for kind, s in DOMAIN_STATUS.items() if isinstance(error, kind))


def handle_domain_error(error: domain.DomainError):
    return error_response(domain_status(error), error.code, error.message, error.fields)


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    current_app.logger.error(
        "unhandled error request_id=%s route=%s %s\n%s",
        g.get("request_id"),
        request.url_rule.rule if request.url_rule else "<unmatched>",
        describe(error),
        traceback_text(error),
    )
    return handle_http_exception(InternalServerError())


def database_unavailable(error: Exception) -> bool:
    """Errors that say the database is not answering, as opposed to refusing a statement.

    OperationalError covers a refused or dropped connection, a connect or
    statement timeout, a server shutting down, SQLite's busy timeout; pool
    exhaustion is SQLAlchemy's TimeoutError.
    """
    if isinstance(error, sa.DBAPIError):
        return error.connection_invalidated or isinstance(error, sa.OperationalError)
    return isinstance(error, sa.TimeoutError)


def handle_database_error(error: Exception):
    if retryable(error):
        if retries_left() > 0:
            raise error  # to the app, which runs the request again (api/http/retries.py)
        return error_response(
            503,
            CODES[503],
            "Too many concurrent changes to the same data; retry after the time in Retry-After.",
            headers={"Retry-After": "1"},
        )
    if not database_unavailable(error):
        return handle_unexpected(error)
    return unavailable(error)


def unavailable(error: Exception):
    """The 503 for a database that does not answer; the outage is logged once."""
    current_app.extensions[OUTAGE].failed(error)
    g.database_failed = True
    retry_after = str(current_app.config["UNAVAILABLE_RETRY_AFTER_SECONDS"])
    return error_response(503, CODES[503], MESSAGES[503], headers={"Retry-After": retry_after})


def notice_recovery(outage: Outage, _error) -> None:
    """A request used the database and did not fail on it: the outage, if any, is over.

    A teardown, so it runs after the end-of-request commit."""
    if outage.ongoing and not g.get("database_failed") and db.session.registry.has():
        outage.answered()


OUTAGE = "flipfunnel_database_outage"


def init_app(app) -> None:
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(domain.DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(sa.DBAPIError, handle_database_error)
    app.register_error_handler(sa.TimeoutError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
    outage = app.extensions[OUTAGE] = Outage("database")
    app.teardown_request(partial(notice_recovery, outage))
