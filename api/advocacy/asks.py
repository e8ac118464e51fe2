"""The ask cap: nobody is asked for the same act more than once per `ask_cooldown_days`.

It holds across every channel (the thank-you page, the widget, email and the API)
because each of them claims the ask here before asking. A claim is one statement:
an INSERT of the (contact, act) row, or, when the row exists, an UPDATE of it
that only happens if the last ask is older than the cooldown. Two channels
claiming at once get one yes between them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from api.advocacy.models import AdvocacyAsk
from api.contacts.models import Contact
from api.database import insert_ignore, upsert_if_older
from api.domain_errors import Conflict
from api.extensions import db
from api.ids import new_id
from api.responses.models import Response


@dataclass(frozen=True)
class Ask:
    """An ask of a contact for an act: through which channel, after which response."""

    workspace_id: str
    contact_id: str
    act: str
    channel: str
    response_id: str | None = None


def claim(ask: Ask, cooldown_days: int, now: datetime) -> bool:
    """Record `ask` now and say yes, unless the contact was asked for its act within the
    cooldown."""
    return upsert_if_older(
        AdvocacyAsk,
        {
            "workspace_id": ask.workspace_id,
            "contact_id": ask.contact_id,
            "act": ask.act,
            "asked_at": now,
            "channel": ask.channel,
            "response_id": ask.response_id,
        },
        ["contact_id", "act"],
        "asked_at",
        now - timedelta(days=cooldown_days),
    )


def last_asks(contact_id: str) -> dict[str, AdvocacyAsk]:
    """The contact's last ask of each act."""
    rows = db.session.scalars(select(AdvocacyAsk).where(AdvocacyAsk.contact_id == contact_id))
    return {row.act: row for row in rows}


def asked_after(contact_id: str, act: str, response_id: str) -> bool:
    """Whether the contact's last ask of `act` was the one that followed this response."""
    found = db.session.scalar(
        select(AdvocacyAsk.response_id).where(
            AdvocacyAsk.contact_id == contact_id, AdvocacyAsk.act == act
        )
    )
    return found is not None and found == response_id


def next_ask_at(ask: AdvocacyAsk | None, cooldown_days: int) -> datetime | None:
    """When the act may be asked for again (None: now)."""
    return None if ask is None else ask.asked_at + timedelta(days=cooldown_days)


def claim_or_refuse(ask: Ask, cooldown_days: int, now: datetime) -> datetime:
    """`claim`, for a caller that asks itself (the API): when the act may next be asked
    for, or Conflict `ask_capped` saying when it may."""
    if claim(ask, cooldown_days, now):
        return now + timedelta(days=cooldown_days)
    last = last_asks(ask.contact_id)[ask.act]
    again = next_ask_at(last, cooldown_days)
    raise Conflict(
        f'This contact was last asked for the act "{ask.act}" on '
        f"{last.asked_at.date().isoformat()} ({last.channel}); ask again from "
        f"{again.isoformat(timespec='seconds')}.",
        code="ask_capped",
    )


def insert_for_response(model, prefix: str, contact: Contact, response: Response | None, values):
    """A new `model` row (a review request, a testimonial) of `contact`, after `response`
    when there is one; None when that response already has one.

    At most one per response, settled by the database (ON CONFLICT on response_id), so
    two channels acting on the same answer at once make one row between them.
    """
    row_id = new_id(prefix)
    inserted = insert_ignore(
        model,
        {
            "id": row_id,
            "workspace_id": contact.workspace_id,
            "contact_id": contact.id,
            "response_id": response.id if response is not None else None,
            "survey_id": response.survey_id if response is not None else None,
            **values,
        },
        ["response_id"] if response is not None else None,
    )
    return db.session.get(model, row_id) if inserted else None
