"""Advocates: contacts who opted in to acts of advocacy, and the acts they did.

Any contact can opt in or out, from the thank-you page, the widget, the
preference page or the API; each change is an event. Acts done are recorded in
`advocacy_acts`: a self-reported review and an approved testimonial record
themselves, anything else (a case study, a reference call) is recorded by the API.
"""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, delete, select

from api.advocacy import asks
from api.advocacy.counts import acts_done
from api.advocacy.models import ACTS, AdvocacyAct, AdvocacyAsk, AdvocateOptIn
from api.advocacy.settings import settings_of
from api.contacts.models import Contact
from api.database import insert_ignore, utcnow
from api.domain_errors import Invalid
from api.events import service as events
from api.extensions import db
from api.filters import narrowed
from api.ids import new_id
from api.referrals import links
from api.referrals import stats as referral_stats

# Sources of an opt-in besides the ask channels.
PREFERENCE_PAGE = "preference_page"


def known_acts(acts: list[str]) -> list[str]:
    unknown = sorted(set(acts) - set(ACTS))
    if unknown:
        message = f"Unknown acts {unknown}; acts are {', '.join(ACTS)}."
        raise Invalid(message, fields={"acts": [message]})
    return [act for act in ACTS if act in acts]  # in the one order, each once


def opted_in(contact_id: str) -> dict[str, AdvocateOptIn]:
    rows = db.session.scalars(select(AdvocateOptIn).where(AdvocateOptIn.contact_id == contact_id))
    return {row.act: row for row in rows}


def opt_in(
    contact: Contact, acts: list[str], source: str, now: datetime | None = None
) -> list[str]:
    """Add `acts` to what the contact agreed to; returns the acts that are new."""
    now = now or utcnow()
    added = [
        act
        for act in known_acts(acts)
        if insert_ignore(
            AdvocateOptIn,
            {
                "workspace_id": contact.workspace_id,
                "contact_id": contact.id,
                "act": act,
                "source": source,
                "opted_in_at": now,
            },
            ["contact_id", "act"],
        )
    ]
    if added:
        _event(contact, "advocate.opted_in", added, source)
    return added


def opt_out(contact: Contact, acts: list[str] | None, source: str) -> list[str]:
    """Withdraw `acts` (None: all of them); returns the acts that were opted in."""
    chosen = ACTS if acts is None else known_acts(acts)
    result = db.session.execute(
        delete(AdvocateOptIn)
        .where(AdvocateOptIn.contact_id == contact.id, AdvocateOptIn.act.in_(chosen))
        .returning(AdvocateOptIn.act)
    )
    deleted = set(result.scalars())
    removed = [act for act in ACTS if act in deleted]
    if removed:
        _event(contact, "advocate.opted_out", removed, source)
    return removed


def set_opt_ins(contact: Contact, acts: list[str], source: str) -> list[str]:
    """Make the contact's opt-ins exactly `acts` (the preference page's checkboxes)."""
    chosen = known_acts(acts)
    opt_out(contact, [act for act in ACTS if act not in chosen], source)
    opt_in(contact, chosen, source)
    return sorted(opted_in(contact.id), key=ACTS.index)


def _event(contact: Contact, type_: str, acts: list[str], source: str) -> None:
    events.record(
        contact.workspace_id,
        type_,
        contact.id,
        {
            "contact_id": contact.id,
            "external_id": contact.external_id,
            "acts": acts,
            "source": source,
        },
    )


def agreed_acts(workspace_id: str, contact_ids) -> dict[str, list[str]]:
    """What each contact agreed to, in the one order of ACTS (for queue items)."""
    ids = sorted({i for i in contact_ids if i})
    found: dict[str, list[str]] = defaultdict(list)
    if ids:
        rows = db.session.execute(
            select(AdvocateOptIn.contact_id, AdvocateOptIn.act).where(
                AdvocateOptIn.workspace_id == workspace_id, AdvocateOptIn.contact_id.in_(ids)
            )
        )
        for contact_id, act in rows:
            found[contact_id].append(act)
    return {cid: sorted(acts, key=ACTS.index) for cid, acts in found.items()}


# --- acts done -------------------------------------------------------------------------


def record_act(
    contact: Contact,
    act: str,
    source: str,
    *,
    subject_id: str | None = None,
    destination: str | None = None,
    note: str | None = None,
    occurred_at: datetime | None = None,
) -> tuple[AdvocacyAct, bool]:
    """Record an act; one naming a subject (a review request, a testimonial) only once."""
    known_acts([act])
    now = utcnow()
    act_id = new_id("act")
    values = {
        "id": act_id,
        "workspace_id": contact.workspace_id,
        "contact_id": contact.id,
        "act": act,
        "subject_id": subject_id,
        "destination": destination,
        "note": note,
        "source": source,
        "occurred_at": occurred_at or now,
        "created_at": now,
    }
    created = insert_ignore(AdvocacyAct, values, ["act", "subject_id"])
    if not created:
        found = db.session.scalar(
            select(AdvocacyAct).where(AdvocacyAct.act == act, AdvocacyAct.subject_id == subject_id)
        )
        return found, False
    recorded = db.session.get(AdvocacyAct, act_id)
    events.record(
        contact.workspace_id,
        "advocacy_act.recorded",
        act_id,
        {
            "contact_id": contact.id,
            "act": act,
            "subject_id": subject_id,
            "destination": destination,
            "source": source,
        },
    )
    return recorded, True


def filter_acts(workspace_id: str, filters: dict) -> Select:
    statement = select(AdvocacyAct).where(AdvocacyAct.workspace_id == workspace_id)
    return narrowed(statement, AdvocacyAct, filters, "act", "contact_id")


# --- advocates as the API lists them ----------------------------------------------------


def advocates(workspace_id: str, filters: dict) -> Select:
    """Contacts who opted in to something (or to `act`), oldest contact first."""
    opted = select(AdvocateOptIn.contact_id).where(AdvocateOptIn.workspace_id == workspace_id)
    if filters.get("act"):
        opted = opted.where(AdvocateOptIn.act.in_(filters["act"]))
    return select(Contact).where(
        Contact.workspace_id == workspace_id,
        Contact.erased_at.is_(None),
        Contact.id.in_(opted),
    )


def profile(contact: Contact, period: str = "all", now: datetime | None = None) -> dict:
    """A contact's advocacy: what they agreed to, when each act may next be asked for,
    and what they did (acts by kind, referral figures)."""
    now = now or utcnow()
    cooldown = settings_of(contact.workspace_id).ask_cooldown_days
    agreed = opted_in(contact.id)
    last = asks.last_asks(contact.id)
    done = acts_done(contact.workspace_id, referral_stats.since_of(period, now), contact.id)
    code = links.code_of_contact(contact.workspace_id, contact.id)
    referrals = referral_stats.code_stats(code, period) if code is not None else None
    return {
        "contact": contact,
        "acts": [
            {
                "act": act,
                "opted_in": act in agreed,
                "opted_in_at": agreed[act].opted_in_at if act in agreed else None,
                "last_asked_at": last[act].asked_at if act in last else None,
                "next_ask_at": _next(asks.next_ask_at(last.get(act), cooldown), now),
                "done": done.get(contact.id, {}).get(act, 0),
            }
            for act in ACTS
        ],
        "referrals": {
            "code": code.code if code else None,
            "clicks": referrals["clicks"] if referrals else 0,
            "signups": referrals["signups"] if referrals else 0,
            "conversions": referrals["conversions"] if referrals else 0,
        },
        "period": period,
    }


def _next(when: datetime | None, now: datetime) -> datetime | None:
    return when if when is not None and when > now else None


def forget_advocacy(contact: Contact) -> None:
    """Erasure withdraws every opt-in and forgets asks; acts stay, counted anonymously,
    without the free-text note that may name the person."""
    db.session.execute(delete(AdvocateOptIn).where(AdvocateOptIn.contact_id == contact.id))
    db.session.execute(delete(AdvocacyAsk).where(AdvocacyAsk.contact_id == contact.id))
    for act in db.session.scalars(select(AdvocacyAct).where(AdvocacyAct.contact_id == contact.id)):
        act.note = None
