"""The OpenAPI document and the offline docs page: every customisation of it, here.

flask-smorest builds `/openapi.json` from the same marshmallow schemas that
validate requests, so the document cannot drift from the code. What it cannot
see on its own is added here, once, for every operation:

- Errors are our one format (api/http/errors.py), never flask-smorest's
  default, and each operation lists the statuses it can answer. Most come from
  the request hooks that run before its view: each hook is marked with what it
  answers (`answers`), and the `Answers` plugin reads the hooks of the app and
  of the operation's blueprint. A path that names an object can answer 404, a
  JSON body that cannot be parsed 400; what a view's service raises besides
  (409, 410) its route declares with `Blueprint.errors`.
- Number bounds as JSON numbers, and a Decimal dumped as a string documented
  as one.

`/docs` is its Swagger UI, with the assets served from the `swagger-ui-bundle`
package so the page works on a machine with no internet.
"""

import http
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import flask_smorest
from apispec import BasePlugin
from cachetools import LRUCache
from flask import Blueprint as FlaskBlueprint
from flask import send_from_directory
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields, validate
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import FlaskParser

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ErrorDetailSchema(Schema):
    code = fields.String(
        required=True, metadata={"description": "Stable, for programs: `validation_error`, ..."}
    )
    message = fields.String(required=True, metadata={"description": "For people; may change."})
    fields_ = fields.Dict(
        data_key="fields",
        metadata={"description": "Per invalid field (nested as the input is), its messages."},
    )
    request_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Also in the `X-Request-ID` header; quote it to support."},
    )


class ErrorSchema(Schema):
    """Every error the service answers, whichever layer found it."""

    error = fields.Nested(ErrorDetailSchema, required=True)


def _header(description: str, schema: dict | None = None) -> dict:
    return {"description": description, "schema": schema or {"type": "string"}}


# Response headers, as components named like flask-smorest's own (`ETAG`).
HEADERS = {
    "LOCATION": _header("The URL of the object."),
    "RETRY_AFTER": _header("Seconds to wait before retrying.", {"type": "integer", "minimum": 0}),
    "WWW_AUTHENTICATE": _header("`Bearer`: send an API key as a bearer token."),
    "IDEMPOTENT_REPLAYED": _header(
        "`true` when this is the stored answer to an earlier request with the same "
        "`Idempotency-Key`.",
        {"type": "string", "enum": ["true"]},
    ),
}

# For `headers=` of a response that carries the object's URL.
LOCATION = {"Location": "LOCATION"}

# Why each error status is answered; the headers it carries.
ERRORS = {
    400: ("The JSON body cannot be parsed, or a header is malformed.", {}),
    401: (
        "No API key, or one that is unknown, revoked or expired.",
        {"WWW-Authenticate": "WWW_AUTHENTICATE"},
    ),
    403: ("This key, or the page's origin, may not do this.", {}),
    404: ("No such object in this workspace.", {}),
    409: ("The object's state does not allow this now, or a twin request is running.", {}),
    410: ("It was there and is no longer (expired, revoked, erased).", {}),
    413: ("The body is larger than the service accepts.", {}),
    414: ("The URL is longer than the service accepts.", {}),
    415: ("A body that is not `application/json`.", {}),
    422: ("Some input is missing or invalid: `fields` names each.", {}),
    429: ("Too many requests: retry after `Retry-After` seconds.", {"Retry-After": "RETRY_AFTER"}),
    503: (
        "The database is not answering: retry after `Retry-After` seconds.",
        {"Retry-After": "RETRY_AFTER"},
    ),
}


PAGE = "PAGE_"  # the prefix of error responses that may be an HTML page


def response_name(status: int) -> str:
    """The component a status's error response is, named as flask-smorest names them."""
    return http.HTTPStatus(status).name


@dataclass(frozen=True)
class Answer:
    """What a request hook adds to the operations it runs before."""

    statuses: frozenset[int]
    methods: frozenset[str] | None = None  # None: every method
    parameters: tuple[dict, ...] = ()  # request headers it reads
    success_headers: dict[str, str] = field(default_factory=dict)  # added to 2xx answers
    security: tuple[dict, ...] | None = None  # the key it demands, when not the default


def answers(
    *statuses: int,
    methods: Iterable[str] | None = None,
    parameters: Iterable[dict] = (),
    success_headers: dict[str, str] | None = None,
    security: Iterable[dict] | None = None,
) -> Callable:
    """Mark a request hook with what it can answer instead of the view (and how)."""
    answer = Answer(
        frozenset(statuses),
        frozenset(methods) if methods is not None else None,
        tuple(parameters),
        dict(success_headers or {}),
        tuple(security) if security is not None else None,
    )

    def mark(hook: Callable) -> Callable:
        hook.openapi_answers = (*getattr(hook, "openapi_answers", ()), answer)
        return hook

    return mark


class AnswersPlugin(BasePlugin):
    """Adds to each operation what the hooks before its view (and its path) can answer."""

    def __init__(self, api: "Api"):
        self.api = api

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        app = self.api._app
        blueprint = rule.endpoint.rpartition(".")[0]
        hooks = [
            *app.before_request_funcs.get(None, ()),
            *app.before_request_funcs.get(blueprint, ()),
        ]
        public = getattr(app.blueprints.get(blueprint), "public", False)
        for method, operation in operations.items():
            if method.upper() not in rule.methods:
                continue
            statuses: set[int] = set()
            if rule.arguments:
                statuses.add(404)
            if rule.arguments or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            ):
                statuses.add(414)  # gunicorn's, for a request line past its limit
            if "requestBody" in operation:
                statuses |= {400, 413, 422}
            for hook in hooks:
                for answer in getattr(hook, "openapi_answers", ()):
                    if answer.methods is None or method.upper() in answer.methods:
                        _apply(answer, operation, statuses)
            if public:
                operation.setdefault("security", [])
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                if status not in responses and str(status) not in responses:
                    responses[status] = (PAGE if public else "") + response_name(status)


def _apply(answer: Answer, operation: dict, statuses: set[int]) -> None:
    statuses |= answer.statuses
    if answer.security is not None:
        operation.setdefault("security", list(answer.security))
    names = {(p.get("in"), p.get("name")) for p in operation.get("parameters", [])}
    for parameter in answer.parameters:
        if (parameter["in"], parameter["name"]) not in names:
            operation.setdefault("parameters", []).append(dict(parameter))
    for status, response in operation.get("responses", {}).items():
        if answer.success_headers and 200 <= int(status) < 300 and isinstance(response, dict):
            response.setdefault("headers", {}).update(answer.success_headers)


def range2properties(self, field, ret: dict, **kwargs) -> dict:
    """A number's Range bounds as JSON numbers, exclusive ones marked so.

    apispec writes a bound as the field would dump it, a string for a Decimal
    dumped as one (`"maximum": "1000000000000.00"` makes the document invalid),
    and drops exclusiveness. A Decimal dumped as a string is documented as a
    string, its bounds as `x-minimum` and `x-maximum` (as apispec names bounds of
    a field that is not a number)."""
    if not isinstance(field, fields.Number):
        return {}
    as_string = isinstance(field, fields.Decimal) and field.as_string
    properties: dict = {"type": "string", "format": "decimal"} if as_string else {}
    prefix = "x-" if as_string else ""
    for name in ("minimum", "maximum", "x-minimum", "x-maximum"):
        ret.pop(name, None)
    for validator in field.validators:
        if not isinstance(validator, validate.Range):
            continue
        for name, bound, inclusive in (
            ("minimum", validator.min, validator.min_inclusive),
            ("maximum", validator.max, validator.max_inclusive),
        ):
            if bound is not None:
                properties[prefix + name] = _number(bound)
                if not inclusive:
                    properties[f"{prefix}exclusive{name.capitalize()}"] = True
    return properties


def _number(value) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
    # Each operation lists the statuses it answers; no catch-all `default`.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """Errors are answered by api.http.errors, in the one format."""

    def init_app(self, app, *, spec_kwargs=None):
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()), AnswersPlugin(self)]
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.ma_plugin.converter.add_attribute_function(range2properties)
        self.spec.components.security_scheme(
            "secretKey",
            {"type": "http", "scheme": "bearer", "description": "A secret key, sk_..."},
        )
        self.spec.components.security_scheme(
            "publishableKey",
            {"type": "http", "scheme": "bearer", "description": "A publishable key, pk_..."},
        )
        self.spec.options["security"] = [{"secretKey": []}]
        app.register_blueprint(_docs_assets)

    def _register_responses(self):
        """Error responses in our format, with why and the headers each carries."""
        for name, header in HEADERS.items():
            self.spec.components.header(name, header, lazy=True)
        for status in http.HTTPStatus:
            description, headers = ERRORS.get(status, (status.phrase, {}))
            response = {"description": description, "schema": self.ERROR_SCHEMA}
            if headers:
                response["headers"] = dict(headers)
            page = {**response, "headers": dict(headers)} if headers else dict(response)
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
            # Outside the APIs a browser that asks for HTML gets the same facts as a page.
            prepare_response(page, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            page["content"]["text/html"] = {"schema": {"type": "string"}}
            self.spec.components.response(PAGE + status.name, page, lazy=True)


class ArgumentsParser(FlaskParser):
    """webargs' parser, remembering the arguments of query strings that many callers send.

    A schema with `shared_query = True` is one whose query string is the same for
    every visitor of a page (the wall's `key=pk_...&limit=20`): what a query string
    loads to is kept, up to `REMEMBERED` of them per worker, and handed out as a
    fresh dict each time. Loading is a function of the query string alone for such
    a schema (no hooks that read the request), so the answer is the one webargs
    would give; a string that fails to load is refused each time, never kept.
    """

    REMEMBERED = 256

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.remembered = LRUCache(maxsize=self.REMEMBERED)
        # LRUCache is not thread-safe (threaded workers); the load runs outside the lock.
        self._lock = threading.Lock()

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        if location != "query" or not getattr(argmap, "shared_query", False):
            return super().parse(argmap, req, location=location, **kwargs)
        key = (id(argmap), (req or self.get_default_request()).query_string)
        with self._lock:
            loaded = self.remembered.get(key)
        if loaded is None:
            loaded = super().parse(argmap, req, location=location, **kwargs)
            with self._lock:
                self.remembered[key] = loaded
        return dict(loaded)


class Blueprint(flask_smorest.Blueprint):
    """The base of every blueprint in the document.

    `public=True`: its routes take no key (the document's default is a secret key)
    and answer errors as an HTML page to a browser that asks for one, as every
    route outside the APIs does (see api.http.errors).
    """

    ARGUMENTS_PARSER = ArgumentsParser()

    def __init__(self, *args, public: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.public = public

    def arguments(self, schema, **kwargs) -> Callable:
        """flask-smorest's, with a schema class made an instance once, here: webargs
        builds a schema given as a class anew on every request (a deep copy of each
        field), which cost a widget call about a tenth of its time."""
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)

    def page(self, status: int = 200, description: str = "An HTML page.") -> Callable:
        """Document an answer that is a page for people."""
        return self.content(status, "text/html", description)

    def redirect(self, status: int, description: str) -> Callable:
        """Document an answer that sends the browser on (303 after a form, 302 to a site)."""
        return self.alt_response(status, success=True, description=description, headers=LOCATION)

    def content(self, status: int, content_type: str, description: str, **kwargs) -> Callable:
        """Document an answer that is not JSON: a page, a CSV file, a script, plain text."""
        return self.alt_response(
            status,
            success=True,
            content_type=content_type,
            schema={"type": "string"},
            description=description,
            **kwargs,
        )

    def links(self, status: int, body: dict, *paths: str) -> Callable:
        """Document that this answer feeds the body of the POSTs to `paths` (OpenAPI
        links): `body` holds runtime expressions (`$response.body#/display`). Clients
        read the flow from it, and the fuzzer's stateful phase follows it."""
        links = {
            path.rstrip("/").rsplit("/", 1)[-1]: {
                "operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/post",
                "requestBody": body,
            }
            for path in paths
        }
        return self.doc(responses={status: {"links": links}})

    def errors(self, *statuses: int) -> Callable:
        """Document error statuses the view's services raise (409, 410, ...)."""

        def decorator(function):
            for status in statuses:
                name = (PAGE if self.public else "") + response_name(status)
                function = self.alt_response(status, response=name)(function)
            return function

        return decorator


_docs_assets = FlaskBlueprint("docs_assets", __name__)


@_docs_assets.get("/docs/assets/<path:filename>")
def docs_asset(filename):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
