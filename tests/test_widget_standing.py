"""The widget's one-statement read of a contact and its throttles."""

from datetime import timedelta

import pytest

from api.contacts.models import Contact
from api.database import utcnow
from api.extensions import db
from api.responses.models import Response
from api.surveys import invitations
from api.surveys.models import Invitation, Survey
from api.widget import standing
from tests.conftest import create_tenant


@pytest.fixture
def workspace_id(app):
    return create_tenant(app).id


def _contact(workspace_id: str, external_id: str, **fields) -> Contact:
    contact = Contact(workspace_id=workspace_id, external_id=external_id, **fields)
    db.session.add(contact)
    db.session.flush()
    return contact


def _survey(workspace_id: str, name: str) -> Survey:
    survey = Survey(workspace_id=workspace_id, name=name, kind="nps", widget_enabled=True)
    db.session.add(survey)
    db.session.flush()
    return survey


def _invitation(survey: Survey, contact: Contact, **fields) -> Invitation:
    now = utcnow()
    invitation = Invitation(
        workspace_id=survey.workspace_id,
        survey_id=survey.id,
        contact_id=contact.id,
        channel="widget",
        created_at=now,
        expires_at=now + timedelta(days=7),
        **fields,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation


def test_one_read_gives_the_contact_and_each_surveys_throttle(app, workspace_id):
    with app.app_context():
        contact = _contact(workspace_id, "u1")
        answered, declined, free = (_survey(workspace_id, n) for n in ("A", "D", "F"))
        invitation = _invitation(answered, contact)
        now = utcnow()
        db.session.add(
            Response(
                workspace_id=workspace_id,
                survey_id=answered.id,
                invitation_id=invitation.id,
                contact_id=contact.id,
                score=9,
                category="promoter",
                channel="widget",
                day=now.date(),
                created_at=now,
                updated_at=now,
            )
        )
        _invitation(declined, contact, declined_at=now)
        db.session.commit()
        surveys = [answered, declined, free]
        row, throttles = standing.read(workspace_id, "u1", surveys, now)
        assert row.id == contact.id and row.created_at is not None
        assert throttles == {
            answered.id: invitations.RECENTLY_RESPONDED,
            declined.id: invitations.RECENTLY_DECLINED,
        }
        # Past the resurvey and decline windows, nothing holds the contact back.
        later = now + timedelta(days=400)
        assert standing.read(workspace_id, "u1", surveys, later)[1] == {}
        assert standing.read(workspace_id, "nobody", surveys, now) == (None, {})
        assert standing.read(workspace_id, "u1", [], now)[0].id == contact.id


def test_an_answer_outweighs_a_decline():
    assert invitations.throttle_reason(True, True) == invitations.RECENTLY_RESPONDED
    assert invitations.throttle_reason(False, True) == invitations.RECENTLY_DECLINED
    assert invitations.throttle_reason(False, False) is None


def test_in_the_session_it_sees_what_the_request_wrote_but_has_not_committed(app, workspace_id):
    with app.app_context():
        contact = _contact(workspace_id, "pending")
        read = standing.read(workspace_id, "pending", [], utcnow(), in_session=True)
        assert read[0].id == contact.id
        # A plain read (the default) runs outside the session: it sees only what is committed.
        assert standing.read(workspace_id, "pending", [], utcnow()) == (None, {})
        db.session.rollback()
        assert standing.read(workspace_id, "pending", [], utcnow(), in_session=True) == (None, {})
