"""Responses sent by partner apps that collect scores themselves (POST /v1/responses).

Only the resolving is done here: which survey, contact and invitation the body
names. The response itself is recorded by `service.submit`, the function the
hosted page and the widget use, so every channel follows the same rules.
"""

from datetime import datetime

from sqlalchemy import select

from api import scoring
from api.contacts import references
from api.contacts.models import Contact
from api.database import utcnow
from api.domain_errors import Conflict, Gone, Invalid, not_found
from api.extensions import db
from api.responses.models import Response
from api.responses.service import submit
from api.surveys.invitations import invite
from api.surveys.models import Invitation, Survey

CHANNEL = "api"

_SKIP_MESSAGES = {
    "unsubscribed": "This contact unsubscribed from surveys.",
    "recently_responded": "This contact answered this survey within its resurvey period.",
    "recently_declined": "This contact declined this survey within its decline period.",
}


def record(workspace_id: str, data: dict, now: datetime | None = None) -> tuple[Response, bool]:
    """Resolve the body's references, then submit; returns (response, created)."""
    now = now or utcnow()
    survey = db.session.scalar(
        select(Survey).where(Survey.workspace_id == workspace_id, Survey.id == data["survey_id"])
    )
    if survey is None:
        raise not_found("survey")
    _check_score(survey.kind, data["score"])  # before anything is written
    contact = references.resolve(workspace_id, data["contact"]) if "contact" in data else None
    if data.get("invitation_id"):
        invitation = _given_invitation(survey, data["invitation_id"], contact, now)
    else:
        invitation = _new_invitation(survey, contact, now)
    return submit(
        invitation,
        data["score"],
        comment=data.get("comment"),
        channel=CHANNEL,
        locale=data.get("locale"),
        meta=data.get("metadata"),
        now=now,
    )


def _check_score(kind: str, score: int) -> None:
    try:
        scoring.validate_score(kind, score)
    except ValueError as error:
        raise Invalid(str(error), fields={"score": [str(error)]}) from None


def _given_invitation(
    survey: Survey, invitation_id: str, contact: Contact | None, now: datetime
) -> Invitation:
    invitation = db.session.scalar(
        select(Invitation).where(
            Invitation.workspace_id == survey.workspace_id, Invitation.id == invitation_id
        )
    )
    if invitation is None:
        raise not_found("invitation")
    if invitation.survey_id != survey.id:
        raise Invalid(
            "This invitation belongs to another survey.",
            code="invitation_mismatch",
            fields={"invitation_id": ["Not an invitation of this survey."]},
        )
    if contact is not None and invitation.contact_id != contact.id:
        raise Invalid(
            "This invitation was sent to another contact.",
            code="contact_mismatch",
            fields={"contact": ["Not the contact of this invitation."]},
        )
    # The same limit the survey link has: an expired invitation takes no answers.
    if invitation.expires_at <= now:
        raise Gone("This invitation has expired.", code="invitation_expired")
    return invitation


def _new_invitation(survey: Survey, contact: Contact, now: datetime) -> Invitation:
    """An invitation with channel `api`, through the invitations service.

    So it is counted in the response rate, appears in the event feed, and obeys
    the same eligibility rules (unsubscribed, throttles) as every other channel.
    """
    invited, skipped = invite(survey, [{"contact_id": contact.id}], CHANNEL, now)
    if skipped:
        reason = skipped[0].reason
        raise Conflict(_SKIP_MESSAGES.get(reason, "This contact cannot be asked now."), code=reason)
    ((invitation, _contact),) = invited
    # invite() builds its rows set-based; load the session's own copy for submit().
    return db.session.get(Invitation, invitation.id)
