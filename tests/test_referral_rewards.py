"""Conversions, refunds and the rewards ledger: once per order, once per referral and side."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from api.extensions import db
from api.referrals import attribution, rewards
from api.referrals.models import Referral, ReferralConversion, ReferralReward
from tests.db import event_types
from tests.together import run_together

LANDING = "https://shop.example.com/welcome"
REFERRER_REWARD = {"kind": "money", "amount": 20, "currency": "EUR"}
FRIEND_REWARD = {"kind": "credits", "amount": 10}


def enable(tenant, **settings):
    body = {
        "enabled": True,
        "landing_url": LANDING,
        "referrer_reward": REFERRER_REWARD,
        "friend_reward": FRIEND_REWARD,
        **settings,
    }
    response = tenant.put("/v1/referral-program", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)


def referred(tenant, friend="friend", advocate="adv", email=None) -> dict:
    code = tenant.post(
        "/v1/referral-codes", json={"contact": {"external_id": advocate, "attributes": {}}}
    ).get_json()
    customer = {"external_id": friend, **({"email": email} if email else {})}
    response = tenant.post("/v1/referrals", json={"code": code["code"], "customer": customer})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def convert(tenant, referral_id, order_id="o-1", amount="59.90", currency="EUR"):
    return tenant.post(
        f"/v1/referrals/{referral_id}/conversions",
        json={"order_id": order_id, "amount": amount, "currency": currency},
    )


def ledger(tenant, **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return tenant.get(f"/v1/rewards?{params}").get_json()["data"]


def test_a_purchase_converts_and_creates_both_rewards_pending(app, tenant):
    enable(tenant, hold_days=14)
    referral = referred(tenant)
    response = convert(tenant, referral["id"])
    assert response.status_code == 201, response.get_data(as_text=True)
    conversion = response.get_json()
    assert conversion["amount"] == "59.90" and conversion["qualified"] is True
    assert tenant.get(f"/v1/referrals/{referral['id']}").get_json()["status"] == "converted"

    found = {r["side"]: r for r in ledger(tenant)}
    assert set(found) == {"referrer", "friend"}
    referrer, friend = found["referrer"], found["friend"]
    assert (referrer["kind"], referrer["amount"], referrer["currency"]) == ("money", "20.00", "EUR")
    assert referrer["contact_id"] == referral["referrer_contact_id"]
    assert (friend["kind"], friend["amount"], friend["currency"]) == ("credits", "10.00", None)
    assert friend["contact_id"] == referral["referred_contact_id"]
    for reward in found.values():
        assert reward["status"] == "pending" and reward["conversion_id"] == conversion["id"]
        hold = datetime.fromisoformat(reward["approve_after"]) - datetime.fromisoformat(
            reward["created_at"]
        )
        assert hold == timedelta(days=14)
    types = event_types(app)
    assert types.count("referral.converted") == 1 and types.count("reward.created") == 2


def test_conversions_are_idempotent_per_order_and_rewards_once_per_side(tenant):
    enable(tenant)
    referral = referred(tenant)
    first = convert(tenant, referral["id"]).get_json()
    again = convert(tenant, referral["id"])
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    second_order = convert(tenant, referral["id"], order_id="o-2", amount="10")
    assert second_order.status_code == 201
    assert len(ledger(tenant)) == 2

    changed = convert(tenant, referral["id"], amount="1.00")
    assert changed.status_code == 409
    assert changed.get_json()["error"]["code"] == "order_conflict"
    other = referred(tenant, friend="friend-2", advocate="adv-2")
    assert convert(tenant, other["id"]).status_code == 409


def test_minimum_purchase(tenant):
    enable(tenant, min_purchase_amount="50", min_purchase_currency="EUR")
    referral = referred(tenant)
    below = convert(tenant, referral["id"], order_id="o-1", amount="49.99").get_json()
    other_currency = convert(tenant, referral["id"], order_id="o-2", amount="80", currency="USD")
    assert below["qualified"] is False and other_currency.get_json()["qualified"] is False
    assert ledger(tenant) == []
    assert tenant.get(f"/v1/referrals/{referral['id']}").get_json()["status"] == "signed_up"
    exactly = convert(tenant, referral["id"], order_id="o-3", amount="50.00").get_json()
    assert exactly["qualified"] is True and len(ledger(tenant)) == 2


def test_each_purchase_is_one_event_named_by_whether_it_qualifies(app, tenant):
    enable(tenant, min_purchase_amount="50", min_purchase_currency="EUR")
    referral = referred(tenant)
    before = len(event_types(app))
    convert(tenant, referral["id"], order_id="o-small", amount="10.00")
    convert(tenant, referral["id"], order_id="o-big", amount="60.00")
    purchases = [t for t in event_types(app)[before:] if t.startswith("referral.")]
    assert purchases == ["referral.purchase", "referral.converted"]


def test_the_qualification_window(app, tenant):
    enable(tenant, qualification_window_days=30)
    late, in_time = referred(tenant, "late"), referred(tenant, "in-time", advocate="adv-2")
    data = {"order_id": "o-late", "amount": Decimal("10"), "currency": "EUR"}
    with app.app_context():
        for referral_id, after in ((late["id"], 31), (in_time["id"], 29)):
            referral = attribution.get_referral(tenant.id, referral_id)
            when = referral.signed_up_at + timedelta(days=after)
            rewards.record_conversion(referral, {**data, "order_id": referral_id}, now=when)
        db.session.commit()
    assert tenant.get(f"/v1/referrals/{late['id']}").get_json()["status"] == "expired"
    assert tenant.get(f"/v1/referrals/{in_time['id']}").get_json()["status"] == "converted"
    assert {r["referral_id"] for r in ledger(tenant)} == {in_time["id"]}


def test_rewards_on_sign_up(tenant):
    enable(tenant, reward_event="signup")
    referral = referred(tenant)
    assert {r["side"] for r in ledger(tenant)} == {"referrer", "friend"}
    assert all(r["conversion_id"] is None for r in ledger(tenant))
    convert(tenant, referral["id"])
    assert len(ledger(tenant)) == 2


def test_a_rejected_referral_cannot_convert(tenant):
    enable(tenant)
    referred(tenant)
    code = tenant.get("/v1/referral-codes").get_json()["data"][0]
    rejected = tenant.post(
        "/v1/referrals", json={"code": code["code"], "customer": {"external_id": "adv"}}
    )
    referral_id = rejected.get_json()["error"]["fields"]["referral_id"][0]
    response = convert(tenant, referral_id)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "referral_rejected"


def test_approve_then_paid(app, tenant):
    enable(tenant)
    convert(tenant, referred(tenant)["id"])
    reward = ledger(tenant, side="referrer")[0]
    early = tenant.post(f"/v1/rewards/{reward['id']}/paid", json={"reference": "po-1"})
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "invalid_state"
    approved = tenant.post(f"/v1/rewards/{reward['id']}/approve")
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    paid = tenant.post(f"/v1/rewards/{reward['id']}/paid", json={"reference": "po-1"})
    assert paid.status_code == 200
    assert paid.get_json()["status"] == "paid" and paid.get_json()["payout_reference"] == "po-1"
    again = tenant.post(f"/v1/rewards/{reward['id']}/paid", json={"reference": "po-1"})
    assert again.status_code == 200
    other_ref = tenant.post(f"/v1/rewards/{reward['id']}/paid", json={"reference": "po-2"})
    assert other_ref.status_code == 409
    assert tenant.post(f"/v1/rewards/{reward['id']}/approve").status_code == 409
    assert [r["id"] for r in ledger(tenant, status="paid")] == [reward["id"]]
    types = event_types(app)
    assert types.count("reward.approved") == 1 and types.count("reward.paid") == 1


def test_refunds_void_unpaid_rewards_and_claw_back_paid_ones(app, tenant):
    enable(tenant)
    referral = referred(tenant)
    convert(tenant, referral["id"])
    paid = ledger(tenant, side="referrer")[0]
    tenant.post(f"/v1/rewards/{paid['id']}/approve")
    tenant.post(f"/v1/rewards/{paid['id']}/paid", json={"reference": "po-1"})

    refund = tenant.post(f"/v1/referrals/{referral['id']}/refunds", json={"order_id": "o-1"})
    assert refund.status_code == 200 and refund.get_json()["refunded_at"]
    found = {r["side"]: r for r in ledger(tenant)}
    assert found["friend"]["status"] == "void" and found["friend"]["void_reason"] == "refunded"
    assert found["referrer"]["status"] == "paid" and found["referrer"]["clawback_at"]
    again = tenant.post(f"/v1/referrals/{referral['id']}/refunds", json={"order_id": "o-1"})
    assert again.status_code == 200
    types = event_types(app)
    assert types.count("reward.voided") == 1 and types.count("reward.clawed_back") == 1
    unknown = tenant.post(f"/v1/referrals/{referral['id']}/refunds", json={"order_id": "nope"})
    assert unknown.status_code == 404


def test_the_worker_approves_after_the_hold(app, tenant, runner):
    enable(tenant, hold_days=14)
    convert(tenant, referred(tenant)["id"])
    result = runner.invoke(args=["referrals", "approve-due"])
    assert result.exit_code == 0 and "rewards approved: 0" in result.output
    assert {r["status"] for r in ledger(tenant)} == {"pending"}

    with app.app_context():
        approve_after = db.session.scalar(select(func.min(ReferralReward.approve_after)))
        assert rewards.approve_due(now=approve_after - timedelta(seconds=1)) == 0
        assert rewards.approve_due(now=approve_after, batch=1) == 1
        db.session.commit()
        db.session.execute(
            ReferralReward.__table__.update().values(
                approve_after=datetime.now(UTC) - timedelta(minutes=1)
            )
        )
        db.session.commit()
    result = runner.invoke(args=["referrals", "approve-due"])
    assert result.exit_code == 0 and "rewards approved: 1" in result.output
    assert {r["status"] for r in ledger(tenant)} == {"approved"}


def test_a_flagged_referrals_rewards_wait_for_the_review(app, tenant, runner):
    enable(tenant, hold_days=0)
    referral = referred(tenant, email="x@mailinator.com")
    assert referral["status"] == "flagged"
    convert(tenant, referral["id"])
    assert {r["held"] for r in ledger(tenant)} == {True}
    assert "rewards approved: 0" in runner.invoke(args=["referrals", "approve-due"]).output
    assert tenant.get(f"/v1/referrals/{referral['id']}").get_json()["status"] == "flagged"

    reviewed = tenant.post(f"/v1/referrals/{referral['id']}/review", json={"decision": "approve"})
    assert reviewed.get_json()["status"] == "converted"
    assert {r["held"] for r in ledger(tenant)} == {False}
    assert "rewards approved: 2" in runner.invoke(args=["referrals", "approve-due"]).output


def test_a_rejected_review_voids_the_rewards(tenant):
    enable(tenant)
    referral = referred(tenant, email="x@mailinator.com")
    convert(tenant, referral["id"])
    tenant.post(f"/v1/referrals/{referral['id']}/review", json={"decision": "reject"})
    assert {(r["status"], r["void_reason"]) for r in ledger(tenant)} == {
        ("void", "referral_rejected")
    }


def test_rewards_are_per_workspace(tenant, make_tenant):
    enable(tenant)
    referral = referred(tenant)
    convert(tenant, referral["id"])
    reward = ledger(tenant)[0]
    other = make_tenant("Other")
    assert ledger(other) == []
    assert other.get(f"/v1/rewards/{reward['id']}").status_code == 404
    assert other.post(f"/v1/rewards/{reward['id']}/approve").status_code == 404
    assert convert(other, referral["id"]).status_code == 404


def test_parallel_conversions_of_one_order(app, tenant):
    enable(tenant)
    referral = referred(tenant)
    threads_count = 20

    def post(client, _index) -> int:
        return client.post(
            f"/v1/referrals/{referral['id']}/conversions",
            json={"order_id": "o-race", "amount": "59.90", "currency": "EUR"},
            headers=tenant.headers,
        ).status_code

    statuses = run_together(app, threads_count, post)
    assert sorted(statuses) == [200] * (threads_count - 1) + [201], statuses
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReferralConversion)) == 1
        sides = db.session.execute(
            select(ReferralReward.side, func.count()).group_by(ReferralReward.side)
        ).all()
        assert sorted(sides) == [("friend", 1), ("referrer", 1)]
        assert db.session.scalar(select(Referral.status)) == "converted"
    types = event_types(app)
    assert types.count("reward.created") == 2 and types.count("referral.converted") == 1
