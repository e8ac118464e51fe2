"""Contact rules: upsert by external id, attribute merge, erasure."""

from datetime import datetime
from typing import NamedTuple

from marshmallow import ValidationError
from sqlalchemy import Select, select

from api.bulk import insert_many, matching
from api.contacts import stages
from api.contacts.models import ERASED_PREFIX, Contact, external_id_problem
from api.contacts.schemas import attributes_fit, normal_email
from api.database import dialect_insert, insert_ignore, utcnow
from api.domain_errors import Invalid, found
from api.events import service as events
from api.extensions import db
from api.filters import narrowed
from api.ids import new_ids

_FIELDS = ("email", "first_name", "last_name", "locale")
_SCALARS = (*_FIELDS, "stage")  # the stage changes through api/contacts/stages.py


def live_contacts(workspace_id: str) -> Select:
    return select(Contact).where(Contact.workspace_id == workspace_id, Contact.erased_at.is_(None))


def get_contact(workspace_id: str, external_id: str) -> Contact | None:
    return db.session.scalar(live_contacts(workspace_id).where(Contact.external_id == external_id))


def require_contact(workspace_id: str, external_id: str) -> Contact:
    """The contact a path names by external id; NotFound when it is not (or no longer) there."""
    return found(get_contact(workspace_id, external_id), "contact")


def get_contact_by_id(workspace_id: str, contact_id: str) -> Contact | None:
    return db.session.scalar(live_contacts(workspace_id).where(Contact.id == contact_id))


def upsert_contact(
    workspace_id: str,
    external_id: str,
    data: dict,
    *,
    replace: bool = False,
    source: str = "api",
) -> tuple[Contact, bool]:
    """Create the contact or update it; safe when two requests race on one external id.

    `replace` sets every field (absent ones to empty), as PUT does; otherwise
    only the given fields change and attributes merge, as POST and PATCH do.
    `source` names what made the change, in a stage change's history and in the
    (un)subscribe event.
    """
    problem = external_id_problem(external_id)
    if problem:
        raise Invalid(problem, fields={"external_id": [problem]})
    created = insert_ignore(
        Contact,
        {"workspace_id": workspace_id, "external_id": external_id},
        ["workspace_id", "external_id"],
    )
    contact = db.session.scalar(
        select(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.external_id == external_id)
        .execution_options(populate_existing=True)
    )
    if replace:
        data = {name: data.get(name) for name in _SCALARS} | {
            "attributes": data.get("attributes") or {},
            "unsubscribed": data.get("unsubscribed", contact.unsubscribed),
        }
    update_contact(contact, data, replace_attributes=replace, source=source)
    return contact, created


def update_contact(
    contact: Contact,
    data: dict,
    *,
    replace_attributes: bool = False,
    flush: bool = True,
    source: str = "api",
) -> Contact:
    """Apply the given fields; attributes merge unless replaced, and `null` deletes a key."""
    now = utcnow()
    for name in _FIELDS:
        if name in data:
            setattr(contact, name, data[name])
    if "stage" in data:
        stages.change(contact, data["stage"], source, now)
    if "attributes" in data:
        base = merged_attributes(contact, data["attributes"], replace=replace_attributes)
        try:  # the merged result must fit too, or growing a contact by PATCH has no limit
            attributes_fit(base)
        except ValidationError as error:
            raise Invalid(
                "Some fields are missing or invalid.", fields={"attributes": error.messages}
            ) from None
        contact.attributes = base
    if "unsubscribed" in data:
        set_unsubscribed(contact, data["unsubscribed"], now, source=source)
    contact.updated_at = now
    if flush:
        db.session.flush()
    return contact


def merged_attributes(contact: Contact, given: dict, *, replace: bool = False) -> dict:
    """The contact's attributes after `given` merges in (or replaces them); `null` deletes."""
    base = {} if replace else dict(contact.attributes or {})
    for key, value in given.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def would_change(contact: Contact, data: dict) -> bool:
    """Whether `update_contact(contact, data)` would change a field (an import counts
    the contacts it leaves as they were)."""
    if any(name in data and data[name] != getattr(contact, name) for name in _SCALARS):
        return True
    if "unsubscribed" in data and data["unsubscribed"] != contact.unsubscribed:
        return True
    return "attributes" in data and merged_attributes(contact, data["attributes"]) != (
        contact.attributes or {}
    )


def set_unsubscribed(
    contact: Contact, unsubscribed: bool, now: datetime | None = None, source: str = "api"
) -> bool:
    """Record (un)subscribing; True if it changed anything.

    Both directions are events, so a consumer mirroring consent (a CRM) learns of a
    resubscribe as surely as of an unsubscribe.
    """
    if unsubscribed == contact.unsubscribed:
        return False
    contact.unsubscribed_at = (now or utcnow()) if unsubscribed else None
    if contact.id is None:  # a contact not yet inserted: its INSERT draws the id
        db.session.flush()
    events.record(
        contact.workspace_id,
        "contact.unsubscribed" if unsubscribed else "contact.resubscribed",
        contact.id,
        {"external_id": contact.external_id, "source": source},
    )
    return True


def forget_identity(contact: Contact) -> None:
    """The contact's part of erasure (`api.contacts.erasure.erase`, which callers use):
    forget who the contact is, and keep the row so anonymous aggregates still add up.

    The external id is freed, so the partner can create a new contact with it.
    """
    now = utcnow()
    for name in _FIELDS:
        setattr(contact, name, None)
    contact.attributes = {}
    contact.external_id = f"{ERASED_PREFIX}{contact.id}"
    contact.erased_at = now
    contact.updated_at = now
    # Like any stage change, so the customer counts stay true: an erased customer left.
    stages.change(contact, None, "erasure", now)
    db.session.flush()


def filter_contacts(workspace_id: str, filters: dict) -> Select:
    statement = live_contacts(workspace_id)
    if filters.get("email"):
        statement = statement.where(Contact.email == normal_email(filters["email"]))
    statement = narrowed(statement, Contact, filters, "stage")
    if filters.get("updated_since"):
        statement = statement.where(Contact.updated_at >= filters["updated_since"])
    return statement


class ContactRow(NamedTuple):
    """What inviting and the widget need of a contact, as plain values: a batch of
    10,000 need not build 10,000 ORM objects (that took 0.2 s), nor a page view one.
    Load the Contact where one is needed."""

    id: str
    external_id: str
    locale: str | None
    first_name: str | None
    last_name: str | None
    attributes: dict
    unsubscribed_at: datetime | None
    created_at: datetime
    stage: str | None
    # Inserted by this transaction (`upsert_many`): no answer or invitation can name it
    # yet, so inviting it looks none up.
    inserted: bool = False

    @property
    def unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None

    @classmethod
    def of(cls, contact: Contact) -> "ContactRow":
        return cls(*(getattr(contact, name) for name in _COLUMN_NAMES))


_COLUMN_NAMES = ContactRow._fields[: ContactRow._fields.index("inserted")]
ROW_COLUMNS = tuple(getattr(Contact, name) for name in _COLUMN_NAMES)


def upsert_many(
    workspace_id: str,
    rows: list[dict],
    source: str = "api",
    loaded: dict[str, Contact] | None = None,
) -> dict[str, ContactRow]:
    """Upsert many contacts (POST semantics: given fields change, attributes merge).

    Set-based, so a batch of thousands costs a few statements, not thousands:
    new contacts are inserted with their fields in one `executemany`; only the
    ones that existed already go through the per-contact update. `loaded` holds
    contacts the caller read in this transaction (`contacts_by_external_id`), by
    external id: they are not read again (an import compares each row first).
    Returns the contacts by external id.
    """
    by_external_id = {row["external_id"]: row for row in rows}
    if not by_external_id:
        return {}
    loaded = loaded or {}
    unread = [external_id for external_id in by_external_id if external_id not in loaded]
    existing = set(loaded) | _existing_external_ids(workspace_id, unread)
    now = utcnow()
    fresh = [row for external_id, row in by_external_id.items() if external_id not in existing]
    new_rows = {new["external_id"]: new for new in _new_rows(fresh, now)}
    # Unsubscribing is an event, so it goes through set_unsubscribed (in the update).
    shared = {"workspace_id": workspace_id, "unsubscribed_at": None}
    written = insert_many(
        _insert_ignore_statement(),
        list(new_rows.values()),
        shared | {"created_at": now, "updated_at": now},
    )
    # The rows carrying our ids are the ones this INSERT wrote; one that a concurrent
    # request inserted first was skipped by ON CONFLICT and counts as existing below.
    # Only then is there anything to read back (10,000 ids cost 70 ms on PostgreSQL);
    # by primary key alone, as the ids were drawn here: with the workspace too,
    # SQLite walked all of the workspace's contacts for each chunk of a batch.
    if written == len(new_rows):
        inserted = set(new_rows)
    else:
        inserted: set[str] = set()
        for ours in matching(Contact.id, [row["id"] for row in new_rows.values()]):
            inserted.update(db.session.scalars(select(Contact.external_id).where(ours)))
    stages.record_new(
        workspace_id,
        [
            (new["id"], external_id, new["stage"])
            for external_id, new in new_rows.items()
            if external_id in inserted and new["stage"] is not None
        ],
        source,
        now,
    )
    # A new contact is subscribed: only unsubscribing one (an event) needs the update.
    found = {
        external_id: _row_of(new_rows[external_id], now)
        for external_id in by_external_id
        if external_id in inserted and not by_external_id[external_id].get("unsubscribed")
    }
    # Ours were inserted complete; a contact that existed, or that a concurrent request
    # inserted first, gets the given fields applied now (unsubscribing, an event, too).
    to_update = {
        external_id: fields
        for external_id, row in by_external_id.items()
        if external_id not in found
        and (fields := {k: v for k, v in row.items() if k != "external_id"})
    }
    updating = {name: loaded[name] for name in to_update if name in loaded}
    updating |= contacts_by_external_id(
        workspace_id, [name for name in to_update if name not in updating]
    )
    for external_id, contact in updating.items():
        update_contact(contact, to_update[external_id], flush=False, source=source)
    db.session.flush()
    # The updated contacts are in hand as they now are; only the rest are read.
    found |= {external_id: ContactRow.of(contact) for external_id, contact in updating.items()}
    rest = [external_id for external_id in by_external_id if external_id not in found]
    found |= rows_by_external_id(workspace_id, rest)
    return {
        external_id: found[external_id] for external_id in by_external_id if external_id in found
    }


def _existing_external_ids(workspace_id: str, external_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for named in matching(Contact.external_id, external_ids):
        found.update(
            db.session.scalars(
                select(Contact.external_id).where(Contact.workspace_id == workspace_id, named)
            )
        )
    return found


def _new_rows(rows: list[dict], now: datetime) -> list[dict]:
    """The columns of new contacts that come from the given fields, as update_contact
    would set them (the workspace and times are the same for the whole batch)."""
    # The stage columns depend on the stage alone, at one `now`: a batch has a few.
    given = {row.get("stage") for row in rows}
    by_stage = {stage: stages.new_contact_columns(stage, now) for stage in given}
    new = []
    for row, contact_id in zip(rows, new_ids("con", len(rows)), strict=True):
        values = {name: row.get(name) for name in _FIELDS}
        values |= by_stage[row.get("stage")]
        attributes = {k: v for k, v in (row.get("attributes") or {}).items() if v is not None}
        new.append(
            values | {"id": contact_id, "external_id": row["external_id"], "attributes": attributes}
        )
    return new


def _row_of(new: dict, created_at: datetime) -> ContactRow:
    """The contact just inserted from `new` (one of `_new_rows`), not unsubscribed."""
    return ContactRow(
        new["id"],
        new["external_id"],
        new["locale"],
        new["first_name"],
        new["last_name"],
        new["attributes"],
        None,
        created_at,
        new["stage"],
        inserted=True,
    )


def contacts_by_external_id(workspace_id: str, external_ids: list[str]) -> dict[str, Contact]:
    found = {}
    for named in matching(Contact.external_id, external_ids):
        for contact in db.session.scalars(live_contacts(workspace_id).where(named)):
            found[contact.external_id] = contact
    return found


def rows_by_external_id(workspace_id: str, external_ids: list[str]) -> dict[str, ContactRow]:
    """The live contacts with these external ids, as ContactRow (see there)."""
    return _rows_by(workspace_id, Contact.external_id, external_ids)


def rows_by_id(workspace_id: str, ids: list[str]) -> dict[str, ContactRow]:
    """The live contacts with these ids, as ContactRow (see there)."""
    return _rows_by(workspace_id, Contact.id, ids)


def _rows_by(workspace_id: str, column, values: list[str]) -> dict[str, ContactRow]:
    found = {}
    for named in matching(column, values):
        for row in db.session.execute(_live_rows(workspace_id, named)):
            contact = ContactRow(*row)
            found[getattr(contact, column.key)] = contact
    return found


def _live_rows(workspace_id: str, condition) -> Select:
    return select(*ROW_COLUMNS).where(
        Contact.workspace_id == workspace_id, Contact.erased_at.is_(None), condition
    )


def _insert_ignore_statement():
    return dialect_insert(Contact.__table__).on_conflict_do_nothing(
        index_elements=["workspace_id", "external_id"]
    )
