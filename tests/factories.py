"""Surveys, contacts and invitations for tests, made through models and services.

The surveys API is built separately; tests of responses, queues and events
must not depend on its routes, so they seed what they need here. Every helper
adds and flushes; the caller commits (inside `app.app_context()`).
"""

from api.contacts.models import Contact
from api.contacts.service import upsert_contact
from api.extensions import db
from api.surveys.invitations import invite
from api.surveys.models import Invitation, Survey


def make_survey(workspace_id: str, kind: str = "nps", **kw) -> Survey:
    survey = Survey(workspace_id=workspace_id, name=kw.pop("name", f"{kind} survey"), kind=kind)
    for name, value in kw.items():
        setattr(survey, name, value)
    db.session.add(survey)
    db.session.flush()
    return survey


def make_contact(workspace_id: str, external_id: str, **fields) -> Contact:
    contact, _created = upsert_contact(workspace_id, external_id, fields)
    return contact


def make_invitation(survey: Survey, contact: Contact, channel: str = "email") -> Invitation:
    """Invite through the invitations service, so the invitation is recorded like any other."""
    invited, skipped = invite(survey, [{"contact_id": contact.id}], channel)
    assert not skipped, skipped
    ((invitation, _contact),) = invited
    # invite() returns plain rows; the session's own copy is what services expect.
    return db.session.get(Invitation, invitation.id)
