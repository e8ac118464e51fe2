"""Re-surveys: asking an unhappy customer again once their follow-up item is resolved.

Resolving a follow-up item with `resurvey_after_days: n` schedules the item's
survey for the item's contact n days later, on the channel they answered on.
When it is due, the worker's step `send_due` turns it into an ask:

- email, link and api: an invitation on that channel, announced like any other
  as `invitation.created` (its data names the `resurvey_id`); the partner app reads
  its links and email block (GET /v1/surveys/{id}/invitations/{invitation_id}) and
  sends it, as it sends any invitation;
- widget: the contact is eligible for the survey again although they answered it
  within its `resurvey_days` (invitations.throttle_checks), until they answer again.

The contact's next answer to the survey from then on, by whatever way, is the
re-survey's answer: the recovery report reads it.
"""

from datetime import datetime, timedelta

from sqlalchemy import select

from api.contacts import service as contacts
from api.contacts.service import ContactRow
from api.database import utcnow
from api.domain_errors import Invalid
from api.extensions import db
from api.queues.models import Resurvey
from api.responses.models import Response
from api.surveys import invitations
from api.surveys.models import Survey
from api.worker import periodic

MAX_DAYS = 365
SCHEDULED, SENT, CANCELLED = "scheduled", "sent", "cancelled"
FIELD = "resurvey_after_days"


def schedule(item, days: int, now: datetime | None = None) -> Resurvey:
    """Ask the contact of the follow-up `item` its survey again `days` from `now`.

    A re-survey of the item that is still waiting is replaced, not doubled.
    """
    now = now or utcnow()
    if item.queue != "follow_up":
        message = "Only a follow-up item can schedule a re-survey."
        raise Invalid(message, fields={FIELD: [message]})
    if item.contact_id is None:
        message = "This response has no contact to ask again."
        raise Invalid(message, fields={FIELD: [message]})
    if not 0 <= days <= MAX_DAYS:
        message = f"A re-survey is 0 to {MAX_DAYS} days away."
        raise Invalid(message, fields={FIELD: [message]})
    response = db.session.get(Response, item.response_id)
    for waiting in db.session.scalars(
        select(Resurvey).where(Resurvey.queue_item_id == item.id, Resurvey.status == SCHEDULED)
    ):
        waiting.status, waiting.cancelled_reason = CANCELLED, "rescheduled"
    resurvey = Resurvey(
        workspace_id=item.workspace_id,
        queue_item_id=item.id,
        response_id=item.response_id,
        survey_id=item.survey_id,
        contact_id=item.contact_id,
        channel=response.channel,
        status=SCHEDULED,
        due_at=now + timedelta(days=days),
        created_at=now,
    )
    db.session.add(resurvey)
    db.session.flush()
    return resurvey


def latest_of(item_ids: list[str]) -> dict[str, Resurvey]:
    """The newest re-survey of each item that has one."""
    found: dict[str, Resurvey] = {}
    if not item_ids:
        return found
    for resurvey in db.session.scalars(
        select(Resurvey).where(Resurvey.queue_item_id.in_(item_ids)).order_by(Resurvey.id)
    ):
        found[resurvey.queue_item_id] = resurvey
    return found


def send_due(now: datetime | None = None, batch: int = 200) -> int:
    """Ask up to `batch` re-surveys that are due; returns how many. Run by the worker.

    Nobody is asked twice by workers running at once (periodic.each_due). The caller
    commits after each batch and calls again while it returns `batch`.
    """
    now = now or utcnow()
    due = (
        select(Resurvey)
        .where(Resurvey.status == SCHEDULED, Resurvey.due_at <= now)
        .order_by(Resurvey.due_at, Resurvey.id)
    )
    return periodic.each_due(due, batch, lambda resurvey: _send(resurvey, now))


def _send(resurvey: Resurvey, now: datetime) -> None:
    survey = db.session.get(Survey, resurvey.survey_id)
    contact = contacts.rows_by_id(resurvey.workspace_id, [resurvey.contact_id]).get(
        resurvey.contact_id
    )
    reason = _why_not(resurvey, survey, contact)
    if reason is not None:
        resurvey.status, resurvey.cancelled_reason = CANCELLED, reason
        return
    if resurvey.channel != "widget":
        [invitation] = invitations.create(
            survey, [contact], resurvey.channel, now, {"resurvey_id": resurvey.id}
        )
        resurvey.invitation_id = invitation.id
    resurvey.status, resurvey.sent_at = SENT, now


def _why_not(resurvey: Resurvey, survey: Survey, contact: ContactRow | None) -> str | None:
    """Why a due re-survey is not asked after all (the same rules as any invitation)."""
    if contact is None:
        return "contact_erased"
    if contact.unsubscribed:
        return invitations.UNSUBSCRIBED
    if not survey.active:
        return "survey_inactive"
    if resurvey.channel == "widget" and not survey.widget_enabled:
        return "widget_disabled"
    return invitations.stage_reason(survey, contact.stage)
