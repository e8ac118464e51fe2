"""Contacts: upsert by external id, replace vs merge, listing, erasure, races."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from api.contacts import service
from api.contacts.models import Contact
from api.extensions import db
from tests.db import event_types
from tests.feed import wait_until_readable
from tests.together import run_together

FULL = {
    "email": "ann@example.com",
    "first_name": "Ann",
    "last_name": "Lee",
    "locale": "de",
    "stage": "trial",
    "attributes": {"plan": "pro", "seats": 3},
}


def rows(app, **where) -> list[Contact]:
    with app.app_context():
        statement = select(Contact).filter_by(**where).order_by(Contact.id)
        found = list(db.session.scalars(statement))
        db.session.expunge_all()
        return found


def test_put_creates_then_updates(tenant):
    created = tenant.put("/v1/contacts/u-1", json=FULL)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["Location"] == "/v1/contacts/u-1"
    first = created.get_json()
    assert first["id"].startswith("con_") and first["external_id"] == "u-1"
    assert {k: first[k] for k in FULL} == FULL
    assert first["unsubscribed"] is False

    updated = tenant.put("/v1/contacts/u-1", json={**FULL, "stage": "customer"})
    assert updated.status_code == 200
    assert updated.headers["Location"] == "/v1/contacts/u-1"
    second = updated.get_json()
    assert second["id"] == first["id"]
    assert second["created_at"] == first["created_at"]
    assert datetime.fromisoformat(second["updated_at"]) > datetime.fromisoformat(
        first["updated_at"]
    )
    assert second["stage"] == "customer"
    assert tenant.get("/v1/contacts/u-1").get_json() == second


def test_location_is_quoted(tenant):
    response = tenant.post("/v1/contacts", json={"external_id": "a b?c#d"})
    assert response.status_code == 201
    assert response.headers["Location"] == "/v1/contacts/a%20b%3Fc%23d"
    assert tenant.get(response.headers["Location"]).get_json()["id"] == response.get_json()["id"]


def test_put_replaces_the_whole_contact(tenant):
    tenant.put("/v1/contacts/u-1", json=FULL)
    response = tenant.put("/v1/contacts/u-1", json={"first_name": "Annie", "attributes": {"x": 1}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["first_name"] == "Annie"
    for cleared in ("email", "last_name", "locale", "stage"):
        assert body[cleared] is None
    assert body["attributes"] == {"x": 1}
    emptied = tenant.put("/v1/contacts/u-1", json={}).get_json()
    assert emptied["first_name"] is None and emptied["attributes"] == {}


def test_post_upsert_merges(tenant):
    created = tenant.post("/v1/contacts", json={"external_id": "u-1", **FULL})
    assert created.status_code == 201
    assert created.headers["Location"] == "/v1/contacts/u-1"
    merged = tenant.post(
        "/v1/contacts",
        json={"external_id": "u-1", "stage": "customer", "attributes": {"seats": 5, "team": "a"}},
    )
    assert merged.status_code == 200
    body = merged.get_json()
    assert body["id"] == created.get_json()["id"]
    assert body["stage"] == "customer"
    assert body["email"] == FULL["email"] and body["first_name"] == "Ann"
    assert body["attributes"] == {"plan": "pro", "seats": 5, "team": "a"}


def test_patch_merges_and_null_deletes(tenant):
    tenant.put("/v1/contacts/u-1", json=FULL)
    response = tenant.patch(
        "/v1/contacts/u-1",
        json={"last_name": "Park", "attributes": {"plan": None, "seats": 4, "new": True}},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["last_name"] == "Park" and body["first_name"] == "Ann"
    assert body["attributes"] == {"seats": 4, "new": True}
    cleared = tenant.patch("/v1/contacts/u-1", json={"email": None}).get_json()
    assert cleared["email"] is None and cleared["attributes"] == {"seats": 4, "new": True}


def test_patch_unknown_contact_is_404(tenant, app):
    response = tenant.patch("/v1/contacts/nobody", json={"first_name": "X"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert rows(app) == []


def test_unsubscribed(tenant):
    body = tenant.put("/v1/contacts/u-1", json={"unsubscribed": True}).get_json()
    assert body["unsubscribed"] is True and body["unsubscribed_at"]
    again = tenant.patch("/v1/contacts/u-1", json={"unsubscribed": True}).get_json()
    assert again["unsubscribed_at"] == body["unsubscribed_at"]
    off = tenant.patch("/v1/contacts/u-1", json={"unsubscribed": False}).get_json()
    assert off["unsubscribed"] is False and off["unsubscribed_at"] is None


def test_email_is_normalised(tenant):
    body = tenant.put("/v1/contacts/u-1", json={"email": "  Ann.Lee@Example.COM "}).get_json()
    assert body["email"] == "ann.lee@example.com"
    body = tenant.post("/v1/contacts", json={"external_id": "u-2", "email": "BOB@X.IO"}).get_json()
    assert body["email"] == "bob@x.io"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"stage": "vip"}, "stage"),
        ({"locale": "German"}, "locale"),
        ({"locale": "de_DE"}, "locale"),
        ({"attributes": {"blob": "x" * 17_000}}, "attributes"),
        ({"attributes": {"k" * 65: 1}}, "attributes"),
        ({"attributes": ["not", "a", "dict"]}, "attributes"),
        ({"first_name": "x" * 101}, "first_name"),
    ],
)
def test_validation(tenant, app, body, field):
    for response in (
        tenant.put("/v1/contacts/u-1", json=body),
        tenant.post("/v1/contacts", json={"external_id": "u-1", **body}),
    ):
        assert response.status_code == 422, response.get_data(as_text=True)
        error = response.get_json()["error"]
        assert error["code"] == "validation_error"
        assert set(error["fields"]) == {field}
    assert rows(app) == []


def test_valid_locales(tenant):
    for locale in ("de", "pt-BR", "zh-Hant", "fil"):
        assert tenant.put("/v1/contacts/u-1", json={"locale": locale}).status_code in (200, 201)


def test_attributes_cannot_outgrow_the_limit_by_merging(tenant):
    half = {"a": "x" * 9000}
    assert tenant.put("/v1/contacts/u-1", json={"attributes": half}).status_code == 201
    response = tenant.patch("/v1/contacts/u-1", json={"attributes": {"b": "y" * 9000}})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert set(response.get_json()["error"]["fields"]) == {"attributes"}
    response = tenant.post(
        "/v1/contacts", json={"external_id": "u-1", "attributes": {"b": "y" * 9000}}
    )
    assert response.status_code == 422
    assert tenant.get("/v1/contacts/u-1").get_json()["attributes"] == half


def make_contacts(tenant, count: int) -> list[dict]:
    return [
        tenant.put(f"/v1/contacts/u-{n}", json={"email": f"p{n}@example.com"}).get_json()
        for n in range(count)
    ]


def test_list_walks_every_page_once_in_id_order(tenant):
    ids = sorted(contact["id"] for contact in make_contacts(tenant, 5))
    seen, pages, after = [], [], None
    while True:
        query = {"limit": 2} | ({"after": after} if after else {})
        response = tenant.get("/v1/contacts", query_string=query)
        assert response.status_code == 200
        page = response.get_json()
        pages.append(page)
        seen += [contact["id"] for contact in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        assert page["next_cursor"]  # opaque: clients just hand it back
        after = page["next_cursor"]
        assert len(pages) < 10
    assert [len(page["data"]) for page in pages] == [2, 2, 1]
    assert [page["has_more"] for page in pages] == [True, True, False]
    assert seen == ids


def test_list_exact_multiple_of_limit(tenant):
    make_contacts(tenant, 4)
    first = tenant.get("/v1/contacts", query_string={"limit": 2}).get_json()
    second = tenant.get(
        "/v1/contacts", query_string={"limit": 2, "after": first["next_cursor"]}
    ).get_json()
    assert len(second["data"]) == 2
    assert second["has_more"] is False and second["next_cursor"] is None


def test_list_rejects_a_forged_cursor(tenant):
    make_contacts(tenant, 1)
    response = tenant.get("/v1/contacts", query_string={"after": "not a cursor"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def test_list_limit_bounds(tenant):
    assert tenant.get("/v1/contacts", query_string={"limit": 0}).status_code == 422
    assert tenant.get("/v1/contacts", query_string={"limit": 501}).status_code == 422
    assert tenant.get("/v1/contacts", query_string={"limit": 500}).status_code == 200


def test_list_filters(tenant):
    tenant.put("/v1/contacts/a", json={"email": "ann@example.com", "stage": "lead"})
    tenant.put("/v1/contacts/b", json={"email": "bob@example.com", "stage": "customer"})
    tenant.put("/v1/contacts/c", json={"email": "cat@example.com", "stage": "customer"})

    def external_ids(**query):
        response = tenant.get("/v1/contacts", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return sorted(contact["external_id"] for contact in response.get_json()["data"])

    assert external_ids(email="ANN@Example.com") == ["a"]
    assert external_ids(email=" bob@example.com ") == ["b"]
    assert external_ids(email="nobody@example.com") == []
    assert external_ids(stage="customer") == ["b", "c"]
    assert external_ids(stage="customer", email="cat@example.com") == ["c"]
    assert tenant.get("/v1/contacts", query_string={"stage": "vip"}).status_code == 422


def test_list_updated_since(tenant):
    tenant.put("/v1/contacts/a", json={})
    tenant.put("/v1/contacts/b", json={})
    since = datetime.now(UTC)
    tenant.patch("/v1/contacts/b", json={"first_name": "Bea"})
    tenant.put("/v1/contacts/c", json={})

    def external_ids(value: str):
        response = tenant.get("/v1/contacts", query_string={"updated_since": value})
        assert response.status_code == 200, response.get_data(as_text=True)
        return sorted(contact["external_id"] for contact in response.get_json()["data"])

    assert external_ids(since.isoformat()) == ["b", "c"]
    # The same instant written in another zone.
    assert external_ids(since.astimezone(timezone(timedelta(hours=-5))).isoformat()) == ["b", "c"]
    assert external_ids(since.isoformat().replace("+00:00", "Z")) == ["b", "c"]
    assert external_ids((since - timedelta(hours=1)).isoformat()) == ["a", "b", "c"]
    assert external_ids((since + timedelta(hours=1)).isoformat()) == []

    naive = tenant.get(
        "/v1/contacts", query_string={"updated_since": since.replace(tzinfo=None).isoformat()}
    )
    assert naive.status_code == 422
    assert set(naive.get_json()["error"]["fields"]) == {"updated_since"}


def test_delete_erases_personal_data(tenant, app):
    original = tenant.put("/v1/contacts/u-1", json=FULL).get_json()
    tenant.put("/v1/contacts/u-2", json={})
    response = tenant.delete("/v1/contacts/u-1")
    assert response.status_code == 204

    (row,) = rows(app, id=original["id"])
    assert row.email is None and row.first_name is None and row.last_name is None
    assert row.locale is None and row.stage is None
    assert row.attributes == {}
    assert row.external_id != "u-1"
    assert row.erased_at is not None

    assert tenant.get("/v1/contacts/u-1").status_code == 404
    assert tenant.patch("/v1/contacts/u-1", json={}).status_code == 404
    assert tenant.delete("/v1/contacts/u-1").status_code == 404
    listed = tenant.get("/v1/contacts").get_json()["data"]
    assert [contact["external_id"] for contact in listed] == ["u-2"]
    assert (
        tenant.get("/v1/contacts", query_string={"email": FULL["email"]}).get_json()["data"] == []
    )

    again = tenant.put("/v1/contacts/u-1", json={"first_name": "New"})
    assert again.status_code == 201
    assert again.get_json()["id"] != original["id"]
    assert again.get_json()["email"] is None and again.get_json()["attributes"] == {}
    assert len(rows(app)) == 3


def test_concurrent_puts_make_one_contact(app, tenant):
    threads_count = 10

    def put(client, n: int) -> int:
        return client.put(
            "/v1/contacts/race", json={"first_name": f"T{n}"}, headers=tenant.headers
        ).status_code

    statuses = run_together(app, threads_count, put)
    assert sorted(statuses) == [200] * (threads_count - 1) + [201], statuses
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.external_id == "race")
        )
    assert count == 1


@pytest.mark.parametrize("external_id", ["erased:con_123", "a/b"])
def test_reserved_or_unaddressable_external_ids_are_refused(tenant, external_id):
    posted = tenant.post("/v1/contacts", json={"external_id": external_id})
    assert posted.status_code == 422
    assert "external_id" in posted.get_json()["error"]["fields"]


def test_put_cannot_write_into_an_erased_contact(tenant):
    created = tenant.put("/v1/contacts/gone", json={"email": "gone@example.com"}).get_json()
    assert tenant.delete("/v1/contacts/gone").status_code == 204
    response = tenant.put(f"/v1/contacts/erased:{created['id']}", json={"email": "x@example.com"})
    assert response.status_code == 422


def test_a_cursor_with_values_of_the_wrong_type_is_a_422(tenant):
    import base64
    import json

    forged = base64.urlsafe_b64encode(json.dumps([123]).encode()).decode().rstrip("=")
    response = tenant.get(f"/v1/contacts?after={forged}")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"after": ["Invalid."]}


def test_unsubscribing_through_the_api_is_an_event_once(app, tenant):
    tenant.put("/v1/contacts/u1", json={"email": "u1@example.com"})
    for _ in range(2):
        assert tenant.patch("/v1/contacts/u1", json={"unsubscribed": True}).status_code == 200
    assert event_types(app, workspace_id=tenant.id).count("contact.unsubscribed") == 1


def test_resubscribing_through_the_api_is_an_event_once(app, tenant):
    from api.events.models import Event

    tenant.put("/v1/contacts/u1", json={"email": "u1@example.com", "unsubscribed": True})
    for _ in range(2):
        assert tenant.patch("/v1/contacts/u1", json={"unsubscribed": False}).status_code == 200
    # POST (create-or-update) and PUT (replace) can clear it too.
    tenant.patch("/v1/contacts/u1", json={"unsubscribed": True})
    body = tenant.post("/v1/contacts", json={"external_id": "u1", "unsubscribed": False})
    assert body.get_json()["unsubscribed"] is False
    tenant.patch("/v1/contacts/u1", json={"unsubscribed": True})
    assert tenant.put("/v1/contacts/u1", json={"unsubscribed": False}).status_code == 200
    # A PUT that leaves the field out keeps the state, so records nothing.
    tenant.put("/v1/contacts/u1", json={"email": "u1@example.com"})
    with app.app_context():
        events = db.session.execute(
            select(Event.type, Event.subject_id, Event.data)
            .where(Event.workspace_id == tenant.id, Event.type.like("contact.%"))
            .order_by(Event.id)
        ).all()
    contact_id = events[0].subject_id
    api = {"external_id": "u1", "source": "api"}
    assert [tuple(event) for event in events] == [
        ("contact.unsubscribed", contact_id, api),
        ("contact.resubscribed", contact_id, api),
        ("contact.unsubscribed", contact_id, api),
        ("contact.resubscribed", contact_id, api),
        ("contact.unsubscribed", contact_id, api),
        ("contact.resubscribed", contact_id, api),
    ]
    wait_until_readable(app)
    feed = tenant.get("/v1/events?type=contact.resubscribed").get_json()["data"]
    assert [(e["type"], e["data"]) for e in feed] == [("contact.resubscribed", api)] * 3


def test_contacts_written_at_once_are_listed_in_the_order_given(app, tenant):
    given = [f"u-{n}" for n in reversed(range(300))]  # not the external ids' own order
    with app.app_context():
        service.upsert_many(tenant.id, [{"external_id": e, "first_name": "A"} for e in given])
        db.session.commit()
    listed = tenant.get("/v1/contacts", query_string={"limit": 500}).get_json()["data"]
    assert [contact["external_id"] for contact in listed] == given
