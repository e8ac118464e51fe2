"""Responses sent by partner apps that collect scores themselves (POST /v1/responses).

Only the resolving is done here: which survey, contact and invitation the body
names. The response itself is recorded by `service.submit`, the function the
hosted page and the widget use, so every channel follows the same rules.
"""

from datetime import datetime

from api import scoped, scoring
from api.contacts import references
from api.contacts.models import Contact
from api.database import utcnow
from api.domain_errors import Conflict, Gone, Invalid
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
    survey = scoped.get_or_404(Survey, workspace_id, data["survey_id"], "survey")
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
    invitation = scoped.get_or_404(Invitation, survey.workspace_id, invitation_id, "invitation")
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
