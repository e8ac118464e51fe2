"""Queues API: listing and filters, one item, claim, resolve, dismiss, isolation, races."""

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.queues import service
from api.queues.models import QueueItem
from api.workspaces.models import Workspace
from tests.factories import seed, submit
from tests.together import run_together

FOLLOW_UP = "/v1/queues/follow_up/items"
ADVOCACY = "/v1/queues/advocacy/items"


def items(app, **where) -> list[QueueItem]:
    with app.app_context():
        found = list(
            db.session.scalars(select(QueueItem).filter_by(**where).order_by(QueueItem.id))
        )
        db.session.expunge_all()
        return found


def events(app, type_) -> list[Event]:
    with app.app_context():
        found = list(db.session.scalars(select(Event).filter_by(type=type_).order_by(Event.id)))
        db.session.expunge_all()
        return found


def listed(tenant, url, **query) -> list[dict]:
    response = tenant.get(url, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


@pytest.fixture
def detractor(app, tenant):
    """One open follow-up item; returns its id."""
    seeded = seed(
        app,
        tenant.id,
        contacts=[
            {
                "external_id": "ann",
                "email": "ann@example.com",
                "first_name": "Ann",
                "last_name": "Lee",
            }
        ],
    )
    response_id, _ = submit(app, seeded.invitation_ids[0], 2, comment="Slow support")
    (item,) = items(app, response_id=response_id)
    return item.id


def test_item_embeds_the_response_and_the_contact(tenant, detractor):
    (item,) = listed(tenant, FOLLOW_UP)
    assert item["id"] == detractor
    assert (item["queue"], item["status"], item["score"], item["priority"]) == (
        "follow_up",
        "open",
        2,
        80,
    )
    assert item["response"]["score"] == 2
    assert item["response"]["category"] == "detractor"
    assert item["response"]["comment"] == "Slow support"
    assert item["response"]["id"] == item["response_id"]
    contact = item["contact"]
    assert (contact["external_id"], contact["email"], contact["name"]) == (
        "ann",
        "ann@example.com",
        "Ann Lee",
    )
    assert tenant.get(f"{FOLLOW_UP}/{detractor}").get_json() == item


def test_due_time_follows_the_workspace_sla(app, tenant):
    with app.app_context():
        db.session.execute(
            update(Workspace)
            .where(Workspace.id == tenant.id)
            .values(follow_up_sla_hours=4, advocacy_sla_hours=48)
        )
        db.session.commit()
    seeded = seed(app, tenant.id, contacts=2)
    now = utcnow().replace(microsecond=0)
    submit(app, seeded.invitation_ids[0], 0, now=now)
    submit(app, seeded.invitation_ids[1], 10, now=now)
    (follow_up,) = items(app, queue="follow_up")
    (advocacy,) = items(app, queue="advocacy")
    assert follow_up.due_at == now + timedelta(hours=4)
    assert advocacy.due_at == now + timedelta(hours=48)


def test_filters_by_status_assignee_and_due(app, tenant):
    seeded = seed(app, tenant.id, contacts=4)
    for invitation_id, score in zip(seeded.invitation_ids, [0, 1, 2, 3], strict=True):
        submit(app, invitation_id, score)
    ids = [item["id"] for item in listed(tenant, FOLLOW_UP)]  # worst first: 0, 1, 2, 3
    assert tenant.post(f"{FOLLOW_UP}/{ids[0]}/claim", json={"assignee": "sam"}).status_code == 200
    assert tenant.post(f"{FOLLOW_UP}/{ids[1]}/claim", json={"assignee": "kim"}).status_code == 200
    assert (
        tenant.post(f"{FOLLOW_UP}/{ids[2]}/resolve", json={"outcome": "Called"}).status_code == 200
    )
    with app.app_context():
        db.session.execute(
            update(QueueItem)
            .where(QueueItem.id == ids[3])
            .values(due_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()

    def query(**q):
        return [item["id"] for item in listed(tenant, FOLLOW_UP, **q)]

    assert query(status="open") == [ids[3]]
    assert query(status=["claimed", "done"]) == ids[:3]
    assert query(assignee="kim") == [ids[1]]
    assert query(status="claimed", assignee="sam") == [ids[0]]
    assert query(due_before=utcnow().isoformat()) == [ids[3]]
    assert query(due_before=(utcnow() + timedelta(days=2)).isoformat()) == ids
    assert query(assignee="nobody") == []
    for bad in ({"status": "lost"}, {"due_before": "2026-01-01T00:00:00"}, {"limit": 501}):
        assert tenant.get(FOLLOW_UP, query_string=bad).status_code == 422


def test_each_queue_lists_only_its_items(app, tenant):
    seeded = seed(app, tenant.id, contacts=4)
    for invitation_id, score in zip(seeded.invitation_ids, [9, 10, 5, 8], strict=True):
        submit(app, invitation_id, score)
    assert [item["score"] for item in listed(tenant, FOLLOW_UP)] == [5]
    # LISTING_ORDER for advocacy too: priority first (9 ranks above 10), then oldest.
    assert [item["score"] for item in listed(tenant, ADVOCACY)] == [9, 10]
    advocacy_id = listed(tenant, ADVOCACY)[0]["id"]
    assert tenant.get(f"{FOLLOW_UP}/{advocacy_id}").status_code == 404
    assert (
        tenant.post(f"{FOLLOW_UP}/{advocacy_id}/claim", json={"assignee": "x"}).status_code == 404
    )
    assert tenant.get(f"{ADVOCACY}/{advocacy_id}").status_code == 200
    assert tenant.get("/v1/queues/followup/items").status_code == 404
    assert tenant.get("/v1/queues/referrals/items").status_code == 404


def test_another_workspace_cannot_see_or_touch_items(tenant, make_tenant, detractor):
    other = make_tenant("Other")
    assert listed(other, FOLLOW_UP) == []
    assert other.get(f"{FOLLOW_UP}/{detractor}").status_code == 404
    for action, body in (("claim", {"assignee": "x"}), ("resolve", {"outcome": "x"})):
        assert other.post(f"{FOLLOW_UP}/{detractor}/{action}", json=body).status_code == 404
    assert other.post(f"{FOLLOW_UP}/{detractor}/dismiss", json={}).status_code == 404
    assert tenant.get(f"{FOLLOW_UP}/{detractor}").get_json()["status"] == "open"


def test_claim_then_resolve(app, tenant, detractor):
    claimed = tenant.post(f"{FOLLOW_UP}/{detractor}/claim", json={"assignee": "sam@acme.test"})
    assert claimed.status_code == 200
    body = claimed.get_json()
    assert (body["status"], body["assignee"]) == ("claimed", "sam@acme.test")
    assert body["claimed_at"] is not None

    again = tenant.post(f"{FOLLOW_UP}/{detractor}/claim", json={"assignee": "kim"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_claimed"
    assert "sam@acme.test" in again.get_json()["error"]["message"]

    resolved = tenant.post(f"{FOLLOW_UP}/{detractor}/resolve", json={"outcome": "Refunded."})
    assert resolved.status_code == 200
    body = resolved.get_json()
    assert (body["status"], body["outcome"], body["assignee"]) == (
        "done",
        "Refunded.",
        "sam@acme.test",
    )
    assert body["closed_at"] is not None

    messages = set()
    for action, payload in (
        ("claim", {"assignee": "kim"}),
        ("resolve", {"outcome": "Again"}),
        ("dismiss", {}),
    ):
        closed = tenant.post(f"{FOLLOW_UP}/{detractor}/{action}", json=payload)
        assert closed.status_code == 409
        assert closed.get_json()["error"]["code"] == "not_open"
        messages.add(closed.get_json()["error"]["message"])
    assert messages == {"This item is already done."}  # one refusal, whichever the action
    assert len(events(app, "queue_item.claimed")) == 1
    assert len(events(app, "queue_item.resolved")) == 1


def test_an_open_item_can_be_resolved_or_dismissed_without_a_claim(app, tenant):
    seeded = seed(app, tenant.id, contacts=2)
    for invitation_id in seeded.invitation_ids:
        submit(app, invitation_id, 0)
    first, second = (item["id"] for item in listed(tenant, FOLLOW_UP))
    assert (
        tenant.post(f"{FOLLOW_UP}/{first}/resolve", json={"outcome": "Emailed"}).status_code == 200
    )
    dismissed = tenant.post(f"{FOLLOW_UP}/{second}/dismiss", json={"note": "Spam answer"})
    assert dismissed.status_code == 200
    assert (dismissed.get_json()["status"], dismissed.get_json()["outcome"]) == (
        "dismissed",
        "Spam answer",
    )
    assert len(events(app, "queue_item.dismissed")) == 1


def test_dismiss_needs_no_note(tenant, detractor):
    dismissed = tenant.post(f"{FOLLOW_UP}/{detractor}/dismiss")  # no body at all
    assert dismissed.status_code == 200, dismissed.get_json()
    assert dismissed.get_json()["status"] == "dismissed"
    assert dismissed.get_json()["outcome"] is None


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("claim", {}, "assignee"),
        ("claim", {"assignee": ""}, "assignee"),
        ("claim", {"assignee": "x" * 201}, "assignee"),
        ("resolve", {}, "outcome"),
        ("resolve", {"outcome": ""}, "outcome"),
        ("resolve", {"outcome": None}, "outcome"),
        ("resolve", {"outcome": "x" * 5001}, "outcome"),
        ("dismiss", {"note": "x" * 5001}, "note"),
        ("dismiss", {"note": 3}, "note"),
    ],
)
def test_actions_validate_their_bodies(app, tenant, detractor, action, body, field):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Event))
    refused = tenant.post(f"{FOLLOW_UP}/{detractor}/{action}", json=body)
    assert refused.status_code == 422
    assert field in refused.get_json()["error"]["fields"]
    assert tenant.get(f"{FOLLOW_UP}/{detractor}").get_json()["status"] == "open"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == before


def test_resolve_keeps_5000_characters(tenant, detractor):
    outcome = "x" * 5000
    resolved = tenant.post(f"{FOLLOW_UP}/{detractor}/resolve", json={"outcome": outcome})
    assert resolved.status_code == 200
    assert resolved.get_json()["outcome"] == outcome


def test_claim_is_idempotent_with_a_key(app, tenant, detractor):
    key = {"Idempotency-Key": "claim-1"}
    url = f"{FOLLOW_UP}/{detractor}/claim"
    first = tenant.post(url, json={"assignee": "sam"}, headers=key)
    retry = tenant.post(url, json={"assignee": "sam"}, headers=key)
    assert first.status_code == retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(events(app, "queue_item.claimed")) == 1


def test_service_claim_and_resolve_directly(app, tenant, detractor):
    with app.app_context():
        item = service.get_item(tenant.id, "follow_up", detractor)
        service.claim(item, "sam")
        db.session.commit()
        item = service.get_item(tenant.id, "follow_up", detractor)
        service.resolve(item, "Done")
        db.session.commit()
        assert service.get_item(tenant.id, "follow_up", detractor).status == "done"
        assert service.get_item(tenant.id, "advocacy", detractor) is None
        assert service.get_item("ws_other", "follow_up", detractor) is None


# --- races ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["resolve", "dismiss"])
def test_parallel_closes_close_once(app, tenant, detractor, action):
    url = f"{FOLLOW_UP}/{detractor}/{action}"
    key = "outcome" if action == "resolve" else "note"
    answers = run_together(
        app, 8, lambda client, i: client.post(url, json={key: f"by {i}"}, headers=tenant.headers)
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [409] * 7, [a.get_json() for a in answers]
    (winner,) = [a.get_json() for a in answers if a.status_code == 200]
    (stored,) = items(app, id=detractor)
    assert stored.outcome == winner["outcome"]
    type_ = "queue_item.resolved" if action == "resolve" else "queue_item.dismissed"
    assert len(events(app, type_)) == 1


@pytest.mark.parametrize("values", [["abc", "x"], [1, 2], [1, {"a": 1}], [True, "x"], [1]])
def test_a_forged_cursor_is_422_not_500(tenant, values):
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    assert tenant.get(FOLLOW_UP, query_string={"after": cursor}).status_code == 422


def test_the_first_release_spelling_of_the_follow_up_path_still_works(tenant, detractor):
    by_name = listed(tenant, FOLLOW_UP)
    assert by_name and by_name[0]["queue"] == "follow_up"
    assert listed(tenant, "/v1/queues/follow-up/items") == by_name
    claimed = tenant.post(f"/v1/queues/follow-up/items/{detractor}/claim", json={"assignee": "sam"})
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "sam"
