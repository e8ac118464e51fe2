"""Referral codes for contacts: one per contact, unique across every workspace.

Both rules are unique constraints, and a code is stored with a single
`INSERT ... ON CONFLICT DO NOTHING` that may trip either of them. When it
inserts nothing, the contact's row tells which: present, a concurrent request
(or an earlier one) gave this contact its code, which is the answer; absent,
the drawn code is taken somewhere, so `issue_code` draws again.
"""

from flask import current_app
from sqlalchemy import Select, select

from api.contacts import service as contacts
from api.contacts.models import Contact
from api.database import insert_ignore, utcnow
from api.domain_errors import Conflict, Invalid
from api.events import service as events
from api.extensions import db
from api.ids import new_id
from api.referrals import codes
from api.referrals import program as programs
from api.referrals.models import ReferralCode

# The code generator, a module attribute so a test can force a collision.
generate = codes.generate_code


def link_for(code: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/r/{code}"


def _insert(workspace_id: str, contact_id: str, code: str, vanity: bool) -> str | None:
    """Store a code for the contact; its id, or None when a unique constraint said no."""
    now = utcnow()
    code_id = new_id("rc")
    values = {
        "id": code_id,
        "workspace_id": workspace_id,
        "contact_id": contact_id,
        "code": code,
        "vanity": vanity,
        "created_at": now,
        "updated_at": now,
    }
    # No conflict target: either constraint may be hit, and the caller tells which.
    return code_id if insert_ignore(ReferralCode, values) else None


def code_of_contact(workspace_id: str, contact_id: str) -> ReferralCode | None:
    return db.session.scalar(
        select(ReferralCode)
        .where(ReferralCode.workspace_id == workspace_id, ReferralCode.contact_id == contact_id)
        .execution_options(populate_existing=True)
    )


def _issued(code_id: str) -> ReferralCode:
    code = db.session.get(ReferralCode, code_id)
    events.record(
        code.workspace_id,
        "referral_code.issued",
        code.id,
        {"code": code.code, "contact_id": code.contact_id, "vanity": code.vanity},
    )
    return code


def issue_for_contact(
    workspace_id: str, contact: Contact, vanity: str | None = None
) -> tuple[ReferralCode, bool]:
    """The contact's code, created on first call (True) and returned as is after (False).

    A vanity code is validated first (422 with the machine reason); asking for a
    different vanity code than the contact already has is a 409, since changing
    it would break every link already shared.
    """
    if vanity is not None:
        try:
            canonical = codes.validate_vanity(vanity)
        except codes.InvalidVanityCode as error:
            raise Invalid(
                error.message, code="invalid_vanity_code", fields={"vanity": [error.reason_code]}
            ) from None
        code_id = _insert(workspace_id, contact.id, canonical, vanity=True)
        if code_id is not None:
            return _issued(code_id), True
        existing = code_of_contact(workspace_id, contact.id)
        if existing is None:
            raise Conflict(
                "This code is taken; choose another.",
                code="code_taken",
                fields={"vanity": ["taken"]},
            )
        if existing.code != canonical:
            raise Conflict(
                f"This contact already has the code {existing.code}.",
                code="contact_has_code",
                fields={"vanity": ["contact_has_code"]},
            )
        return existing, False

    existing = code_of_contact(workspace_id, contact.id)
    if existing is not None:
        return existing, False
    found: dict = {}

    def store(candidate: str) -> bool:
        code_id = _insert(workspace_id, contact.id, candidate, vanity=False)
        if code_id is not None:
            found["code"], found["created"] = _issued(code_id), True
            return True
        raced = code_of_contact(workspace_id, contact.id)
        if raced is not None:  # a concurrent request gave the contact its code first
            found["code"], found["created"] = raced, False
            return True
        return False  # the code itself is taken: draw another

    codes.issue_code(store, generate=generate)
    return found["code"], found["created"]


def promoter_link(workspace_id: str, contact_id: str) -> dict | None:
    """What the thank-you page shows a promoter: {"code", "url"}, issued on first call.

    None while the workspace's program is not enabled (a link that attributes
    nothing is not worth showing) or when the contact is unknown.
    """
    if programs.enabled_program(workspace_id) is None:
        return None
    contact = contacts.get_contact_by_id(workspace_id, contact_id)
    if contact is None:
        return None
    code = issue_for_contact(workspace_id, contact)[0]
    return {"code": code.code, "url": link_for(code.code)}


def codes_of(workspace_id: str) -> Select:
    return select(ReferralCode).where(ReferralCode.workspace_id == workspace_id)


def filter_codes(workspace_id: str, filters: dict) -> Select:
    statement = codes_of(workspace_id)
    if filters.get("contact_id"):
        statement = statement.where(ReferralCode.contact_id == filters["contact_id"])
    if filters.get("external_id"):
        statement = statement.join(ReferralCode.contact).where(
            Contact.external_id == filters["external_id"]
        )
    if "disabled" in filters:
        statement = statement.where(
            ReferralCode.disabled_at.is_not(None)
            if filters["disabled"]
            else ReferralCode.disabled_at.is_(None)
        )
    return statement


def get_code(workspace_id: str, id_or_code: str) -> ReferralCode | None:
    """By our id (`rc_...`) or by the code as anyone may type it."""
    if id_or_code.startswith("rc_"):
        condition = ReferralCode.id == id_or_code
    else:
        condition = ReferralCode.code == codes.normalize_code(id_or_code)
    return db.session.scalar(codes_of(workspace_id).where(condition))


def find_code(workspace_id: str, text: str) -> ReferralCode | None:
    """A code typed by a person (any case, hyphens, spaces), in this workspace only."""
    canonical = codes.normalize_code(text)
    if not canonical or len(canonical) > codes.VANITY_MAX_LENGTH:
        return None
    return db.session.scalar(codes_of(workspace_id).where(ReferralCode.code == canonical))


def set_disabled(code: ReferralCode, disabled: bool) -> ReferralCode:
    now = utcnow()
    if disabled and code.disabled_at is None:
        code.disabled_at = now
        events.record(code.workspace_id, "referral_code.disabled", code.id, {"code": code.code})
    elif not disabled and code.disabled_at is not None:
        code.disabled_at = None
        events.record(code.workspace_id, "referral_code.enabled", code.id, {"code": code.code})
    code.updated_at = now
    db.session.flush()
    return code
