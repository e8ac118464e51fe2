"""Detractor recovery: resolving a follow-up item can ask its contact again in n days,
on the channel they answered on; the retention report says who recovered."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from api.contacts import service as contacts
from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.queues import resurveys
from api.queues import service as queues
from api.queues.models import QueueItem, Resurvey
from api.reports import retention
from api.responses import service as responses
from api.surveys.invitations import invite
from api.surveys.models import Invitation
from api.worker import periodic
from api.worker.loop import Worker
from tests.factories import make_survey, seed, submit
from tests.test_widget_api import Widget

FOLLOW_UP = "/v1/queues/follow_up/items"


def item_of(app, response_id: str) -> str:
    with app.app_context():
        return db.session.scalar(select(QueueItem.id).where(QueueItem.response_id == response_id))


def send_due(app, now=None) -> int:
    """The worker's step, as the worker runs it: until a batch is not full."""
    with app.app_context():
        return periodic.drain(resurveys.send_due, now or utcnow(), 2)


def resurvey_of(app, item_id: str) -> Resurvey:
    with app.app_context():
        found = resurveys.latest_of([item_id])[item_id]
        db.session.expunge(found)
        return found


@pytest.fixture
def detractor(app, tenant):
    """An email survey, and a detractor's open follow-up item: (survey id, item id)."""
    seeded = seed(app, tenant.id, contacts=[{"external_id": "ann", "email": "ann@example.com"}])
    response_id, _ = submit(app, seeded.invitation_ids[0], 2, channel="email")
    return seeded.survey_id, item_of(app, response_id)


def test_a_resolved_detractor_is_asked_again_by_email(app, tenant, detractor):
    survey_id, item_id = detractor
    resolved = tenant.post(
        f"{FOLLOW_UP}/{item_id}/resolve",
        json={"outcome": "Called Ann, fixed her export", "resurvey_after_days": 14},
    )
    assert resolved.status_code == 200, resolved.get_json()
    body = resolved.get_json()
    assert body["status"] == "done"
    asked = body["resurvey"]
    assert (asked["status"], asked["channel"], asked["invitation_id"]) == (
        "scheduled",
        "email",
        None,
    )
    due = utcnow() + timedelta(days=14)
    assert abs((date.fromisoformat(asked["due_at"][:10]) - due.date()).days) <= 1
    assert tenant.get(f"{FOLLOW_UP}/{item_id}").get_json()["resurvey"] == asked

    assert send_due(app) == 0  # not due yet
    assert send_due(app, due + timedelta(minutes=1)) == 1
    sent = resurvey_of(app, item_id)
    assert sent.status == "sent" and sent.invitation_id is not None
    assert send_due(app, due + timedelta(days=1)) == 0  # asked once
    with app.app_context():
        invitation = db.session.get(Invitation, sent.invitation_id)
        assert (invitation.survey_id, invitation.channel) == (survey_id, "email")
        event = db.session.scalar(
            select(Event).where(
                Event.type == "invitation.created", Event.subject_id == invitation.id
            )
        )
        assert event.data["resurvey_id"] == sent.id and event.data["channel"] == "email"
    # The partner app reads the invitation's email block, as it would from a batch.
    links = tenant.get(f"/v1/surveys/{survey_id}/invitations/{sent.invitation_id}")
    assert links.status_code == 200
    links = links.get_json()
    assert links["external_id"] == "ann" and "<table" in links["email_html"]
    assert set(links["score_urls"]) == {str(score) for score in range(11)}
    assert links["email_headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert tenant.get(f"/v1/surveys/{survey_id}/invitations/inv_nope").status_code == 404


def test_the_widget_asks_again_despite_the_resurvey_throttle(app, tenant):
    widget = Widget(app, tenant)
    survey_id = widget.survey(resurvey_days=90)
    display = widget.shown(user_id="u1")
    answered = widget.post("responses", {"display": display, "score": 3})
    assert answered.status_code == 201
    assert widget.eligibility("u1").get_json()["reason"] == "recently_responded"
    # Another contact answered too, before u1 is asked again: they stay held back.
    other = widget.post("responses", {"display": widget.shown(user_id="u2"), "score": 9})
    assert other.status_code == 201
    with app.app_context():
        item = db.session.scalar(select(QueueItem).where(QueueItem.survey_id == survey_id))
        # Resolved 20 days ago with a re-survey after 14: due 6 days ago.
        queues.resolve(item, "Fixed it", utcnow() - timedelta(days=20), resurvey_after_days=14)
        db.session.commit()
        item_id = item.id
    assert widget.eligibility("u1").get_json()["reason"] == "recently_responded"  # not sent yet
    assert send_due(app) == 1
    asked = resurvey_of(app, item_id)
    assert (asked.channel, asked.status, asked.invitation_id) == ("widget", "sent", None)
    again = widget.eligibility("u1").get_json()
    assert again["show"] is True and again["survey"]["id"] == survey_id
    # Only u1 is asked again: u2, who answered before u1's re-survey was sent, is not.
    assert widget.eligibility("u2").get_json()["reason"] == "recently_responded"
    # Once they answer again, the throttle holds again.
    assert widget.post("responses", {"display": again["display"], "score": 9}).status_code == 201
    assert widget.eligibility("u1").get_json()["reason"] == "recently_responded"


def test_only_follow_up_items_with_a_contact_and_a_sane_delay(app, tenant, detractor):
    _survey_id, item_id = detractor
    for days in (-1, 366, "soon"):
        response = tenant.post(
            f"{FOLLOW_UP}/{item_id}/resolve", json={"outcome": "x", "resurvey_after_days": days}
        )
        assert response.status_code == 422, days
        assert "resurvey_after_days" in response.get_json()["error"]["fields"]
    seeded = seed(app, tenant.id)
    promoter, _ = submit(app, seeded.invitation_ids[0], 10)
    refused = tenant.post(
        f"/v1/queues/advocacy/items/{item_of(app, promoter)}/resolve",
        json={"outcome": "Asked for a review", "resurvey_after_days": 30},
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"]["resurvey_after_days"] == [
        "Only a follow-up item can schedule a re-survey."
    ]
    # Refused means nothing happened: the item is still open.
    assert tenant.get(f"/v1/queues/advocacy/items/{item_of(app, promoter)}").get_json()[
        "status"] == "open"  # fmt: skip


def test_a_due_resurvey_is_not_sent_to_someone_who_unsubscribed(app, tenant, detractor):
    _survey_id, item_id = detractor
    tenant.post(f"{FOLLOW_UP}/{item_id}/resolve", json={"outcome": "x", "resurvey_after_days": 7})
    tenant.patch("/v1/contacts/ann", json={"unsubscribed": True})
    assert send_due(app, utcnow() + timedelta(days=8)) == 1
    cancelled = resurvey_of(app, item_id)
    assert (cancelled.status, cancelled.cancelled_reason) == ("cancelled", "unsubscribed")
    assert cancelled.invitation_id is None


def test_resolving_again_replaces_the_waiting_resurvey(app, tenant, detractor):
    survey_id, item_id = detractor
    tenant.post(f"{FOLLOW_UP}/{item_id}/resolve", json={"outcome": "x", "resurvey_after_days": 7})
    first = resurvey_of(app, item_id)
    with app.app_context():  # the score changes, the item reopens, and is resolved again
        response = responses.response_for_invitation(
            db.session.scalar(select(Invitation.id).where(Invitation.survey_id == survey_id))
        )
        responses.submit(db.session.get(Invitation, response.invitation_id), 1)
        db.session.commit()
    assert tenant.get(f"{FOLLOW_UP}/{item_id}").get_json()["status"] == "open"
    tenant.post(f"{FOLLOW_UP}/{item_id}/resolve", json={"outcome": "y", "resurvey_after_days": 30})
    with app.app_context():
        rows = db.session.scalars(select(Resurvey).order_by(Resurvey.id)).all()
        assert [(r.id == first.id, r.status, r.cancelled_reason) for r in rows] == [
            (True, "cancelled", "rescheduled"),
            (False, "scheduled", None),
        ]


def test_recovered_detractors_their_rate_and_the_time_they_took(app, tenant):
    """Four detractors of one survey, each resolved with a re-survey in January 2026:

        ann  answered 0 on 01-01; asked again 01-15; answers 9 on 01-20: recovered, 19 days
        bob  answered 3 on 01-02; asked again 01-16; answers 8 on 01-28: recovered, 26 days
        cat  answered 5 on 01-03; asked again 01-17; answers 4 on 01-18: still a detractor
        dan  answered 6 on 01-04; asked again 01-18; has not answered since

    Sent 4, answered 3, recovered 2: rate 2 / 3, median of 19 and 26 days = 22.5.
    Before they were asked again, bob also answered 2 on 01-10: not the re-survey's answer.
    """

    def day(number: int) -> datetime:
        return datetime(2026, 1, number, 12, tzinfo=UTC)

    people = {
        "ann": (1, 0, 20, 9),
        "bob": (2, 3, 28, 8),
        "cat": (3, 5, 18, 4),
        "dan": (4, 6, None, None),
    }
    with app.app_context():
        survey = make_survey(tenant.id, "nps", resurvey_days=0)
        for name, (first, score, _later, _next_score) in people.items():
            contact, _ = contacts.upsert_contact(tenant.id, name, {})
            invitation = _invite(survey, contact, day(first))
            response, _ = responses.submit(invitation, score, now=day(first))
            item = db.session.scalar(select(QueueItem).where(QueueItem.response_id == response.id))
            queues.resolve(item, "Called", day(first + 1), resurvey_after_days=13)
            if name == "bob":
                responses.submit(_invite(survey, contact, day(10)), 2, now=day(10))
        for due in (15, 16, 17, 18):  # the worker sends each on the day it is due
            assert resurveys.send_due(day(due)) == 1
        for name, (_first, _score, later, next_score) in people.items():
            if later is not None:
                contact = contacts.get_contact(tenant.id, name)
                responses.submit(_invite(survey, contact, day(later)), next_score, now=day(later))
        db.session.commit()
        found = retention.retention_report(
            tenant.id, start=date(2026, 1, 1), end=date(2026, 1, 1), now=day(31)
        )["recovery"]
    counts = ("scheduled", "waiting", "cancelled", "sent", "answered", "recovered")
    assert [found[name] for name in counts] == [4, 0, 0, 4, 3, 2]
    # 2 of 3 with the Agresti-Coull interval, worked out: n~ = 3 + 1.96^2 = 6.8416,
    # p~ = (2 + 1.9208) / 6.8416 = 0.57308, half-width 1.96 sqrt(p~ (1 - p~) / n~) = 0.37067.
    assert found["rate"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert found["rate"]["low"] == pytest.approx(0.57308 - 0.37067, abs=1e-4)
    assert found["rate"]["high"] == pytest.approx(0.57308 + 0.37067, abs=1e-4)
    assert found["median_days_to_recover"] == 22.5
    # February's report has none of January's.
    with app.app_context():
        february = retention.retention_report(
            tenant.id, start=date(2026, 2, 1), end=date(2026, 2, 1), now=day(31)
        )["recovery"]
    assert february["scheduled"] == 0 and february["rate"]["value"] is None


def _invite(survey, contact, when) -> Invitation:
    [(invitation, _)], skipped = invite(survey, [{"contact_id": contact.id}], "email", now=when)
    assert not skipped
    return db.session.get(Invitation, invitation.id)


def test_the_worker_step_runs_from_the_command_line(app, tenant, detractor, runner):
    _survey_id, item_id = detractor
    with app.app_context():
        item = db.session.get(QueueItem, item_id)
        queues.resolve(item, "Fixed", utcnow() - timedelta(days=8), resurvey_after_days=7)
        db.session.commit()
    result = runner.invoke(args=["queues", "send-resurveys"])
    assert result.exit_code == 0, result.output
    assert "re-surveys due and handled: 1" in result.output
    assert resurvey_of(app, item_id).status == "sent"


def test_the_worker_asks_when_due_with_no_cli_call(app, tenant, detractor):
    _survey_id, item_id = detractor
    tenant.post(f"{FOLLOW_UP}/{item_id}/resolve", json={"outcome": "x", "resurvey_after_days": 3})
    worker = Worker(app)
    assert worker.run_once(utcnow()).periodic["resurveys.send_due"] == 0
    done = worker.run_once(utcnow() + timedelta(days=3, minutes=1))
    assert done.periodic["resurveys.send_due"] == 1
    assert resurvey_of(app, item_id).status == "sent"
