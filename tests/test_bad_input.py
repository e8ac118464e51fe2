"""Bad input, sent to every route: a 4xx in the one error format, never a 500.

Each class of bad input a hostile client tried (JSON nested 1,000 deep, NUL and
lone surrogates in strings, keys, query arguments and path segments, bodies too
large, malformed JSON and UTF-8) is sent to every method of every rule in the URL
map, as tests/test_isolation.py does, so a new route is covered without anyone
remembering to. Calls carry the key their surface takes (a secret key on /v1, a
publishable one on /w/v1), so a value that got past the intake gate would reach
the route and its database. Runs on SQLite and, with TEST_DATABASE_URL, on
PostgreSQL, whose text cannot hold NUL.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from api.extensions import api
from api.http import intake
from tests.conftest import create_tenant

IGNORED_METHODS = {"HEAD", "OPTIONS"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
PARAM = re.compile(r"<(?:([^<>:()]+)(?:\(([^<>]*)\))?:)?([^<>:]+)>")
MAX_BODY = 8192  # the test app's MAX_CONTENT_LENGTH, so a body past it stays small
REQUEST_ID = "bad-input-0001"
NUL = "a\x00b"
# Query arguments sent to every route besides those its OpenAPI operation declares.
COMMON_ARGUMENTS = ("q", "key", "token", "score", "step", "after")


@dataclass
class Call:
    rule: str
    method: str
    params: dict[str, str]  # path parameter -> converter ("default", "path", "any", ...)
    choices: dict[str, str]  # any() parameters -> one allowed value
    arguments: list[str]  # query arguments the route declares
    headers: dict[str, str] = field(default_factory=dict)
    blueprint: str | None = None

    def path(self, value: str = "x", only: str | None = None) -> str:
        """The rule with its parameters filled: `value` in `only` (or in each), else 'x'."""

        def fill(match: re.Match) -> str:
            name = match.group(3)
            if name in self.choices:
                return self.choices[name]
            return value if only in (None, name) else "x"

        return PARAM.sub(fill, self.rule)


def calls(app, tenant) -> list[Call]:
    spec = api.spec.to_dict()["paths"]
    found = []
    for rule in app.url_map.iter_rules():
        params, choices = {}, {}
        for converter, arguments, name in PARAM.findall(rule.rule):
            params[name] = converter or "default"
            if converter == "any":
                choices[name] = re.findall(r"'([^']*)'", arguments)[0]
        operations = spec.get(PARAM.sub(lambda m: "{" + m.group(3) + "}", rule.rule), {})
        for method in sorted(rule.methods - IGNORED_METHODS):
            declared = operations.get(method.lower(), {}).get("parameters", [])
            headers = {"Accept": "application/json", "X-Request-ID": REQUEST_ID}
            if rule.rule.startswith("/v1/"):
                headers["Authorization"] = f"Bearer {tenant.secret_key}"
            elif rule.rule.startswith("/w/"):
                headers["Authorization"] = f"Bearer {tenant.publishable_key}"
            arguments = [p["name"] for p in declared if p["in"] == "query"]
            blueprint = rule.endpoint.rpartition(".")[0] or None
            found.append(Call(rule.rule, method, params, choices, arguments, headers, blueprint))
    assert len(found) > 50, "the URL map looks empty"
    return found


@dataclass
class Case:
    """One kind of bad input: how to send it to a call, and what must come back."""

    name: str
    send: Callable  # (client, call) -> response, or None when it does not apply to the call
    status: set[int] | None = None  # None: any 4xx, or a success where the route ignores it
    fields: Callable | None = None  # (call) -> the fields the error must name

    def check(self, call: Call, response) -> list[str]:
        where = f"{self.name}: {call.method} {call.rule} -> {response.status_code}"
        text = response.get_data(as_text=True)
        if response.status_code >= 500:
            return [f"{where}: {text[:300]}"]
        problems = []
        if self.status is not None and response.status_code not in self.status:
            problems.append(f"{where}, expected {sorted(self.status)}: {text[:300]}")
        if response.status_code >= 400 and response.mimetype == "text/html":
            # A page for people may answer with its error page: the same facts, as HTML.
            if call.rule.startswith(("/v1/", "/w/")) or REQUEST_ID not in text:
                problems.append(f"{where}: not our error format: {text[:300]}")
        elif response.status_code >= 400:
            error = (response.get_json(silent=True) or {}).get("error") or {}
            if not (error.get("code") and error.get("message")):
                problems.append(f"{where}: not our error format: {text[:300]}")
            elif {error.get("request_id"), response.headers.get("X-Request-ID")} != {REQUEST_ID}:
                problems.append(f"{where}: no request id in {text[:300]}")
            elif self.fields is not None:
                wanted = self.fields(call)
                named = {name: error.get("fields", {}).get(name) for name in wanted}
                if named != wanted:
                    problems.append(f"{where}: fields {error.get('fields')}, expected {wanted}")
        return problems


def _json(client, call: Call, body, method: str | None = None, **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body)
    headers = {**call.headers, "Content-Type": "application/json"}
    method = method or call.method
    return client.open(call.path(), method=method, data=data, headers=headers, **kwargs)


def _body(make: Callable) -> Callable:
    return lambda client, call: _json(client, call, make())


def _past_the_body_limit(client, call: Call):
    """Past MAX_CONTENT_LENGTH, or past the larger limit of a blueprint that takes files."""
    limit = intake.body_limit(call.blueprint) or MAX_BODY
    return _json(client, call, b'"' + b"x" * limit + b'"')


def _path_nul(client, call: Call):
    names = [name for name in call.params if name not in call.choices]
    if not names:
        return None
    return client.open(call.path("a%00b"), method=call.method, headers=call.headers)


def _query_nul(client, call: Call):
    query = dict.fromkeys([*COMMON_ARGUMENTS, *call.arguments], NUL)
    return client.open(call.path(), method=call.method, headers=call.headers, query_string=query)


def _query_name_nul(client, call: Call):
    query = {NUL: "1"}
    return client.open(call.path(), method=call.method, headers=call.headers, query_string=query)


def _form(body: bytes) -> Callable:
    def send(client, call: Call):
        if call.method not in BODY_METHODS:
            return None
        headers = {**call.headers, "Content-Type": "application/x-www-form-urlencoded"}
        return client.open(call.path(), method=call.method, data=body, headers=headers)

    return send


def _only_body_methods(send: Callable) -> Callable:
    return lambda client, call: send(client, call) if call.method in BODY_METHODS else None


def _text(*path) -> dict:
    """{"a": {"b": [TEXT_MESSAGE]}} for path ("a", "b")."""
    value: object = [intake.TEXT_MESSAGE]
    for name in reversed(path[1:]):
        value = {name: value}
    return {path[0]: value}


DEEP = 1000
CASES = [
    Case(
        "JSON nested 1,000 deep (arrays)",
        _body(lambda: ("[" * DEEP + "]" * DEEP).encode()),
        {422},
        lambda call: {"_body": ["JSON may be nested at most 32 levels deep."]},
    ),
    Case(
        "JSON nested 1,000 deep (objects)",
        _body(lambda: ('{"a":' * DEEP + "1" + "}" * DEEP).encode()),
        {422},
    ),
    Case(
        "NUL in a JSON string",
        _body(lambda: {"note": NUL, "nested": {"deep": ["fine", NUL]}}),
        {422},
        lambda call: {**_text("note"), **_text("nested", "deep", "1")},
    ),
    Case(
        "NUL in a JSON key",
        _body(lambda: {NUL: 1}),
        {422},
        lambda call: {"a\ufffdb": [intake.KEY_MESSAGE]},
    ),
    Case(
        "lone surrogate in a JSON string",
        _body(lambda: b'{"note": "\\ud800 alone"}'),
        {422},
        lambda call: _text("note"),
    ),
    Case(
        "lone surrogate in a JSON key",
        _body(lambda: b'{"\\udfff": true}'),
        {422},
        lambda call: {"\ufffd": [intake.KEY_MESSAGE]},
    ),
    Case(
        "NUL as the whole JSON body",
        _body(lambda: "\x00"),
        {422},
        lambda call: {"_body": [intake.TEXT_MESSAGE]},
    ),
    Case(
        "NUL in query arguments",
        _query_nul,
        {422},
        lambda call: {name: [intake.TEXT_MESSAGE] for name in (*COMMON_ARGUMENTS, *call.arguments)},
    ),
    Case(
        "NUL in a query argument's name",
        _query_name_nul,
        {422},
        lambda call: {"a\ufffdb": [intake.KEY_MESSAGE]},
    ),
    Case(
        "NUL in path segments",
        _path_nul,
        {422},
        lambda call: {
            name: [intake.TEXT_MESSAGE] for name in call.params if name not in call.choices
        },
    ),
    Case(
        "NUL in form fields",
        _form(b"score=1%00&comment=a%00b"),
        {422},
        lambda call: _text("score") | _text("comment"),
    ),
    Case("a body past MAX_CONTENT_LENGTH", _past_the_body_limit, {413}),
    Case("malformed JSON", _only_body_methods(_body(lambda: b"{not json"))),
    Case("JSON that is not UTF-8", _only_body_methods(_body(lambda: b'{"note": "\xff\xfe"}'))),
    Case("a form that is not UTF-8", _form(b"comment=\xff\xfe&score=\xc3")),
    Case(
        "a 10,000-character query argument",
        lambda client, call: client.open(
            call.path(),
            method=call.method,
            headers=call.headers,
            query_string=dict.fromkeys(call.arguments or ["after"], "x" * 10_000),
        ),
    ),
]


@pytest.fixture
def hostile(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=MAX_BODY)
    tenant = create_tenant(app, "Hostile")
    return app, tenant


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_route_refuses_bad_input_in_our_format(hostile, case):
    app, tenant = hostile
    client = app.test_client()
    problems, sent = [], 0
    for call in calls(app, tenant):
        response = case.send(client, call)
        if response is None:
            continue
        sent += 1
        problems += case.check(call, response)
    assert sent, f"{case.name} applied to no route"
    assert not problems, "\n".join(problems)


def test_the_generated_calls_cover_every_surface(hostile):
    app, tenant = hostile
    rules = {call.rule for call in calls(app, tenant)}
    assert {"/v1/contacts/<external_id>", "/w/v1/responses", "/s/<token>", "/r/<code>"} <= rules
    assert {"/readyz", "/openapi.json"} <= rules


def test_nul_in_a_widget_attributes_argument_is_refused_naming_it(app, tenant):
    """JSON inside a query argument passes the same rules as a JSON body."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tenant.publishable_key}"}
    for attributes, fields in (
        ('{"plan": "\\u0000"}', {"attributes": {"plan": [intake.TEXT_MESSAGE]}}),
        ("[" * DEEP + "]" * DEEP, {"attributes": ["JSON may be nested at most 32 levels deep."]}),
    ):
        response = client.get(
            "/w/v1/eligibility",
            query_string={"user_id": "u1", "user_hash": "x", "attributes": attributes},
            headers=headers,
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.get_json()["error"]["fields"] == fields


def test_nul_in_a_forged_cursor_is_refused(tenant):
    import base64

    # One sort column (the id): a string with a NUL passes every check but the intake's.
    for values in (["con_\x00"], ["\x00", "con_1"], [[[[]]]]):
        cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
        response = tenant.get("/v1/contacts", query_string={"after": cursor})
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.get_json()["error"]["fields"] == {"after": ["Invalid."]}


@pytest.mark.parametrize(
    ("raw", "refused"),
    [
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b'{"a": "' + b"[" * 100 + b'"}', False),  # brackets in a string do not nest
        (b'{"a": "\\"[[[[", "b": ' + b"[" * 40 + b"]" * 40 + b"}", True),
        (b'{"emoji": "\\ud83d\\ude00"}', False),  # a surrogate pair is one character
        (b'{"path": "C:\\\\u0000"}', False),  # an escaped backslash, then "u0000"
        (b'{"a": ["\\u0000"]}', True),
        (b'{"a": "\\uDBFF"}', True),
        (b"{not json", False),  # the parser that reads it says so
    ],
)
def test_check_json(raw, refused):
    if refused:
        with pytest.raises(intake.Refused):
            intake.check_json(raw, 32)
    else:
        intake.check_json(raw, 32)


def _nesting(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_nesting, value), default=0)
    return 0


def test_depth_judged_on_the_raw_bytes_is_the_parsed_depth():
    """Brackets, quotes and backslashes inside strings (and keys) never count as nesting."""
    import random

    rng = random.Random(15)
    characters = ["[", "]", "{", "}", '"', "\\", "n", "a", "\n", "\u00e9"]

    def text() -> str:
        return "".join(rng.choice(characters) for _ in range(rng.randint(0, 4)))

    def value(depth: int = 0):
        roll = rng.random()
        if depth > 12 or roll < 0.3:
            return rng.choice([text(), 1, None])
        if roll < 0.65:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {text() + str(index): value(depth + 1) for index in range(rng.randint(0, 3))}

    for _ in range(3000):
        document = value()
        raw = json.dumps(document, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1]))
        for limit in (3, 6):
            assert intake._too_deep(raw.encode(), limit) == (_nesting(document) > limit), raw
