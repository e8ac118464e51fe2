"""The OpenAPI document and the docs page, which must work with no internet."""

import json
import re
from html.parser import HTMLParser

import pytest


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
