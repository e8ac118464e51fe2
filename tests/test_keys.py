"""API keys: minted once, stored as hashes, revoked and rotated without downtime."""

import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import select, update

from api.database import utcnow
from api.extensions import db
from api.http.idempotency import IdempotencyRecord
from api.workspaces.models import ApiKey

KEY = re.compile(r"\b([sp]k_[A-Za-z0-9]{40})\b")


def auth(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def new_key(tenant, kind="secret", name="") -> dict:
    response = tenant.post("/v1/keys", json={"kind": kind, "name": name})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def key_id_of(tenant, raw: str) -> str:
    matches = [
        k["id"] for k in tenant.get("/v1/keys").get_json()["data"] if raw.startswith(k["prefix"])
    ]
    assert len(matches) == 1
    return matches[0]


def all_stored_values(app) -> list[str]:
    """Every column of every row of api_keys and idempotency_keys, as text."""
    with app.app_context(), db.engine.connect() as connection:
        values = []
        for table in (ApiKey.__table__, IdempotencyRecord.__table__):
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    values.append(str(value))
        return values


def test_cli_create_workspace_prints_keys_that_work(app, runner, client):
    result = runner.invoke(args=["workspaces", "create", "Globex"])
    assert result.exit_code == 0, result.output
    found = KEY.findall(result.output)
    assert [k[:3] for k in found] == ["sk_", "pk_"], result.output
    secret, publishable = found
    assert client.get("/v1/contacts", headers=auth(secret)).status_code == 200
    # The publishable key is a real key too, but of the wrong kind for /v1.
    assert client.get("/v1/contacts", headers=auth(publishable)).status_code == 403


def test_keys_are_stored_only_as_hashes(app, runner, tenant):
    result = runner.invoke(args=["workspaces", "create", "Globex"])
    raws = [*KEY.findall(result.output), tenant.secret_key, tenant.publishable_key]
    raws.append(new_key(tenant)["key"])
    raws.append(
        tenant.post(
            "/v1/keys", json={"kind": "publishable"}, headers={"Idempotency-Key": "k-1"}
        ).get_json()["key"]
    )
    stored = all_stored_values(app)
    text = "\n".join(stored)
    for raw in raws:
        assert raw not in text
        assert raw[3:] not in text  # not even the random part without its prefix
        assert hashlib.sha256(raw.encode()).hexdigest() in stored


def test_listing_shows_prefixes_never_keys(tenant, runner):
    created = new_key(tenant, name="ci")
    listed = tenant.get("/v1/keys")
    assert listed.status_code == 200
    body = listed.get_data(as_text=True)
    for raw in (tenant.secret_key, tenant.publishable_key, created["key"]):
        assert raw not in body
    data = listed.get_json()["data"]
    assert len(data) == 3
    assert all("key" not in item and "key_hash" not in item for item in data)
    assert {item["prefix"] for item in data} == {
        tenant.secret_key[:11],
        tenant.publishable_key[:11],
        created["key"][:11],
    }
    result = runner.invoke(args=["keys", "list", tenant.id])
    assert result.exit_code == 0, result.output
    assert created["key"][:11] in result.output
    assert created["id"] in result.output
    assert not KEY.search(result.output)


def test_created_key_is_shown_once(tenant, client):
    for kind, prefix in (("secret", "sk_"), ("publishable", "pk_")):
        created = new_key(tenant, kind=kind, name=f"my {kind}")
        assert created["key"].startswith(prefix) and created["kind"] == kind
        assert created["prefix"] == created["key"][:11]
        assert created["name"] == f"my {kind}"
        again = tenant.get(f"/v1/keys/{created['id']}")
        assert again.status_code == 200
        assert "key" not in again.get_json()
        assert created["key"] not in again.get_data(as_text=True)
        assert again.get_json()["prefix"] == created["prefix"]
    sk = new_key(tenant)["key"]
    assert client.get("/v1/contacts", headers=auth(sk)).status_code == 200


def test_create_key_validation(tenant):
    assert tenant.post("/v1/keys", json={"kind": "admin"}).status_code == 422
    assert tenant.post("/v1/keys", json={}).status_code == 422


def test_revoked_key_fails_at_once(tenant, client):
    created = new_key(tenant)
    assert client.get("/v1/contacts", headers=auth(created["key"])).status_code == 200
    revoked = tenant.delete(f"/v1/keys/{created['id']}")
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"] is not None
    assert client.get("/v1/contacts", headers=auth(created["key"])).status_code == 401
    # The key that revoked it is untouched.
    assert tenant.get("/v1/contacts").status_code == 200


def test_rotate_with_grace_keeps_both_keys_working(tenant, client):
    old_id = key_id_of(tenant, tenant.secret_key)
    before = utcnow()
    rotated = tenant.post(f"/v1/keys/{old_id}/rotate", json={"grace_hours": 2})
    assert rotated.status_code == 201, rotated.get_data(as_text=True)
    new = rotated.get_json()
    assert new["id"] != old_id and new["key"].startswith("sk_")
    assert new["key"] != tenant.secret_key
    assert client.get("/v1/contacts", headers=auth(new["key"])).status_code == 200
    assert client.get("/v1/contacts", headers=auth(tenant.secret_key)).status_code == 200
    old = tenant.get(f"/v1/keys/{old_id}").get_json()
    expires = datetime.fromisoformat(old["expires_at"])
    assert before + timedelta(hours=2) <= expires <= utcnow() + timedelta(hours=2)
    assert old["revoked_at"] is None


def test_rotate_without_grace_kills_the_old_key_at_once(tenant, client):
    old_id = key_id_of(tenant, tenant.secret_key)
    rotated = tenant.post(f"/v1/keys/{old_id}/rotate", json={"grace_hours": 0})
    assert rotated.status_code == 201
    new_raw = rotated.get_json()["key"]
    assert client.get("/v1/contacts", headers=auth(tenant.secret_key)).status_code == 401
    assert client.get("/v1/contacts", headers=auth(new_raw)).status_code == 200


def test_rotate_validation_and_unknown_key(tenant):
    old_id = key_id_of(tenant, tenant.secret_key)
    assert tenant.post(f"/v1/keys/{old_id}/rotate", json={"grace_hours": -1}).status_code == 422
    assert tenant.post("/v1/keys/key_nope/rotate", json={}).status_code == 404
    assert tenant.delete("/v1/keys/key_nope").status_code == 404
    assert tenant.get("/v1/keys/key_nope").status_code == 404


def test_last_used_at_is_recorded_on_use(tenant, client):
    created = new_key(tenant)
    assert tenant.get(f"/v1/keys/{created['id']}").get_json()["last_used_at"] is None
    before = utcnow()
    assert client.get("/v1/contacts", headers=auth(created["key"])).status_code == 200
    used = tenant.get(f"/v1/keys/{created['id']}").get_json()["last_used_at"]
    assert used is not None
    assert before <= datetime.fromisoformat(used) <= utcnow()


def test_failed_request_still_records_use(tenant, client):
    created = new_key(tenant)
    response = client.post("/v1/contacts", json={"stage": "vip"}, headers=auth(created["key"]))
    assert response.status_code == 422
    assert tenant.get(f"/v1/keys/{created['id']}").get_json()["last_used_at"] is not None


def test_cli_revoke(tenant, runner, client):
    created = new_key(tenant)
    result = runner.invoke(args=["keys", "revoke", created["id"]])
    assert result.exit_code == 0, result.output
    assert client.get("/v1/contacts", headers=auth(created["key"])).status_code == 401
    assert runner.invoke(args=["keys", "revoke", "key_nope"]).exit_code != 0


def test_cli_rotate(tenant, runner, client):
    old_id = key_id_of(tenant, tenant.secret_key)
    result = runner.invoke(args=["keys", "rotate", old_id, "--grace-hours", "0"])
    assert result.exit_code == 0, result.output
    (new_raw,) = KEY.findall(result.output)
    assert client.get("/v1/contacts", headers=auth(tenant.secret_key)).status_code == 401
    assert client.get("/v1/contacts", headers=auth(new_raw)).status_code == 200

    result = runner.invoke(args=["keys", "rotate", key_id_of_raw(client, new_raw)])
    assert result.exit_code == 0, result.output
    (newest,) = KEY.findall(result.output)
    assert client.get("/v1/contacts", headers=auth(new_raw)).status_code == 200  # 24 h grace
    assert client.get("/v1/contacts", headers=auth(newest)).status_code == 200


def key_id_of_raw(client, raw: str) -> str:
    data = client.get("/v1/keys", headers=auth(raw)).get_json()["data"]
    return next(k["id"] for k in data if raw.startswith(k["prefix"]))


def test_cli_list_keys_shows_state(tenant, runner):
    created = new_key(tenant)
    tenant.delete(f"/v1/keys/{created['id']}")
    result = runner.invoke(args=["keys", "list", tenant.id])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if created["id"] in line)
    assert "revoked" in line


def test_expired_key_is_refused(app, tenant, client):
    created = new_key(tenant)
    assert client.get("/v1/contacts", headers=auth(created["key"])).status_code == 200
    with app.app_context():
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == created["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    response = client.get("/v1/contacts", headers=auth(created["key"]))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert tenant.get("/v1/contacts").status_code == 200


def test_a_revoked_key_cannot_be_rotated_back_to_life(tenant):
    created = tenant.post("/v1/keys", json={"kind": "secret", "name": "old"}).get_json()
    assert tenant.delete(f"/v1/keys/{created['id']}").status_code == 200
    response = tenant.post(f"/v1/keys/{created['id']}/rotate", json={})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "key_not_live"
