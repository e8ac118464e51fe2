"""Inviting contacts: who may be asked now, the invitation rows, and their links.

Set-based throughout, so a batch of 10,000 costs a handful of statements; the
per-invitation work left is signing one token and rendering the email block.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import select

from api import counters
from api.bulk import insert_many, matching
from api.contacts import references
from api.contacts.models import Contact
from api.contacts.service import ContactRow
from api.database import insert_ignore, utcnow
from api.domain_errors import Conflict
from api.events import service as events
from api.extensions import db
from api.i18n.catalogs import UI
from api.i18n.negotiation import pick_locale
from api.i18n.placeholders import fill
from api.ids import new_ids
from api.queues.models import Resurvey
from api.responses.models import InvitationRollup, Response
from api.scoring import score_range
from api.surveys.email_block import SurveyEmail, render_email_block, render_email_text
from api.surveys.models import Invitation, Survey
from api.surveys.tokens import preferences_token, survey_token
from api.surveys.wording import survey_texts

# Why a contact was not invited; listed in the batch answer.
UNSUBSCRIBED = "unsubscribed"
RECENTLY_RESPONDED = "recently_responded"
RECENTLY_DECLINED = "recently_declined"
CONTACT_NOT_FOUND = references.CONTACT_NOT_FOUND
STAGE_NOT_TARGETED = "stage_not_targeted"
# Erased while its batch waited: the reference was emptied (batches.forget_pending).
ERASED = "erased"


@dataclass(frozen=True)
class Skipped:
    ref: dict
    reason: str


class NewInvitation(NamedTuple):
    """An invitation just inserted, as plain values: a batch of 10,000 need not build
    10,000 ORM objects. Load the Invitation by id where the ORM object is needed."""

    id: str
    workspace_id: str
    survey_id: str
    contact_id: str
    channel: str
    locale: str | None
    created_at: datetime
    expires_at: datetime
    batch_id: str | None


def invite(
    survey: Survey,
    refs: list[dict],
    channel: str,
    now: datetime | None = None,
    batch_id: str | None = None,
    later_chunk: bool = False,
) -> tuple[list[tuple[NewInvitation, ContactRow]], list[Skipped]]:
    """Invite the contacts named by `refs`, skipping those we must not ask now.

    Refs are contact references (api/contacts/references.py); inline contacts are
    upserted first. A contact named twice is invited once, also across the chunks
    of batch `batch_id`: a `later_chunk` looks for those the earlier ones invited.
    """
    if not survey.active:
        raise Conflict("This survey is not active; activate it first.", code="survey_inactive")
    now = now or utcnow()
    found, skipped = _resolve_contacts(survey.workspace_id, refs)
    eligible: list[ContactRow] = []
    # Only contacts that existed before this transaction can have answered, declined,
    # or been invited by an earlier chunk (10,000 new ones: 70 ms on PostgreSQL).
    known = [c.id for c in found if not c.inserted]
    reasons = throttle_reasons(survey, known, now)
    seen: set[str] = _invited_by_batch(batch_id, known) if later_chunk else set()
    for contact in found:
        if contact.id in seen:
            continue
        seen.add(contact.id)
        reason = (
            UNSUBSCRIBED
            if contact.unsubscribed
            else stage_reason(survey, contact.stage) or reasons.get(contact.id)
        )
        if reason:
            skipped.append(Skipped(_ref_of(contact), reason))
        else:
            eligible.append(contact)
    invitations = create(survey, eligible, channel, now, batch_id=batch_id)
    return list(zip(invitations, eligible, strict=True)), skipped


def _invited_by_batch(batch_id: str, contact_ids: list[str]) -> set[str]:
    """Which of the contacts an earlier chunk of the batch invited already."""
    invited: set[str] = set()
    for named in matching(Invitation.contact_id, contact_ids):
        chosen = select(Invitation.contact_id).where(Invitation.batch_id == batch_id, named)
        invited.update(db.session.scalars(chosen))
    return invited


def _resolve_contacts(
    workspace_id: str, refs: list[dict]
) -> tuple[list[ContactRow], list[Skipped]]:
    found, skipped = [], []
    for ref, contact in zip(refs, references.resolve_many(workspace_id, refs), strict=True):
        if contact is None:
            skipped.append(Skipped(ref, references.CONTACT_NOT_FOUND))
        else:
            found.append(contact)
    return found, skipped


def stage_reason(survey: Survey, stage: str | None) -> str | None:
    """Why a contact at `stage` (None: no stage, or an anonymous visitor) is not asked.

    With `target_stages`, only contacts at one of them are asked, so a contact
    without a stage is not; `excluded_stages` are never asked. "Never survey during
    onboarding" is `excluded_stages: ["onboarding"]`; "NPS only after ramp-up" is
    `target_stages: ["customer", "advocate"]`.
    """
    if survey.target_stages and stage not in survey.target_stages:
        return STAGE_NOT_TARGETED
    if stage is not None and stage in (survey.excluded_stages or ()):
        return STAGE_NOT_TARGETED
    return None


_responses = Response.__table__.c
_invitations = Invitation.__table__.c
_resurveys = Resurvey.__table__.c


def throttle_since(survey: Survey, now: datetime) -> tuple[datetime, datetime]:
    """Answers since the first, and declines since the second, hold a contact back."""
    return now - timedelta(days=survey.resurvey_days), now - timedelta(days=survey.decline_days)


def throttle_checks(survey_id, contact_id, responded_since, declined_since) -> tuple:
    """Whether one contact answered, and whether they declined, one survey recently: two
    SQL booleans for a SELECT's columns (`contact_id` may be the outer query's column).

    An answer given before a widget re-survey became due no longer holds the contact
    back: the re-survey asks them again (api/queues/resurveys.py)."""
    # Correlated to the answer below (not to `contact_id`, which may be a column two
    # queries out, where SQLAlchemy would not correlate it).
    asked_again = (
        select(_resurveys.id)
        .where(
            _resurveys.contact_id == _responses.contact_id,
            _resurveys.survey_id == _responses.survey_id,
            _resurveys.channel == "widget",
            _resurveys.status == "sent",
            _resurveys.sent_at > _responses.created_at,
        )
        .exists()
    )
    responded = (
        select(_responses.id)
        .where(
            _responses.survey_id == survey_id,
            _responses.contact_id == contact_id,
            _responses.created_at >= responded_since,
            ~asked_again,
        )
        .exists()
    )
    declined = (
        select(_invitations.id)
        .where(
            _invitations.survey_id == survey_id,
            _invitations.contact_id == contact_id,
            _invitations.declined_at >= declined_since,
        )
        .exists()
    )
    return responded, declined


def throttle_reason(responded: bool, declined: bool) -> str | None:
    # An answer outweighs a decline: it is the truer reason to wait.
    if responded:
        return RECENTLY_RESPONDED
    return RECENTLY_DECLINED if declined else None


def throttle_reasons(survey: Survey, contact_ids: list[str], now: datetime) -> dict[str, str]:
    """Contacts asked too recently: answered within resurvey_days, declined within decline_days."""
    responded_since, declined_since = throttle_since(survey, now)
    responded: set[str] = set()
    declined: set[str] = set()
    for named in matching(Response.contact_id, contact_ids):
        answered = select(Response.contact_id).where(
            Response.survey_id == survey.id, named, Response.created_at >= responded_since
        )
        responded.update(db.session.scalars(answered.distinct()))
    for named in matching(Invitation.contact_id, contact_ids):
        closed = select(Invitation.contact_id).where(
            Invitation.survey_id == survey.id, named, Invitation.declined_at >= declined_since
        )
        declined.update(db.session.scalars(closed.distinct()))
    return {
        contact_id: throttle_reason(contact_id in responded, contact_id in declined)
        for contact_id in responded | declined
    }


class Invitee(NamedTuple):
    """Whom `create` invites: a contact's id (None: an anonymous widget visitor) and
    locale. A ContactRow is one too."""

    id: str | None
    locale: str | None


def create(
    survey: Survey,
    eligible: list[ContactRow | Invitee],
    channel: str,
    now: datetime,
    event_data: dict | None = None,
    batch_id: str | None = None,
    invitation_ids: list[str] | None = None,
) -> list[NewInvitation]:
    """Invitations for contacts already found eligible, with their `invitation.created`
    events (`event_data` and, for a batch's, the `batch_id` added to each event's data)
    and their count in the rollup: every channel's invitations are made here.

    `invitation_ids` are ids the caller drew (a widget display token names its
    invitation before it exists); one that exists already is left as it is and not
    returned, so a display recorded twice at once is one invitation.
    """
    if not eligible:
        return []
    expires_at = now + timedelta(days=survey.link_ttl_days)
    shared = {
        "workspace_id": survey.workspace_id,
        "survey_id": survey.id,
        "channel": channel,
        "created_at": now,
        "expires_at": expires_at,
        "batch_id": batch_id,
    }
    ids = invitation_ids or new_ids("inv", len(eligible))
    rows = [
        {"id": invitation_id, "contact_id": contact.id, "locale": contact.locale}
        for invitation_id, contact in zip(ids, eligible, strict=True)
    ]
    if invitation_ids is None:
        insert_many(Invitation.__table__.insert(), rows, shared)
    else:
        rows = [row for row in rows if insert_ignore(Invitation, row | shared, ["id"])]
        if not rows:
            return []
    counters.add(InvitationRollup, {"survey_id": survey.id, "day": now.date()}, len(rows))
    shared_data = {"survey_id": survey.id, "channel": channel, **(event_data or {})}
    if batch_id is not None:  # so a reader of the feed can tell which call asked
        shared_data["batch_id"] = batch_id
    events.record_many(
        survey.workspace_id,
        "invitation.created",
        [(row["id"], {**shared_data, "contact_id": row["contact_id"]}) for row in rows],
    )
    return [NewInvitation(**row, **shared) for row in rows]


def links(
    survey: Survey,
    invitation: Invitation | NewInvitation,
    contact: Contact | ContactRow | None,
) -> dict:
    """Everything a mailer or partner app needs to ask: URLs, email block, headers."""
    base = current_app.config["BASE_URL"]
    url = f"{base}/s/{survey_token(invitation.id)}"
    low, high = _scale(survey.kind)
    score_urls = [(score, f"{url}?score={score}") for score in range(low, high + 1)]
    result = {
        "id": invitation.id,
        "contact_id": invitation.contact_id,
        "external_id": contact.external_id if contact else None,
        "url": url,
        "score_urls": {str(score): link for score, link in score_urls},
        "expires_at": invitation.expires_at,
    }
    if contact is not None:
        unsubscribe = f"{base}/p/{preferences_token(contact.id)}"
        locale = email_locale(survey, contact)
        strings = survey_texts(survey.kind, locale, survey.texts)
        ui = UI[locale]
        question = fill(strings["question"], placeholder_values(survey, contact))
        email = SurveyEmail(
            question=question,
            kind=survey.kind,
            score_urls=score_urls,
            low_label=strings["low_label"],
            high_label=strings["high_label"],
            unsubscribe_url=unsubscribe,
            unsubscribe_text=ui["email_footer_unsubscribe"],
        )
        result |= {
            "unsubscribe_url": unsubscribe,
            "email_html": render_email_block(email),
            "email_text": render_email_text(email),
            # RFC 8058 one-click unsubscribe: mail clients POST to this URL.
            "email_headers": {
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }
    return result


def email_locale(survey: Survey, contact: Contact | ContactRow) -> str:
    """An email has no browser to ask: the contact's language, else the survey's."""
    return pick_locale(contact.locale, fallback=survey.default_locale)


def placeholder_values(survey: Survey, contact: Contact | ContactRow | None) -> dict:
    values: dict = {"product": survey.product_name}
    if contact is not None:
        values |= dict(contact.attributes or {})
        values |= {"first_name": contact.first_name, "last_name": contact.last_name}
    return values


def _scale(kind: str) -> tuple[int, int]:
    scale = score_range(kind)
    return scale.start, scale.stop - 1


def _ref_of(contact: ContactRow) -> dict:
    return {"contact_id": contact.id, "external_id": contact.external_id}
