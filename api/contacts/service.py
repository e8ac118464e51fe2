"""Contact rules: upsert by external id, attribute merge, erasure."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Select, select

from api.contacts.models import Contact
from api.database import insert_ignore, utcnow
from api.extensions import db

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


def update_contact(contact: Contact, data: dict, *, replace_attributes: bool = False) -> Contact:
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
        contact.attributes = base
    if "unsubscribed" in data:
        set_unsubscribed(contact, data["unsubscribed"], now)
    contact.updated_at = now
    db.session.flush()
    return contact


def set_unsubscribed(contact: Contact, unsubscribed: bool, now: datetime | None = None) -> None:
    if unsubscribed and contact.unsubscribed_at is None:
        contact.unsubscribed_at = now or utcnow()
    elif not unsubscribed:
        contact.unsubscribed_at = None


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
    contact.external_id = f"erased:{contact.id}"
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
