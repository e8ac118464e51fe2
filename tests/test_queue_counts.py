"""The queue counters reports read always equal a count of the items themselves."""

from sqlalchemy import func, select

from api.extensions import db
from api.queues import service as queues
from api.queues.models import QueueCount, QueueItem
from tests.factories import seed, submit


def counters(app, survey_id: str) -> dict:
    with app.app_context():
        # A key's count is the sum of its shards (api.counters).
        rows = db.session.execute(
            select(QueueCount.queue, QueueCount.status, func.sum(QueueCount.count))
            .where(QueueCount.survey_id == survey_id)
            .group_by(QueueCount.queue, QueueCount.status)
            .having(func.sum(QueueCount.count) != 0)
        )
        return {(queue, status): count for queue, status, count in rows}


def counted(app, survey_id: str) -> dict:
    with app.app_context():
        rows = db.session.execute(
            select(QueueItem.queue, QueueItem.status, func.count())
            .where(QueueItem.survey_id == survey_id)
            .group_by(QueueItem.queue, QueueItem.status)
        )
        return {(queue, status): count for queue, status, count in rows}


def item_of(app, response_id: str) -> str:
    with app.app_context():
        return db.session.scalar(select(QueueItem.id).where(QueueItem.response_id == response_id))


def act(app, item_id: str, action, *args):
    with app.app_context():
        action(db.session.get(QueueItem, item_id), *args)
        db.session.commit()


def test_counters_follow_every_change(app, tenant):
    seeded = seed(app, tenant.id, contacts=5)
    survey = seeded.survey_id
    first, second, third, fourth, fifth = seeded.invitation_ids
    detractor, _ = submit(app, first, 2)
    submit(app, second, 10)
    moved, _ = submit(app, third, 0)
    submit(app, fourth, 7)  # a passive opens nothing
    dismissed, _ = submit(app, fifth, 5)
    assert counters(app, survey) == {("follow_up", "open"): 3, ("advocacy", "open"): 1}

    act(app, item_of(app, detractor), queues.claim, "ana")
    act(app, item_of(app, detractor), queues.resolve, "called back")
    submit(app, third, 9)  # detractor -> promoter: the item moves queue
    act(app, item_of(app, dismissed), queues.dismiss, "spam")
    submit(app, fifth, 8)  # a closed item whose score turns passive stays closed
    expected = {
        ("follow_up", "done"): 1,
        ("follow_up", "dismissed"): 1,
        ("advocacy", "open"): 2,
    }
    assert counters(app, survey) == expected == counted(app, survey)
    assert item_of(app, moved) is not None
