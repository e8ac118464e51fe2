"""Every error the API returns comes back in the one format."""

import logging

import pytest
from flask import Blueprint

from api import domain_errors as domain
from tests.conftest import create_tenant, make_app


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.get_data(as_text=True)
    return error


def test_malformed_json(tenant):
    response = tenant.post(
        "/v1/contacts", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "malformed_json")


def test_wrong_content_type(tenant):
    response = tenant.post(
        "/v1/contacts", data="external_id=1", headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")


def test_unknown_field_names_the_field(tenant):
    response = tenant.post("/v1/contacts", json={"external_id": "u1", "colour": "red"})
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"colour": ["Unknown field."]}


def test_invalid_values_are_listed_per_field(tenant):
    response = tenant.post("/v1/contacts", json={"email": "nope", "stage": "vip"})
    fields = assert_error(response, 422, "validation_error")["fields"]
    assert set(fields) == {"external_id", "email", "stage"}


def test_a_bad_list_item_beside_a_rule_for_the_whole_list_is_a_422(tenant):
    # marshmallow keys the item's messages by its index (an int) beside `_schema`.
    body = {"name": "NPS", "kind": "nps", "product_name": "Acme"}
    survey = tenant.post("/v1/surveys", json=body).get_json()
    stages = ["trial", "not-a-stage", "churned", "churned"]
    response = tenant.patch(f"/v1/surveys/{survey['id']}", json={"excluded_stages": stages})
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]["excluded_stages"]) == {"1", "_schema"}


def test_missing_key(client):
    response = client.get("/v1/contacts")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_key(client):
    response = client.get("/v1/contacts", headers={"Authorization": "Bearer sk_madeup"})
    assert "not valid" in assert_error(response, 401, "unauthorized")["message"]


def test_revoked_key(tenant, app):
    keys = tenant.get("/v1/keys").get_json()["data"]
    key_id = next(k["id"] for k in keys if tenant.secret_key.startswith(k["prefix"]))
    assert tenant.delete(f"/v1/keys/{key_id}").status_code == 200
    assert_error(tenant.get("/v1/contacts"), 401, "unauthorized")


def test_publishable_key_on_v1_is_refused_and_says_why(tenant, client):
    response = client.get(
        "/v1/contacts", headers={"Authorization": f"Bearer {tenant.publishable_key}"}
    )
    message = assert_error(response, 403, "wrong_key_kind")["message"]
    assert "secret key" in message and "/w/v1" in message


def test_wrong_method(tenant):
    response = tenant.delete("/v1/contacts")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_unknown_route(tenant):
    assert_error(tenant.get("/v1/nothing-here"), 404, "not_found")


def test_unknown_object(tenant):
    assert_error(tenant.get("/v1/contacts/nobody"), 404, "not_found")


def test_rate_limited_with_retry_after(app_factory):
    app = app_factory(RATELIMIT_API="2 per minute")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {create_tenant(app).secret_key}"}
    assert client.get("/v1/contacts", headers=headers).status_code == 200
    assert client.get("/v1/contacts", headers=headers).status_code == 200
    response = client.get("/v1/contacts", headers=headers)
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_public_routes_are_limited_per_ip(app_factory):
    app = app_factory(RATELIMIT_PUBLIC="1 per minute")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert_error(client.get("/healthz"), 429, "rate_limited")
    other_ip = client.get("/healthz", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_ip.status_code == 200


def test_api_limit_is_per_key_not_per_ip(app_factory):
    app = app_factory(RATELIMIT_API="1 per minute")
    client = app.test_client()
    first, second = create_tenant(app), create_tenant(app)
    for tenant in (first, second):
        headers = {"Authorization": f"Bearer {tenant.secret_key}"}
        assert client.get("/v1/contacts", headers=headers).status_code == 200
    headers = {"Authorization": f"Bearer {first.secret_key}"}
    assert client.get("/v1/contacts", headers=headers).status_code == 429


def test_server_error_hides_the_trace_and_logs_it_without_its_message(app_factory, caplog):
    app = app_factory()
    boom = Blueprint("boom", __name__)

    @boom.get("/boom/<email>")
    def explode(email):
        raise RuntimeError("secret internals for " + email)

    app.register_blueprint(boom)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get(
            "/boom/ann@example.com", headers={"Accept": "application/json"}
        )
    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    logged = [r.getMessage() for r in caplog.records if error["request_id"] in r.getMessage()]
    assert len(logged) == 1
    # The route pattern, the class and where it was raised; not what it said.
    assert "route=/boom/<email>" in logged[0] and "RuntimeError" in logged[0]
    assert 'raise RuntimeError("secret internals for " + email)' in logged[0]
    assert "ann@example.com" not in logged[0] and "secret internals for ann" not in logged[0]
    assert not any(r.exc_info for r in caplog.records)


def test_browsers_get_the_error_as_a_page(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "could not find" in response.get_data(as_text=True)


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path):
    down = make_app(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite")
    assert_error(down.test_client().get("/readyz"), 503, "unavailable")
    assert down.test_client().get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints(client, path):
    assert client.get(path).get_json()["status"] == "ok"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (domain.Invalid, 422, "validation_error"),
        (domain.NotFound, 404, "not_found"),
        (domain.Conflict, 409, "conflict"),
        (domain.Gone, 410, "gone"),
        (domain.Unidentified, 401, "unauthorized"),
        (domain.Forbidden, 403, "forbidden"),
    ],
)
def test_a_domain_error_is_answered_in_the_one_format_with_its_status(
    app_factory, kind, status, code
):
    app = app_factory()

    @app.get("/_test/domain-error")
    def fail():
        raise kind("Told you so.", fields={"thing": ["Wrong."]})

    response = app.test_client().get("/_test/domain-error")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"] == "Told you so."
    assert error["fields"] == {"thing": ["Wrong."]} and error["request_id"]


def test_a_domain_error_may_name_its_own_code(app_factory):
    app = app_factory()

    @app.get("/_test/own-code")
    def fail():
        raise domain.Conflict("Claimed already.", code="already_claimed")

    response = app.test_client().get("/_test/own-code")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "already_claimed"
