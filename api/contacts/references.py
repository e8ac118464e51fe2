"""Contact references: how a request names a contact, with one rule for each form.

A reference is one of

* `{"contact_id": "con_..."}`: our id, of a contact that exists (and is not erased);
* `{"external_id": "u-1"}` alone: your id, of a contact that exists;
* `{"external_id": "u-1", "email": ..., ...}`: an inline contact, created or updated
  first (the fields given change, attributes merge), so it always resolves.

A reference to no contact is `contact_not_found`: a 404 where the request names one
contact, a skipped reason in a batch of invitations, where one stale id must not
refuse the other 99,999. A bare external id never creates a contact: a typo in one
would otherwise make an empty stranger and act on it (a response, a referral code)
instead of saying the contact is unknown. To create one, give at least one field.
"""

from api.contacts import service as contacts
from api.contacts.models import Contact
from api.contacts.schemas import normal_email
from api.contacts.service import ContactRow
from api.domain_errors import NotFound

CONTACT_NOT_FOUND = "contact_not_found"


def is_inline(ref: dict) -> bool:
    """An inline contact: an external id with fields, upserted before it is used."""
    return "external_id" in ref and len(ref) > 1


def names(ref: dict, contact: Contact) -> bool:
    """Whether `ref` (or a row of fields shaped like one: a CSV import's) names the person
    `contact` is, by either id or by the email an inline contact gives: what erasure
    takes out of work not done yet, since resolving it would write the person again."""
    if ref.get("contact_id") == contact.id or ref.get("external_id") == contact.external_id:
        return True
    email = ref.get("email")
    if not contact.email or not isinstance(email, str):
        return False
    return normal_email(email) == normal_email(contact.email)


def not_found() -> NotFound:
    return NotFound("No such contact.", code=CONTACT_NOT_FOUND)


def resolve(workspace_id: str, ref: dict) -> Contact:
    """The contact `ref` names (an inline one upserted first); NotFound when none."""
    if "contact_id" in ref:
        contact = contacts.get_contact_by_id(workspace_id, ref["contact_id"])
    elif is_inline(ref):
        fields = {name: value for name, value in ref.items() if name != "external_id"}
        contact, _created = contacts.upsert_contact(workspace_id, ref["external_id"], fields)
    else:
        contact = contacts.get_contact(workspace_id, ref["external_id"])
    if contact is None:
        raise not_found()
    return contact


def resolve_many(workspace_id: str, refs: list[dict]) -> list[ContactRow | None]:
    """The contact each ref names, in order, None where none is (`resolve`'s rule, set
    based: inline contacts are upserted together, the rest looked up together)."""
    by_external = contacts.upsert_many(workspace_id, [ref for ref in refs if is_inline(ref)])
    bare = [ref["external_id"] for ref in refs if "external_id" in ref and not is_inline(ref)]
    by_external |= contacts.rows_by_external_id(workspace_id, bare)
    by_id = contacts.rows_by_id(
        workspace_id, [ref["contact_id"] for ref in refs if "contact_id" in ref]
    )
    return [
        by_id.get(ref["contact_id"]) if "contact_id" in ref else by_external.get(ref["external_id"])
        for ref in refs
    ]
