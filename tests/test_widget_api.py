"""The widget API: keys, origins, identity, eligibility, and idempotent answers."""

import logging
from datetime import timedelta
from time import monotonic

import pytest
from sqlalchemy import select

from api.contacts.models import Contact
from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.responses.models import Response
from api.surveys.models import Invitation, Survey
from api.widget import eligibility
from api.widget.identity import user_hash
from tests.conftest import create_tenant
from tests.db import count

SITE = "https://shop.example.com"


class Widget:
    """Calls the widget API as a page on SITE would, for one tenant."""

    def __init__(self, app, tenant):
        self.app, self.tenant, self.client = app, tenant, tenant.client
        tenant.patch("/v1/widget", json={"allowed_origins": [SITE]})
        self.secret = tenant.get("/v1/widget").get_json()["identity_secret"]

    def survey(self, **fields) -> str:
        with self.app.app_context():
            survey = Survey(
                workspace_id=self.tenant.id, name="W", kind="nps", widget_enabled=True, **fields
            )
            db.session.add(survey)
            db.session.commit()
            return survey.id

    def url(self, path: str) -> str:
        return f"/w/v1/{path}?key={self.tenant.publishable_key}"

    def eligibility(self, user_id="u1", valid=True, origin=SITE, **params):
        query = {"user_id": user_id, **params}
        if user_id is not None:
            query["user_hash"] = user_hash(self.secret, user_id) if valid else "0" * 64
        else:
            query.pop("user_id")
        headers = {"Origin": origin} if origin else {}
        query["key"] = self.tenant.publishable_key
        return self.client.get("/w/v1/eligibility", query_string=query, headers=headers)

    def post(self, path, body, origin=SITE):
        return self.client.post(self.url(path), json=body, headers={"Origin": origin})

    def shown(self, **kwargs) -> str:
        answer = self.eligibility(**kwargs)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["show"] is True, answer.get_json()
        return answer.get_json()["display"]


@pytest.fixture
def widget(app, tenant):
    return Widget(app, tenant)


def test_eligible_user_gets_the_survey_in_their_locale(widget):
    widget.survey(product_name="Acme")
    body = widget.eligibility(locale="de").get_json()
    assert body["show"] and body["survey"]["locale"] == "de"
    assert "Acme" in body["survey"]["question"]
    assert body["survey"]["min"] == 0 and body["survey"]["max"] == 10


def test_preflight_from_an_allowed_origin(widget):
    response = widget.client.options(
        widget.url("responses"),
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_other_origins_get_a_clear_403_and_no_cors_headers(widget):
    widget.survey()
    response = widget.eligibility(origin="https://evil.example")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = widget.client.options(
        widget.url("responses"),
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_secret_keys_are_refused_on_the_widget_api(widget):
    response = widget.client.get(
        "/w/v1/eligibility", headers={"Authorization": f"Bearer {widget.tenant.secret_key}"}
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "wrong_key_kind"


def test_secret_keys_are_never_read_from_the_url(widget):
    response = widget.client.get(f"/w/v1/eligibility?key={widget.tenant.secret_key}")
    assert response.status_code == 401


def test_a_forged_user_hash_is_refused(widget):
    widget.survey()
    response = widget.eligibility(valid=False)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "invalid_user_hash"
    assert count(widget.app, Contact, workspace_id=widget.tenant.id) == 0


def test_a_user_hash_that_is_not_ascii_is_refused_as_forged(widget):
    """Found by the fuzzer: hmac.compare_digest raised a TypeError (a 500) on it."""
    widget.survey()
    query = {"key": widget.tenant.publishable_key, "user_id": "u1", "user_hash": "\u00a7\u00e3p"}
    response = widget.client.get("/w/v1/eligibility", query_string=query)
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "invalid_user_hash"


def test_a_forged_hash_on_an_anonymous_survey_answers_anonymously(widget, app):
    widget.survey(allow_anonymous=True)
    display = widget.shown(user_id="victim", valid=False)
    assert widget.post("responses", {"display": display, "score": 2}).status_code == 201
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.contact_id is None
    assert count(app, Contact, workspace_id=widget.tenant.id) == 0


def test_attributes_are_taken_only_with_a_valid_hash(widget, app):
    widget.survey(allow_anonymous=True)
    widget.eligibility(user_id="u1", valid=False, attributes='{"plan": "pro"}')
    assert count(app, Contact, workspace_id=widget.tenant.id) == 0
    widget.eligibility(user_id="u1", attributes='{"plan": "pro"}')
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.external_id == "u1"))
        assert contact.attributes == {"plan": "pro"}


def test_an_identity_secret_rotation_stops_old_hashes(widget):
    widget.survey()
    old_secret = widget.secret
    rotated = widget.tenant.post("/v1/widget/identity-secret/rotate").get_json()
    assert rotated["identity_secret"] != old_secret
    assert widget.eligibility().status_code == 403  # hash made with the old secret
    widget.secret = rotated["identity_secret"]
    assert widget.eligibility().status_code == 200


def test_answer_then_comment_is_one_response_and_idempotent(widget, app):
    widget.survey()
    display = widget.shown()
    assert widget.post("displays", {"display": display}).status_code == 200
    first = widget.post("responses", {"display": display, "score": 3})
    again = widget.post("responses", {"display": display, "score": 3})
    changed = widget.post("responses", {"display": display, "score": 9})
    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 200)
    assert changed.get_json()["category"] == "promoter"
    assert widget.post("comments", {"display": display, "comment": "fine"}).status_code == 200
    assert count(app, Response) == 1
    assert count(app, Invitation, channel="widget") == 1
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert (response.score, response.comment, response.channel) == (9, "fine", "widget")


def test_a_lost_display_call_is_made_good_by_the_answer(widget, app):
    widget.survey()
    display = widget.shown()
    assert widget.post("responses", {"display": display, "score": 7}).status_code == 201
    assert count(app, Invitation) == 1


def test_a_comment_before_the_score_is_a_conflict(widget):
    widget.survey()
    display = widget.shown()
    response = widget.post("comments", {"display": display, "comment": "hi"})
    assert response.status_code == 409


def test_a_forged_or_foreign_display_token_is_404(widget, app):
    widget.survey()
    display = widget.shown()
    tampered = display[:-2] + ("AA" if not display.endswith("AA") else "BB")
    assert widget.post("responses", {"display": tampered, "score": 5}).status_code == 404
    other = Widget(app, create_tenant(app, "Other"))
    other.survey()
    assert other.post("responses", {"display": display, "score": 5}).status_code == 404


def test_the_throttle_holds_whatever_the_browser_forgets(widget):
    widget.survey(resurvey_days=90)
    display = widget.shown()
    widget.post("responses", {"display": display, "score": 8})
    # A new page load, with no storage at all: the server still says no.
    body = widget.eligibility().get_json()
    assert body == {"show": False, "reason": "recently_responded"}


def test_declining_starts_the_decline_throttle(widget):
    widget.survey(decline_days=30)
    display = widget.shown()
    assert widget.post("declines", {"display": display}).get_json()["declined"] is True
    assert widget.eligibility().get_json()["reason"] == "recently_declined"


def test_unsubscribed_contacts_are_not_asked(widget):
    widget.survey()
    widget.shown()
    widget.tenant.patch("/v1/contacts/u1", json={"unsubscribed": True})
    assert widget.eligibility().get_json()["reason"] == "unsubscribed"


def test_new_contacts_wait_for_the_first_seen_delay(widget):
    widget.survey(first_seen_delay_days=7)
    assert widget.eligibility().get_json()["reason"] == eligibility.TOO_NEW


def test_inactive_or_non_widget_surveys_are_never_shown(widget, app):
    widget.survey(active=False)
    with app.app_context():
        db.session.add(Survey(workspace_id=widget.tenant.id, name="mail", kind="nps"))
        db.session.commit()
    assert widget.eligibility().get_json()["reason"] == eligibility.NO_SURVEY


def test_anonymous_visitors_only_where_allowed(widget):
    widget.survey()
    assert widget.eligibility(user_id=None).get_json()["reason"] == "anonymous_not_allowed"


def test_an_anonymous_visitor_keeps_one_sampling_draw_across_page_views(widget):
    widget.survey(allow_anonymous=True, sampling_percent=50)
    visitors = [f"visitor-{n:02d}-0123456789" for n in range(30)]

    def draw(visitor):
        return widget.eligibility(user_id=None, anonymous_id=visitor).get_json()["show"]

    first = [draw(visitor) for visitor in visitors]
    assert [draw(visitor) for visitor in visitors] == first
    assert [draw(visitor) for visitor in visitors] == first
    assert True in first and False in first  # a real draw, not all in or all out


def test_an_anonymous_visitors_invitation_reads_as_documented(widget):
    survey_id = widget.survey(allow_anonymous=True)
    display = widget.shown(user_id=None, anonymous_id="visitor-0123456789")
    made = widget.post("displays", {"display": display}).get_json()["display_id"]
    invitation = widget.tenant.get(f"/v1/surveys/{survey_id}/invitations/{made}").get_json()
    assert (invitation["contact_id"], invitation["external_id"]) == (None, None)
    documented = widget.client.get("/openapi.json").get_json()["components"]["schemas"]
    assert documented["InvitationLinks"]["properties"]["contact_id"]["nullable"] is True


@pytest.mark.parametrize("anonymous_id", ["short", "x" * 65, "has space 0123456789", "é" * 20])
def test_an_anonymous_id_is_bounded(widget, anonymous_id):
    widget.survey(allow_anonymous=True)
    answer = widget.eligibility(user_id=None, anonymous_id=anonymous_id)
    assert answer.status_code == 422
    assert set(answer.get_json()["error"]["fields"]) == {"anonymous_id"}


@pytest.mark.parametrize(
    ("rules", "url", "shown"),
    [
        ([], "https://shop.example.com/anything", True),
        ([{"match": "starts_with", "value": "/checkout"}], "https://s.example/checkout/done", True),
        ([{"match": "starts_with", "value": "/checkout"}], "https://s.example/home", False),
        ([{"match": "exact", "value": "/thanks"}], "https://s.example/thanks", True),
        ([{"match": "exact", "value": "/thanks"}], "https://s.example/thanks/2", False),
        ([{"match": "contains", "value": "plan=pro"}], "https://s.example/x?plan=pro", True),
        (
            [{"match": "contains", "value": "/admin", "exclude": True}],
            "https://s.example/admin",
            False,
        ),
        (
            [{"match": "contains", "value": "/admin", "exclude": True}],
            "https://s.example/shop",
            True,
        ),
    ],
)
def test_url_rules(rules, url, shown):
    assert eligibility.url_matches(rules, url) is shown


def test_sampling_is_stable_per_person_and_close_to_the_percentage(app):
    now = utcnow()
    survey = Survey(id="srv_sample", kind="nps", sampling_percent=30, resurvey_days=90)
    draws = [eligibility.sampled(survey, f"con_{i}", now) for i in range(4000)]
    assert 0.26 < sum(draws) / len(draws) < 0.34
    assert draws == [eligibility.sampled(survey, f"con_{i}", now) for i in range(4000)]
    later = now + timedelta(days=91)
    assert draws != [eligibility.sampled(survey, f"con_{i}", later) for i in range(4000)]


def test_widget_limits_per_visitor_ip(app_factory):
    app = app_factory(RATELIMIT_WIDGET_IP="2 per minute")
    widget = Widget(app, create_tenant(app))
    widget.survey()
    assert widget.eligibility().status_code == 200
    assert widget.eligibility().status_code == 200
    limited = widget.eligibility()
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"


def test_the_referral_widget_gets_the_users_link_in_their_language(widget, app):
    widget.tenant.put(
        "/v1/referral-program", json={"enabled": True, "landing_url": "https://shop.example.com/"}
    )
    body = widget.client.get(
        "/w/v1/referral",
        query_string={
            "key": widget.tenant.publishable_key,
            "user_id": "u1",
            "user_hash": user_hash(widget.secret, "u1"),
            "locale": "de",
        },
        headers={"Origin": SITE},
    ).get_json()
    assert body["url"].endswith(f"/r/{body['code']}")
    assert body["ui"]["status_clicks"] == "Klicks"
    assert "Acme" in body["body"]  # the workspace's name stands in for {product}
    assert body["status"]["clicks"] == 0


def test_the_referral_widget_shows_rewards_as_the_document_says(widget):
    program = {"enabled": True, "hold_days": 30, "landing_url": "https://shop.example.com/"}
    program["referrer_reward"] = {"kind": "money", "amount": 25, "currency": "USD"}
    widget.tenant.put("/v1/referral-program", json=program)
    query = {
        "key": widget.tenant.publishable_key,
        "user_id": "u1",
        "user_hash": user_hash(widget.secret, "u1"),
    }
    code = widget.client.get("/w/v1/referral", query_string=query).get_json()["code"]
    friend = {"code": code, "customer": {"external_id": "friend", "email": "f@example.com"}}
    referral = widget.tenant.post("/v1/referrals", json=friend).get_json()
    widget.tenant.post(
        f"/v1/referrals/{referral['id']}/conversions",
        json={"order_id": "o-1", "amount": 100, "currency": "USD"},
    )
    status = widget.client.get("/w/v1/referral", query_string=query).get_json()["status"]
    assert status["conversions"] == 1
    assert status["rewards"] == [
        {
            "kind": "money",
            "currency": "USD",
            "count": 1,
            "pending": "25.00",
            "approved": "0.00",
            "paid": "0.00",
        }
    ]
    documented = widget.client.get("/openapi.json").get_json()["components"]["schemas"]
    rewards = documented["WidgetReferralStatus"]["properties"]["rewards"]
    assert rewards["type"] == "array"
    assert rewards["items"] == {"$ref": "#/components/schemas/RewardTotal"}


def test_the_referral_widget_refuses_a_forged_hash(widget):
    widget.tenant.put(
        "/v1/referral-program", json={"enabled": True, "landing_url": "https://shop.example.com/"}
    )
    response = widget.client.get(
        "/w/v1/referral",
        query_string={"key": widget.tenant.publishable_key, "user_id": "u1", "user_hash": "0" * 64},
        headers={"Origin": SITE},
    )
    assert response.status_code == 403


@pytest.mark.fresh_reads
def test_a_survey_is_put_in_the_widget_through_the_api(widget):
    survey = widget.tenant.post("/v1/surveys", json={"name": "In-app", "kind": "csat"})
    survey_id = survey.get_json()["id"]
    assert widget.eligibility(url="https://s.example/checkout").get_json()["show"] is False
    changed = widget.tenant.patch(
        f"/v1/surveys/{survey_id}",
        json={
            "widget_enabled": True,
            "sampling_percent": 100,
            "url_rules": [{"match": "starts_with", "value": "/checkout"}],
        },
    ).get_json()
    assert changed["widget_enabled"] is True
    assert changed["url_rules"] == [
        {"match": "starts_with", "value": "/checkout", "exclude": False}
    ]
    shown = widget.eligibility(url="https://s.example/checkout").get_json()
    assert shown["show"] is True and shown["survey"]["id"] == survey_id
    assert widget.eligibility(url="https://s.example/home").get_json()["reason"] == "no_survey"


def test_widget_settings_are_validated(widget):
    survey_id = widget.tenant.post("/v1/surveys", json={"name": "W", "kind": "nps"}).get_json()[
        "id"
    ]
    bad = widget.tenant.patch(
        f"/v1/surveys/{survey_id}",
        json={"sampling_percent": 101, "url_rules": [{"match": "regex", "value": ".*"}]},
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"sampling_percent", "url_rules"}


def test_remembered_site_settings_reach_the_widget_api_after_the_interval(app_factory, monkeypatch):
    """With WIDGET_CACHE_SECONDS on (as in production), a revoked publishable key, new
    allowed origins and a deactivated survey take effect once the interval has passed;
    secret keys are never remembered."""
    remembering = app_factory(WIDGET_CACHE_SECONDS=5)
    tenant = create_tenant(remembering)
    widget = Widget(remembering, tenant)
    survey_id = widget.survey()
    assert widget.eligibility().get_json()["show"] is True

    tenant.patch(f"/v1/surveys/{survey_id}", json={"active": False})
    tenant.patch("/v1/widget", json={"allowed_origins": ["https://other.example.com"]})
    # Within the interval the worker still answers from what it remembered ...
    assert widget.eligibility().get_json()["show"] is True
    # ... and after it, from the database.
    clock = {"now": monotonic() + 6}
    monkeypatch.setattr("api.recent.monotonic", lambda: clock["now"])
    assert widget.eligibility().get_json()["error"]["code"] == "origin_not_allowed"
    other = widget.eligibility(origin="https://other.example.com").get_json()
    assert other == {"show": False, "reason": eligibility.NO_SURVEY}

    key_id = next(
        key["id"]
        for key in tenant.get("/v1/keys").get_json()["data"]
        if tenant.publishable_key.startswith(key["prefix"])
    )
    assert tenant.delete(f"/v1/keys/{key_id}").status_code == 200
    assert widget.eligibility(origin="https://other.example.com").status_code == 200
    clock["now"] += 6
    assert widget.eligibility(origin="https://other.example.com").status_code == 401
    # Secret keys are looked up on every request: revoking one is immediate.
    new_secret = tenant.post("/v1/keys", json={"kind": "secret"}).get_json()
    headers = {"Authorization": f"Bearer {new_secret['key']}"}
    assert tenant.client.get("/v1/contacts", headers=headers).status_code == 200
    assert tenant.delete(f"/v1/keys/{new_secret['id']}").status_code == 200
    assert tenant.client.get("/v1/contacts", headers=headers).status_code == 401


def test_eligibility_and_answers_carry_cors_and_request_id_headers(widget):
    widget.survey(product_name="Acme")
    shown = widget.eligibility(locale="de")
    body = {"display": shown.get_json()["display"], "score": 3, "page": "/pricing"}
    first, again = widget.post("responses", body), widget.post("responses", body)
    assert (shown.status_code, first.status_code, again.status_code) == (200, 201, 200)
    assert first.get_json() == again.get_json()
    for response in (shown, first, again):
        assert response.headers["Access-Control-Allow-Origin"] == SITE
        assert response.headers["Vary"] == "Origin"
        assert response.headers["Content-Type"] == "application/json"
        assert len(response.headers["X-Request-ID"]) == 32


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
def test_widget_errors_are_in_our_shape_with_the_request_id(widget, call, status, code):
    widget.survey()
    response = call(widget)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == (code or "validation_error")
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_a_malformed_answer_body_is_a_400(widget):
    response = widget.client.post(
        widget.url("responses"),
        data=b'{"display": ',
        headers={"Origin": SITE, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


def test_widget_calls_are_logged_with_their_route_only(widget, caplog):
    widget.survey()
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


def test_a_retried_answer_that_changes_nothing_writes_nothing(app, widget):
    widget.survey()
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


def test_a_retried_answer_with_something_new_is_recorded(app, widget):
    widget.survey()
    display = widget.shown()
    assert widget.post("responses", {"display": display, "score": 10}).status_code == 201
    moved = {"display": display, "score": 10, "page": "/checkout"}
    assert widget.post("responses", moved).status_code == 200
    changed = widget.post("responses", {"display": display, "score": 4, "page": "/checkout"})
    assert changed.get_json()["category"] == "detractor"
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.meta["page"] == "/checkout" and response.score == 4
