"""Survey links and preference links: what a token names and how long it lives."""

from datetime import timedelta

from flask import current_app

from api import signing
from api.database import utcnow
from api.extensions import db
from api.surveys.models import Invitation


def survey_token(invitation_id: str) -> str:
    return signing.sign(signing.SURVEY_LINK, invitation_id)


def preferences_token(contact_id: str) -> str:
    return signing.sign(signing.PREFERENCES, contact_id)


def preferences_url(contact_id: str) -> str:
    """The contact's preference page, as links we hand out name it."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/p/{preferences_token(contact_id)}"


def invitation_for(token: str) -> Invitation:
    """The invitation a survey token names.

    Raises signing.TokenInvalid (forged, damaged, other purpose, unknown
    invitation) or signing.TokenExpired (older than the link may live).
    """
    max_age = timedelta(days=current_app.config["SURVEY_LINK_MAX_AGE_DAYS"])
    invitation_id = signing.unsign(signing.SURVEY_LINK, token, int(max_age.total_seconds()))
    invitation = (
        db.session.get(Invitation, invitation_id) if isinstance(invitation_id, str) else None
    )
    if invitation is None:
        raise signing.TokenInvalid
    if invitation.expires_at <= utcnow():
        raise signing.TokenExpired
    return invitation


def contact_id_for(token: str) -> str:
    max_age = timedelta(days=current_app.config["PREFERENCES_LINK_MAX_AGE_DAYS"])
    contact_id = signing.unsign(signing.PREFERENCES, token, int(max_age.total_seconds()))
    if not isinstance(contact_id, str):
        raise signing.TokenInvalid
    return contact_id
