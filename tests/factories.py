"""Surveys, contacts and invitations for tests, made through models and services.

The surveys API is built separately; tests of responses, queues and events
must not depend on its routes, so they seed what they need here. Every helper
adds and flushes; the caller commits (inside `app.app_context()`).
"""

import hashlib
import hmac
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from api.contacts import erasure
from api.contacts.models import Contact
from api.contacts.service import get_contact, upsert_contact
from api.extensions import db
from api.referrals import clicks
from api.responses import service as responses_service
from api.surveys.invitations import invite
from api.surveys.models import Invitation, Survey
from api.worker import periodic


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


@dataclass
class Seeded:
    survey_id: str
    invitation_ids: list[str]
    contact_ids: list[str]
    external_ids: list[str]


def seed(app, workspace_id: str, kind: str = "nps", contacts=1, **survey_kw) -> Seeded:
    """A survey and one invitation per contact, committed; returns their ids.

    `contacts` is a number of plain contacts, or a list of dicts of contact fields
    (an `external_id` in one names it).
    """
    if isinstance(contacts, int):
        contacts = [{} for _ in range(contacts)]
    with app.app_context():
        survey = make_survey(workspace_id, kind, **survey_kw)
        seeded = Seeded(survey.id, [], [], [])
        for index, fields in enumerate(contacts):
            fields = dict(fields)
            external_id = fields.pop("external_id", f"{survey.id}-c{index}")
            contact = make_contact(workspace_id, external_id, **fields)
            invitation = make_invitation(survey, contact)
            seeded.invitation_ids.append(invitation.id)
            seeded.contact_ids.append(contact.id)
            seeded.external_ids.append(external_id)
        db.session.commit()
        return seeded


def submit(app, invitation_id: str, score: int, **kw):
    """Submit through the service, as the hosted page does; returns (response id, created)."""
    with app.app_context():
        response, created = responses_service.submit(
            db.session.get(Invitation, invitation_id), score, **kw
        )
        db.session.commit()
        return response.id, created


def click(app, code: str, when: datetime | None = None) -> str:
    """A click on `code`'s link at `when`, recorded as /r/<code> records one; its `ffclick`.

    The code's program must be on, as for a real click; commits."""
    with app.app_context():
        url = clicks.visit(
            code, ip=None, user_agent=None, referrer=None, args=MultiDict(), now=when
        )
        db.session.commit()
    return parse_qs(urlsplit(url).query)["ffclick"][0]


def stripe_signature(body: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header as Stripe makes it: HMAC-SHA256 of "{t}.{body}"."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def run_periodic(app, name: str, at: datetime) -> int:
    """Run the worker's periodic task `name` alone, as if at `at`; what it did (its count)."""
    with app.app_context():
        return periodic.run_due(at, only=lambda task: task.name == name)[name]


def erase(app, workspace_id: str, external_id: str) -> None:
    """Erase the contact as DELETE /v1/contacts/{external_id} does, in a context of its
    own (its session, connection and transaction); commits."""
    with app.app_context():
        erasure.erase(get_contact(workspace_id, external_id))
        db.session.commit()


class Stopped(Exception):
    """The run was stopped between two chunks, as a worker that dies there is."""


def commit_then_stop(**_progress) -> None:
    """A job's checkpoint that commits its chunk, then stops the run (`Stopped`)."""
    db.session.commit()
    raise Stopped


@contextmanager
def erasure_under_way(app, workspace_id: str, external_id: str):
    """The contact erased in another thread, whose transaction stays open while the body
    starts work that has to wait for it: it commits once that work waits for one of its
    locks (PostgreSQL), or after a pause (SQLite, where a writer waits for the one
    before it whatever it writes)."""
    erased, failures = threading.Event(), []

    def run() -> None:
        try:
            with app.app_context():
                erasure.erase(get_contact(workspace_id, external_id))
                erased.set()
                _until_a_session_waits_for_a_lock()
                db.session.commit()
        except BaseException as failure:  # the test's thread says so
            failures.append(failure)
            erased.set()

    thread = threading.Thread(target=run)
    thread.start()
    assert erased.wait(10)
    try:
        yield
    finally:
        thread.join(10)
    assert not failures, failures


def _until_a_session_waits_for_a_lock(patience: float = 3.0) -> None:
    deadline = time.monotonic() + patience
    if db.engine.dialect.name != "postgresql":
        time.sleep(0.3)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        # A connection of its own: within a transaction the view would not change.
        with db.engine.connect() as connection:
            if connection.execute(waiting).scalar():
                return
        time.sleep(0.01)
