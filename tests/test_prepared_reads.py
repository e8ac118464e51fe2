"""PreparedRead and the widget's one-statement read of a contact and its throttles."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select

from api.contacts.models import Contact
from api.database import utcnow
from api.extensions import db
from api.prepared import PreparedRead
from api.responses.models import Response
from api.surveys import invitations
from api.surveys.models import Invitation, Survey
from api.widget import standing
from tests.conftest import create_tenant

COLUMNS = (Contact.id, Contact.attributes, Contact.unsubscribed_at, Contact.created_at)


@pytest.fixture
def workspace_id(app):
    return create_tenant(app).id


def _contact(workspace_id: str, external_id: str, **fields) -> Contact:
    contact = Contact(workspace_id=workspace_id, external_id=external_id, **fields)
    db.session.add(contact)
    db.session.flush()
    return contact


def test_reads_what_sqlalchemy_reads(app, workspace_id):
    gone = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    with app.app_context():
        _contact(
            workspace_id, "u1", attributes={"plan": "pro", "seats": [1, 2]}, unsubscribed_at=gone
        )
        db.session.commit()
        statement = select(*COLUMNS).where(Contact.external_id == bindparam("external_id"))
        prepared = PreparedRead(statement).first({"external_id": "u1"})
        assert prepared == tuple(db.session.execute(statement, {"external_id": "u1"}).one())
        assert prepared[1] == {"plan": "pro", "seats": [1, 2]}
        assert prepared[2] == gone and prepared[2].tzinfo is not None


def test_literal_values_and_missing_rows(app, workspace_id):
    with app.app_context():
        _contact(workspace_id, "u1", locale="de")
        db.session.commit()
        by_locale = select(Contact.id).where(
            Contact.locale == "de", Contact.external_id == bindparam("external_id")
        )
        assert PreparedRead(by_locale).first({"external_id": "u1"}) is not None
        assert PreparedRead(by_locale).first({"external_id": "nobody"}) is None
        with pytest.raises(KeyError):
            PreparedRead(by_locale).first({})


def test_it_never_sees_uncommitted_writes(app, workspace_id):
    with app.app_context():
        _contact(workspace_id, "pending")
        statement = select(Contact.id).where(Contact.external_id == bindparam("external_id"))
        assert PreparedRead(statement).first({"external_id": "pending"}) is None
        db.session.rollback()


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


def test_the_pooled_connection_goes_back_as_it_came(app):
    with app.app_context():
        db.engine.dispose()  # one pooled connection: the read's is the next one handed out
        statement = select(Contact.id).where(Contact.external_id == bindparam("external_id"))
        PreparedRead(statement).first({"external_id": "x"})
        raw = db.engine.raw_connection()
        try:
            # On PostgreSQL the read ran in autocommit; the session's work must not.
            assert getattr(raw.driver_connection, "autocommit", False) is False
        finally:
            raw.close()
