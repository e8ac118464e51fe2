"""Deliveries against a real receiver with the worker's clock in the test's hands:
the retry schedule, Retry-After, 410, five days of failures, the log, retry, recover."""

import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.webhooks import deliveries
from api.webhooks.models import WebhookDelivery
from tests.factories import seed, submit
from tests.feed import wait_until_readable
from tests.receiver import Receiver
from tests.webhooks import LOCAL, deliver, make_endpoint

SCHEDULE = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]


@pytest.fixture
def app(app_factory):
    return app_factory(**LOCAL)


def answering(receiver, *answers):
    """The receiver answers these in turn, then the last one for ever."""
    queue = list(answers)

    def answer(received):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    receiver.answer = answer


def one_delivery(app) -> WebhookDelivery:
    with app.app_context():
        (delivery,) = db.session.scalars(select(WebhookDelivery)).all()
        db.session.expunge(delivery)
        return delivery


def invite(app, tenant) -> None:
    seed(app, tenant.id)  # one invitation.created event


def test_the_delay_follows_the_schedule_with_jitter():
    rng = random.Random(7)
    for made, scheduled in enumerate(SCHEDULE[1:], start=1):
        for _ in range(50):
            wait = deliveries.delay(SCHEDULE, made, rng)
            assert 0.8 * scheduled <= wait <= 1.2 * scheduled
    assert deliveries.delay(SCHEDULE, len(SCHEDULE), rng) is None
    # Retry-After counts, between the scheduled delay and twice it.
    assert deliveries.delay([0, 300], 1, rng, retry_after=10) >= 240
    assert deliveries.delay([0, 300], 1, rng, retry_after=100000) <= 720
    assert deliveries.delay([0, 300], 1, rng, retry_after=400) == 400


def test_a_failing_receiver_is_retried_on_the_schedule_then_given_up(app, tenant, receiver):
    answering(receiver, (500, {}, b"down"))
    endpoint = make_endpoint(tenant, receiver.url)
    invite(app, tenant)
    now = utcnow()
    deliver(app, now)
    times = [now]
    for attempt in range(1, len(SCHEDULE)):
        delivery = one_delivery(app)
        assert (delivery.status, delivery.attempts) == ("pending", attempt)
        waited = (delivery.next_attempt_at - times[-1]).total_seconds()
        assert 0.8 * SCHEDULE[attempt] <= waited <= 1.2 * SCHEDULE[attempt], (attempt, waited)
        # Not a moment early:
        assert deliver(app, delivery.next_attempt_at - timedelta(milliseconds=1)).attempts == 0
        times.append(delivery.next_attempt_at)
        assert deliver(app, delivery.next_attempt_at).attempts == 1
    delivery = one_delivery(app)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 8, 500)
    assert len(receiver.received) == 8
    span = (times[-1] - times[0]).total_seconds() / 3600
    assert 21 < span < 33  # about 27 hours
    log = tenant.get(f"/v1/webhook-deliveries/{delivery.id}").get_json()["attempt_log"]
    assert [(a["status_code"], a["error"], a["response_body"]) for a in log] == [
        (500, "http_status", "down")
    ] * 8
    wait_until_readable(app)
    (exhausted,) = tenant.get("/v1/events?type=webhook_delivery.exhausted").get_json()["data"]
    assert exhausted["subject_id"] == delivery.id
    assert exhausted["data"]["endpoint_id"] == endpoint["id"]
    assert exhausted["data"]["attempts"] == 8


def test_retry_after_is_honoured_between_the_delay_and_twice_it(app, tenant, receiver):
    answering(
        receiver,
        (503, {"Retry-After": "7"}, b""),  # after attempt 1: scheduled 4-6 s, asks 7
        (429, {"Retry-After": "100000"}, b""),  # scheduled 240-360 s: at most twice it
        (503, {"Retry-After": "1"}, b""),  # scheduled 1440-2160 s: at least that
        (200, {}, b""),
    )
    make_endpoint(tenant, receiver.url)
    invite(app, tenant)
    now = utcnow()
    deliver(app, now)
    first = one_delivery(app)
    assert first.next_attempt_at - now == timedelta(seconds=7)
    deliver(app, first.next_attempt_at)
    second = one_delivery(app)
    waited = (second.next_attempt_at - first.next_attempt_at).total_seconds()
    assert 480 <= waited <= 720
    deliver(app, second.next_attempt_at)
    third = one_delivery(app)
    waited = (third.next_attempt_at - second.next_attempt_at).total_seconds()
    assert 1440 <= waited <= 2160
    deliver(app, third.next_attempt_at)
    assert one_delivery(app).status == "succeeded"


def test_an_http_date_retry_after(app, tenant, receiver):
    when = utcnow() + timedelta(seconds=8)
    answering(receiver, (503, {"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")}, b""))
    make_endpoint(tenant, receiver.url)
    invite(app, tenant)
    now = utcnow()
    deliver(app, now)
    waited = (one_delivery(app).next_attempt_at - now).total_seconds()
    assert 6 <= waited <= 10


def test_410_disables_the_endpoint_at_once(app, tenant, receiver):
    answering(receiver, (410, {}, b"gone"))
    watcher = Receiver()
    try:
        endpoint = make_endpoint(tenant, receiver.url, event_types=["invitation.created"])
        make_endpoint(tenant, watcher.url, event_types=["webhook_endpoint.*"])
        invite(app, tenant)
        deliver(app)
        shown = tenant.get(f"/v1/webhook-endpoints/{endpoint['id']}").get_json()
        assert (shown["enabled"], shown["disabled_reason"]) == (False, "gone")
        assert one_delivery_of(app, endpoint["id"]).status == "failed"
        invite(app, tenant)
        deliver(app)  # the disabled endpoint gets nothing more; the watcher hears of it
        assert len(receiver.received) == 1
        (told,) = watcher.received
        assert json.loads(told.body)["type"] == "webhook_endpoint.disabled"
        assert json.loads(told.body)["data"]["reason"] == "gone"
    finally:
        watcher.close()


def one_delivery_of(app, endpoint_id):
    with app.app_context():
        delivery = db.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        )
        db.session.expunge(delivery)
        return delivery


def test_five_days_of_failures_disable_the_endpoint(app, tenant, receiver):
    answering(receiver, (500, {}, b""))
    endpoint = make_endpoint(tenant, receiver.url)
    start = utcnow()
    for day in range(6):
        invite(app, tenant)
        deliver(app, start + timedelta(days=day))
        shown = tenant.get(f"/v1/webhook-endpoints/{endpoint['id']}").get_json()
        if day < 5:
            assert shown["enabled"], day
    assert (shown["enabled"], shown["disabled_reason"]) == (False, "failing")
    with app.app_context():
        statuses = set(db.session.scalars(select(WebhookDelivery.status)))
    assert statuses == {"failed"}  # the ones still waiting failed with it, to be recovered
    wait_until_readable(app)
    feed = tenant.get("/v1/events?type=webhook_endpoint.disabled").get_json()["data"]
    assert [e["data"]["reason"] for e in feed] == ["failing"]


def test_a_success_resets_the_failing_clock(app, tenant, receiver):
    """Invitations fail, the program's update on day 4 succeeds: five days of nothing
    but failures are counted from then, not from day 0."""
    ok = b"referral_program.updated"
    receiver.answer = lambda received: (200 if ok in received.body else 500, {}, b"")
    endpoint = make_endpoint(tenant, receiver.url)
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    start = utcnow()
    for day in (0, 2, 4, 8, 10):
        if day == 4:
            tenant.put("/v1/referral-program", json={"enabled": False})
        else:
            invite(app, tenant)
        deliver(app, start + timedelta(days=day))
        assert tenant.get(path).get_json()["enabled"] is (day < 10), day
    assert tenant.get(path).get_json()["disabled_reason"] == "failing"


def test_a_redirect_is_a_failure_and_is_not_followed(app, tenant, receiver):
    elsewhere = Receiver()
    try:
        answering(receiver, (302, {"Location": elsewhere.url}, b""))
        make_endpoint(tenant, receiver.url)
        invite(app, tenant)
        deliver(app)
        delivery = one_delivery(app)
        assert (delivery.status, delivery.last_status_code, delivery.last_error) == (
            "pending",
            302,
            "redirect",
        )
        assert elsewhere.received == []
    finally:
        elsewhere.close()


def test_the_log_keeps_2_kb_of_the_answer(app, tenant, receiver):
    answering(receiver, (200, {}, "é".encode() * 3000))
    endpoint = make_endpoint(tenant, receiver.url)
    invite(app, tenant)
    deliver(app)
    (delivery,) = tenant.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").get_json()[
        "data"
    ]
    shown = tenant.get(f"/v1/webhook-deliveries/{delivery['id']}").get_json()
    (attempt,) = shown["attempt_log"]
    assert len(attempt["response_body"].encode()) <= 2048 + 3
    assert attempt["response_body"].startswith("é" * 100)
    assert attempt["latency_ms"] >= 0 and attempt["error"] is None


def test_the_delivery_log_filters_and_pages(app, tenant, receiver):
    answering(receiver, (200, {}, b""))
    endpoint = make_endpoint(tenant, receiver.url)
    seeded = seed(app, tenant.id, contacts=3)
    submit(app, seeded.invitation_ids[0], 3)
    deliver(app)
    path = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    everything, cursor = [], None
    while True:
        page = tenant.get(path, query_string={"limit": 2, **({"after": cursor} if cursor else {})})
        body = page.get_json()
        everything += body["data"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert len(everything) == 5  # 3 invitations, a response, a queue item
    ids = [d["id"] for d in everything]
    assert ids == sorted(ids, reverse=True)  # newest first
    created = tenant.get(path, query_string={"event_type": "response.created"}).get_json()["data"]
    assert [d["event_type"] for d in created] == ["response.created"]
    assert len(tenant.get(path, query_string={"status": "succeeded"}).get_json()["data"]) == 5
    assert tenant.get(path, query_string={"status": "failed"}).get_json()["data"] == []
    assert tenant.get(path, query_string={"status": "nope"}).status_code == 422


def test_retry_replays_a_delivery_with_the_same_webhook_id(app, tenant, receiver):
    endpoint = make_endpoint(tenant, receiver.url)
    invite(app, tenant)
    deliver(app)
    delivery = one_delivery(app)
    answer = tenant.post(f"/v1/webhook-deliveries/{delivery.id}/retry")
    assert answer.status_code == 202
    assert (answer.get_json()["status"], answer.get_json()["attempts"]) == ("pending", 0)
    deliver(app)
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert first.body == again.body
    log = tenant.get(f"/v1/webhook-deliveries/{delivery.id}").get_json()["attempt_log"]
    assert len(log) == 2
    assert tenant.get(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 200


def test_recover_requeues_the_failed_deliveries_of_a_window(app, tenant, receiver):
    answering(receiver, (410, {}, b""))  # the first attempt disables the endpoint
    endpoint = make_endpoint(tenant, receiver.url)
    before = utcnow()
    seed(app, tenant.id, contacts=3)
    deliver(app)
    with app.app_context():
        assert set(db.session.scalars(select(WebhookDelivery.status))) == {"failed"}
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    refused = tenant.post(f"{path}/recover", json={"since": before.isoformat()})
    assert refused.status_code == 409  # enable it first
    assert tenant.patch(path, json={"enabled": True}).status_code == 200
    answering(receiver, (200, {}, b""))
    window = {
        "since": (before - timedelta(2)).isoformat(),
        "until": (before - timedelta(1)).isoformat(),
    }
    earlier = tenant.post(f"{path}/recover", json=window)
    backwards = {"since": window["until"], "until": window["since"]}
    assert tenant.post(f"{path}/recover", json=backwards).status_code == 422
    job = tenant.post(f"{path}/recover", json={"since": before.isoformat()})
    assert job.status_code == 202
    assert (job.get_json()["kind"], job.get_json()["status"]) == ("webhooks.recover", "queued")
    deliver(app)  # runs the jobs
    assert tenant.get(f"/v1/jobs/{earlier.get_json()['id']}").get_json()["result"] == {
        "requeued": 0
    }
    assert tenant.get(f"/v1/jobs/{job.get_json()['id']}").get_json()["result"] == {"requeued": 3}
    deliver(app)  # sends what it queued
    with app.app_context():
        assert set(db.session.scalars(select(WebhookDelivery.status))) == {"succeeded"}
    assert len(receiver.received) == 6
    naive = tenant.post(f"{path}/recover", json={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422


def test_finished_deliveries_are_purged_after_the_retention(app, tenant, receiver):
    make_endpoint(tenant, receiver.url)
    invite(app, tenant)
    now = utcnow()
    deliver(app, now)
    delivery = one_delivery(app)
    deliver(app, now + timedelta(days=29))
    assert tenant.get(f"/v1/webhook-deliveries/{delivery.id}").status_code == 200
    deliver(app, now + timedelta(days=31))
    assert tenant.get(f"/v1/webhook-deliveries/{delivery.id}").status_code == 404


def test_a_deleted_endpoint_takes_its_deliveries(app, tenant, receiver):
    endpoint = make_endpoint(tenant, receiver.url)
    invite(app, tenant)
    deliver(app)
    delivery = one_delivery(app)
    tenant.delete(f"/v1/webhook-endpoints/{endpoint['id']}")
    assert tenant.get(f"/v1/webhook-deliveries/{delivery.id}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Event.id).limit(1)) is not None  # the feed stays


def test_slack_gets_a_readable_message_for_a_detractor(app, tenant, receiver):
    endpoint = make_endpoint(tenant, receiver.url, format="slack", event_types=["response.created"])
    seeded = seed(
        app,
        tenant.id,
        contacts=[{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}],
        name="Quarterly NPS",
    )
    submit(app, seeded.invitation_ids[0], 3, comment="Too slow <b>really</b>")
    deliver(app)
    (one,) = receiver.received
    message = json.loads(one.body)
    text = json.dumps(message)
    assert "detractor: 3/10" in message["text"] and "Quarterly NPS" in message["text"]
    assert "Ada Lovelace" in text and "mailto:ada@example.com" in text
    assert "&gt; Too slow &lt;b&gt;really&lt;/b&gt;" not in text  # quoted with "> " marks
    assert "> Too slow &lt;b&gt;really&lt;/b&gt;" in text
    assert "follow-up queue item" in text
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds[:2] == ["section", "section"] and "actions" in kinds
    from standardwebhooks.webhooks import Webhook

    Webhook(endpoint["secret"]).verify(one.body, one.headers)  # signed like any other


def test_slack_gets_every_other_type_too(app, tenant, receiver):
    make_endpoint(tenant, receiver.url, format="slack")
    tenant.put("/v1/referral-program", json={"enabled": True, "landing_url": "https://s.example/"})
    deliver(app)
    (one,) = receiver.received
    message = json.loads(one.body)
    assert message["text"] == "Referral program updated"
    assert message["blocks"][0]["text"]["text"] == "*Referral program updated*"
