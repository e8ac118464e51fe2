"""Stripe events in: signed here the way Stripe signs them, verified in the app by the
`stripe` package, and turned into sign-ups, conversions, refunds and reviews."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, make_url, select

from api.events.models import Event
from api.extensions import db
from api.integrations import stripe_setup
from api.integrations.models import StripeEvent, StripeIntegration
from api.referrals.models import Referral, ReferralConversion, ReferralReward
from tests import factories
from tests.conftest import create_tenant, on_postgres
from tests.db import event_types
from tests.tcp_proxy import TcpProxy
from tests.together import run_together

SECRET = "whsec_test_" + "k3y" * 10
LANDING = "https://shop.example.com/welcome"


def stripe_signature(body: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    return factories.stripe_signature(body, secret, timestamp)


_counter = iter(range(1, 10**6))


def stripe_event(type_: str, obj: dict, event_id: str | None = None, **extra) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_counter)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": type_,
        "data": {"object": obj},
        **extra,
    }


def checkout_session(**fields) -> dict:
    session = {
        "id": f"cs_test_{next(_counter)}",
        "object": "checkout.session",
        "mode": "payment",
        "amount_total": 12000,
        "currency": "usd",
        "payment_status": "paid",
        "customer": None,
        "customer_details": {"email": "friend@example.com"},
        "client_reference_id": None,
        "metadata": {},
        "discounts": [],
        "payment_intent": f"pi_test_{next(_counter)}",
        "invoice": None,
    }
    return session | fields


def paid_invoice(invoice_id: str, **fields) -> dict:
    """An invoice as `invoice.paid` carries it; `fields` change or add to it."""
    invoice = {
        "id": invoice_id,
        "object": "invoice",
        "amount_paid": 12000,
        "currency": "usd",
        "customer_email": "friend@example.com",
    }
    return invoice | fields


class Shop:
    """A workspace selling through Stripe: its program, an advocate, the receiving URL."""

    def __init__(self, app, tenant):
        self.app, self.tenant, self.client = app, tenant, tenant.client
        response = tenant.put(
            "/v1/referral-program",
            json={
                "enabled": True,
                "landing_url": LANDING,
                "referrer_reward": {"kind": "money", "amount": 25, "currency": "USD"},
                "friend_reward": {"kind": "percent_discount", "amount": 20},
                "hold_days": 14,
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        response = tenant.post(
            "/v1/referral-codes",
            json={"contact": {"external_id": "adv-1", "email": "advocate@example.com"}},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        self.code = response.get_json()
        response = tenant.put("/v1/integrations/stripe", json={"signing_secret": SECRET})
        assert response.status_code == 200, response.get_data(as_text=True)
        self.url = response.get_json()["receiving_url"]
        self.path = urlsplit(self.url).path

    def click(self) -> str:
        """Follow the advocate's link like a browser; the landing URL's ffclick value."""
        response = self.client.get(
            f"/r/{self.code['code']}", environ_base={"REMOTE_ADDR": "198.51.100.7"}
        )
        assert response.status_code == 302
        return parse_qs(urlsplit(response.headers["Location"]).query)["ffclick"][0]

    def send(self, event: dict, secret: str = SECRET, timestamp=None, client=None, **headers):
        body = json.dumps(event)
        return (client or self.client).post(
            self.path,
            data=body,
            headers={
                "Stripe-Signature": stripe_signature(body, secret, timestamp),
                "Content-Type": "application/json; charset=utf-8",
                **headers,
            },
        )

    def deliver(self, type_: str, obj: dict, **kwargs) -> dict:
        """Send one event; the row it left in the received list."""
        response = self.send(stripe_event(type_, obj), **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        return self.received()[-1]

    def received(self, **query) -> list[dict]:
        response = self.tenant.get("/v1/integrations/stripe/events", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["data"]

    def referrals(self) -> list[dict]:
        return self.tenant.get("/v1/referrals").get_json()["data"]

    def rewards(self) -> list[dict]:
        return self.tenant.get("/v1/rewards").get_json()["data"]

    def conversions(self) -> list[ReferralConversion]:
        with self.app.app_context():
            found = list(db.session.scalars(select(ReferralConversion)))
            db.session.expunge_all()
            return found

    def event_types(self) -> list[str]:
        return event_types(self.app)


@pytest.fixture
def shop(app, tenant) -> Shop:
    return Shop(app, tenant)


def assert_converted(shop: Shop, row: dict, order_id: str, matched_by: str) -> dict:
    assert row["outcome"] == "matched", (row["reason"], row)
    assert row["action"] == "conversion" and row["matched_by"] == matched_by, row
    assert row["order_id"] == order_id
    (referral,) = shop.referrals()
    assert referral["status"] == "converted" and referral["code_id"] == shop.code["id"]
    assert row["referral_id"] == referral["id"]
    (conversion,) = shop.conversions()
    assert (conversion.order_id, str(conversion.amount), conversion.currency) == (
        order_id,
        "120.00",
        "USD",
    )
    assert sorted(reward["side"] for reward in shop.rewards()) == ["friend", "referrer"]
    return referral


# --- the connection -------------------------------------------------------------------------


def test_the_secret_is_stored_sealed_and_never_shown(app, tenant, caplog):
    before = tenant.get("/v1/integrations/stripe")
    assert before.status_code == 200
    assert before.get_json()["receiving_url"] is None, "a look changes nothing"
    connected = tenant.post("/v1/integrations/stripe")
    assert connected.status_code == 201
    assert connected.get_json()["signing_secret_set"] is False
    url = connected.get_json()["receiving_url"]
    assert url.startswith("http://127.0.0.1:8000/integrations/stripe/")
    again = tenant.post("/v1/integrations/stripe")
    assert (again.status_code, again.get_json()["receiving_url"]) == (200, url)

    response = tenant.put("/v1/integrations/stripe", json={"signing_secret": SECRET})
    assert response.status_code == 200
    body = response.get_json()
    assert body["receiving_url"] == url, "Stripe keeps the URL it was given"
    assert body["signing_secret_set"] is True
    assert "checkout.session.completed" in body["handled_event_types"]
    assert SECRET not in response.get_data(as_text=True)
    assert SECRET not in tenant.get("/v1/integrations/stripe").get_data(as_text=True)
    assert SECRET not in caplog.text
    token = url.rsplit("/", 1)[1]
    with app.app_context():
        row = db.session.get(StripeIntegration, tenant.id)
        stored = " ".join(str(getattr(row, c.key)) for c in StripeIntegration.__table__.c)
        assert SECRET not in stored and token not in stored
        assert stripe_setup.signing_secret(row) == SECRET


def test_the_secret_must_look_like_a_stripe_signing_secret(tenant):
    for bad in ("", "sk_live_123", "whsec_", "whsec_ab cd ef gh"):
        response = tenant.put("/v1/integrations/stripe", json={"signing_secret": bad})
        assert response.status_code == 422, bad
        assert "signing_secret" in response.get_json()["error"]["fields"]


def test_receiving_urls_are_per_workspace_and_unguessable(shop, make_tenant, client):
    other = make_tenant("Other")
    other_url = other.post("/v1/integrations/stripe").get_json()["receiving_url"]
    assert other_url != shop.url
    token = shop.url.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 random bits
    event = json.dumps(stripe_event("checkout.session.completed", checkout_session()))
    signature = stripe_signature(event)
    for path in (stripe_setup.ROUTE + token[:-1] + "x", stripe_setup.ROUTE + "x"):
        response = client.post(path, data=event, headers={"Stripe-Signature": signature})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    # The other workspace's URL holds no secret yet: nothing is processed there.
    response = client.post(
        urlsplit(other_url).path, data=event, headers={"Stripe-Signature": signature}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "signing_secret_missing"


def test_disconnecting_forgets_the_url(shop):
    assert shop.tenant.delete("/v1/integrations/stripe").status_code == 204
    response = shop.send(stripe_event("checkout.session.completed", checkout_session()))
    assert response.status_code == 404
    gone = shop.tenant.get("/v1/integrations/stripe").get_json()
    assert (gone["receiving_url"], gone["signing_secret_set"]) == (None, False)
    fresh = shop.tenant.post("/v1/integrations/stripe").get_json()
    assert fresh["receiving_url"] != shop.url and fresh["signing_secret_set"] is False


def test_the_secret_survives_a_secret_key_rotation(app_factory, tenant, app):
    tenant.put("/v1/integrations/stripe", json={"signing_secret": SECRET})
    old_key = app.config["SECRET_KEY"]
    rotated = app_factory(SECRET_KEY="a-new-secret-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[old_key])
    with rotated.app_context():
        row = db.session.get(StripeIntegration, tenant.id)
        sealed_before = row.sealed_signing_secret
        assert stripe_setup.signing_secret(row) == SECRET
        assert row.sealed_signing_secret != sealed_before, "resealed with the newest key"
        db.session.commit()
    retired = app_factory(SECRET_KEY="a-new-secret-key-" + "x" * 40)
    with retired.app_context():
        assert stripe_setup.signing_secret(db.session.get(StripeIntegration, tenant.id)) == SECRET


# --- verification ----------------------------------------------------------------------------


def test_a_wrong_secret_a_stale_timestamp_or_no_signature_is_400(shop):
    event = stripe_event("checkout.session.completed", checkout_session())
    wrong = shop.send(event, secret="whsec_someone_elses_secret")
    stale = shop.send(event, timestamp=int(time.time()) - 301)
    body = json.dumps(event)
    unsigned = shop.client.post(shop.path, data=body, headers={"Content-Type": "application/json"})
    tampered = shop.client.post(
        shop.path,
        data=body.replace("12000", "99000"),
        headers={"Stripe-Signature": stripe_signature(body)},
    )
    for response in (wrong, stale, unsigned, tampered):
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "invalid_signature"
        assert response.get_json()["error"]["request_id"]
    assert shop.received() == [] and shop.referrals() == []
    # Inside the tolerance (Stripe's default, 300 s) the same event is fine.
    assert shop.send(event, timestamp=int(time.time()) - 290).status_code == 200


def test_any_content_type_is_verified_on_the_raw_bytes(shop):
    body = json.dumps(stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    body = body.replace(", ", ",  ")  # spacing a re-serialised body would lose
    for content_type in ("application/json", "text/plain", None):
        headers = {"Stripe-Signature": stripe_signature(body)}
        if content_type:
            headers["Content-Type"] = content_type
        response = shop.client.post(shop.path, data=body.encode(), headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)


def test_a_signed_body_that_is_not_an_event_is_400(shop):
    body = json.dumps({"hello": "world"})
    response = shop.client.post(
        shop.path, data=body, headers={"Stripe-Signature": stripe_signature(body)}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_event"


# --- matching rules, in order ------------------------------------------------------------------


def test_client_reference_id_with_the_ffclick_signs_up_and_converts(shop):
    session = checkout_session(client_reference_id=shop.click())
    row = shop.deliver("checkout.session.completed", session)
    referral = assert_converted(shop, row, session["id"], "client_reference_id")
    assert referral["source"] == "click"
    assert referral["referred_external_id"] == "friend@example.com"  # a guest checkout
    rewards = shop.rewards()
    assert all(reward["status"] == "pending" for reward in rewards)
    referrer = next(reward for reward in rewards if reward["side"] == "referrer")
    assert (referrer["amount"], referrer["currency"]) == ("25.00", "USD")
    types = shop.event_types()
    assert types.index("referral.created") < types.index("referral.converted")
    assert types.count("reward.created") == 2


def test_client_reference_id_with_a_referral_id(shop):
    response = shop.tenant.post(
        "/v1/referrals",
        json={"code": shop.code["code"], "customer": {"external_id": "app-user-9"}},
    )
    assert response.status_code == 201
    referral = response.get_json()
    session = checkout_session(client_reference_id=referral["id"], customer_details={})
    row = shop.deliver("checkout.session.completed", session)
    assert assert_converted(shop, row, session["id"], "client_reference_id")["id"] == referral["id"]


def test_metadata_ffclick(shop):
    session = checkout_session(metadata={"ffclick": shop.click()}, customer="cus_meta")
    row = shop.deliver("checkout.session.completed", session)
    referral = assert_converted(shop, row, session["id"], "metadata.ffclick")
    assert referral["referred_external_id"] == "cus_meta"  # keyed by Stripe's customer id


def test_metadata_referral_code_in_any_case(shop):
    session = checkout_session(metadata={"referral_code": shop.code["code"].lower()})
    row = shop.deliver("checkout.session.completed", session)
    assert assert_converted(shop, row, session["id"], "metadata.referral_code")["source"] == "code"


def test_a_promotion_code_equal_to_a_referral_code(shop):
    # Stripe names the code by its id in a session; its text came in promotion_code.created.
    promo = {"id": "promo_test_1", "object": "promotion_code", "code": shop.code["code"]}
    assert shop.deliver("promotion_code.created", promo)["outcome"] == "recorded"
    session = checkout_session(discounts=[{"coupon": None, "promotion_code": "promo_test_1"}])
    row = shop.deliver("checkout.session.completed", session)
    assert_converted(shop, row, session["id"], "promotion_code")


def test_an_expanded_promotion_code(shop):
    discounts = [{"promotion_code": {"id": "promo_x", "code": shop.code["code"]}}]
    session = checkout_session(discounts=discounts)
    row = shop.deliver("checkout.session.completed", session)
    assert_converted(shop, row, session["id"], "promotion_code")


def test_the_customers_email_matching_a_signed_up_referral(shop):
    response = shop.tenant.post(
        "/v1/referrals",
        json={
            "click_id": shop.click(),
            "customer": {"external_id": "app-user-1", "email": "Friend@Example.com"},
        },
    )
    assert response.status_code == 201
    # Stripe's copy of the address, in its own case and spacing: one address all the same.
    invoice = paid_invoice(
        "in_test_renewal",
        customer="cus_never_seen",
        payment_intent="pi_renewal",
        customer_email=" FRIEND@example.COM ",
    )
    row = shop.deliver("invoice.paid", invoice)
    assert_converted(shop, row, "in_test_renewal", "email")


def test_rules_are_tried_in_order_past_one_that_does_not_attribute(shop):
    forged = shop.click()[:-4] + "AAAA"
    session = checkout_session(
        client_reference_id=forged, metadata={"referral_code": shop.code["code"]}
    )
    row = shop.deliver("checkout.session.completed", session)
    assert_converted(shop, row, session["id"], "metadata.referral_code")


def test_a_later_purchase_of_the_same_customer_is_a_second_conversion(shop):
    first = checkout_session(client_reference_id=shop.click(), customer="cus_42")
    shop.deliver("checkout.session.completed", first)
    renewal = paid_invoice(
        "in_second",
        amount_paid=5000,
        customer="cus_42",
        customer_email="changed-address@example.com",
    )
    row = shop.deliver("invoice.paid", renewal)
    assert (row["outcome"], row["matched_by"]) == ("matched", "customer")
    assert sorted(c.order_id for c in shop.conversions()) == sorted([first["id"], "in_second"])
    assert len(shop.rewards()) == 2, "rewards once per referral and side"


def test_a_subscriptions_first_payment_is_one_order(shop):
    session = checkout_session(
        mode="subscription", client_reference_id=shop.click(), invoice="in_first", customer="cus_s"
    )
    shop.deliver("checkout.session.completed", session)
    invoice = paid_invoice("in_first", customer="cus_s")
    row = shop.deliver("invoice.paid", invoice)
    assert row["order_id"] == "in_first" and row["outcome"] == "matched"
    assert [c.order_id for c in shop.conversions()] == ["in_first"]


def test_a_trial_signs_up_and_its_first_invoice_converts(shop):
    trial = checkout_session(
        mode="subscription",
        amount_total=0,
        payment_status="no_payment_required",
        client_reference_id=shop.click(),
        customer="cus_trial",
        invoice="in_trial_0",
    )
    row = shop.deliver("checkout.session.completed", trial)
    assert (row["outcome"], row["action"]) == ("matched", "signup")
    assert shop.referrals()[0]["status"] == "signed_up" and shop.conversions() == []
    invoice = {"id": "in_after_trial", "object": "invoice", "amount_paid": 12000}
    invoice |= {"currency": "usd", "customer": "cus_trial"}
    row = shop.deliver("invoice.paid", invoice)
    assert_converted(shop, row, "in_after_trial", "customer")


def test_a_delayed_payment_converts_when_it_succeeds(shop):
    session = checkout_session(client_reference_id=shop.click(), payment_status="unpaid")
    row = shop.deliver("checkout.session.completed", session)
    assert (row["outcome"], row["reason"]) == ("ignored", "payment_pending")
    assert shop.referrals() == []
    row = shop.deliver(
        "checkout.session.async_payment_succeeded", session | {"payment_status": "paid"}
    )
    assert_converted(shop, row, session["id"], "client_reference_id")


def test_zero_decimal_currencies(shop):
    session = checkout_session(client_reference_id=shop.click(), amount_total=1500, currency="jpy")
    shop.deliver("checkout.session.completed", session)
    (conversion,) = shop.conversions()
    assert (str(conversion.amount), conversion.currency) == ("1500.00", "JPY")


def test_a_self_referral_is_kept_rejected_and_unmatched(shop):
    session = checkout_session(
        client_reference_id=shop.click(), customer_details={"email": "advocate@example.com"}
    )
    row = shop.deliver("checkout.session.completed", session)
    assert (row["outcome"], row["reason"]) == ("unmatched", "referral_rejected")
    (referral,) = shop.referrals()
    assert (referral["status"], referral["reason"]) == ("rejected", "self_referral")
    assert row["referral_id"] == referral["id"]
    assert shop.conversions() == [] and shop.rewards() == []


# --- refunds and disputes -----------------------------------------------------------------------


def converted(shop: Shop, **session_fields) -> dict:
    session = checkout_session(client_reference_id=shop.click(), **session_fields)
    shop.deliver("checkout.session.completed", session)
    return session


def charge(session: dict, **fields) -> dict:
    return {
        "id": f"ch_test_{next(_counter)}",
        "object": "charge",
        "amount": 12000,
        "amount_refunded": 12000,
        "refunded": True,
        "currency": "usd",
        "payment_intent": session["payment_intent"],
        "invoice": None,
    } | fields


def test_a_refund_voids_pending_rewards_and_claws_back_paid_ones(shop):
    session = converted(shop)
    referrer = next(r for r in shop.rewards() if r["side"] == "referrer")
    assert shop.tenant.post(f"/v1/rewards/{referrer['id']}/approve").status_code == 200
    paid = shop.tenant.post(f"/v1/rewards/{referrer['id']}/paid", json={"reference": "payout-1"})
    assert paid.status_code == 200

    row = shop.deliver("charge.refunded", charge(session))
    assert (row["outcome"], row["action"], row["order_id"]) == ("matched", "refund", session["id"])
    rewards = {reward["side"]: reward for reward in shop.rewards()}
    assert rewards["friend"]["status"] == "void"
    assert rewards["referrer"]["status"] == "paid" and rewards["referrer"]["clawback_at"]
    (conversion,) = shop.conversions()
    assert conversion.refunded_at is not None
    types = shop.event_types()
    assert {"referral.refunded", "reward.voided", "reward.clawed_back"} <= set(types)


def test_a_partial_refund_is_a_refund_of_the_order(shop):
    session = converted(shop)
    row = shop.deliver("charge.refunded", charge(session, amount_refunded=2000, refunded=False))
    assert (row["action"], row["amount"]) == ("refund", "20.00")
    assert {reward["status"] for reward in shop.rewards()} == {"void"}


def test_a_refund_of_an_invoice_payment(shop):
    session = converted(shop, mode="subscription", invoice="in_sub_1", payment_intent=None)
    row = shop.deliver(
        "charge.refunded", charge(session, payment_intent="pi_x", invoice="in_sub_1")
    )
    assert (row["outcome"], row["order_id"]) == ("matched", "in_sub_1")


def test_a_refund_named_by_an_invoice_payment_record(shop):
    # Since the 2025-03-31 API a charge does not name its invoice; invoice_payment.paid does.
    session = converted(shop, mode="subscription", invoice="in_sub_2", payment_intent=None)
    payment = {
        "id": "inpay_1",
        "object": "invoice_payment",
        "invoice": "in_sub_2",
        "payment": {"type": "payment_intent", "payment_intent": "pi_sub_2"},
    }
    assert shop.deliver("invoice_payment.paid", payment)["outcome"] == "recorded"
    row = shop.deliver("charge.refunded", charge(session, payment_intent="pi_sub_2"))
    assert (row["outcome"], row["order_id"]) == ("matched", "in_sub_2")


def test_a_dispute_flags_the_referral_for_review(shop):
    session = converted(shop)
    dispute = {
        "id": "dp_test_1",
        "object": "dispute",
        "amount": 12000,
        "currency": "usd",
        "charge": "ch_unknown_here",
        "payment_intent": session["payment_intent"],
        "reason": "fraudulent",
    }
    row = shop.deliver("charge.dispute.created", dispute)
    assert (row["outcome"], row["action"]) == ("matched", "flagged")
    (referral,) = shop.referrals()
    assert referral["status"] == "flagged" and "payment_dispute" in referral["flags"]
    with shop.app.app_context():
        assert set(db.session.scalars(select(ReferralReward.held))) == {True}
    assert "referral.flagged" in shop.event_types()
    # The review decides: approving restores the conversion and releases the rewards.
    review = shop.tenant.post(
        f"/v1/referrals/{referral['id']}/review", json={"decision": "approve"}
    )
    assert review.status_code == 200 and review.get_json()["status"] == "converted"


# --- what matches nothing -------------------------------------------------------------------------


def test_an_unknown_type_is_200_and_recorded_as_ignored(shop):
    row = shop.deliver("customer.subscription.updated", {"id": "sub_1", "object": "subscription"})
    assert (row["type"], row["outcome"], row["reason"]) == (
        "customer.subscription.updated",
        "ignored",
        "unhandled_type",
    )
    assert row["object_id"] == "sub_1"


def test_an_unmatched_purchase_is_200_recorded_and_announced(shop):
    session = checkout_session(customer_details={"email": "stranger@example.com"})
    row = shop.deliver("checkout.session.completed", session)
    assert (row["outcome"], row["reason"], row["order_id"]) == (
        "unmatched",
        "no_referral",
        session["id"],
    )
    assert (row["amount"], row["currency"]) == ("120.00", "USD")
    assert shop.referrals() == [] and shop.conversions() == []
    assert "stripe_event.unmatched" not in shop.event_types(), "an ordinary sale is no news"
    refund = shop.deliver("charge.refunded", charge(session))
    assert (refund["outcome"], refund["reason"]) == ("unmatched", "no_conversion")
    assert [r["outcome"] for r in shop.received(outcome="unmatched")] == ["unmatched"] * 2
    assert shop.received(type="charge.refunded") == [refund]


def test_a_purchase_naming_a_referrer_that_does_not_attribute_is_announced(shop):
    forged = shop.click()[:-4] + "AAAA"
    session = checkout_session(client_reference_id=forged, metadata={"referral_code": "NOPE42"})
    row = shop.deliver("checkout.session.completed", session)
    assert (row["outcome"], row["reason"]) == ("unmatched", "no_attribution")
    assert shop.referrals() == []
    with shop.app.app_context():
        (event,) = db.session.scalars(select(Event).where(Event.type == "stripe_event.unmatched"))
        assert event.subject_id == row["id"]
        assert event.data == {
            "event_id": row["event_id"],
            "type": "checkout.session.completed",
            "reason": "no_attribution",
        }


def test_a_free_checkout_naming_no_referrer_is_ignored(shop):
    session = checkout_session(amount_total=0, payment_status="no_payment_required")
    row = shop.deliver("checkout.session.completed", session)
    assert (row["outcome"], row["reason"]) == ("ignored", "no_payment")


def test_a_disabled_program_leaves_the_purchase_unmatched(shop):
    shop.tenant.put("/v1/referral-program", json={"enabled": False})
    session = checkout_session(metadata={"referral_code": shop.code["code"]})
    row = shop.deliver("checkout.session.completed", session)
    assert (row["outcome"], row["reason"]) == ("unmatched", "program_disabled")


# --- once per event ---------------------------------------------------------------------------


def test_an_event_sent_twice_is_processed_once(shop):
    event = stripe_event(
        "checkout.session.completed", checkout_session(client_reference_id=shop.click())
    )
    first, second = shop.send(event), shop.send(event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.get_json()["duplicate"], second.get_json()["duplicate"]) == (False, True)
    (row,) = shop.received()
    assert row["deliveries"] == 2 and row["outcome"] == "matched"
    assert len(shop.conversions()) == 1 and len(shop.rewards()) == 2


def test_the_same_event_at_the_same_moment_gives_one_conversion(app, shop):
    event = stripe_event(
        "checkout.session.completed", checkout_session(client_reference_id=shop.click())
    )
    count = 8
    answers = run_together(app, count, lambda client, _i: shop.send(event, client=client))
    assert [a.status_code for a in answers] == [200] * count, [a.get_data() for a in answers]
    assert sorted(a.get_json()["duplicate"] for a in answers) == [False] + [True] * (count - 1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReferralConversion)) == 1
        assert db.session.scalar(select(func.count()).select_from(Referral)) == 1
        assert db.session.scalar(select(func.count()).select_from(ReferralReward)) == 2
        assert db.session.scalar(select(StripeEvent.deliveries)) == count
    assert shop.event_types().count("referral.converted") == 1


def test_the_receiving_route_is_rate_limited(app_factory):
    app = app_factory(RATELIMIT_STRIPE="2 per minute")
    shop = Shop(app, create_tenant(app))
    statuses = [shop.send(stripe_event("ping", {"id": "x"})).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = shop.send(stripe_event("ping", {"id": "x"}))
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1


# --- a database that does not answer ------------------------------------------------------------


def test_a_database_that_cannot_be_opened_answers_stripe_503(tmp_path):
    from tests.conftest import make_app

    broken = make_app(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite")
    body = json.dumps(stripe_event("checkout.session.completed", checkout_session()))
    response = broken.test_client().post(
        stripe_setup.ROUTE + "x" * 43,
        data=body,
        headers={"Stripe-Signature": stripe_signature(body)},
    )
    assert response.status_code == 503, "Stripe retries a 503 later"
    assert response.get_json()["error"]["code"] == "unavailable"


@on_postgres
def test_postgresql_down_then_back_the_event_is_processed_once(database_uri, app_factory):
    url = make_url(database_uri)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        app = app_factory(
            SQLALCHEMY_DATABASE_URI=url.set(host="127.0.0.1", port=proxy.port).render_as_string(
                hide_password=False
            ),
            DATABASE_CONNECT_TIMEOUT_SECONDS=2,
        )
        shop = Shop(app, create_tenant(app))
        event = stripe_event(
            "checkout.session.completed", checkout_session(client_reference_id=shop.click())
        )
        proxy.down()
        response = shop.send(event)
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "unavailable"
        proxy.forward()
        retried = shop.send(event)  # Stripe's retry: nothing of the first attempt was kept
        assert retried.status_code == 200 and retried.get_json()["duplicate"] is False
        assert [row["deliveries"] for row in shop.received()] == [1]
        assert len(shop.conversions()) == 1
    finally:
        proxy.forward()
        proxy.close()


def test_the_catalogue_shows_the_fields_our_events_carry(shop):
    from tests.test_event_catalogue import catalogue

    session = converted(shop)
    dispute = {"id": "dp_2", "object": "dispute", "payment_intent": session["payment_intent"]}
    shop.deliver("charge.dispute.created", dispute)
    unknown_code = checkout_session(
        metadata={"referral_code": "X"}, customer_details={"email": "other@example.com"}
    )
    shop.deliver("checkout.session.completed", unknown_code)
    examples = catalogue()
    with shop.app.app_context():
        for type_ in ("referral.flagged", "stripe_event.unmatched"):
            data = db.session.scalar(select(Event.data).where(Event.type == type_))
            assert set(examples[type_]["data"]) == {"id", *data}, type_
