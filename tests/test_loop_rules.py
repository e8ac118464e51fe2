"""The loop's rules (categories, queues, re-submits, scanners): one test per rule.

Each test is named after its rule and drives it through the API where the API
reaches (POST /v1/responses is the same `submit` the hosted page uses).
"""

import pytest
from sqlalchemy import func, select

from api import scoring
from api.extensions import db
from api.queues.models import QueueItem
from api.responses.models import Response, ResponseRollup
from tests.db import count, event_types
from tests.factories import seed
from tests.together import run_together

BOUNDARIES = {
    # kind: [(score, category)] at and around every cut-off, both ends of the scale
    "nps": [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
    "csat": [
        (1, "unsatisfied"),
        (2, "unsatisfied"),
        (3, "neutral"),
        (4, "satisfied"),
        (5, "satisfied"),
    ],
    "ces": [(1, "hard"), (3, "hard"), (4, "neutral"), (5, "easy"), (7, "easy")],
}
OFF_SCALE = {"nps": (-1, 11), "csat": (0, 6), "ces": (0, 8)}


def post(tenant, survey_id, score, *, invitation_id=None, external_id=None, headers=None, **kw):
    body = {"survey_id": survey_id, "score": score, **kw}
    if invitation_id:
        body["invitation_id"] = invitation_id
    if external_id:
        body["contact"] = {"external_id": external_id, "email": f"{external_id}@example.com"}
    return tenant.post("/v1/responses", json=body, headers=headers or {})


def queue_items(app, response_id) -> list[QueueItem]:
    with app.app_context():
        items = list(db.session.scalars(select(QueueItem).filter_by(response_id=response_id)))
        db.session.expunge_all()
        return items


@pytest.mark.parametrize("kind", sorted(BOUNDARIES))
def test_categories_per_kind_at_every_boundary(app, tenant, kind):
    survey_id = seed(app, tenant.id, kind, contacts=0).survey_id
    for score, category in BOUNDARIES[kind]:
        response = post(tenant, survey_id, score, external_id=f"{kind}-{score}")
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["category"] == category, (kind, score)
        assert scoring.classify(kind, score) == category
    for score in OFF_SCALE[kind]:
        refused = post(tenant, survey_id, score, external_id=f"{kind}-off{score}")
        assert refused.status_code == 422
        assert "score" in refused.get_json()["error"]["fields"]
    assert count(app, Response, survey_id=survey_id) == len(BOUNDARIES[kind])


def test_nps_is_percent_promoters_minus_percent_detractors(app, tenant):
    # 5 promoters, 3 passives, 2 detractors: 50% - 20% = 30, by hand.
    scores = [10, 9, 9, 10, 9, 8, 7, 7, 0, 6]
    seeded = seed(app, tenant.id, "nps", contacts=len(scores))
    for invitation_id, score in zip(seeded.invitation_ids, scores, strict=True):
        assert post(tenant, seeded.survey_id, score, invitation_id=invitation_id).status_code == 201
    # A changed mind: one promoter becomes a detractor, so 40% - 30% = 10.
    assert (
        post(tenant, seeded.survey_id, 3, invitation_id=seeded.invitation_ids[0]).status_code == 200
    )
    with app.app_context():
        counts: dict[int, int] = {}
        for score, number in db.session.execute(
            select(ResponseRollup.score, func.sum(ResponseRollup.count))
            .where(ResponseRollup.survey_id == seeded.survey_id, ResponseRollup.segment == "")
            .group_by(ResponseRollup.score)
        ):
            counts[score] = int(number)
    summary = scoring.summarize("nps", counts)
    assert summary.n == 10
    assert summary.counts == {"promoter": 4, "passive": 3, "detractor": 3}
    assert summary.value == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("kind", "score", "queue"),
    [
        ("nps", 6, "follow_up"),
        ("nps", 0, "follow_up"),
        ("nps", 9, "advocacy"),
        ("nps", 10, "advocacy"),
        ("nps", 7, None),
        ("nps", 8, None),
        ("csat", 2, "follow_up"),
        ("csat", 3, None),
        ("csat", 5, None),
        ("ces", 3, "follow_up"),
        ("ces", 4, None),
        ("ces", 7, None),
    ],
)
def test_detractor_opens_follow_up_promoter_opens_advocacy_passive_none(
    app, tenant, kind, score, queue
):
    seeded = seed(app, tenant.id, kind)
    created = post(tenant, seeded.survey_id, score, invitation_id=seeded.invitation_ids[0])
    assert created.status_code == 201
    items = queue_items(app, created.get_json()["id"])
    if queue is None:
        assert items == []
    else:
        (item,) = items
        assert (item.queue, item.status, item.score) == (queue, "open", score)
        url = "/v1/queues/follow_up/items" if queue == "follow_up" else "/v1/queues/advocacy/items"
        assert [i["id"] for i in tenant.get(url).get_json()["data"]] == [item.id]


def test_follow_up_lists_worst_first(app, tenant):
    seeded = seed(app, tenant.id, "nps", contacts=3)
    for invitation_id, score in zip(seeded.invitation_ids, [6, 0, 3], strict=True):
        assert post(tenant, seeded.survey_id, score, invitation_id=invitation_id).status_code == 201
    listed = tenant.get("/v1/queues/follow_up/items").get_json()["data"]
    assert [item["response"]["score"] for item in listed] == [0, 3, 6]
    # Paging keeps the order: one item a page.
    scores, cursor = [], None
    while True:
        page = tenant.get(
            "/v1/queues/follow_up/items",
            query_string={"limit": 1, **({"after": cursor} if cursor else {})},
        ).get_json()
        scores += [item["score"] for item in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert scores == [0, 3, 6]


def test_changed_score_moves_the_item_and_never_duplicates_it(app, tenant):
    seeded = seed(app, tenant.id, "nps")
    invitation_id = seeded.invitation_ids[0]

    def submit(score, status):
        response = post(tenant, seeded.survey_id, score, invitation_id=invitation_id)
        assert response.status_code == status, response.get_json()
        return response.get_json()["id"]

    response_id = submit(2, 201)  # detractor
    (first,) = queue_items(app, response_id)
    assert (first.queue, first.status) == ("follow_up", "open")
    claimed = tenant.post(f"/v1/queues/follow_up/items/{first.id}/claim", json={"assignee": "sam"})
    assert claimed.status_code == 200

    assert submit(10, 200) == response_id  # promoter: moved to advocacy, open again
    (item,) = queue_items(app, response_id)
    assert item.id == first.id
    assert (item.queue, item.status, item.assignee, item.score) == ("advocacy", "open", None, 10)
    assert tenant.get("/v1/queues/follow_up/items").get_json()["data"] == []
    assert [i["id"] for i in tenant.get("/v1/queues/advocacy/items").get_json()["data"]] == [
        item.id
    ]

    assert submit(8, 200) == response_id  # passive: no action needed, dismissed
    (item,) = queue_items(app, response_id)
    assert item.id == first.id
    assert (item.queue, item.status, item.score) == ("advocacy", "dismissed", 8)
    assert item.closed_at is not None

    assert submit(1, 200) == response_id  # detractor again: the same item reopens
    (item,) = queue_items(app, response_id)
    assert item.id == first.id
    assert (item.queue, item.status, item.score, item.outcome) == ("follow_up", "open", 1, None)
    assert item.closed_at is None
    assert item.priority == scoring.priority("nps", 1)
    assert count(app, QueueItem) == 1
    assert count(app, Response) == 1
    assert event_types(app, workspace_id=tenant.id).count("queue_item.opened") == 1


def test_resubmitting_updates_the_same_response_and_keeps_created_at(app, tenant):
    seeded = seed(app, tenant.id, "nps")
    invitation_id = seeded.invitation_ids[0]
    first = post(tenant, seeded.survey_id, 7, invitation_id=invitation_id)
    assert first.status_code == 201
    before = event_types(app, workspace_id=tenant.id)

    double = post(tenant, seeded.survey_id, 7, invitation_id=invitation_id)  # double click
    assert double.status_code == 200
    assert double.get_json() == first.get_json()  # nothing changed, not even updated_at
    assert event_types(app, workspace_id=tenant.id) == before  # and nobody is told
    assert count(app, Response) == 1

    changed = post(tenant, seeded.survey_id, 9, invitation_id=invitation_id, comment="Great")
    assert changed.status_code == 200
    body = changed.get_json()
    assert body["id"] == first.get_json()["id"]
    assert body["created_at"] == first.get_json()["created_at"]
    assert body["updated_at"] > first.get_json()["updated_at"]
    assert (body["score"], body["category"], body["comment"]) == (9, "promoter", "Great")
    assert count(app, Response) == 1
    new_events = event_types(app, workspace_id=tenant.id)[len(before) :]
    assert new_events.count("response.updated") == 1
    assert "response.created" not in new_events


def test_idempotency_key_makes_post_responses_safe_to_retry(app, tenant):
    seeded = seed(app, tenant.id, "nps", contacts=0)
    body = {"survey_id": seeded.survey_id, "score": 4, "contact": {"external_id": "u-1"}}
    body["contact"]["email"] = "u1@example.com"
    key = {"Idempotency-Key": "resp-1"}
    first = tenant.post("/v1/responses", json=body, headers=key)
    assert first.status_code == 201
    events = event_types(app, workspace_id=tenant.id)

    retry = tenant.post("/v1/responses", json=body, headers=key)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_data() == first.get_data()
    assert retry.headers["Location"] == first.headers["Location"]
    assert event_types(app, workspace_id=tenant.id) == events
    assert count(app, Response) == 1

    # Without the key the same body is a new request: a second invitation for the contact
    # is refused by the resurvey throttle, so a retry without a key cannot double-count.
    again = tenant.post("/v1/responses", json=body)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "recently_responded"
    other = tenant.post("/v1/responses", json={**body, "score": 5}, headers=key)
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"


# --- concurrency ---------------------------------------------------------------


def test_twenty_parallel_submits_of_one_invitation_make_one_response(app, tenant):
    seeded = seed(app, tenant.id, "nps")
    body = {"survey_id": seeded.survey_id, "invitation_id": seeded.invitation_ids[0], "score": 3}
    answers = run_together(
        app, 20, lambda client, _i: client.post("/v1/responses", json=body, headers=tenant.headers)
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 19 + [201], [a.get_json() for a in answers]
    assert len({answer.get_json()["id"] for answer in answers}) == 1
    assert count(app, Response) == 1
    assert count(app, QueueItem) == 1
    with app.app_context():
        rollup = db.session.scalars(
            select(ResponseRollup).where(ResponseRollup.survey_id == seeded.survey_id)
        ).all()
        assert [(r.segment, r.score, r.count) for r in rollup] == [("", 3, 1)]
    types = event_types(app, workspace_id=tenant.id)
    assert types.count("response.created") == 1
    assert types.count("response.updated") == 0
    assert types.count("queue_item.opened") == 1


def test_ten_parallel_claims_of_one_item_make_one_claimer(app, tenant):
    seeded = seed(app, tenant.id, "nps")
    created = post(tenant, seeded.survey_id, 0, invitation_id=seeded.invitation_ids[0])
    (item,) = queue_items(app, created.get_json()["id"])
    url = f"/v1/queues/follow_up/items/{item.id}/claim"
    answers = run_together(
        app,
        10,
        lambda client, i: client.post(url, json={"assignee": f"agent-{i}"}, headers=tenant.headers),
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [409] * 9, [a.get_json() for a in answers]
    (winner,) = [a.get_json() for a in answers if a.status_code == 200]
    for loser in (a for a in answers if a.status_code == 409):
        assert loser.get_json()["error"]["code"] == "already_claimed"
    (stored,) = queue_items(app, created.get_json()["id"])
    assert (stored.status, stored.assignee) == ("claimed", winner["assignee"])
    assert event_types(app, workspace_id=tenant.id).count("queue_item.claimed") == 1
