"""Events: one per state change, in the change's transaction; the feed, its pages and types."""

import base64
import json

import pytest
from sqlalchemy import func, select

from api.events import service as events_service
from api.events.models import Event
from api.extensions import db
from api.queues import service as queues_service
from api.responses.models import Response
from tests.factories import seed, submit
from tests.feed import wait_until_readable


def feed_types(app, workspace_id) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (event.type, event.subject_id)
            for event in db.session.scalars(
                select(Event).where(Event.workspace_id == workspace_id).order_by(Event.id)
            )
        ]


def read_all(tenant, **query) -> tuple[list[dict], str | None, int]:
    """Every event by following cursors; the last cursor and the number of pages."""
    wait_until_readable(tenant.client.application)
    seen, cursor, pages = [], None, 0
    while True:
        answer = tenant.get(
            "/v1/events", query_string={**query, **({"after": cursor} if cursor else {})}
        )
        assert answer.status_code == 200, answer.get_json()
        page = answer.get_json()
        pages += 1
        seen += page["data"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return seen, cursor, pages


def test_every_state_change_appends_exactly_one_event(app, tenant):
    seeded = seed(app, tenant.id)
    survey_id, invitation_id = seeded.survey_id, seeded.invitation_ids[0]
    assert feed_types(app, tenant.id) == [("invitation.created", invitation_id)]
    seen = len(feed_types(app, tenant.id))

    def step(action, expected):
        nonlocal seen
        answer = action()
        assert answer.status_code < 300, answer.get_json()
        new = feed_types(app, tenant.id)[seen:]
        seen += len(new)
        assert [type_ for type_, _subject in new] == expected
        return answer.get_json(), new

    def post(score, **kw):
        body = {"survey_id": survey_id, "invitation_id": invitation_id, "score": score, **kw}
        return lambda: tenant.post("/v1/responses", json=body)

    response, new = step(post(3), ["response.created", "queue_item.opened"])
    response_id = response["id"]
    item_id = new[1][1]
    assert new[0][1] == response_id
    step(post(3), [])  # a double click
    step(post(3, comment="Slow"), ["response.updated"])
    step(post(3, comment="Slow"), [])
    step(
        lambda: tenant.patch(f"/v1/responses/{response_id}", json={"comment": "Very slow"}),
        ["response.updated"],
    )
    step(post(1), ["response.updated"])  # re-ranked in the same queue: no queue event
    step(
        lambda: tenant.post(f"/v1/queues/follow_up/items/{item_id}/claim", json={"assignee": "a"}),
        ["queue_item.claimed"],
    )
    step(post(10), ["response.updated", "queue_item.moved"])
    step(post(9), ["response.updated"])
    step(post(7), ["response.updated", "queue_item.dismissed"])
    step(post(8), ["response.updated"])  # still passive: the item stays closed, silently
    step(post(0), ["response.updated", "queue_item.moved"])  # reopened in follow-up
    step(
        lambda: tenant.post(
            f"/v1/queues/follow_up/items/{item_id}/resolve", json={"outcome": "ok"}
        ),
        ["queue_item.resolved"],
    )
    subjects = {
        subject for type_, subject in feed_types(app, tenant.id) if type_.startswith("queue")
    }
    assert subjects == {item_id}


def test_a_failed_request_appends_no_event(app, tenant):
    seeded = seed(app, tenant.id, contacts=0)
    before = feed_types(app, tenant.id)
    refused = tenant.post(
        "/v1/responses",
        json={"survey_id": seeded.survey_id, "score": 12, "contact": {"external_id": "u"}},
    )
    assert refused.status_code == 422
    assert feed_types(app, tenant.id) == before


def test_events_roll_back_with_the_change_they_describe(app, tenant, monkeypatch):
    """A failure after the response and its event were written undoes both."""
    seeded = seed(app, tenant.id)
    before = feed_types(app, tenant.id)

    def broken_route(*_args, **_kwargs):
        raise RuntimeError("queue storage down")

    monkeypatch.setattr(queues_service, "route", broken_route)
    body = {"survey_id": seeded.survey_id, "invitation_id": seeded.invitation_ids[0], "score": 2}
    failed = tenant.post("/v1/responses", json=body)
    assert failed.status_code == 500
    assert feed_types(app, tenant.id) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_event_shape(app, tenant):
    seeded = seed(app, tenant.id)
    response_id, _ = submit(app, seeded.invitation_ids[0], 9)
    wait_until_readable(app)
    data = tenant.get("/v1/events", query_string={"type": "response.created"}).get_json()["data"]
    (event,) = data
    assert isinstance(event["id"], str) and event["id"].isdigit()
    assert event["type"] == "response.created"
    assert event["subject_id"] == response_id
    assert event["data"]["score"] == 9 and event["data"]["category"] == "promoter"
    assert event["data"]["survey_id"] == seeded.survey_id
    assert event["created_at"].endswith("+00:00")


def test_feed_pages_return_every_event_once_in_order(app, tenant):
    seeded = seed(app, tenant.id, contacts=8)
    for index, invitation_id in enumerate(seeded.invitation_ids):
        submit(app, invitation_id, index)
    stored = feed_types(app, tenant.id)
    assert len(stored) == 8 + 8 + 7  # invitations, responses, follow-up for 0..6

    everything, cursor, pages = read_all(tenant, limit=5)
    assert pages == 5
    assert [(e["type"], e["subject_id"]) for e in everything] == stored
    numbers = [int(e["id"]) for e in everything]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)

    # The last page still gives a cursor to poll from: nothing new, then only the new.
    assert cursor is not None
    empty = tenant.get("/v1/events", query_string={"after": cursor}).get_json()
    assert (empty["data"], empty["has_more"], empty["next_cursor"]) == ([], False, cursor)
    submit(app, seeded.invitation_ids[0], 10)  # moves the follow-up item to advocacy
    wait_until_readable(app)
    fresh = tenant.get("/v1/events", query_string={"after": cursor}).get_json()
    assert [e["type"] for e in fresh["data"]] == ["response.updated", "queue_item.moved"]
    assert fresh["next_cursor"] != cursor


def test_type_filter(app, tenant):
    seeded = seed(app, tenant.id, contacts=3)
    for invitation_id, score in zip(seeded.invitation_ids, [0, 8, 10], strict=True):
        submit(app, invitation_id, score)
    one, _, _ = read_all(tenant, type="queue_item.opened", limit=1)
    assert [e["type"] for e in one] == ["queue_item.opened"] * 2
    several, _, _ = read_all(tenant, type=["response.created", "invitation.created"], limit=2)
    assert [e["type"] for e in several] == ["invitation.created"] * 3 + ["response.created"] * 3
    assert tenant.get("/v1/events", query_string={"type": "queue_item.opened "}).status_code == 422
    refused = tenant.get("/v1/events", query_string={"type": ["response.created", "nope"]})
    assert refused.status_code == 422
    assert "type" in refused.get_json()["error"]["fields"]


def test_feed_is_per_workspace(app, tenant, make_tenant):
    other = make_tenant("Other")
    seed(app, tenant.id)
    seed(app, other.id, contacts=2)
    wait_until_readable(app)
    assert len(tenant.get("/v1/events").get_json()["data"]) == 1
    assert len(other.get("/v1/events").get_json()["data"]) == 2
    with app.app_context():
        assert len(db.session.scalars(events_service.feed(other.id)).all()) == 2


@pytest.mark.parametrize("cursor", ["garbage", "WzEsMiwzXQ", "W10", "WyIxIiwyXQ"])
def test_bad_cursor_is_422(tenant, cursor):
    assert tenant.get("/v1/events", query_string={"after": cursor}).status_code == 422


def test_a_cursor_holding_text_is_refused(tenant):
    cursor = base64.urlsafe_b64encode(json.dumps(["abc"]).encode()).decode().rstrip("=")
    answer = tenant.get("/v1/events", query_string={"after": cursor})
    assert answer.status_code == 422


def test_feed_needs_a_secret_key(tenant):
    assert tenant.client.get("/v1/events").status_code == 401
    publishable = {"Authorization": f"Bearer {tenant.publishable_key}"}
    assert tenant.client.get("/v1/events", headers=publishable).status_code == 403


def test_every_recorded_type_can_be_asked_for(app, tenant):
    from api.events import service as events

    with app.app_context(), pytest.raises(ValueError, match=r"not in events\.service\.TYPES"):
        events.record(tenant.id, "made.up", "x")
    tenant.put("/v1/referral-program", json={"enabled": True, "landing_url": "https://s.example/"})
    wait_until_readable(app)
    feed = tenant.get("/v1/events?type=referral_program.updated")
    assert feed.status_code == 200
    assert [e["type"] for e in feed.get_json()["data"]] == ["referral_program.updated"]
