"""Append and read events.

Events are appended in the transaction of the change they describe, and no
append waits for another. Readers must still never miss one: on PostgreSQL two
writers may commit ids 7 and 8 out of order, and a reader polling in between
would page past 7 forever. So each event carries the id of the transaction that
wrote it (`tx`), the feed is read in (tx, id) order, and a reader only sees
events whose transaction is below its snapshot's xmin: every transaction below
that frontier has ended, and every later one gets a higher id, so nothing can
appear behind a reader's cursor. The price: a transaction left open anywhere on
the database server holds the frontier back until it ends, which is why jobs
commit in chunks. SQLite has one writer: ids are commit order, tx is always 0.
"""

from sqlalchemy import Select, select

from api.bulk import insert_many
from api.database import utcnow
from api.events.models import Event, feed_frontier
from api.extensions import db

# The feed's keyset comparison is the pagination's own (api/http/pagination.py).
from api.http.pagination import _after

TYPES = (
    "contact.unsubscribed",
    "contact.resubscribed",
    "contact.stage_changed",
    "contact_import.completed",
    "contact_import.failed",
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
    "referral.flagged",
    "reward.created",
    "reward.approved",
    "reward.paid",
    "reward.voided",
    "reward.clawed_back",
    "webhook.ping",
    "webhook_endpoint.disabled",
    "webhook_delivery.exhausted",
    "advocacy_settings.updated",
    "testimonial.created",
    "testimonial.approved",
    "testimonial.rejected",
    "testimonial.updated",
    "testimonial.withdrawn",
    "testimonial.deleted",
    "review_request.created",
    "review_request.clicked",
    "review_request.reviewed",
    "advocate.opted_in",
    "advocate.opted_out",
    "advocacy_act.recorded",
    "stripe_event.unmatched",
)

_BY_TRANSACTION = ((Event.tx, False), (Event.id, False))
_BY_ID = ((Event.id, False),)


def order() -> tuple:
    """The feed's order, for pagination: (tx, id) on PostgreSQL, id on SQLite.

    On SQLite every tx is 0 and id order is commit order already; ordering by
    (tx, id) there would also cost a scan of every event before the cursor, as
    SQLite seeks an index by a row value's first column only.
    """
    return _BY_TRANSACTION if db.session.get_bind().dialect.name == "postgresql" else _BY_ID


def record(workspace_id: str, type_: str, subject_id: str, data: dict | None = None) -> Event:
    """Append an event with the session's next flush (by the commit at the latest).

    Not flushed here: the events of one change go to the database together, in
    one statement at the end, rather than one round trip each while the
    transaction holds its locks. The session inserts them in the order recorded.
    Flush before reading the event's `id`.
    """
    _known(type_)
    event = Event(workspace_id=workspace_id, type=type_, subject_id=subject_id, data=data or {})
    db.session.add(event)
    return event


def record_many(workspace_id: str, type_: str, rows: list[tuple[str, dict]]) -> None:
    """Append many events of one type at once (batch invitations)."""
    if not rows:
        return
    _known(type_)
    # Events recorded before these, still in the session, keep their place in the feed.
    db.session.flush()
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


def sequenced(after: tuple[int, int] | None = None) -> Select:
    """Every workspace's events that no reader can miss, those below the frontier,
    past the feed position `after` ((tx, id)) if given; sort them by `order()`."""
    columns = order()
    statement = select(Event).where(Event.tx < feed_frontier())
    if after is not None:
        # A position is (tx, id); ordered by id alone, only the id counts.
        statement = statement.where(_after(columns, list(after)[-len(columns) :]))
    return statement


def feed(workspace_id: str, types: list[str] | None = None) -> Select:
    statement = sequenced().where(Event.workspace_id == workspace_id)
    if types:
        statement = statement.where(Event.type.in_(types))
    return statement
