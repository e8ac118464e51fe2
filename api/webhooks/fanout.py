"""Events become deliveries: the fan-out reads the feed in order behind a durable cursor.

The cursor is one row, (tx, event id), of how far the feed has been fanned out.
A worker locks it (`FOR UPDATE SKIP LOCKED`: of several workers one fans out,
the others carry on with sending), reads the next events below the frontier,
makes one delivery per (event, matching endpoint) and moves the cursor, all in
one transaction: an event is fanned out exactly once and can never fall between
two passes. No request looks endpoints up; that work is here, off the write path.

An endpoint gets the events of transactions from its own on (`start_tx`): those
are exactly the ones a fan-out only reads once the endpoint's transaction has
ended, so it always sees the endpoint. (On SQLite, where tx is always 0, events
created at or after the endpoint.) `webhook.ping` is delivered by its request to
its one endpoint; an endpoint's own `webhook_endpoint.disabled` and
`webhook_delivery.exhausted` events are not sent to it (it is failing).
"""

from datetime import datetime

from sqlalchemy import func, select

from api.bulk import insert_many
from api.database import dialect_insert, insert_ignore
from api.events import service as events
from api.events.models import Event
from api.extensions import db
from api.ids import new_id
from api.webhooks.endpoints import PING, matches
from api.webhooks.models import PENDING, FanoutCursor, WebhookDelivery, WebhookEndpoint

BATCH = 500
_ABOUT_AN_ENDPOINT = ("webhook_endpoint.disabled", "webhook_delivery.exhausted")
_COLUMNS = (Event.id, Event.tx, Event.workspace_id, Event.type, Event.data, Event.created_at)


def _position() -> tuple[int, int]:
    cursor = db.session.get(FanoutCursor, 1)
    return (cursor.tx, cursor.event_id) if cursor else (0, 0)


def behind() -> bool:
    """Whether any event waits past the cursor: one indexed look, no lock."""
    waiting = db.session.scalar(
        events.sequenced(after=_position()).with_only_columns(Event.id).limit(1)
    )
    db.session.rollback()
    return waiting is not None


def receives(endpoint: WebhookEndpoint, event) -> bool:
    if endpoint.workspace_id != event.workspace_id or not endpoint.enabled:
        return False
    if event.tx < endpoint.start_tx or (
        event.tx == endpoint.start_tx and event.created_at < endpoint.created_at
    ):
        return False
    if event.type == PING:
        return False
    if event.type in _ABOUT_AN_ENDPOINT and (event.data or {}).get("endpoint_id") == endpoint.id:
        return False
    return matches(endpoint.event_types, event.type)


def fan_out(now: datetime, batch: int = BATCH) -> int | None:
    """Fan out the next `batch` events; how many were read (None: another worker is at it)."""
    cursor = db.session.scalar(
        select(FanoutCursor).where(FanoutCursor.id == 1).with_for_update(skip_locked=True)
    )
    if cursor is None:
        if db.session.scalar(select(func.count()).select_from(FanoutCursor)):
            db.session.rollback()
            return None  # locked by another worker
        insert_ignore(FanoutCursor, {"id": 1, "tx": 0, "event_id": 0}, ["id"])
        db.session.commit()
        return fan_out(now, batch)
    rows = db.session.execute(
        events.sequenced(after=(cursor.tx, cursor.event_id))
        .with_only_columns(*_COLUMNS)
        .order_by(*(column for column, _ in events.order()))
        .limit(batch)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    workspaces = sorted({row.workspace_id for row in rows})
    endpoints = list(
        db.session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.workspace_id.in_(workspaces), WebhookEndpoint.enabled.is_(True)
            )
        )
    )
    deliveries = [
        {
            "id": new_id("dlv"),
            "workspace_id": event.workspace_id,
            "endpoint_id": endpoint.id,
            "event_id": event.id,
            "event_type": event.type,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for event in rows
        for endpoint in endpoints
        if receives(endpoint, event)
    ]
    if deliveries:
        statement = dialect_insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"]
        )
        insert_many(statement, deliveries)
    cursor.tx, cursor.event_id = rows[-1].tx, rows[-1].id
    db.session.commit()
    return len(rows)
