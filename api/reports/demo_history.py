"""A year of customers for the demo workspace, so its retention report has a story.

Written through the services, as it would have happened: contacts move from trial
through onboarding and adopting to customer, answer a quarterly NPS survey after
ramp-up, and some leave, detractors most often; the follow-up items of the
detractors were handled, some with a re-survey that came back. The days whose
90-day window has passed are counted at once, as the worker would count them.
The draw is seeded, so every demo shows the same figures.
"""

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from api.contacts import service as contacts
from api.contacts import stages
from api.database import utcnow
from api.extensions import db
from api.queues import resurveys
from api.queues import service as queues
from api.queues.models import QueueItem, Resurvey
from api.reports import score_churn
from api.responses import service as responses
from api.responses.models import Response
from api.surveys.invitations import invite
from api.surveys.models import Invitation, Survey
from api.workspaces.models import Workspace

CUSTOMERS = 90
# Chance of leaving within 90 days of answering, by category: what a detractor costs.
CHURN_AFTER = {"promoter": 0.05, "passive": 0.15, "detractor": 0.4}
SCORES = {0: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 5, 7: 8, 8: 12, 9: 16, 10: 14}


SURVEY_NAME = "Quarterly NPS"


def ensure(workspace_id: str) -> None:
    """Seed the history once: a demo workspace made before it gets it too."""
    seeded = db.session.scalar(
        select(Survey.id).where(Survey.workspace_id == workspace_id, Survey.name == SURVEY_NAME)
    )
    if seeded is None:
        seed(workspace_id)


def seed(workspace_id: str, now: datetime | None = None) -> Survey:
    """The history, and its quarterly NPS survey (not asked in the widget)."""
    now = now or utcnow()
    rng = random.Random(13)
    survey = Survey(
        workspace_id=workspace_id,
        name=SURVEY_NAME,
        kind="nps",
        product_name=db.session.get(Workspace, workspace_id).name,
        resurvey_days=0,
        target_stages=["adopting", "customer", "advocate"],
    )
    db.session.add(survey)
    db.session.flush()
    scores, weights = list(SCORES), list(SCORES.values())
    for number in range(CUSTOMERS):
        contact, _ = contacts.upsert_contact(workspace_id, f"demo-customer-{number:02d}", {})
        at = now - timedelta(days=rng.uniform(150, 420))
        for stage, days in (("trial", 0), ("onboarding", 14), ("adopting", 20), ("customer", 30)):
            at += timedelta(days=days * rng.uniform(0.7, 1.3))
            stages.change(contact, stage, "demo", at)
        answered = at + timedelta(days=rng.uniform(5, 40))
        response = _answer(survey, contact, rng.choices(scores, weights)[0], answered)
        leaves = rng.random() < CHURN_AFTER[response.category]
        if response.category == "detractor":
            # Called back two days later; those who stayed were asked again.
            _resolve(response, answered + timedelta(days=2), None if leaves else 21)
            if not leaves:
                _answer_the_resurvey(contact.id, survey, rng, now)
        if leaves:
            left = answered + timedelta(days=rng.uniform(10, 85))
            if left < now:
                stages.change(contact, "churned", "demo", left)
        elif response.category == "promoter" and rng.random() < 0.3:
            stages.change(contact, "advocate", "demo", answered + timedelta(days=20))
    # Counted as the worker counts them, in this transaction: the demo lands whole or not.
    while score_churn.close_due(now) == 20:
        pass
    db.session.flush()
    return survey


def _answer(survey: Survey, contact, score: int, at: datetime) -> Response:
    [(invitation, _)], _skipped = invite(survey, [{"contact_id": contact.id}], "email", now=at)
    return _submit(invitation.id, score, at)


def _submit(invitation_id: str, score: int, at: datetime) -> Response:
    response, _ = responses.submit(db.session.get(Invitation, invitation_id), score, now=at)
    return response


def _resolve(response: Response, at: datetime, resurvey_after_days: int | None) -> None:
    item = db.session.scalar(select(QueueItem).where(QueueItem.response_id == response.id))
    queues.resolve(item, "Called back", at, resurvey_after_days=resurvey_after_days)


def _answer_the_resurvey(contact_id: str, survey: Survey, rng: random.Random, now) -> None:
    """Sent when due, as the worker sends it; most answer within days, most recovered."""
    resurvey = db.session.scalar(
        select(Resurvey)
        .where(Resurvey.contact_id == contact_id, Resurvey.survey_id == survey.id)
        .order_by(Resurvey.id.desc())
    )
    if resurvey.due_at > now:
        return
    resurveys.send_due(resurvey.due_at)
    answered = resurvey.due_at + timedelta(days=rng.uniform(1, 6))
    if answered < now and rng.random() < 0.8:
        response = _submit(resurvey.invitation_id, rng.choice((4, 6, 7, 8, 9, 10)), answered)
        if response.category == "detractor":
            _resolve(response, answered + timedelta(days=2), None)
