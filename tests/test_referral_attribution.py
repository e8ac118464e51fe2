"""Attribution of reported sign-ups: clicks and typed codes, the window, the model,
the hard rules (rejected, stored, 422) and the soft signals (flagged)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, text

from api import signing
from api.domain_errors import DomainError
from api.extensions import db
from api.referrals import attribution, clicks
from api.referrals.models import Referral
from tests.db import event_types
from tests.factories import click
from tests.together import run_together

LANDING = "https://shop.example.com/welcome"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def enable(tenant, **settings):
    body = {"enabled": True, "landing_url": LANDING, **settings}
    response = tenant.put("/v1/referral-program", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.fixture
def program(tenant):
    enable(tenant)


def advocate(tenant, external_id="adv", **contact) -> dict:
    response = tenant.post(
        "/v1/referral-codes",
        json={"contact": {"external_id": external_id, "attributes": {}, **contact}},
    )
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.get_json()


def follow(client, code: str, query: str = "") -> str:
    """Open the tracked link like a browser; returns the signed click id."""
    response = client.get(f"/r/{code}{query}", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["ffclick"][0]


def signup(tenant, external_id="friend", email=None, **body):
    customer = {"external_id": external_id}
    if email:
        customer["email"] = email
    return tenant.post("/v1/referrals", json={"customer": customer, **body})


def report(app, tenant, data: dict, when: datetime, ip=None):
    """report_signup at an explicit time; returns (status, reason or None, code_id)."""
    with app.app_context():
        try:
            referral, _ = attribution.report_signup(tenant.id, data, ip=ip, now=when)
        except DomainError as error:
            db.session.rollback()
            return "error", error.code, None
        db.session.commit()
        return referral.status, referral.reason, referral.code_id, referral.flags


def stored(app, **where) -> list[Referral]:
    with app.app_context():
        found = list(db.session.scalars(select(Referral).filter_by(**where).order_by(Referral.id)))
        db.session.expunge_all()
        return found


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


# --- attribution ------------------------------------------------------------------------


def test_a_click_attributes_the_sign_up(app, client, tenant, program):
    code = advocate(tenant)
    token = follow(client, code["code"])
    response = signup(tenant, email="Friend@Example.com", click_id=token)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "signed_up" and body["source"] == "click"
    assert body["code_id"] == code["id"] and body["code"] == code["code"]
    assert body["referrer_contact_id"] == code["contact_id"]
    assert body["click_id"] and body["clicked_at"]
    friend = tenant.get("/v1/contacts/friend").get_json()
    assert body["referred_contact_id"] == friend["id"] and friend["email"] == "friend@example.com"
    assert tenant.get(f"/v1/referrals/{body['id']}").get_json() == body
    assert event_types(app, subject_id=body["id"]) == ["referral.created"]


def test_a_typed_code_counts_without_a_click(tenant, program):
    code = advocate(tenant)
    typed = code["code"].lower()[:4] + " - " + code["code"].lower()[4:]
    response = signup(tenant, code=typed)
    assert response.status_code == 201
    assert response.get_json()["source"] == "code"
    assert response.get_json()["code_id"] == code["id"]


def test_a_forged_click_id_is_ignored(app, client, tenant, program):
    code = advocate(tenant)
    token = follow(client, code["code"])
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    alone = signup(tenant, click_id=forged)
    assert alone.status_code == 422 and error_code(alone) == "no_attribution"
    assert stored(app) == []
    with_code = signup(tenant, click_id=forged, code=code["code"])
    assert with_code.status_code == 201
    assert with_code.get_json()["source"] == "code" and with_code.get_json()["click_id"] is None


def test_another_workspaces_click_or_code_is_ignored(client, tenant, make_tenant, program):
    other = make_tenant("Other")
    enable(other)
    foreign = advocate(other, "o")
    token = follow(client, foreign["code"])
    assert error_code(signup(tenant, click_id=token)) == "no_attribution"
    assert error_code(signup(tenant, code=foreign["code"])) == "no_attribution"


def test_a_disabled_code_does_not_attribute(client, tenant, program):
    code = advocate(tenant)
    token = follow(client, code["code"])
    tenant.patch(f"/v1/referral-codes/{code['id']}", json={"disabled": True})
    assert error_code(signup(tenant, click_id=token, code=code["code"])) == "no_attribution"


def test_the_program_must_be_enabled(tenant):
    code = advocate(tenant)
    response = signup(tenant, code=code["code"])
    assert response.status_code == 422 and error_code(response) == "program_disabled"


@pytest.mark.parametrize(
    ("window", "age", "attributed"),
    [
        (30, timedelta(days=30) - timedelta(seconds=1), True),
        (30, timedelta(days=30), True),
        (30, timedelta(days=30) + timedelta(seconds=1), False),
        (7, timedelta(days=7) - timedelta(seconds=1), True),
        (7, timedelta(days=7) + timedelta(seconds=1), False),
        (30, -timedelta(seconds=1), False),  # a click after the sign-up
    ],
)
def test_attribution_window_edges(app, tenant, window, age, attributed):
    enable(tenant, attribution_window_days=window)
    code = advocate(tenant)
    token = click(app, code["code"], NOW - age)
    outcome = report(app, tenant, {"click_id": token, "customer": {"external_id": "f"}}, NOW)
    if attributed:
        assert outcome[0] == "signed_up" and outcome[2] == code["id"]
    else:
        assert outcome[:2] == ("error", "no_attribution")


def test_outside_the_window_a_typed_code_still_counts(app, tenant, program):
    code = advocate(tenant)
    token = click(app, code["code"], NOW - timedelta(days=31))
    data = {"click_id": token, "code": code["code"], "customer": {"external_id": "f"}}
    assert report(app, tenant, data, NOW)[0] == "signed_up"
    [referral] = stored(app)
    assert referral.source == "code" and referral.click_id is None


def test_last_click_wins(app, tenant, program):
    first, last = advocate(tenant, "a"), advocate(tenant, "b")
    tokens = [
        click(app, last["code"], NOW - timedelta(days=1)),
        click(app, first["code"], NOW - timedelta(days=10)),
    ]
    data = {"click_ids": tokens, "code": first["code"], "customer": {"external_id": "f"}}
    assert report(app, tenant, data, NOW)[2] == last["id"]


def test_first_click_when_configured(app, tenant):
    enable(tenant, attribution_model="first_click")
    first, last = advocate(tenant, "a"), advocate(tenant, "b")
    tokens = [
        click(app, last["code"], NOW - timedelta(days=1)),
        click(app, first["code"], NOW - timedelta(days=10)),
        # The earliest of all, but outside the window: not a candidate.
        click(app, last["code"], NOW - timedelta(days=40)),
    ]
    data = {"click_id": tokens[0], "click_ids": tokens[1:], "customer": {"external_id": "f"}}
    assert report(app, tenant, data, NOW)[2] == first["id"]


# --- hard rules -------------------------------------------------------------------------


def test_one_referral_per_friend(app, tenant, program):
    a, b = advocate(tenant, "a"), advocate(tenant, "b")
    first = signup(tenant, code=a["code"])
    assert first.status_code == 201
    repeat = signup(tenant, code=a["code"])
    assert repeat.status_code == 200 and repeat.get_json()["id"] == first.get_json()["id"]
    other = signup(tenant, code=b["code"])
    assert other.status_code == 422 and error_code(other) == "already_referred"
    rejected_id = other.get_json()["error"]["fields"]["referral_id"][0]
    listed = tenant.get("/v1/referrals?status=rejected").get_json()["data"]
    assert [(r["id"], r["reason"], r["code_id"]) for r in listed] == [
        (rejected_id, "already_referred", b["id"])
    ]
    assert len(stored(app, status="signed_up")) == 1
    assert event_types(app, subject_id=rejected_id) == ["referral.rejected"]


def test_self_referral_by_the_same_contact(tenant, program):
    code = advocate(tenant, "adv")
    response = signup(tenant, "adv", code=code["code"])
    assert response.status_code == 422 and error_code(response) == "self_referral"


@pytest.mark.parametrize(
    ("friend_email", "rejected"),
    [
        ("janedoe@gmail.com", True),
        ("Jane.Doe+friend@googlemail.com", True),
        ("jane.doe+x@gmail.com", True),
        ("jane.doe2@gmail.com", False),
        ("jane.doe@yahoo.com", False),
    ],
)
def test_self_referral_by_the_same_normalised_email(tenant, program, friend_email, rejected):
    code = advocate(tenant, "adv", email="jane.doe@gmail.com")
    response = signup(tenant, "someone-else", email=friend_email, code=code["code"])
    if rejected:
        assert response.status_code == 422 and error_code(response) == "self_referral"
    else:
        assert response.status_code == 201


def test_erasing_the_friend_forgets_the_mailbox_key_and_keeps_the_referral(app, tenant, program):
    code = advocate(tenant, "adv")
    referral = signup(tenant, "friend", email="Jane.Doe@gmail.com", code=code["code"]).get_json()
    (before,) = stored(app, id=referral["id"])
    assert before.email_key
    assert tenant.delete("/v1/contacts/friend").status_code == 204
    (after,) = stored(app, id=referral["id"])
    assert after.email_key is None and after.status == before.status


def test_an_existing_customer_cannot_be_referred(tenant, program):
    code = advocate(tenant)
    tenant.post("/v1/contacts", json={"external_id": "cust", "stage": "customer"})
    tenant.post("/v1/contacts", json={"external_id": "trial", "stage": "trial"})
    rejected = signup(tenant, "cust", code=code["code"])
    assert rejected.status_code == 422 and error_code(rejected) == "already_customer"
    assert signup(tenant, "trial", code=code["code"]).status_code == 201
    # Becoming a customer with this very sign-up is what a referral is for.
    became = tenant.post(
        "/v1/referrals",
        json={"code": code["code"], "customer": {"external_id": "new", "stage": "customer"}},
    )
    assert became.status_code == 201


def test_the_referrer_cap(app, tenant):
    enable(tenant, cap_per_referrer=2, cap_period_days=30)
    code = advocate(tenant)
    other = advocate(tenant, "other")
    data = {"code": code["code"]}

    def outcome(friend, when):
        return report(app, tenant, {**data, "customer": {"external_id": friend}}, when)[:2]

    assert outcome("f1", NOW - timedelta(days=31)) == ("signed_up", None)
    assert outcome("f2", NOW - timedelta(days=2)) == ("signed_up", None)
    assert outcome("f3", NOW - timedelta(days=1)) == ("signed_up", None)
    assert outcome("f4", NOW) == ("rejected", "cap_reached")
    # Rejected ones do not count, and the cap is per referrer.
    assert outcome("f5", NOW) == ("rejected", "cap_reached")
    assert (
        report(app, tenant, {"code": other["code"], "customer": {"external_id": "f6"}}, NOW)[0]
        == "signed_up"
    )


def test_cap_reached_answers_422(tenant):
    enable(tenant, cap_per_referrer=1, cap_period_days=7)
    code = advocate(tenant)
    assert signup(tenant, "f1", code=code["code"]).status_code == 201
    response = signup(tenant, "f2", code=code["code"])
    assert response.status_code == 422 and error_code(response) == "cap_reached"
    assert tenant.get("/v1/referrals?status=rejected").get_json()["data"][0]["reason"] == (
        "cap_reached"
    )


# --- soft signals -----------------------------------------------------------------------


def test_disposable_email_is_flagged(tenant, program):
    code = advocate(tenant)
    flagged = signup(tenant, "f1", email="x@mailinator.com", code=code["code"]).get_json()
    assert flagged["status"] == "flagged" and flagged["flags"] == ["disposable_email"]
    clean = signup(tenant, "f2", email="x@example.com", code=code["code"]).get_json()
    assert clean["status"] == "signed_up" and clean["flags"] == []
    listed = tenant.get("/v1/referrals?status=flagged").get_json()["data"]
    assert [r["id"] for r in listed] == [flagged["id"]]


def test_ip_burst_is_flagged(app, tenant):
    enable(tenant, ip_burst_limit=2)
    code = advocate(tenant)

    def outcome(friend, when, ip="192.0.2.1"):
        data = {"code": code["code"], "customer": {"external_id": friend}}
        return report(app, tenant, data, when, ip=ip)

    assert outcome("f1", NOW - timedelta(minutes=50))[3] == []
    assert outcome("f2", NOW - timedelta(minutes=40))[3] == []
    assert outcome("f3", NOW)[3] == ["ip_burst"]
    assert outcome("f4", NOW, ip="192.0.2.2")[3] == []
    # An hour after the first two, the address is quiet again.
    assert outcome("f5", NOW + timedelta(minutes=61))[3] == []


def test_code_burst_is_flagged(app, tenant):
    enable(tenant, code_burst_limit=2)
    code, other = advocate(tenant), advocate(tenant, "other")
    for n in (1, 2):
        data = {"code": code["code"], "customer": {"external_id": f"f{n}"}}
        assert report(app, tenant, data, NOW - timedelta(minutes=n))[3] == []
    data = {"code": code["code"], "customer": {"external_id": "f3"}}
    assert report(app, tenant, data, NOW)[3] == ["code_burst"]
    data = {"code": other["code"], "customer": {"external_id": "f4"}}
    assert report(app, tenant, data, NOW)[3] == []


@pytest.mark.parametrize(("allowed", "flags"), [(False, ["paid_traffic"]), (True, [])])
def test_paid_traffic(client, tenant, allowed, flags):
    enable(tenant, allow_paid_traffic=allowed)
    code = advocate(tenant)
    paid = follow(client, code["code"], "?gclid=abc123")
    body = signup(tenant, "f1", click_id=paid).get_json()
    assert body["flags"] == flags
    organic = follow(client, code["code"], "?utm_source=newsletter")
    assert signup(tenant, "f2", click_id=organic).get_json()["flags"] == []


def test_the_sign_up_ip_is_stored_only_as_a_hash(app, tenant, program):
    code = advocate(tenant)
    assert signup(tenant, code=code["code"], ip="203.0.113.99").status_code == 201
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM referrals")).all()
        events = db.session.execute(text("SELECT * FROM events")).all()
    assert rows and "203.0.113.99" not in repr(rows) + repr(events)


# --- review -----------------------------------------------------------------------------


def test_review_approves_or_rejects_a_flagged_referral(app, tenant, program):
    a, b = advocate(tenant, "a"), advocate(tenant, "b")
    flagged = signup(tenant, "f1", email="x@mailinator.com", code=a["code"]).get_json()
    approved = tenant.post(
        f"/v1/referrals/{flagged['id']}/review", json={"decision": "approve", "note": "ok"}
    )
    assert approved.status_code == 200
    assert approved.get_json()["status"] == "signed_up"
    assert approved.get_json()["review_note"] == "ok"
    again = tenant.post(f"/v1/referrals/{flagged['id']}/review", json={"decision": "reject"})
    assert again.status_code == 409 and error_code(again) == "not_flagged"

    other = signup(tenant, "f2", email="y@mailinator.com", code=a["code"]).get_json()
    rejected = tenant.post(
        f"/v1/referrals/{other['id']}/review", json={"decision": "reject", "note": "fake"}
    ).get_json()
    assert rejected["status"] == "rejected" and rejected["reason"] == "review_rejected"
    # Rejected, the person is free to be referred for real.
    assert signup(tenant, "f2", code=b["code"]).status_code == 201


def test_another_workspaces_referral_is_404(tenant, make_tenant, program):
    code = advocate(tenant)
    referral = signup(tenant, code=code["code"]).get_json()
    other = make_tenant("Other")
    assert other.get(f"/v1/referrals/{referral['id']}").status_code == 404
    response = other.post(f"/v1/referrals/{referral['id']}/review", json={"decision": "reject"})
    assert response.status_code == 404
    assert other.get("/v1/referrals").get_json()["data"] == []


def test_parallel_reports_of_one_friend_bind_once(app, tenant, program):
    codes = [advocate(tenant, f"a{n}")["code"] for n in range(4)]
    threads_count = 20

    def post(client, n: int) -> int:
        return client.post(
            "/v1/referrals",
            json={"code": codes[n % 4], "customer": {"external_id": "race"}},
            headers=tenant.headers,
        ).status_code

    statuses = run_together(app, threads_count, post)
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 422}, statuses
    with app.app_context():
        live = db.session.scalar(
            select(func.count()).select_from(Referral).where(Referral.status != "rejected")
        )
    assert live == 1


def test_the_ffclick_alone_attributes_when_the_click_row_is_missing(app, client, tenant):
    """A sign-up reported to a worker that cannot see the click (or after a server
    crash lost it) is attributed from what the signed value carries."""
    enable(tenant, allow_paid_traffic=False)
    code = advocate(tenant)
    token = follow(client, code["code"], "?gclid=abc")
    with app.app_context():
        db.session.execute(text("DELETE FROM referral_clicks"))
        db.session.commit()
    response = signup(tenant, click_id=token)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["source"] == "click" and body["code_id"] == code["id"]
    assert body["click_id"] is None and body["clicked_at"]
    assert body["flags"] == ["paid_traffic"]  # the ad click id came in the value too


def test_an_ffclick_of_the_click_id_alone_still_attributes(app, tenant, program):
    """Values made before they carried the code and time name a stored click."""
    code = advocate(tenant)
    token = click(app, code["code"])
    with app.app_context():
        click_id = clicks.read_click(token, 60).id
        legacy = signing.sign(signing.REFERRAL_CLICK, click_id)
    response = signup(tenant, click_id=legacy)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["click_id"] == click_id
