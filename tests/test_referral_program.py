"""Referral program settings: defaults, validation, replace semantics, isolation."""

import pytest

PROGRAM = {
    "enabled": True,
    "landing_url": "https://shop.example.com/welcome?src=ref",
    "attribution_window_days": 45,
    "attribution_model": "first_click",
    "qualification_window_days": 60,
    "referrer_reward": {"kind": "money", "amount": 20, "currency": "eur"},
    "friend_reward": {"kind": "percent_discount", "amount": "15"},
    "reward_event": "purchase",
    "min_purchase_amount": "49.90",
    "min_purchase_currency": "EUR",
    "hold_days": 30,
    "cap_per_referrer": 10,
    "cap_period_days": 30,
    "allow_paid_traffic": False,
}


def test_defaults_before_anything_is_saved(tenant):
    response = tenant.get("/v1/referral-program")
    assert response.status_code == 200
    body = response.get_json()
    assert body["enabled"] is False
    assert body["landing_url"] is None
    assert body["attribution_window_days"] == 30
    assert body["attribution_model"] == "last_click"
    assert body["hold_days"] == 14
    assert body["reward_event"] == "purchase"
    assert body["allow_paid_traffic"] is True
    assert body["referrer_reward"] is None and body["friend_reward"] is None


def test_put_saves_and_normalises(tenant):
    response = tenant.put("/v1/referral-program", json=PROGRAM)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["referrer_reward"] == {"kind": "money", "amount": "20.00", "currency": "EUR"}
    assert body["friend_reward"] == {
        "kind": "percent_discount",
        "amount": "15.00",
        "currency": None,
    }
    assert body["min_purchase_amount"] == "49.90"
    assert body["attribution_model"] == "first_click"
    assert tenant.get("/v1/referral-program").get_json() == body


def test_put_replaces_fields_left_out_take_defaults(tenant):
    tenant.put("/v1/referral-program", json=PROGRAM)
    body = tenant.put(
        "/v1/referral-program", json={"landing_url": "http://localhost:3000/"}
    ).get_json()
    assert body["enabled"] is False
    assert body["landing_url"] == "http://localhost:3000/"
    assert body["attribution_window_days"] == 30
    assert body["referrer_reward"] is None
    assert body["cap_per_referrer"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": True}, "landing_url"),
        ({"enabled": True, "landing_url": None}, "landing_url"),
        ({"landing_url": "ftp://example.com/"}, "landing_url"),
        ({"landing_url": "javascript:alert(1)"}, "landing_url"),
        ({"attribution_window_days": 0}, "attribution_window_days"),
        ({"attribution_model": "linear"}, "attribution_model"),
        ({"referrer_reward": {"kind": "money", "amount": 5}}, "referrer_reward"),
        ({"referrer_reward": {"kind": "money", "amount": 5, "currency": "XYZ"}}, "referrer_reward"),
        (
            {"referrer_reward": {"kind": "points", "amount": 5, "currency": "USD"}},
            "referrer_reward",
        ),
        ({"referrer_reward": {"kind": "money", "amount": 0, "currency": "USD"}}, "referrer_reward"),
        ({"friend_reward": {"kind": "percent_discount", "amount": 101}}, "friend_reward"),
        ({"friend_reward": {"kind": "cash", "amount": 1}}, "friend_reward"),
        ({"reward_event": "click"}, "reward_event"),
        ({"hold_days": -1}, "hold_days"),
        ({"cap_per_referrer": 5}, "cap_period_days"),
        ({"min_purchase_amount": 10}, "min_purchase_currency"),
    ],
)
def test_validation(tenant, body, field):
    response = tenant.put("/v1/referral-program", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


def test_every_reward_kind_is_accepted(tenant):
    for kind in ("credits", "free_months", "points", "percent_discount"):
        body = {"referrer_reward": {"kind": kind, "amount": 3}}
        assert tenant.put("/v1/referral-program", json=body).status_code == 200


def test_programs_are_per_workspace(tenant, make_tenant):
    other = make_tenant("Other")
    tenant.put("/v1/referral-program", json=PROGRAM)
    assert other.get("/v1/referral-program").get_json()["enabled"] is False


def test_needs_a_secret_key(client):
    assert client.get("/v1/referral-program").status_code == 401
