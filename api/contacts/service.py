"""Contact rules: upsert by external id, attribute merge, erasure."""

from collections.abc import Callable
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import Select, select

from api.contacts.models import ERASED_PREFIX, Contact, external_id_problem
from api.contacts.schemas import attributes_fit
from api.database import chunked, dialect_insert, insert_ignore, utcnow
from api.events import service as events
from api.extensions import db
from api.http.errors import ApiError
from api.ids import new_id

_SCALARS = ("email", "first_name", "last_name", "locale", "stage")

# Other areas register here to erase what they hold about a contact (comments, ...).
_erasers: list[Callable[[Contact], None]] = []


def on_erase(func: Callable[[Contact], None]) -> Callable[[Contact], None]:
    _erasers.append(func)
    return func


def live_contacts(workspace_id: str) -> Select:
    return select(Contact).where(Contact.workspace_id == workspace_id, Contact.erased_at.is_(None))


def get_contact(workspace_id: str, external_id: str) -> Contact | None:
    return db.session.scalar(live_contacts(workspace_id).where(Contact.external_id == external_id))


def get_contact_by_id(workspace_id: str, contact_id: str) -> Contact | None:
    return db.session.scalar(live_contacts(workspace_id).where(Contact.id == contact_id))


def upsert_contact(
    workspace_id: str, external_id: str, data: dict, *, replace: bool = False
) -> tuple[Contact, bool]:
    """Create the contact or update it; safe when two requests race on one external id.

    `replace` sets every field (absent ones to empty), as PUT does; otherwise
    only the given fields change and attributes merge, as POST and PATCH do.
    """
    problem = external_id_problem(external_id)
    if problem:
        raise ApiError(422, "validation_error", problem, {"external_id": [problem]})
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
    update_contact(contact, data, replace_attributes=replace)
    return contact, created


def update_contact(
    contact: Contact, data: dict, *, replace_attributes: bool = False, flush: bool = True
) -> Contact:
    """Apply the given fields; attributes merge unless replaced, and `null` deletes a key."""
    now = utcnow()
    for name in _SCALARS:
        if name in data:
            setattr(contact, name, data[name])
    if "attributes" in data:
        base = {} if replace_attributes else dict(contact.attributes or {})
        for key, value in data["attributes"].items():
            if value is None:
                base.pop(key, None)
            else:
                base[key] = value
        try:  # the merged result must fit too, or growing a contact by PATCH has no limit
            attributes_fit(base)
        except ValidationError as error:
            raise ApiError(
                422,
                "validation_error",
                "Some fields are missing or invalid.",
                {"attributes": error.messages},
            ) from None
        contact.attributes = base
    if "unsubscribed" in data:
        set_unsubscribed(contact, data["unsubscribed"], now)
    contact.updated_at = now
    if flush:
        db.session.flush()
    return contact


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
    db.session.flush()
    events.record(
        contact.workspace_id,
        "contact.unsubscribed" if unsubscribed else "contact.resubscribed",
        contact.id,
        {"external_id": contact.external_id, "source": source},
    )
    return True


def erase_contact(contact: Contact) -> None:
    """Forget who the contact is; keep the row so anonymous aggregates still add up.

    The external id is freed, so the partner can create a new contact with it.
    """
    for eraser in _erasers:
        eraser(contact)
    now = utcnow()
    for name in _SCALARS:
        setattr(contact, name, None)
    contact.attributes = {}
    contact.external_id = f"{ERASED_PREFIX}{contact.id}"
    contact.erased_at = now
    contact.updated_at = now
    db.session.flush()


def filter_contacts(workspace_id: str, filters: dict) -> Select:
    statement = live_contacts(workspace_id)
    if filters.get("email"):
        statement = statement.where(Contact.email == filters["email"].strip().lower())
    if filters.get("stage"):
        statement = statement.where(Contact.stage == filters["stage"])
    if filters.get("updated_since"):
        statement = statement.where(Contact.updated_at >= filters["updated_since"])
    return statement


def upsert_many(workspace_id: str, rows: list[dict]) -> dict[str, Contact]:
    """Upsert many contacts (POST semantics: given fields change, attributes merge).

    Set-based, so a batch of thousands costs a few statements, not thousands:
    new contacts are inserted with their fields in one `executemany`; only the
    ones that existed already go through the per-contact update.
    Returns the contacts by external id.
    """
    by_external_id = {row["external_id"]: row for row in rows}
    if not by_external_id:
        return {}
    existing = _existing_external_ids(workspace_id, list(by_external_id))
    now = utcnow()
    new_rows = [
        _new_row(workspace_id, row, now)
        for external_id, row in by_external_id.items()
        if external_id not in existing
    ]
    for chunk in chunked(new_rows):
        db.session.execute(_insert_ignore_statement(), chunk)
    contacts = contacts_by_external_id(workspace_id, list(by_external_id))
    for external_id, contact in contacts.items():
        # Ours were inserted complete; a contact that existed, or that a concurrent
        # request inserted first, gets the given fields applied now.
        fields = {k: v for k, v in by_external_id[external_id].items() if k != "external_id"}
        ours = external_id not in existing and contact.created_at == now
        if fields and (not ours or "unsubscribed" in fields):
            update_contact(contact, fields, flush=False)
    db.session.flush()
    return contacts


def _existing_external_ids(workspace_id: str, external_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunked(external_ids):
        found.update(
            db.session.scalars(
                select(Contact.external_id).where(
                    Contact.workspace_id == workspace_id, Contact.external_id.in_(chunk)
                )
            )
        )
    return found


def _new_row(workspace_id: str, row: dict, now: datetime) -> dict:
    """The columns of a new contact made from the given fields, as update_contact would."""
    values = {name: row.get(name) for name in _SCALARS}
    attributes = {k: v for k, v in (row.get("attributes") or {}).items() if v is not None}
    return values | {
        "id": new_id("con"),
        "workspace_id": workspace_id,
        "external_id": row["external_id"],
        "attributes": attributes,
        # Unsubscribing is an event, so it goes through set_unsubscribed (in the update).
        "unsubscribed_at": None,
        "created_at": now,
        "updated_at": now,
    }


def contacts_by_external_id(workspace_id: str, external_ids: list[str]) -> dict[str, Contact]:
    found = {}
    for chunk in chunked(external_ids):
        for contact in db.session.scalars(
            live_contacts(workspace_id).where(Contact.external_id.in_(chunk))
        ):
            found[contact.external_id] = contact
    return found


def contacts_by_id(workspace_id: str, ids: list[str]) -> dict[str, Contact]:
    found = {}
    for chunk in chunked(ids):
        for contact in db.session.scalars(live_contacts(workspace_id).where(Contact.id.in_(chunk))):
            found[contact.id] = contact
    return found


def _insert_ignore_statement():
    return dialect_insert(Contact).on_conflict_do_nothing(
        index_elements=["workspace_id", "external_id"]
    )
