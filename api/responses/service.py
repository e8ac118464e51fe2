"""Recording responses: one per invitation, and everything that follows from one.

`submit` is the single entry point for the hosted page, the REST API and the
widget. In one transaction it writes the response, moves the rollup counts
reports read, routes the queue item and appends the events.
"""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, bindparam, select

from api import counters, scoring
from api.contacts.models import Contact
from api.database import insert_ignore, inserted, plain_read, utcnow
from api.domain_errors import Invalid
from api.events import service as events
from api.extensions import db
from api.ids import new_id
from api.queues import service as queues
from api.referrals import moment as referral_moment
from api.responses.models import Response, ResponseRollup
from api.surveys.models import Invitation, Survey

MAX_COMMENT = 5000
TOTAL = ""  # the rollup segment of all responses


def submit(
    invitation: Invitation,
    score: int,
    *,
    comment: str | None = None,
    channel: str | None = None,
    locale: str | None = None,
    meta: dict | None = None,
    now: datetime | None = None,
    survey: Survey | None = None,
) -> tuple[Response, bool]:
    """Record the invitation's score, or change it; returns (response, created).

    Submitting again (double click, second tab, changed mind) updates the one
    response and keeps its created_at. Races are settled by the unique index
    on invitation_id: one INSERT wins, the others update the winner's row.
    `survey` is the invitation's, when the caller has it already.
    """
    survey = survey or db.session.get(Survey, invitation.survey_id)
    now = now or utcnow()
    try:
        category = scoring.classify(survey.kind, score)
    except ValueError as error:
        raise Invalid(str(error), fields={"score": [str(error)]}) from None
    comment = _clean_comment(comment)
    contact = db.session.get(Contact, invitation.contact_id) if invitation.contact_id else None
    segments = _segments(survey, contact)
    values = {
        "id": new_id("rsp"),
        "workspace_id": invitation.workspace_id,
        "survey_id": survey.id,
        "invitation_id": invitation.id,
        "contact_id": invitation.contact_id,
        "score": score,
        "category": category,
        "comment": comment,
        "channel": channel or invitation.channel,
        "locale": locale or invitation.locale,
        "meta": meta or {},
        "segments": segments,
        "day": now.date(),
        "created_at": now,
        "updated_at": now,
    }
    if insert_ignore(Response, values, ["invitation_id"]):
        response = inserted(Response, values)
        _count(response, response.score, +1)
        events.record(response.workspace_id, "response.created", response.id, _payload(response))
        _act_on(response, survey.kind, now, new=True)
        return response, True
    response = db.session.scalar(
        select(Response)
        .where(Response.invitation_id == invitation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    changed = response.score != score
    if changed:
        _count(response, response.score, -1)
        _count(response, score, +1)
        response.score, response.category = score, category
    new_comment = comment is not None and comment != response.comment
    if new_comment:
        response.comment = comment
    if meta:
        response.meta = {**(response.meta or {}), **meta}
    if changed or new_comment:
        # A double click changes nothing and tells nobody.
        response.updated_at = now
        db.session.flush()
        events.record(response.workspace_id, "response.updated", response.id, _payload(response))
    if changed:
        _act_on(response, survey.kind, now)
    return response, False


def _act_on(response: Response, kind: str, now: datetime, new: bool = False) -> None:
    """Route the queue item; a promoter also gets their referral code, now, while happy."""
    item = queues.route(response, kind, now, new=new)
    if item is not None and item.queue == "advocacy" and item.status == "open":
        referral_moment.issue_for_promoter(response.workspace_id, response.contact_id)


def set_comment(response: Response, comment: str | None, now: datetime | None = None) -> Response:
    comment = _clean_comment(comment)
    if comment == response.comment:
        return response  # nothing changed, so no event: a retried PATCH tells nobody twice
    response.comment = comment
    response.updated_at = now or utcnow()
    db.session.flush()
    events.record(response.workspace_id, "response.updated", response.id, _payload(response))
    return response


def _clean_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise Invalid(
            f"A comment is at most {MAX_COMMENT} characters.",
            fields={"comment": [f"Longer than {MAX_COMMENT} characters."]},
        )
    return comment or None


def _segments(survey: Survey, contact: Contact | None) -> dict:
    if contact is None:
        return {}
    attributes = contact.attributes or {}
    # The rollup's segment column holds "<name>=<value>" in 200 characters; a longer
    # one would fail the whole submit on PostgreSQL, so the value is cut to fit.
    return {
        name: str(attributes[name])[: max(0, 199 - len(name))]
        for name in survey.segment_attributes or []
        if attributes.get(name) not in (None, "")
    }


def _count(response: Response, score: int, delta: int) -> None:
    """Move the rollup counts the reports read: the total and one row per segment."""
    segments = [TOTAL] + [f"{name}={value}" for name, value in (response.segments or {}).items()]
    for segment in segments:
        keys = {"survey_id": response.survey_id, "day": response.day, "segment": segment}
        counters.add(ResponseRollup, {**keys, "score": score}, delta)


def _payload(response: Response) -> dict:
    return {
        "survey_id": response.survey_id,
        "invitation_id": response.invitation_id,
        "contact_id": response.contact_id,
        "score": response.score,
        "category": response.category,
        "has_comment": bool(response.comment),
        "channel": response.channel,
    }


class Answered(NamedTuple):
    id: str
    category: str
    contact_id: str | None


# Core columns on the session's connection: no ORM object is built for a retry.
_ANSWERED = select(
    Response.id, Response.category, Response.contact_id, Response.score, Response.meta
).where(Response.invitation_id == bindparam("invitation_id"))


def unchanged(invitation_id: str, score: int, meta: dict) -> Answered | None:
    """The invitation's response when submitting `score` and `meta` again would change
    nothing (a widget retries until it hears back), else None: `submit` it then.

    A `plain_read` (the request has written nothing yet), so a retry never waits
    for the write lock, nor takes it, nor opens a session transaction."""
    row = plain_read(_ANSWERED, {"invitation_id": invitation_id})
    if row is None:
        return None
    response_id, category, contact_id, stored_score, stored_meta = row
    stored_meta = stored_meta or {}
    if stored_score != score or any(stored_meta.get(k) != v for k, v in meta.items()):
        return None
    return Answered(response_id, category, contact_id)


def response_for_invitation(invitation_id: str) -> Response | None:
    return db.session.scalar(select(Response).where(Response.invitation_id == invitation_id))


def get_response(workspace_id: str, response_id: str) -> Response | None:
    return db.session.scalar(
        select(Response).where(Response.workspace_id == workspace_id, Response.id == response_id)
    )


def filter_responses(workspace_id: str, filters: dict) -> Select:
    statement = select(Response).where(Response.workspace_id == workspace_id)
    if filters.get("survey_id"):
        statement = statement.where(Response.survey_id == filters["survey_id"])
    if filters.get("category"):
        statement = statement.where(Response.category.in_(filters["category"]))
    if filters.get("min_score") is not None:
        statement = statement.where(Response.score >= filters["min_score"])
    if filters.get("max_score") is not None:
        statement = statement.where(Response.score <= filters["max_score"])
    if filters.get("from"):
        statement = statement.where(Response.created_at >= filters["from"])
    if filters.get("to"):
        statement = statement.where(Response.created_at < filters["to"])
    if filters.get("has_comment") is not None:
        has = Response.comment.is_not(None)
        statement = statement.where(has if filters["has_comment"] else ~has)
    attributes = filters.get("attributes") or {}
    if attributes:
        statement = statement.join(Contact, Contact.id == Response.contact_id)
    for name, value in attributes.items():
        statement = statement.where(Contact.attributes[name].as_string() == value)
    return statement


def forget_comments(contact: Contact) -> None:
    """Erasure keeps scores (anonymous aggregates) and drops what the person wrote."""
    for response in db.session.scalars(select(Response).where(Response.contact_id == contact.id)):
        response.comment = None
        response.meta = {}
