"""Append and read events.

Events are appended in the transaction of the change they describe. Readers
page by id, so ids must become visible in order: on PostgreSQL two writers
could commit ids 7 and 8 out of order and a reader polling in between would
skip 7 forever. A transaction-scoped advisory lock per workspace serialises
appends, so within a workspace ids commit in order. SQLite has one writer.
"""

import zlib

from sqlalchemy import Select, select, text

from api.bulk import insert_many
from api.database import utcnow
from api.events.models import Event
from api.extensions import db

TYPES = (
    "contact.unsubscribed",
    "contact.resubscribed",
    "invitation.created",
    "response.created",
    "response.updated",
    "queue_item.opened",
    "queue_item.moved",
    "queue_item.claimed",
    "queue_item.resolved",
    "queue_item.dismissed",
    "referral_program.updated",
    "referral_code.issued",
    "referral_code.disabled",
    "referral_code.enabled",
    "referral.click",
    "referral.created",
    "referral.rejected",
    "referral.approved",
    "referral.purchase",
    "referral.converted",
    "referral.refunded",
    "reward.created",
    "reward.approved",
    "reward.paid",
    "reward.voided",
    "reward.clawed_back",
)


def record(workspace_id: str, type_: str, subject_id: str, data: dict | None = None) -> Event:
    _known(type_)
    _lock_feed(workspace_id)
    event = Event(workspace_id=workspace_id, type=type_, subject_id=subject_id, data=data or {})
    db.session.add(event)
    db.session.flush()
    return event


def record_many(workspace_id: str, type_: str, rows: list[tuple[str, dict]]) -> None:
    """Append many events of one type at once (batch invitations)."""
    if not rows:
        return
    _known(type_)
    _lock_feed(workspace_id)
    insert_many(
        Event.__table__.insert(),
        [{"subject_id": subject, "data": data} for subject, data in rows],
        # One moment for the batch, as its rows are one change.
        {"workspace_id": workspace_id, "type": type_, "created_at": utcnow()},
    )


def _known(type_: str) -> None:
    # Readers filter the feed by these types; one recorded but unlisted could never be asked for.
    if type_ not in TYPES:
        raise ValueError(f"event type {type_!r} is not in events.service.TYPES")


def _lock_feed(workspace_id: str) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"events:{workspace_id}".encode())
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def feed(workspace_id: str, types: list[str] | None = None) -> Select:
    statement = select(Event).where(Event.workspace_id == workspace_id)
    if types:
        statement = statement.where(Event.type.in_(types))
    return statement
