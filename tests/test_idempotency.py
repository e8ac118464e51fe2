"""Idempotency-Key on POST: replay, reuse with another body, release on failure, races."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import api.contacts.service
from api.contacts.models import Contact
from api.database import utcnow
from api.extensions import db
from api.http import idempotency
from api.http.errors import ApiError
from api.http.idempotency import IdempotencyRecord
from tests.conftest import on_postgres
from tests.db import count
from tests.together import run_together

BODY = {"external_id": "u-1", "email": "ann@example.com", "attributes": {"n": 1}}


def with_key(key: str) -> dict:
    return {"Idempotency-Key": key}


def records(app) -> list[IdempotencyRecord]:
    with app.app_context():
        found = list(db.session.scalars(select(IdempotencyRecord)))
        db.session.expunge_all()
        return found


def contact_row(app, external_id: str) -> Contact:
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.external_id == external_id))
        db.session.expunge_all()
        return contact


def test_retry_replays_the_first_response(app, tenant):
    first = tenant.post("/v1/contacts", json=BODY, headers=with_key("order-1"))
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    row = contact_row(app, "u-1")

    retry = tenant.post("/v1/contacts", json=BODY, headers=with_key("order-1"))
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_data() == first.get_data()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Content-Type"] == first.headers["Content-Type"]
    assert count(app, Contact) == 1
    assert contact_row(app, "u-1").updated_at == row.updated_at  # not run again

    # Without the key the same body runs again: an update, so 200.
    plain = tenant.post("/v1/contacts", json=BODY)
    assert plain.status_code == 200 and "Idempotent-Replayed" not in plain.headers


def test_a_large_response_is_stored_compressed_and_replayed_as_sent(app, tenant):
    big = {**BODY, "attributes": {f"a{n}": "x" * 100 for n in range(60)}}
    first = tenant.post("/v1/contacts", json=big, headers=with_key("big-1"))
    assert first.status_code == 201 and len(first.get_data()) >= idempotency.COMPRESS_FROM
    small = tenant.post("/v1/contacts", json={"external_id": "u-2"}, headers=with_key("small"))
    stored = {record.key: record for record in records(app)}
    assert stored["big-1"].response_encoding == "zlib"
    assert len(stored["big-1"].response_body) < len(first.get_data()) / 4
    assert stored["small"].response_encoding is None
    assert stored["small"].response_body == small.get_data()

    retry = tenant.post("/v1/contacts", json=big, headers=with_key("big-1"))
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_data() == first.get_data()


def test_replay_of_a_key_creation_never_shows_the_key_again(tenant):
    first = tenant.post("/v1/keys", json={"kind": "secret"}, headers=with_key("key-1"))
    assert first.status_code == 201 and first.get_json()["key"].startswith("sk_")
    retry = tenant.post("/v1/keys", json={"kind": "secret"}, headers=with_key("key-1"))
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    replayed = retry.get_json()
    assert "key" not in replayed and first.get_json()["key"] not in retry.get_data(as_text=True)
    assert replayed["id"] == first.get_json()["id"]
    assert len(tenant.get("/v1/keys").get_json()["data"]) == 3  # two first keys + one


def test_same_key_other_body_is_refused(app, tenant):
    assert tenant.post("/v1/contacts", json=BODY, headers=with_key("k")).status_code == 201
    other = tenant.post("/v1/contacts", json={**BODY, "stage": "lead"}, headers=with_key("k"))
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert contact_row(app, "u-1").stage is None
    # Another route with the same key and the same bytes is another request too.
    elsewhere = tenant.post("/v1/keys", json=BODY, headers=with_key("k"))
    assert elsewhere.status_code == 422
    assert elsewhere.get_json()["error"]["code"] == "idempotency_key_reused"


def test_keys_are_per_workspace(app, make_tenant):
    first, second = make_tenant("A"), make_tenant("B")
    one = first.post("/v1/contacts", json=BODY, headers=with_key("shared"))
    two = second.post("/v1/contacts", json={**BODY, "stage": "lead"}, headers=with_key("shared"))
    assert one.status_code == 201 and two.status_code == 201
    assert "Idempotent-Replayed" not in two.headers
    assert one.get_json()["id"] != two.get_json()["id"]
    assert count(app, Contact) == 2
    assert count(app, IdempotencyRecord) == 2


def test_failed_request_releases_the_key(app, tenant):
    bad = {"external_id": "u-1", "email": "not-an-email"}
    first = tenant.post("/v1/contacts", json=bad, headers=with_key("fix-me"))
    assert first.status_code == 422
    assert records(app) == []
    again = tenant.post("/v1/contacts", json=bad, headers=with_key("fix-me"))
    assert again.status_code == 422
    assert "Idempotent-Replayed" not in again.headers
    assert again.get_json()["error"]["fields"] == first.get_json()["error"]["fields"]
    assert count(app, Contact) == 0
    assert records(app) == []
    # Released, so the corrected request may use the same key.
    fixed = tenant.post("/v1/contacts", json=BODY, headers=with_key("fix-me"))
    assert fixed.status_code == 201
    assert count(app, Contact) == 1
    (record,) = records(app)
    assert record.response_status == 201


def test_error_in_the_view_releases_the_key_and_keeps_no_work(app, tenant, monkeypatch):
    real = api.contacts.service.upsert_contact

    def half_done(*args, **kwargs):
        real(*args, **kwargs)
        raise ApiError(409, "conflict", "Simulated failure after the write.")

    monkeypatch.setattr(api.contacts.service, "upsert_contact", half_done)
    failed = tenant.post("/v1/contacts", json=BODY, headers=with_key("k"))
    assert failed.status_code == 409
    assert count(app, Contact) == 0
    assert records(app) == []


@pytest.mark.parametrize(
    "key", ["x" * 256, "has space", "tab\tinside", "bell\x07", "", "caf\u00e9", "newline\n"]
)
def test_invalid_key_is_400(app, tenant, key):
    response = tenant.client.post(
        "/v1/contacts",
        json=BODY,
        headers=tenant.headers,
        environ_base={"HTTP_IDEMPOTENCY_KEY": key},
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "invalid_idempotency_key"
    assert count(app, Contact) == 0


def test_longest_valid_key(tenant):
    key = "~" * 255
    assert tenant.post("/v1/contacts", json=BODY, headers=with_key(key)).status_code == 201
    replay = tenant.post("/v1/contacts", json=BODY, headers=with_key(key))
    assert replay.headers["Idempotent-Replayed"] == "true"


def claim_in_flight(app, tenant, key: str, body: dict, locked_at) -> None:
    """A record as a request that died mid-way leaves it: claimed, no response."""
    with app.test_request_context("/v1/contacts", method="POST", json=body):
        fingerprint = idempotency._fingerprint()
    with app.app_context():
        db.session.add(
            IdempotencyRecord(
                workspace_id=tenant.id, key=key, fingerprint=fingerprint, locked_at=locked_at
            )
        )
        db.session.commit()


def test_in_flight_key_answers_409(app, tenant):
    claim_in_flight(app, tenant, "busy", BODY, utcnow())
    response = tenant.post("/v1/contacts", json=BODY, headers=with_key("busy"))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_in_progress"
    assert int(response.headers["Retry-After"]) >= 1
    assert count(app, Contact) == 0


def test_stale_in_flight_key_is_taken_over(app, tenant):
    lock = app.config["IDEMPOTENCY_LOCK_SECONDS"]
    claim_in_flight(app, tenant, "dead", BODY, utcnow() - timedelta(seconds=lock + 5))
    response = tenant.post("/v1/contacts", json=BODY, headers=with_key("dead"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert "Idempotent-Replayed" not in response.headers
    (record,) = records(app)
    assert record.response_status == 201
    replay = tenant.post("/v1/contacts", json=BODY, headers=with_key("dead"))
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == response.get_data()
    assert count(app, Contact) == 1


def test_stale_record_with_another_body_is_still_refused(app, tenant):
    lock = app.config["IDEMPOTENCY_LOCK_SECONDS"]
    claim_in_flight(app, tenant, "dead", BODY, utcnow() - timedelta(seconds=lock + 5))
    other = tenant.post("/v1/contacts", json={**BODY, "stage": "lead"}, headers=with_key("dead"))
    assert other.status_code == 422
    assert count(app, Contact) == 0


def test_expired_record_is_forgotten(app, tenant):
    assert tenant.post("/v1/contacts", json=BODY, headers=with_key("old")).status_code == 201
    ttl = app.config["IDEMPOTENCY_TTL_HOURS"]
    with app.app_context():
        db.session.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - timedelta(hours=ttl + 1))
        )
        db.session.commit()
    again = tenant.post("/v1/contacts", json={**BODY, "stage": "lead"}, headers=with_key("old"))
    assert again.status_code == 200  # runs again as a new request: the contact exists
    assert "Idempotent-Replayed" not in again.headers


def concurrent_posts(app, tenant, key: str, count: int) -> list:
    headers = {**tenant.headers, **with_key(key)}
    return run_together(
        app, count, lambda client, _i: client.post("/v1/contacts", json=BODY, headers=headers)
    )


@pytest.fixture
def slow_upsert(monkeypatch):
    real = api.contacts.service.upsert_contact

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(api.contacts.service, "upsert_contact", slow)


@on_postgres
@pytest.mark.parametrize("twins", [2, 10])
def test_concurrent_twins_run_once(app, tenant, slow_upsert, twins):
    responses = concurrent_posts(app, tenant, f"race-{twins}", twins)
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (twins - 1), statuses
    for response in responses:
        if response.status_code == 409:
            assert response.get_json()["error"]["code"] == "idempotency_in_progress"
            assert int(response.headers["Retry-After"]) >= 1
    (created,) = [response for response in responses if response.status_code == 201]
    assert "Idempotent-Replayed" not in created.headers
    assert count(app, Contact) == 1

    retry = tenant.post("/v1/contacts", json=BODY, headers=with_key(f"race-{twins}"))
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_data() == created.get_data()
    assert count(app, Contact) == 1
