"""Lifecycle stage changes: the one way a contact's stage changes.

Every change, whichever path made it (the contacts API, a batch of inline
contacts, an import, an erasure), is written here in the transaction of the
change: the contact's stage, a history row (`stage_changes`), the customer
counts retention reads (`stage_rollups`, moved as api/lifecycle.py says) and a
`contact.stage_changed` event.
"""

from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm.attributes import set_committed_value

from api import lifecycle
from api.bulk import insert_many
from api.contacts.models import Contact, StageChange, StageRollup
from api.database import upsert_add, utcnow
from api.domain_errors import Conflict
from api.events import service as events
from api.extensions import db
from api.ids import new_ids

EVENT = "contact.stage_changed"


def change(contact: Contact, stage: str | None, source: str, now: datetime | None = None) -> bool:
    """Move `contact` to `stage` (None: no stage); True if that changed it.

    A conditional UPDATE on the stage read, so of two requests changing one contact
    at once each records the change it really made: the second sees the first's
    stage as its `from`, and the customer counts move once per real change.
    """
    now = now or utcnow()
    for _ in range(3):
        before = contact.stage
        if before == stage:
            return False
        moved = lifecycle.movement(
            before, stage, now, contact.first_customer_at, contact.customer_since
        )
        values = {
            "stage": stage,
            "stage_changed_at": now,
            "first_customer_at": moved.first_customer_at,
            "customer_since": moved.customer_since,
        }
        won = db.session.execute(
            update(Contact)
            .where(Contact.id == contact.id, Contact.stage.is_not_distinct_from(before))
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            for name, value in values.items():  # what was written, without another UPDATE
                set_committed_value(contact, name, value)
            break
        db.session.refresh(contact)
    else:
        raise Conflict("This contact's stage keeps changing; retry.")
    db.session.add(
        StageChange(
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            from_stage=before,
            to_stage=stage,
            source=source,
            changed_at=now,
        )
    )
    db.session.flush()
    _roll_up(contact.workspace_id, [moved])
    events.record(
        contact.workspace_id,
        EVENT,
        contact.id,
        _payload(contact.external_id, before, stage, source),
    )
    return True


def new_contact_columns(stage: str | None, now: datetime) -> dict:
    """The stage columns of a contact inserted with `stage` (see `record_new`)."""
    moved = lifecycle.movement(None, stage, now, None, None)
    return {
        "stage": stage,
        "stage_changed_at": now if stage is not None else None,
        "first_customer_at": moved.first_customer_at,
        "customer_since": moved.customer_since,
    }


def record_new(
    workspace_id: str, created: list[tuple[str, str, str]], source: str, now: datetime
) -> None:
    """History, counts and events of contacts just inserted with a stage, at once.

    `created` holds (contact id, external id, stage) of contacts inserted with
    `new_contact_columns`; a batch of thousands costs a few statements.
    """
    if not created:
        return
    insert_many(
        StageChange.__table__.insert(),
        [
            {"id": change_id, "contact_id": contact_id, "to_stage": stage}
            for change_id, (contact_id, _external_id, stage) in zip(
                new_ids("stg", len(created)), created, strict=True
            )
        ],
        {"workspace_id": workspace_id, "from_stage": None, "source": source, "changed_at": now},
    )
    _roll_up(
        workspace_id,
        [lifecycle.movement(None, stage, now, None, None) for _id, _ext, stage in created],
    )
    events.record_many(
        workspace_id,
        EVENT,
        [
            (contact_id, _payload(external_id, None, stage, source))
            for contact_id, external_id, stage in created
        ],
    )


def _roll_up(workspace_id: str, movements: list[lifecycle.Movement]) -> None:
    """Add the movements' deltas, one upsert per counter and (cohort, month)."""
    totals: dict[tuple, int] = {}
    for moved in movements:
        for column, delta in moved.deltas.items():
            key = (moved.cohort, moved.month, column)
            totals[key] = totals.get(key, 0) + delta
    for (cohort, month, column), delta in sorted(totals.items()):
        keys = {"workspace_id": workspace_id, "cohort": cohort, "month": month}
        upsert_add(StageRollup, keys, column, delta)


def _payload(external_id: str, before: str | None, after: str | None, source: str) -> dict:
    return {"external_id": external_id, "from": before, "to": after, "source": source}


def history(contact: Contact) -> Select:
    """The contact's stage changes, for a page (oldest first by id)."""
    return select(StageChange).where(
        StageChange.workspace_id == contact.workspace_id, StageChange.contact_id == contact.id
    )
