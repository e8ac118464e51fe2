"""The loop end to end: a score of 10 on the hosted page -> advocacy item -> referral
link for the thank-you page -> click -> sign-up -> purchase -> rewards pending ->
approved after the hold -> paid."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from api.database import utcnow
from api.extensions import db
from api.queues.models import QueueItem
from api.referrals import links, rewards
from api.referrals.models import ReferralCode
from api.surveys import tokens
from tests.factories import seed

SAME_ORIGIN = {
    "Accept": "text/html",
    "Origin": "http://localhost",
    "Sec-Fetch-Site": "same-origin",
}


def test_promoter_to_paid_reward(app, client, tenant):
    tenant.put(
        "/v1/referral-program",
        json={
            "enabled": True,
            "landing_url": "https://shop.example.com/",
            "referrer_reward": {"kind": "money", "amount": 25, "currency": "USD"},
            "friend_reward": {"kind": "percent_discount", "amount": 20},
            "hold_days": 14,
        },
    )
    seeded = seed(app, tenant.id, contacts=[{"external_id": "promoter", "email": "p@example.com"}])
    with app.app_context():
        token = tokens.survey_token(seeded.invitation_ids[0])

    # A score of 10 on the hosted page opens an advocacy item and issues the code...
    thanks = client.post(f"/s/{token}", data={"score": "10"}, headers=SAME_ORIGIN)
    assert thanks.status_code == 303
    with app.app_context():
        item = db.session.scalar(select(QueueItem))
        assert (item.queue, item.contact_id) == ("advocacy", seeded.contact_ids[0])
        code = db.session.scalar(select(ReferralCode))
        assert code.contact_id == seeded.contact_ids[0]
    # ...which the thank-you page shows with share links; a reload issues nothing new.
    for _ in range(2):
        page = client.get(f"/s/{token}?step=thanks", headers=SAME_ORIGIN).get_data(as_text=True)
        assert f"/r/{code.code}" in page and "wa.me" in page and "linkedin.com" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReferralCode)) == 1
        shown = {"code": code.code, "url": links.link_for(code.code)}

    # A friend follows the link, signs up at the partner and buys.
    landing = client.get(urlsplit(shown["url"]).path).headers["Location"]
    click_id = parse_qs(urlsplit(landing).query)["ffclick"][0]
    referral = tenant.post(
        "/v1/referrals",
        json={"click_id": click_id, "customer": {"external_id": "friend", "email": "f@ex.com"}},
    ).get_json()
    assert referral["status"] == "signed_up"
    assert referral["referrer_contact_id"] == seeded.contact_ids[0]
    conversion = tenant.post(
        f"/v1/referrals/{referral['id']}/conversions",
        json={"order_id": "order-1", "amount": "120.00", "currency": "USD"},
    )
    assert conversion.status_code == 201

    pending = tenant.get("/v1/rewards").get_json()["data"]
    assert {(r["side"], r["status"]) for r in pending} == {
        ("referrer", "pending"),
        ("friend", "pending"),
    }

    # The worker approves them once the hold has passed, not before.
    with app.app_context():
        hold_ends = utcnow() + timedelta(days=14)
        assert rewards.approve_due(now=hold_ends - timedelta(days=1)) == 0
        assert rewards.approve_due(now=hold_ends + timedelta(minutes=1)) == 2
        db.session.commit()
    approved = {r["side"]: r for r in tenant.get("/v1/rewards").get_json()["data"]}
    assert {r["status"] for r in approved.values()} == {"approved"}

    paid = tenant.post(
        f"/v1/rewards/{approved['referrer']['id']}/paid", json={"reference": "payout-77"}
    )
    assert paid.get_json()["status"] == "paid"
    board = tenant.get("/v1/leaderboard").get_json()["data"]
    assert [(e["contact_external_id"], e["conversions"]) for e in board] == [("promoter", 1)]


def test_no_link_while_the_program_is_disabled(app, tenant):
    contact = tenant.post("/v1/contacts", json={"external_id": "p"}).get_json()
    with app.app_context():
        assert links.promoter_link(tenant.id, contact["id"]) is None


def test_detractors_and_passives_get_no_code(app, client, tenant):
    tenant.put(
        "/v1/referral-program", json={"enabled": True, "landing_url": "https://shop.example.com/"}
    )
    seeded = seed(app, tenant.id, contacts=[{"external_id": "a"}, {"external_id": "b"}])
    with app.app_context():
        first, second = (tokens.survey_token(i) for i in seeded.invitation_ids)
    client.post(f"/s/{first}", data={"score": "3"}, headers=SAME_ORIGIN)
    client.post(f"/s/{second}", data={"score": "8"}, headers=SAME_ORIGIN)
    page = client.get(f"/s/{first}?step=thanks", headers=SAME_ORIGIN).get_data(as_text=True)
    assert "/r/" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReferralCode)) == 0
