"""Webhook endpoints, signatures and the secret's rotation, verified on the bytes a real
receiver got, with the `standardwebhooks` package."""

import base64
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.webhooks import secrets
from api.webhooks.models import WebhookEndpoint
from tests.conftest import create_tenant
from tests.factories import seed, submit
from tests.webhooks import LOCAL, bodies, deliver, make_endpoint


@pytest.fixture
def app(app_factory):
    return app_factory(**LOCAL)


def verified(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_create_shows_the_secret_once(tenant, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    created = make_endpoint(
        tenant, receiver.url, description="CRM sync", event_types=["response.created"]
    )
    assert created["id"].startswith("ep_")
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) >= 24
    assert created | {"secret": None} == {
        "id": created["id"],
        "url": receiver.url,
        "description": "CRM sync",
        "event_types": ["response.created"],
        "format": "standard",
        "enabled": True,
        "disabled_reason": None,
        "previous_secret_expires_at": None,
        "created_at": created["created_at"],
        "updated_at": created["updated_at"],
        "secret": None,
    }
    one = tenant.get(f"/v1/webhook-endpoints/{created['id']}")
    listed = tenant.get("/v1/webhook-endpoints")
    for answer in (one, listed):
        assert answer.status_code == 200
        assert created["secret"] not in answer.get_data(as_text=True)
        assert 'secret"' not in answer.get_data(as_text=True).replace("previous_secret", "")
    assert [e["id"] for e in listed.get_json()["data"]] == [created["id"]]
    assert created["secret"] not in caplog.text


def test_a_retried_create_does_not_show_the_secret_again(tenant, receiver):
    headers = {"Idempotency-Key": "create-hook-1"}
    first = tenant.post("/v1/webhook-endpoints", json={"url": receiver.url}, headers=headers)
    again = tenant.post("/v1/webhook-endpoints", json={"url": receiver.url}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert "secret" not in again.get_json()


def test_the_database_holds_no_secret(app, tenant, receiver):
    created = make_endpoint(tenant, receiver.url)
    with app.app_context():
        row = db.session.get(WebhookEndpoint, created["id"])
        stored = json.dumps({c.name: str(getattr(row, c.name)) for c in row.__table__.columns})
        assert created["secret"] not in stored
        assert created["secret"].removeprefix("whsec_") not in stored
        # The nonce alone derives nothing without SECRET_KEY.
        assert secrets.derive("another key", row.id, row.secret_nonce) != created["secret"]
        assert (
            secrets.derive(app.config["SECRET_KEY"], row.id, row.secret_nonce)
            == (created["secret"])
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": "https://93.184.215.14/", "event_types": ["response.made"]}, "event_types"),
        ({"url": "https://93.184.215.14/", "event_types": ["respon.*"]}, "event_types"),
        ({"url": "https://93.184.215.14/", "event_types": []}, "event_types"),
        ({"url": "https://93.184.215.14/", "format": "teams"}, "format"),
        ({"url": "https://93.184.215.14/", "colour": "red"}, "colour"),
    ],
)
def test_bad_endpoints_are_refused_with_the_field(tenant, body, field):
    answer = tenant.post("/v1/webhook-endpoints", json=body)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["error"]["fields"]


def test_patch_and_delete(tenant, receiver):
    created = make_endpoint(tenant, receiver.url)
    changed = tenant.patch(
        f"/v1/webhook-endpoints/{created['id']}",
        json={"event_types": ["referral.*", "reward.approved"], "enabled": False},
    ).get_json()
    assert changed["event_types"] == ["referral.*", "reward.approved"]
    assert (changed["enabled"], changed["disabled_reason"]) == (False, "manual")
    enabled = tenant.patch(f"/v1/webhook-endpoints/{created['id']}", json={"enabled": True})
    assert (enabled.get_json()["enabled"], enabled.get_json()["disabled_reason"]) == (True, None)
    assert tenant.delete(f"/v1/webhook-endpoints/{created['id']}").status_code == 204
    assert tenant.get(f"/v1/webhook-endpoints/{created['id']}").status_code == 404


def test_a_promoter_answer_arrives_signed_and_verifies(app, tenant, receiver):
    endpoint = make_endpoint(tenant, receiver.url, event_types=["response.*", "queue_item.*"])
    seeded = seed(app, tenant.id)
    response_id, _ = submit(app, seeded.invitation_ids[0], 10)
    done = deliver(app)
    assert done.attempts == 2
    received = receiver.received
    # Sent side by side: deliveries may arrive in any order (the feed has the order).
    received = sorted(received, key=lambda one: int(one.headers["webhook-id"]))
    payloads = [verified(endpoint["secret"], one) for one in received]
    assert [p["type"] for p in payloads] == ["response.created", "queue_item.opened"]
    created = payloads[0]
    assert set(created) == {"type", "timestamp", "data"}
    assert created["data"]["id"] == response_id
    assert created["data"]["score"] == 10 and created["data"]["category"] == "promoter"
    with app.app_context():
        event_id = db.session.scalar(
            select(Event.id).where(
                Event.type == "response.created", Event.subject_id == response_id
            )
        )
    assert received[0].headers["webhook-id"] == str(event_id)  # the feed's id
    assert received[0].headers["content-type"] == "application/json"
    assert received[0].path == "/hooks"
    # invitation.created was not subscribed, and came before the endpoint anyway.
    assert deliver(app).attempts == 0


def test_a_forged_or_altered_body_does_not_verify(app, tenant, receiver):
    endpoint = make_endpoint(tenant, receiver.url)
    seed(app, tenant.id)
    deliver(app)
    (one,) = receiver.received
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(
            one.body.replace(b"invitation", b"invitatioN"), one.headers
        )
    other_secret = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(one.body, one.headers)


def test_an_endpoint_gets_the_events_after_its_creation_and_its_types_only(
    app, tenant, make_tenant, receiver
):
    seed(app, tenant.id)  # before the endpoint: not delivered
    make_endpoint(tenant, receiver.url, event_types=["referral_program.*"])
    other = make_tenant("Other")
    make_endpoint(other, receiver.url + "/other", event_types=["*"])
    seed(app, tenant.id)  # invitation.created: not subscribed
    tenant.put("/v1/referral-program", json={"enabled": True, "landing_url": "https://s.example/"})
    deliver(app)
    assert [(r.path, json.loads(r.body)["type"]) for r in receiver.received] == [
        ("/hooks", "referral_program.updated")
    ]


def test_rotation_signs_with_both_secrets_until_the_grace_ends(app, tenant, receiver):
    endpoint = make_endpoint(tenant, receiver.url)
    old = endpoint["secret"]
    rotated = tenant.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"grace_hours": 24}
    )
    assert rotated.status_code == 201
    new = rotated.get_json()["secret"]
    assert new != old and new.startswith("whsec_")
    expires = rotated.get_json()["previous_secret_expires_at"]
    assert expires is not None

    seed(app, tenant.id)
    deliver(app)
    (during,) = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verified(old, during)
    verified(new, during)

    with app.app_context():  # the grace is over
        row = db.session.get(WebhookEndpoint, endpoint["id"])
        row.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    seed(app, tenant.id)
    deliver(app)
    after = receiver.received[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verified(new, after)
    with pytest.raises(WebhookVerificationError):
        verified(old, after)


def test_a_rotation_without_grace_stops_the_old_secret_at_once(app, tenant, receiver):
    endpoint = make_endpoint(tenant, receiver.url)
    new = tenant.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"grace_hours": 0}
    ).get_json()["secret"]
    seed(app, tenant.id)
    deliver(app)
    (one,) = receiver.received
    verified(new, one)
    with pytest.raises(WebhookVerificationError):
        verified(endpoint["secret"], one)


def test_while_secret_key_rotates_receivers_keep_verifying(app_factory, receiver):
    before = app_factory(SECRET_KEY="key-one", **LOCAL)
    tenant = create_tenant(before)
    endpoint = make_endpoint(tenant, receiver.url)
    during = app_factory(SECRET_KEY="key-two", SECRET_KEY_FALLBACKS=["key-one"], **LOCAL)
    seed(during, tenant.id)
    deliver(during)
    (one,) = receiver.received
    verified(endpoint["secret"], one)  # the secret handed out under the old SECRET_KEY
    with during.app_context():
        row = db.session.get(WebhookEndpoint, endpoint["id"])
        verified(secrets.current(row), one)  # and the one the new key derives


def test_ping_goes_to_its_endpoint_alone(app, tenant, receiver):
    pinged = make_endpoint(tenant, receiver.url + "/pinged", event_types=["reward.paid"])
    make_endpoint(tenant, receiver.url + "/bystander", event_types=["*"])
    answer = tenant.post(f"/v1/webhook-endpoints/{pinged['id']}/ping")
    assert answer.status_code == 202
    delivery = answer.get_json()
    assert (delivery["status"], delivery["event_type"]) == ("pending", "webhook.ping")
    deliver(app)
    (one,) = receiver.received
    assert one.path == "/hooks/pinged"
    assert verified(pinged["secret"], one)["data"] == {
        "id": pinged["id"],
        "endpoint_id": pinged["id"],
    }
    shown = tenant.get(f"/v1/webhook-deliveries/{delivery['id']}").get_json()
    assert shown["status"] == "succeeded"
    assert [a["status_code"] for a in shown["attempt_log"]] == [200]


def test_a_disabled_endpoint_cannot_be_pinged(tenant, receiver):
    endpoint = make_endpoint(tenant, receiver.url, enabled=False)
    answer = tenant.post(f"/v1/webhook-endpoints/{endpoint['id']}/ping")
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "endpoint_disabled"


def test_the_body_signed_is_the_body_sent(app, tenant, receiver):
    """Non-ASCII data travels as JSON escapes, so text and bytes are the same."""
    endpoint = make_endpoint(tenant, receiver.url)
    tenant.put("/v1/contacts/zoë", json={"email": "zoe@example.com", "unsubscribed": True})
    deliver(app)
    (one,) = receiver.received
    assert one.body.isascii()
    assert verified(endpoint["secret"], one)["data"]["external_id"] == "zoë"
    assert bodies(receiver)[0]["type"] == "contact.unsubscribed"
