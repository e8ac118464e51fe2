"""Writers of one survey at once, on PostgreSQL: no deadlock reaches a caller, and the
counters reports read still equal a recount of the rows they count."""

import threading

from sqlalchemy import func, select, text

from api.extensions import db
from api.queues.models import QueueCount, QueueItem
from api.responses.models import Response, ResponseRollup
from tests.conftest import on_postgres
from tests.factories import seed, submit
from tests.together import run_together

CHANGES = 20


def counted(app, survey_id: str) -> tuple[dict, dict]:
    """(rollup totals by score, queue counts by queue and status), summed over shards."""
    with app.app_context():
        rollups = db.session.execute(
            select(ResponseRollup.score, func.sum(ResponseRollup.count))
            .where(ResponseRollup.survey_id == survey_id, ResponseRollup.segment == "")
            .group_by(ResponseRollup.score)
            .having(func.sum(ResponseRollup.count) != 0)
        )
        queues = db.session.execute(
            select(QueueCount.queue, QueueCount.status, func.sum(QueueCount.count))
            .where(QueueCount.survey_id == survey_id)
            .group_by(QueueCount.queue, QueueCount.status)
            .having(func.sum(QueueCount.count) != 0)
        )
        return dict(rollups.all()), {(q, s): n for q, s, n in queues}


def recounted(app, survey_id: str) -> tuple[dict, dict]:
    with app.app_context():
        scores = db.session.execute(
            select(Response.score, func.count())
            .where(Response.survey_id == survey_id)
            .group_by(Response.score)
        )
        items = db.session.execute(
            select(QueueItem.queue, QueueItem.status, func.count())
            .where(QueueItem.survey_id == survey_id)
            .group_by(QueueItem.queue, QueueItem.status)
        )
        return dict(scores.all()), {(q, s): n for q, s, n in items}


@on_postgres
def test_twenty_concurrent_score_changes_both_ways_on_one_survey(app, tenant):
    seeded = seed(app, tenant.id, contacts=CHANGES)
    first = {invitation: 9 if n % 2 else 3 for n, invitation in enumerate(seeded.invitation_ids)}
    for invitation, score in first.items():
        submit(app, invitation, score)
    pairs = list(first.items())

    def change(client, index: int) -> int:
        invitation, score = pairs[index]
        # A promoter becomes a detractor and the other way round, all at once.
        return client.post(
            "/v1/responses",
            json={"survey_id": seeded.survey_id, "invitation_id": invitation, "score": 12 - score},
            headers=tenant.headers,
        ).status_code

    statuses = run_together(app, CHANGES, change)
    assert statuses == [200] * CHANGES
    rollups, queues = counted(app, seeded.survey_id)
    assert (rollups, queues) == recounted(app, seeded.survey_id)
    assert rollups == {3: CHANGES // 2, 9: CHANGES // 2}


@on_postgres
def test_a_request_that_deadlocks_is_run_again_not_answered_500(app_factory, tenant):
    """Two requests lock two rows in opposite orders: PostgreSQL aborts one, which the
    app runs again; both callers get their answer."""
    app = app_factory()
    with app.app_context():
        db.session.execute(text("CREATE TABLE IF NOT EXISTS deadlock_rows (id int PRIMARY KEY)"))
        db.session.execute(text("INSERT INTO deadlock_rows VALUES (1), (2) ON CONFLICT DO NOTHING"))
        db.session.commit()
    both_locked_one = threading.Barrier(2)
    runs: list[int] = []

    lock = text("UPDATE deadlock_rows SET id = id WHERE id = :id")

    def lock_both(first: int):
        runs.append(first)
        db.session.execute(lock, {"id": first})
        if len(runs) <= 2:  # the first run of each: meet, then reach for the other's row
            both_locked_one.wait(timeout=10)
        db.session.execute(lock, {"id": 3 - first})
        return {"ok": True}

    app.add_url_rule("/test/lock/<int:first>", view_func=lock_both, methods=["POST"])
    try:
        statuses = run_together(
            app, 2, lambda client, index: client.post(f"/test/lock/{index + 1}").status_code
        )
    finally:
        with app.app_context():
            db.session.execute(text("DROP TABLE deadlock_rows"))
            db.session.commit()
    assert statuses == [200, 200]
    assert len(runs) == 3  # one of the two ran again
