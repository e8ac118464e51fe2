"""Queue rules: which responses need a person, how urgent, and who has them.

One item per response. A changed score moves the item to the other queue (or
closes it when no action is needed any more); it is never duplicated.
"""

from datetime import datetime, timedelta

from sqlalchemy import Select, select, update

from api import counters, scoring
from api.database import utcnow
from api.domain_errors import Conflict
from api.events import service as events
from api.extensions import db
from api.filters import narrowed
from api.ids import new_id
from api.queues import resurveys
from api.queues.models import QueueCount, QueueItem
from api.responses.models import Response
from api.workspaces.models import Workspace

OPEN, CLAIMED, DONE, DISMISSED = "open", "claimed", "done", "dismissed"
ACTIVE = (OPEN, CLAIMED)


def route(
    response: Response, kind: str, now: datetime | None = None, *, new: bool = False
) -> QueueItem | None:
    """Open, move, re-rank or close the response's item after its score was set.

    A `new` response (inserted by this transaction) has no item yet to look for."""
    now = now or utcnow()
    queue = scoring.queue_for(kind, response.category)
    item = None
    if not new:
        item = db.session.scalar(select(QueueItem).where(QueueItem.response_id == response.id))
    if item is None:
        return _open(response, kind, queue, now) if queue else None
    # The item always shows the response's current score, even when it is closed.
    item.score, item.priority = response.score, scoring.priority(kind, response.score)
    if queue is None:
        if item.status in ACTIVE:
            _close(item, DISMISSED, "The score changed; no action is needed any more.", now)
        return item
    moved = item.queue != queue
    before = (item.queue, item.status)
    item.queue = queue
    if moved or item.status not in ACTIVE:
        # Reopened as new work: the previous closing note no longer describes it.
        item.status, item.assignee, item.claimed_at, item.closed_at = OPEN, None, None, None
        item.outcome = None
        item.due_at = _due(response.workspace_id, queue, now)
        _recount(item, before)
        _event(item, "queue_item.moved")
    item.updated_at = now
    return item


def _open(response: Response, kind: str, queue: str, now: datetime) -> QueueItem:
    item = QueueItem(
        id=new_id("qi"),  # given here: the item is inserted with the commit's flush
        workspace_id=response.workspace_id,
        response_id=response.id,
        survey_id=response.survey_id,
        contact_id=response.contact_id,
        queue=queue,
        status=OPEN,
        priority=scoring.priority(kind, response.score),
        score=response.score,
        due_at=_due(response.workspace_id, queue, now),
        created_at=now,
        updated_at=now,
    )
    db.session.add(item)
    _recount(item, None)
    _event(item, "queue_item.opened")
    return item


def _recount(item: QueueItem, before: tuple[str, str] | None) -> None:
    """Move the item's count from its old (queue, status) to its new one."""
    after = (item.queue, item.status)
    if before == after:
        return
    if before is not None:
        _add(item.survey_id, before, -1)
    _add(item.survey_id, after, +1)


def _add(survey_id: str, queue_status: tuple[str, str], delta: int) -> None:
    queue, status = queue_status
    keys = {"survey_id": survey_id, "queue": queue, "status": status}
    counters.add(QueueCount, keys, delta)


def _due(workspace_id: str, queue: str, now: datetime) -> datetime:
    workspace = db.session.get(Workspace, workspace_id)
    hours = workspace.follow_up_sla_hours if queue == "follow_up" else workspace.advocacy_sla_hours
    return now + timedelta(hours=hours)


def claim(item: QueueItem, assignee: str, now: datetime | None = None) -> QueueItem:
    """Take an open item; under concurrency exactly one claimer wins."""
    now = now or utcnow()
    won = db.session.execute(
        update(QueueItem)
        .where(QueueItem.id == item.id, QueueItem.status == OPEN)
        .values(status=CLAIMED, assignee=assignee, claimed_at=now, updated_at=now)
    ).rowcount
    db.session.refresh(item)
    if not won:
        raise Conflict(
            f"This item is already {item.status}"
            + (f" by {item.assignee}." if item.status == CLAIMED else "."),
            code="already_claimed" if item.status == CLAIMED else "not_open",
        )
    _recount(item, (item.queue, OPEN))
    _event(item, "queue_item.claimed")
    return item


def resolve(
    item: QueueItem,
    outcome: str,
    now: datetime | None = None,
    resurvey_after_days: int | None = None,
) -> QueueItem:
    """Close the item as done; a follow-up item can ask its contact again in n days."""
    item = _finish(item, DONE, outcome, now)
    if resurvey_after_days is not None:
        resurveys.schedule(item, resurvey_after_days, now)
    return item


def dismiss(item: QueueItem, note: str, now: datetime | None = None) -> QueueItem:
    return _finish(item, DISMISSED, note, now)


def _finish(item: QueueItem, status: str, note: str | None, now: datetime | None) -> QueueItem:
    """Close an open or claimed item; of two concurrent closers exactly one wins.

    A conditional UPDATE, like claim(): reading the status and then writing it
    would let two requests both see "open" and both close (two events).
    """
    now = now or utcnow()
    for _ in range(3):
        db.session.refresh(item)
        before = (item.queue, item.status)
        if item.status not in ACTIVE:
            raise Conflict(f"This item is already {item.status}.", code="not_open")
        # Conditional on the status we read, so the counts move from the right one.
        won = db.session.execute(
            update(QueueItem)
            .where(QueueItem.id == item.id, QueueItem.status == before[1])
            .values(status=status, outcome=note, closed_at=now, updated_at=now)
        ).rowcount
        if won:
            break
    else:
        raise Conflict("This item keeps changing; retry.")
    db.session.refresh(item)
    _recount(item, before)
    _event(item, "queue_item.resolved" if status == DONE else "queue_item.dismissed")
    return item


def _close(item: QueueItem, status: str, note: str, now: datetime) -> None:
    before = (item.queue, item.status)
    item.status, item.outcome, item.closed_at, item.updated_at = status, note, now, now
    db.session.flush()
    _recount(item, before)
    _event(item, "queue_item.resolved" if status == DONE else "queue_item.dismissed")


def _event(item: QueueItem, type_: str) -> None:
    events.record(
        item.workspace_id,
        type_,
        item.id,
        {
            "queue": item.queue,
            "status": item.status,
            "response_id": item.response_id,
            "score": item.score,
            "assignee": item.assignee,
        },
    )


def get_item(workspace_id: str, queue: str, item_id: str) -> QueueItem | None:
    return db.session.scalar(
        select(QueueItem).where(
            QueueItem.workspace_id == workspace_id,
            QueueItem.queue == queue,
            QueueItem.id == item_id,
        )
    )


def filter_items(workspace_id: str, queue: str, filters: dict) -> Select:
    statement = select(QueueItem).where(
        QueueItem.workspace_id == workspace_id, QueueItem.queue == queue
    )
    statement = narrowed(statement, QueueItem, filters, "status", "assignee")
    if filters.get("due_before"):
        statement = statement.where(QueueItem.due_at < filters["due_before"])
    return statement


# Worst first: highest priority (lowest score), then oldest.
LISTING_ORDER = ((QueueItem.priority, True), (QueueItem.id, False))
