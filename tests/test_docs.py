"""The OpenAPI document and the docs page, which must work with no internet."""

import json
import re
from html.parser import HTMLParser

import pytest

from tests import statuses


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def request_schema(spec: dict, path: str, method: str) -> dict:
    operation = spec["paths"][path][method]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.removeprefix("#/components/schemas/")
    return spec["components"]["schemas"][name] | {"name": name}


def test_openapi_document(spec):
    assert re.fullmatch(r"3\.\d+\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    for path, methods in {
        "/v1/contacts": {"get", "post"},
        "/v1/contacts/{external_id}": {"get", "put", "patch", "delete"},
        "/v1/keys": {"get", "post"},
        "/v1/keys/{key_id}": {"get", "delete"},
        "/v1/keys/{key_id}/rotate": {"post"},
    }.items():
        assert path in spec["paths"], sorted(spec["paths"])
        assert methods <= set(spec["paths"][path]), (path, sorted(spec["paths"][path]))


def test_request_schemas(spec):
    upsert = request_schema(spec, "/v1/contacts", "post")
    assert upsert["name"] == "ContactUpsert"
    assert "external_id" in upsert["required"]
    assert {"email", "stage", "locale", "attributes"} <= set(upsert["properties"])
    assert set(upsert["properties"]["stage"]["enum"]) >= {"lead", "customer"}

    fields = request_schema(spec, "/v1/contacts/{external_id}", "put")
    assert fields["name"] == "ContactFields"
    assert "external_id" not in fields["properties"]
    assert request_schema(spec, "/v1/contacts/{external_id}", "patch")["name"] == "ContactFields"

    create_key = request_schema(spec, "/v1/keys", "post")
    assert create_key["name"] == "CreateKey"
    assert set(create_key["properties"]["kind"]["enum"]) == {"secret", "publishable"}
    rotate = request_schema(spec, "/v1/keys/{key_id}/rotate", "post")
    assert rotate["name"] == "RotateKey" and "grace_hours" in rotate["properties"]

    listed = spec["paths"]["/v1/contacts"]["get"]
    assert {"limit", "after", "email", "stage", "updated_since"} <= {
        parameter["name"] for parameter in listed["parameters"]
    }
    schemas = spec["components"]["schemas"]
    assert {"Contact", "ApiKey", "NewApiKey"} <= set(schemas)
    assert "key" in schemas["NewApiKey"]["properties"]
    assert "key" not in schemas["ApiKey"]["properties"]


def test_bearer_security_schemes(spec):
    schemes = spec["components"]["securitySchemes"]
    for name in ("secretKey", "publishableKey"):
        assert schemes[name]["type"] == "http"
        assert schemes[name]["scheme"] == "bearer"
    assert {"secretKey": []} in spec["security"]


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def test_docs_page_is_self_contained(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    parser = _Assets()
    parser.feed(html)
    assert any(url.endswith(".js") for url in parser.urls), parser.urls
    assert any(url.endswith(".css") for url in parser.urls), parser.urls
    for url in parser.urls:
        assert not url.startswith(("http://", "https://", "//")), url
        assert "cdn" not in url.lower(), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.get_data(), url
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "/openapi.json" in html


def test_docs_assets_stay_in_their_folder(client):
    assert client.get("/docs/assets/../../config/__init__.py").status_code == 404
    assert client.get("/docs/assets/%2e%2e/%2e%2e/wsgi.py").status_code == 404


def test_the_document_is_valid_openapi(spec):
    from openapi_spec_validator import OpenAPIV30SpecValidator

    problems = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in OpenAPIV30SpecValidator(spec).iter_errors()
    ]
    assert not problems, "\n".join(problems[:20])


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def _resolve(spec: dict, value: dict) -> dict:
    while "$ref" in value:
        section, name = value["$ref"].removeprefix("#/components/").split("/")
        value = spec["components"][section][name]
    return value


PAGE = {"schema": {"type": "string"}}


def test_every_error_is_documented_in_our_format(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = _resolve(spec, error["properties"]["error"])
    assert set(detail["properties"]) == {"code", "message", "fields", "request_id"}
    assert set(detail["required"]) == {"code", "message", "request_id"}
    for path, method, operation in _operations(spec):
        responses = operation["responses"]
        assert "default" not in responses, (method, path)
        for status, response in responses.items():
            if int(status) < 400:
                continue
            content = _resolve(spec, response)["content"]
            ours = {"schema": {"$ref": "#/components/schemas/Error"}}
            if path.startswith(("/v1/", "/w/", "/public/")):
                assert content == {"application/json": ours}, (method, path, status)
            else:  # pages for people: the same facts as a page, to a browser
                assert content == {"application/json": ours, "text/html": PAGE}, (path, status)


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        # The hooks of the secret-key API: a key, the limits, the database; a body as JSON.
        ("/v1/workspace", "get", {401, 403, 422, 429, 503}),
        ("/v1/contacts/{external_id}", "patch", {400, 401, 403, 404, 413, 414, 415, 422, 429, 503}),
        # POST adds Idempotency-Key: a malformed one (400), a twin running (409), reused (422).
        ("/v1/surveys", "post", {400, 401, 403, 409, 413, 415, 422, 429, 503}),
        # The widget API: a publishable key and an allowed origin (403).
        ("/w/v1/eligibility", "get", {401, 403, 414, 422, 429, 503}),
    ],
)
def test_the_statuses_an_operation_answers_come_from_its_hooks(spec, path, method, statuses):
    responses = spec["paths"][path][method]["responses"]
    assert {int(status) for status in responses if int(status) >= 400} == statuses


def test_retry_after_and_www_authenticate_are_documented(spec):
    responses = spec["components"]["responses"]
    for name in ("TOO_MANY_REQUESTS", "SERVICE_UNAVAILABLE"):
        assert _resolve(spec, responses[name]["headers"]["Retry-After"])["schema"]["type"] == (
            "integer"
        )
    assert "WWW-Authenticate" in responses["UNAUTHORIZED"]["headers"]


def test_idempotency_is_documented_on_every_post_of_the_secret_key_api(spec):
    for path, method, operation in _operations(spec):
        if method != "post" or not path.startswith("/v1/"):
            continue
        names = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
        assert ("header", "Idempotency-Key") in names, path
        for status, response in operation["responses"].items():
            if int(status) < 300:
                assert "Idempotent-Replayed" in response["headers"], (path, status)


def test_number_bounds_are_numbers(spec):
    program = spec["components"]["schemas"]["RewardRule"]["properties"]["amount"]
    # Dumped as a string ("10.00"), so a string; its bounds still numbers.
    assert program["type"] == "string" and program["format"] == "decimal"
    assert program["x-minimum"] == 0 and program["x-exclusiveMinimum"] is True
    assert program["x-maximum"] == 1_000_000_000_000
    conversion = spec["components"]["schemas"]["ConversionCreate"]["properties"]["amount"]
    assert conversion["type"] == "number"
    assert (conversion["minimum"], conversion["maximum"]) == (0, 1_000_000_000_000)
    limit = spec["paths"]["/v1/contacts"]["get"]["parameters"]
    assert {"minimum": 1, "maximum": 500}.items() <= next(
        p["schema"] for p in limit if p["name"] == "limit"
    ).items()


def test_pages_are_documented_as_pages_and_take_no_key(spec):
    survey = spec["paths"]["/s/{token}"]
    assert survey["get"]["security"] == [] and survey["post"]["security"] == []
    assert survey["get"]["responses"]["200"]["content"] == {"text/html": PAGE}
    submitted = survey["post"]["responses"]["303"]
    assert "Location" in submitted["headers"] and "content" not in submitted
    one_click = spec["paths"]["/p/{token}"]["post"]["responses"]["200"]["content"]
    assert one_click == {"text/plain": PAGE}
    assert {"403", "404", "410"} <= set(survey["post"]["responses"])


def test_the_suites_status_check_names_what_the_document_does_not_give(app):
    """The check `default_app` makes at the end of a run (tests/statuses.py) reads
    Flask's rules, path parameters included, as the document's paths."""
    seen = {
        ("/w/v1/comments", "post"): {200, 409, 418},
        ("/v1/contacts/<external_id>", "get"): {200, 404, 418, 500},
        ("/widgets/<path:name>", "get"): {200, 418},  # not an operation of the document
    }
    assert statuses.undocumented(app, seen) == [
        "GET /v1/contacts/<external_id> 418",
        "POST /w/v1/comments 418",
    ]


def test_the_widgets_display_leads_to_each_call_that_takes_it(spec):
    """The links name operations that exist, and each takes `display` in its body."""
    linked = {}
    for path, status in (("/w/v1/eligibility", "200"), ("/w/v1/responses", "201")):
        method = "get" if path.endswith("eligibility") else "post"
        for link in spec["paths"][path][method]["responses"][status]["links"].values():
            pointer = link["operationRef"].removeprefix("#/paths/")
            target, target_method = pointer.rsplit("/", 1)
            target = target.replace("~1", "/").replace("~0", "~")
            assert request_schema(spec, target, target_method)["properties"]["display"]
            linked[target] = link["requestBody"]["display"]
    assert linked == {
        "/w/v1/displays": "$response.body#/display",
        "/w/v1/responses": "$response.body#/display",
        "/w/v1/declines": "$response.body#/display",
        "/w/v1/comments": "$request.body#/display",
        "/w/v1/asks": "$request.body#/display",
        "/w/v1/testimonials": "$request.body#/display",
        "/w/v1/reviews": "$request.body#/display",
        "/w/v1/advocates": "$request.body#/display",
    }
