"""The widget's two hottest calls answered in front of Flask's request dispatch.

Every page view of a customer's site asks `GET /w/v1/eligibility`, and every
answer is a `POST /w/v1/responses` (retried by the widget until it lands).
The target is half a bare Flask endpoint's throughput for each. Flask's
request machinery around them (request context, routing, every hook, webargs
and marshmallow reading five query arguments) cost more than the work itself.

So this WSGI middleware answers those two calls when they are plain: a
publishable key in the query string that is live, an allowed origin (or no
Origin header), arguments it can read without doubt, a rate limit not reached.
It does the same work as the routes in `api/widget/routes.py`, through the same
service functions, and sends the same headers and request log line.

Everything else goes to Flask untouched: a missing, secret or unknown key, a
refused origin, attributes to write, an argument to validate, a limit reached,
an error from the service (rolled back first). The routes own every error
answer, so there is one error format. A request handed over after its rate
limit was counted is counted once more by the route; that only happens to
requests that fail.
"""

import io
import json
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from flask import Flask
from marshmallow import Schema, validate

from api import database
from api.domain_errors import DomainError
from api.http import auth, ratelimit, request_log
from api.http.errors import ApiError
from api.widget import cors, service
from api.widget.routes import bp
from api.widget.schemas import WidgetAnswerSchema, WidgetEligibilityArgs
from api.workspaces import keys

log = logging.getLogger(__name__)

_PUBLISHABLE = keys.KINDS[keys.PUBLISHABLE]
# A widget's answer is a display token, a score and a page URL: a few KB at most.
MAX_BODY = 16 * 1024


def _max_lengths(schema: type[Schema]) -> dict[str, int | None]:
    """Each field's longest allowed string, read off the schema the routes validate with."""
    found = {}
    for name, field in schema().fields.items():
        lengths = [v.max for v in field.validators if isinstance(v, validate.Length)]
        found[name] = lengths[0] if lengths else None
    return found


# Attributes are written to the contact: they take the route's way, with its validation.
_QUERY_FIELDS = {k: v for k, v in _max_lengths(WidgetEligibilityArgs).items() if k != "attributes"}
_BODY_FIELDS = _max_lengths(WidgetAnswerSchema)


def _fits(value, longest: int | None) -> bool:
    return isinstance(value, str) and (longest is None or len(value) <= longest)


def _query(environ) -> dict[str, str] | None:
    """The query arguments the widget API reads; None when any needs the route's care.

    Arguments it does not read are ignored, as webargs ignores them."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        if name in ("attributes", "anonymous_id") or name in found:  # the route validates these
            return None
        if name in _QUERY_FIELDS:
            if not _fits(value, _QUERY_FIELDS[name]):
                return None
            found[name] = value
    return found


def _answer_body(environ) -> dict | None:
    """The JSON body of a plain answer; None when it needs the route's validation.

    The bytes read are put back, so the route can read them again."""
    content_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        return None
    if content_type != "application/json" or not 0 < length <= MAX_BODY:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # the route's intake gate answers either
        return None
    if (
        not isinstance(data, dict)
        or not data.keys() <= _BODY_FIELDS.keys()
        or not _fits(data.get("display"), _BODY_FIELDS["display"])
        or type(data.get("score")) is not int
        or ("page" in data and not _fits(data["page"], _BODY_FIELDS["page"]))
    ):
        return None
    return data


class _Handover(Exception):
    """This request is not plain: Flask's route answers it."""


class WidgetCalls:
    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        # (method, path): (the route's endpoint, the body it reads if any, what it does)
        self.calls: dict[tuple[str, str], tuple[str, Callable | None, Callable]] = {
            ("GET", f"{bp.url_prefix}/eligibility"): ("eligibility", None, self._eligibility),
            ("POST", f"{bp.url_prefix}/responses"): ("answer", _answer_body, self._answer),
        }

    def __call__(self, environ, start_response):
        call = self.calls.get((environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")))
        if call is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        request_id = request_log.request_id(environ.get("HTTP_X_REQUEST_ID"))
        try:
            with self.app.app_context():
                status, body, origin = self._answer_plainly(environ, *call, request_id)
                request_log.log_request(
                    request_id, environ["REQUEST_METHOD"], environ["PATH_INFO"], status, started
                )
        except _Handover:
            return self.wsgi_app(environ, start_response)
        payload = (self.app.json.dumps(body, separators=(",", ":")) + "\n").encode()
        start_response(
            f"{status} {'Created' if status == 201 else 'OK'}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Vary", "Origin"),
                *cors.headers(origin),
                ("X-Request-ID", request_id),
            ],
        )
        return [payload]

    def _answer_plainly(
        self, environ, endpoint: str, read: Callable | None, answer: Callable, request_id: str
    ):
        """(status, body, allowed origin) for a plain call; _Handover for any other."""
        query = _query(environ)
        data = query if read is None else read(environ)
        if query is None or data is None or "HTTP_AUTHORIZATION" in environ:
            raise _Handover
        token = query.get("key", "")
        origin = environ.get("HTTP_ORIGIN")
        try:
            key = auth.publishable_key(token) if token.startswith(_PUBLISHABLE) else None
            if key is None:
                raise _Handover
            workspace = service.widget_workspace(key.workspace_id)
            if not cors.origin_allowed(origin, workspace.allowed_origins or []):
                raise _Handover
            ratelimit.limiter().check(
                bp.name, f"{bp.name}.{endpoint}", key, environ.get("REMOTE_ADDR")
            )
            auth.record_use(key)
            status, body = answer(environ, workspace, data, request_id)
            database.end_work(succeeded=True)
        except (_Handover, ratelimit.RateLimited, ApiError, DomainError):
            database.end_work(succeeded=False)
            raise _Handover from None
        except Exception:
            database.end_work(succeeded=False)
            log.exception("widget call %s failed; handed to its route", endpoint)
            raise _Handover from None
        return status, body, origin

    @staticmethod
    def _eligibility(environ, workspace, query: dict, request_id: str) -> tuple[int, dict]:
        user = service.identify(workspace, query.get("user_id"), query.get("user_hash"), None)
        body = service.check_eligibility(
            workspace,
            user,
            url=query.get("url"),
            locale=query.get("locale"),
            accept_language=environ.get("HTTP_ACCEPT_LANGUAGE"),
            anonymous_key=request_id,
        )
        return 200, body

    @staticmethod
    def _answer(environ, workspace, data: dict, request_id: str) -> tuple[int, dict]:
        body, created = service.answer(
            workspace,
            data["display"],
            data["score"],
            page=data.get("page"),
            user_agent=environ.get("HTTP_USER_AGENT"),
        )
        return 201 if created else 200, body


def init_app(app: Flask) -> None:
    app.wsgi_app = WidgetCalls(app, app.wsgi_app)
