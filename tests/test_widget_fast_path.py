"""The widget's hottest calls answered in front of Flask.

The same answers as the routes, and the routes for everything else."""

import logging

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from api.contacts.models import Contact
from api.events.models import Event
from api.extensions import db
from api.http import auth
from api.responses.models import Response
from api.widget import fast_path, standing
from tests.conftest import create_tenant
from tests.db import count
from tests.test_widget_api import SITE, Widget


@pytest.fixture
def widget(app, tenant):
    widget = Widget(app, tenant)
    widget.survey(product_name="Acme")
    return widget


def _routes_only(app) -> Client:
    """A client for the same app without the fast path: Flask's routes answer everything."""
    inner = app.wsgi_app
    while not isinstance(inner, fast_path.WidgetCalls) and hasattr(inner, "wsgi_app"):
        inner = inner.wsgi_app
    assert isinstance(inner, fast_path.WidgetCalls)
    return Client(inner.wsgi_app)


def _refuse_views(app, monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("the route was called")

    for endpoint in ("widget.eligibility", "widget.answer"):
        monkeypatch.setitem(app.view_functions, endpoint, refused)


def test_plain_calls_never_reach_the_routes(app, widget, monkeypatch):
    _refuse_views(app, monkeypatch)
    shown = widget.eligibility()
    assert shown.status_code == 200 and shown.get_json()["show"] is True
    answered = widget.post("responses", {"display": shown.get_json()["display"], "score": 9})
    assert answered.status_code == 201
    assert widget.post("responses", {"display": shown.get_json()["display"], "score": 9}).json == (
        answered.get_json()
    )


def test_the_fast_path_answers_as_the_route_does(app, widget):
    routes = _routes_only(app)
    query = {"user_id": "u1", "locale": "de", "key": widget.tenant.publishable_key}
    query["user_hash"] = widget.eligibility().request.args["user_hash"]
    fast = widget.client.get("/w/v1/eligibility", query_string=query, headers={"Origin": SITE})
    slow = routes.get("/w/v1/eligibility", query_string=query, headers={"Origin": SITE})
    assert fast.status_code == slow.status_code == 200
    fast_body, slow_body = fast.get_json(), slow.get_json()
    assert fast_body.pop("display") != slow_body.pop("display")  # a display id each
    assert fast_body == slow_body
    for response in (fast, slow):
        assert response.headers["Access-Control-Allow-Origin"] == SITE
        assert response.headers["Vary"] == "Origin"
        assert response.headers["Content-Type"] == "application/json"
        assert len(response.headers["X-Request-ID"]) == 32

    body = {"display": fast.get_json()["display"], "score": 3, "page": "/pricing"}
    first = routes.post(widget.url("responses"), json=body, headers={"Origin": SITE})
    again = widget.post("responses", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    assert again.headers["Access-Control-Allow-Origin"] == SITE


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        (lambda w: w.eligibility(origin="https://evil.example"), 403, "origin_not_allowed"),
        (lambda w: w.client.get("/w/v1/eligibility?user_id=u1"), 401, "unauthorized"),
        (lambda w: w.eligibility(valid=False), 403, "invalid_user_hash"),
        (lambda w: w.eligibility(user_id="u" * 300), 422, "validation_error"),
        (lambda w: w.post("responses", {"display": "forged", "score": 9}), 404, "not_found"),
        (lambda w: w.post("responses", {"display": "x", "score": "9"}), 422, "validation_error"),
        (lambda w: w.post("responses", {"display": "x", "score": 9, "x": 1}), 422, None),
        (lambda w: w.post("responses", {"score": 9}), 422, "validation_error"),
    ],
)
def test_what_it_does_not_answer_gets_the_routes_error(widget, call, status, code):
    response = call(widget)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == (code or "validation_error")
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_malformed_json_gets_the_routes_error(widget):
    response = widget.client.post(
        widget.url("responses"),
        data=b'{"display": ',
        headers={"Origin": SITE, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


def test_attributes_are_written_by_the_route(app, widget):
    shown = widget.eligibility(attributes='{"plan": "pro"}')
    assert shown.status_code == 200
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.external_id == "u1"))
        assert contact.attributes == {"plan": "pro"}


def test_its_rate_limits_are_the_routes(app_factory):
    app = app_factory(RATELIMIT_WIDGET_IP="2 per minute")
    widget = Widget(app, create_tenant(app))
    widget.survey()
    assert [widget.eligibility().status_code for _ in range(3)] == [200, 200, 429]
    limited = widget.eligibility()
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"]


def test_a_failure_on_the_fast_path_is_logged_and_the_route_answers(widget, monkeypatch, caplog):
    real_read, calls = standing.read, []

    def failing_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real_read(*args, **kwargs)

    monkeypatch.setattr(standing, "read", failing_once)
    with caplog.at_level(logging.ERROR, logger="api.widget.fast_path"):
        response = widget.eligibility()
    assert response.status_code == 200 and response.get_json()["show"] is True
    assert len(calls) > 1  # the fast path's, then the route's
    assert "handed to its route" in caplog.text
    assert "database went away" in caplog.text


def test_fast_path_calls_are_logged_with_their_route(app, widget, caplog):
    logger = logging.getLogger("flipfunnel.requests")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="flipfunnel.requests"):
            response = widget.eligibility()
    finally:
        logger.removeHandler(caplog.handler)
    [line] = [r.getMessage() for r in caplog.records if r.name == "flipfunnel.requests"]
    assert f"request_id={response.headers['X-Request-ID']} " in line
    assert "method=GET route=/w/v1/eligibility status=200" in line
    assert "u1" not in line and widget.tenant.publishable_key not in line


def test_a_retry_that_changes_nothing_writes_nothing(app, widget):
    display = widget.shown()
    body = {"display": display, "score": 10, "page": "/pricing"}
    assert widget.post("responses", body).status_code == 201
    with app.app_context():
        before = db.session.scalar(select(Response.updated_at))
    events = count(app, Event)
    for _ in range(3):
        assert widget.post("responses", body).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Response.updated_at)) == before
    assert count(app, Event) == events
    assert count(app, Response) == 1


def test_a_retry_with_something_new_is_recorded(app, widget):
    display = widget.shown()
    assert widget.post("responses", {"display": display, "score": 10}).status_code == 201
    moved = {"display": display, "score": 10, "page": "/checkout"}
    assert widget.post("responses", moved).status_code == 200
    changed = widget.post("responses", {"display": display, "score": 4, "page": "/checkout"})
    assert changed.get_json()["category"] == "detractor"
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.meta["page"] == "/checkout" and response.score == 4


def test_a_failing_key_lookup_is_answered_by_the_route(app, widget, monkeypatch, caplog):
    real, calls = auth.publishable_key, []

    def failing_once(token):
        calls.append(token)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(token)

    monkeypatch.setattr(auth, "publishable_key", failing_once)
    with caplog.at_level(logging.ERROR, logger="api.widget.fast_path"):
        response = widget.eligibility()
    assert response.status_code == 200 and response.get_json()["show"] is True
    assert "handed to its route" in caplog.text
