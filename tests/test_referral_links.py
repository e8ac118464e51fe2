"""Referral codes for contacts: idempotent issue, vanity rules, lookup, disabling, races."""

import pytest
from sqlalchemy import select

from api.events.models import Event
from api.extensions import db
from api.referrals import links
from api.referrals.codes import ALPHABET, CODE_LENGTH
from api.referrals.models import ReferralCode
from tests.db import count, event_types
from tests.together import run_together


def issue(tenant, contact, **extra):
    return tenant.post("/v1/referral-codes", json={"contact": contact, **extra})


def issued_events(app) -> list[Event]:
    with app.app_context():
        found = list(db.session.scalars(select(Event).where(Event.type == "referral_code.issued")))
        db.session.expunge_all()
        return found


def test_issue_creates_the_contact_and_a_readable_code(app, tenant):
    response = issue(tenant, {"external_id": "adv-1", "email": "Ann@Example.com"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["id"].startswith("rc_")
    assert len(body["code"]) == CODE_LENGTH and set(body["code"]) <= set(ALPHABET)
    assert body["link"] == f"{app.config['BASE_URL']}/r/{body['code']}"
    assert body["contact_external_id"] == "adv-1"
    assert body["vanity"] is False and body["disabled"] is False
    contact = tenant.get("/v1/contacts/adv-1").get_json()
    assert contact["email"] == "ann@example.com"
    assert body["contact_id"] == contact["id"]
    events = issued_events(app)
    assert [e.subject_id for e in events] == [body["id"]]
    assert events[0].data["code"] == body["code"]


def test_the_same_contact_gets_its_existing_code(app, tenant):
    first = issue(tenant, {"external_id": "adv-1", "attributes": {}}).get_json()
    again = issue(tenant, {"external_id": "adv-1", "attributes": {}})
    assert again.status_code == 200
    assert again.get_json() == first
    by_id = issue(tenant, {"contact_id": first["contact_id"]})
    assert by_id.status_code == 200 and by_id.get_json()["id"] == first["id"]
    assert count(app, ReferralCode) == 1
    assert len(issued_events(app)) == 1


def test_unknown_or_foreign_contact_id_is_404(tenant, make_tenant):
    other = make_tenant("Other")
    foreign = other.post("/v1/contacts", json={"external_id": "x"}).get_json()["id"]
    for contact_id in ("con_nope", foreign):
        response = issue(tenant, {"contact_id": contact_id})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "contact_not_found"


@pytest.mark.parametrize(
    "contact",
    [
        {},
        {"contact_id": "con_x", "external_id": "x"},
        {"contact_id": "con_x", "email": "a@b.co"},
        {"external_id": ""},
        {"external_id": "x", "email": "nope"},
    ],
)
def test_contact_reference_validation(tenant, contact):
    response = issue(tenant, contact)
    assert response.status_code == 422
    assert "contact" in response.get_json()["error"]["fields"]


def test_vanity_code_is_stored_canonical_and_found_in_any_case(tenant):
    response = issue(tenant, {"external_id": "adv-1", "attributes": {}}, vanity="  Loop-Shop ")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "LOOPSHOP" and body["vanity"] is True
    for spelling in ("loopshop", "LOOP-SHOP", body["id"]):
        found = tenant.get(f"/v1/referral-codes/{spelling}")
        assert found.status_code == 200 and found.get_json()["id"] == body["id"]
    again = issue(tenant, {"external_id": "adv-1", "attributes": {}}, vanity="loopshop")
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("vanity", "reason"),
    [
        ("abc", "too_short"),
        ("a" * 21, "too_long"),
        ("my shop", "bad_characters"),
        ("my--shop", "bad_characters"),
        ("café", "bad_characters"),
        ("admin", "reserved"),
        ("fuckoff", "offensive"),
        ("sh1tshop", "offensive"),
    ],
)
def test_vanity_rules_answer_the_machine_reason(app, tenant, vanity, reason):
    response = issue(tenant, {"external_id": "adv-1", "attributes": {}}, vanity=vanity)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_vanity_code"
    assert error["fields"] == {"vanity": [reason]}
    assert count(app, ReferralCode) == 0


def test_vanity_codes_are_unique_across_workspaces_and_case(tenant, make_tenant):
    other = make_tenant("Other")
    assert (
        issue(other, {"external_id": "o-1", "attributes": {}}, vanity="Summer-Deal").status_code
        == 201
    )
    response = issue(tenant, {"external_id": "adv-1", "attributes": {}}, vanity="summerdeal")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "code_taken"


def test_a_contact_with_a_code_cannot_take_another_vanity(tenant):
    first = issue(tenant, {"external_id": "adv-1", "attributes": {}}).get_json()
    response = issue(tenant, {"external_id": "adv-1", "attributes": {}}, vanity="newword")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "contact_has_code" and first["code"] in error["message"]


def test_a_forced_collision_is_retried(app, tenant, make_tenant, monkeypatch):
    other = make_tenant("Other")
    taken = issue(other, {"external_id": "o-1", "attributes": {}}).get_json()["code"]
    drawn = iter([taken, taken, "ZZZZ2222"])
    monkeypatch.setattr(links, "generate", lambda: next(drawn))
    response = issue(tenant, {"external_id": "adv-1", "attributes": {}})
    assert response.status_code == 201
    assert response.get_json()["code"] == "ZZZZ2222"


def test_list_filters_and_workspace_isolation(tenant, make_tenant):
    a = issue(tenant, {"external_id": "a", "attributes": {}}).get_json()
    b = issue(tenant, {"external_id": "b", "attributes": {}}).get_json()
    other = make_tenant("Other")
    foreign = issue(other, {"external_id": "a", "attributes": {}}).get_json()

    listed = tenant.get("/v1/referral-codes").get_json()
    assert [c["id"] for c in listed["data"]] == [a["id"], b["id"]]
    by_external = tenant.get("/v1/referral-codes?external_id=b").get_json()["data"]
    assert [c["id"] for c in by_external] == [b["id"]]
    by_contact = tenant.get(f"/v1/referral-codes?contact_id={a['contact_id']}").get_json()["data"]
    assert [c["id"] for c in by_contact] == [a["id"]]
    paged = tenant.get("/v1/referral-codes?limit=1").get_json()
    assert paged["has_more"] is True and len(paged["data"]) == 1

    for key in (foreign["id"], foreign["code"]):
        assert tenant.get(f"/v1/referral-codes/{key}").status_code == 404
        assert tenant.patch(f"/v1/referral-codes/{key}", json={"disabled": True}).status_code == 404


def test_disable_and_enable(app, tenant):
    code = issue(tenant, {"external_id": "a", "attributes": {}}).get_json()
    disabled = tenant.patch(f"/v1/referral-codes/{code['id']}", json={"disabled": True})
    assert disabled.status_code == 200
    assert disabled.get_json()["disabled"] is True and disabled.get_json()["disabled_at"]
    listed = tenant.get("/v1/referral-codes?disabled=true").get_json()["data"]
    assert [c["id"] for c in listed] == [code["id"]]
    assert tenant.get("/v1/referral-codes?disabled=false").get_json()["data"] == []
    enabled = tenant.patch(f"/v1/referral-codes/{code['code']}", json={"disabled": False})
    assert enabled.get_json()["disabled"] is False and enabled.get_json()["disabled_at"] is None
    assert event_types(app)[-2:] == ["referral_code.disabled", "referral_code.enabled"]


def test_parallel_requests_for_one_contact_make_one_code(app, tenant):
    contact_id = tenant.post("/v1/contacts", json={"external_id": "race"}).get_json()["id"]
    threads_count = 20

    def post(client, _index) -> tuple[int, str]:
        response = client.post(
            "/v1/referral-codes",
            json={"contact": {"contact_id": contact_id}},
            headers=tenant.headers,
        )
        return response.status_code, response.get_json().get("code")

    results = run_together(app, threads_count, post)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (threads_count - 1) + [201], results
    assert len({code for _, code in results}) == 1
    assert count(app, ReferralCode) == 1
    assert len(issued_events(app)) == 1
