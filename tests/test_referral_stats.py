"""Advocate stats, the leaderboard, the program funnel and reward totals."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from api.database import utcnow
from tests.factories import click as make_click

LANDING = "https://shop.example.com/welcome"


@pytest.fixture
def activity(app, client, tenant):
    """A: 3 clicks, 2 sign-ups, 1 purchase; B: 1 click, 1 sign-up, 1 rejected; C: nothing."""
    tenant.put(
        "/v1/referral-program",
        json={
            "enabled": True,
            "landing_url": LANDING,
            "referrer_reward": {"kind": "money", "amount": 20, "currency": "EUR"},
        },
    )
    codes = {
        name: tenant.post(
            "/v1/referral-codes", json={"contact": {"external_id": name, "first_name": name}}
        ).get_json()
        for name in ("A", "B", "C")
    }

    def click(name):
        location = client.get(f"/r/{codes[name]['code']}").headers["Location"]
        return parse_qs(urlsplit(location).query)["ffclick"][0]

    a1, a2, _a3, b1 = click("A"), click("A"), click("A"), click("B")
    for friend, token in (("fa1", a1), ("fa2", a2), ("fb1", b1)):
        response = tenant.post(
            "/v1/referrals", json={"click_id": token, "customer": {"external_id": friend}}
        )
        assert response.status_code == 201
    # B's self-referral: rejected, so not a sign-up.
    rejected = tenant.post(
        "/v1/referrals", json={"code": codes["B"]["code"], "customer": {"external_id": "B"}}
    )
    assert rejected.status_code == 422
    referral = tenant.get(f"/v1/referrals?code_id={codes['A']['id']}").get_json()["data"][0]
    tenant.post(
        f"/v1/referrals/{referral['id']}/conversions",
        json={"order_id": "o-1", "amount": "59.90", "currency": "EUR"},
    )
    # An old click of C's, outside 30 days.
    make_click(app, codes["C"]["code"], utcnow() - timedelta(days=40))
    return codes


def test_leaderboard(tenant, activity):
    board = tenant.get("/v1/leaderboard?period=30d").get_json()
    assert board["period"] == "30d"
    rows = [
        (e["rank"], e["code"], e["clicks"], e["signups"], e["conversions"]) for e in board["data"]
    ]
    assert rows == [
        (1, activity["A"]["code"], 3, 2, 1),
        (2, activity["B"]["code"], 1, 1, 0),
    ]
    assert board["data"][0]["revenue"] == {"EUR": "59.90"}
    assert board["data"][0]["contact_external_id"] == "A"
    assert board["data"][0]["first_name"] == "A"
    everything = tenant.get("/v1/leaderboard?period=all").get_json()["data"]
    assert [e["code"] for e in everything] == [activity[n]["code"] for n in ("A", "B", "C")]
    assert len(tenant.get("/v1/leaderboard?period=all&limit=1").get_json()["data"]) == 1
    assert tenant.get("/v1/leaderboard?period=century").status_code == 422


def test_code_stats(tenant, activity):
    body = tenant.get(f"/v1/referral-codes/{activity['A']['code']}/stats?period=all").get_json()
    assert (body["clicks"], body["signups"], body["conversions"]) == (3, 2, 1)
    assert body["revenue"] == {"EUR": "59.90"}
    assert body["rewards"] == [
        {
            "kind": "money",
            "currency": "EUR",
            "count": 1,
            "pending": "20.00",
            "approved": "0.00",
            "paid": "0.00",
        }
    ]
    recent = tenant.get(f"/v1/referral-codes/{activity['C']['id']}/stats").get_json()
    assert recent["clicks"] == 0
    assert (
        tenant.get(f"/v1/referral-codes/{activity['C']['id']}/stats?period=90d").get_json()[
            "clicks"
        ]
        == 1
    )


def test_funnel_and_viral_coefficient(tenant, activity):
    body = tenant.get("/v1/referral-program/funnel?period=30d").get_json()
    assert body == {
        "period": "30d",
        "advocates": 3,
        "clicks": 4,
        "signups": 3,
        "conversions": 1,
        "viral_coefficient": 0.3333,
    }


def test_reward_totals_per_advocate(tenant, activity):
    data = tenant.get("/v1/rewards/totals").get_json()["data"]
    assert [(d["contact_external_id"], d["totals"][0]["pending"]) for d in data] == [("A", "20.00")]
    contact_id = activity["B"]["contact_id"]
    assert tenant.get(f"/v1/rewards/totals?contact_id={contact_id}").get_json()["data"] == []


def test_stats_are_per_workspace(tenant, make_tenant, activity):
    other = make_tenant("Other")
    assert other.get("/v1/leaderboard?period=all").get_json()["data"] == []
    assert other.get("/v1/rewards/totals").get_json()["data"] == []
    assert other.get(f"/v1/referral-codes/{activity['A']['id']}/stats").status_code == 404
    funnel = other.get("/v1/referral-program/funnel").get_json()
    assert (funnel["advocates"], funnel["clicks"], funnel["viral_coefficient"]) == (0, 0, 0.0)
