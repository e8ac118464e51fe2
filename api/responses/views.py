"""Responses as the API shows them: with their contact, loaded once per page."""

from dataclasses import dataclass

from sqlalchemy import select

from api.contacts.models import Contact
from api.database import chunked
from api.extensions import db
from api.responses.models import Response


@dataclass
class ResponseView:
    response: Response
    contact: Contact | None

    def __getattr__(self, name):
        return getattr(self.response, name)


def contacts_of(workspace_id: str, contact_ids) -> dict[str, Contact]:
    """Live contacts by id; an erased contact is left out, so nothing shows who it was."""
    found: dict[str, Contact] = {}
    for chunk in chunked(sorted({i for i in contact_ids if i})):
        for contact in db.session.scalars(
            select(Contact).where(
                Contact.workspace_id == workspace_id,
                Contact.id.in_(chunk),
                Contact.erased_at.is_(None),
            )
        ):
            found[contact.id] = contact
    return found


def with_contacts(workspace_id: str, responses: list[Response]) -> list[ResponseView]:
    contacts = contacts_of(workspace_id, [r.contact_id for r in responses])
    return [ResponseView(r, contacts.get(r.contact_id)) for r in responses]
