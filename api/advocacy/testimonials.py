"""Testimonials: a person's own words, published only while their consent stands.

A testimonial is given with its consent record: the exact wording of the
checkbox the person ticked, when, where and in which language (the wording is
sent with a hash of itself, so what is stored is what was shown). The workspace
moderates (`pending -> approved | rejected`, featured, tags) but never edits
the words. Public only when approved and not withdrawn; withdrawing (preference
page, API) or erasing the contact takes it down.

Public reads (`GET /public/v1/testimonials`, the wall page and the wall widget)
are remembered per worker for `TESTIMONIAL_CACHE_SECONDS` (at most 5 minutes),
so a withdrawal reaches them within that time; the secret-key API, which reads
the rows, shows it at once.
"""

import hashlib
from datetime import datetime

from flask import current_app
from sqlalchemy import Select, delete, select, update

from api import recent, scoped, scoring
from api.advocacy import advocates, asks
from api.advocacy.models import TESTIMONIAL_STATUSES, Testimonial, TestimonialTag
from api.contacts.models import Contact
from api.database import utcnow
from api.domain_errors import Conflict, Invalid
from api.events import service as events
from api.extensions import db
from api.filters import narrowed
from api.i18n.catalogs import UI
from api.i18n.negotiation import pick_locale
from api.i18n.placeholders import fill
from api.responses.models import Response
from api.surveys.models import Survey

ACT = "testimonial"
MAX_TEXT = 2000
MAX_NAME = 100
# The promise made in the README and the consent wording: never longer than this.
MAX_CACHE_SECONDS = 300


# --- the consent wording --------------------------------------------------------------


def consent_wording(locale: str, product: str) -> str:
    """The checkbox's words, exactly as shown and as stored with the consent."""
    return fill(UI[pick_locale(locale)]["testimonial_consent"], {"product": product})


def wording_hash(wording: str) -> str:
    return hashlib.sha256(wording.encode()).hexdigest()[:16]


def is_asked_of(kind: str, category: str) -> bool:
    """Testimonials are asked of the respondents the advocacy queue is for (promoters)."""
    return scoring.queue_for(kind, category) == "advocacy"


def suggested_name(contact: Contact | None) -> str:
    """First name and last initial: how people are usually quoted."""
    if contact is None or not contact.first_name:
        return ""
    initial = f" {contact.last_name[0]}." if contact.last_name else ""
    return f"{contact.first_name}{initial}"


# --- giving one -----------------------------------------------------------------------


def _words(data: dict) -> dict:
    """The person's words and names, trimmed, or Invalid with the field and a code."""
    text = (data.get("text") or "").strip()
    name = (data.get("display_name") or "").strip()
    if not text:
        raise Invalid(
            "Give the words to quote.", code="text_required", fields={"text": ["Required."]}
        )
    if len(text) > MAX_TEXT:
        message = f"A testimonial is at most {MAX_TEXT} characters."
        raise Invalid(message, code="text_too_long", fields={"text": [message]})
    if not name:
        message = "Give the name to show."
        raise Invalid(message, code="name_required", fields={"display_name": [message]})
    extras = {}
    for field in ("display_name", "role", "company"):
        value = (data.get(field) or "").strip()[:MAX_NAME] or None
        extras[field] = value
    return {"text": text, **extras}


def give(
    response: Response,
    contact: Contact,
    data: dict,
    *,
    channel: str,
    locale: str,
    product: str,
    now: datetime | None = None,
) -> tuple[Testimonial, bool]:
    """A testimonial from a respondent on our page or widget, with their consent.

    `data` holds `text`, `display_name`, `role`, `company`, `consent` (the box was
    ticked) and `consent_hash` (of the wording the page showed). A changed wording
    is refused, so the person agrees to the words we store. One per response:
    sending it again returns the first (False)."""
    existing = for_response(response.id)
    if existing is not None:
        return existing, False
    wording = consent_wording(locale, product)
    if data.get("consent") is not True:
        message = "Tick the box to agree to be quoted."
        raise Invalid(message, code="consent_required", fields={"consent": [message]})
    if data.get("consent_hash") != wording_hash(wording):
        message = "The consent wording changed; read it again and agree to the new wording."
        raise Invalid(message, code="consent_changed", fields={"consent": [message]})
    words = _words(data)
    created = _insert(
        contact,
        words,
        consent={
            "text": wording,
            "channel": channel,
            "locale": locale,
            "given_at": now or utcnow(),
        },
        response=response,
        kind=_kind_of(response),
    )
    return (created, True) if created else (for_response(response.id), False)


def _kind_of(response: Response | None) -> str | None:
    if response is None:
        return None
    return db.session.scalar(select(Survey.kind).where(Survey.id == response.survey_id))


def add_by_api(contact: Contact, data: dict, response: Response | None) -> Testimonial:
    """A testimonial collected elsewhere, with the consent record the partner kept."""
    consent = data["consent"]
    words = _words(data)
    if response is not None and for_response(response.id) is not None:
        raise Conflict("This response already has a testimonial.", code="already_given")
    created = _insert(
        contact,
        words,
        consent={
            "text": consent["text"].strip(),
            "channel": "api",
            "locale": consent.get("locale"),
            "given_at": consent.get("given_at") or utcnow(),
        },
        response=response,
        kind=_kind_of(response),
    )
    if created is None:
        raise Conflict("This response already has a testimonial.", code="already_given")
    if data.get("tags"):
        set_tags(created, data["tags"])
    return created


def _insert(
    contact: Contact, words: dict, *, consent: dict, response: Response | None, kind: str | None
) -> Testimonial | None:
    now = utcnow()
    values = {
        "score": response.score if response is not None else None,
        "kind": kind,
        **words,
        "status": "pending",
        "featured": False,
        "consent_text": consent["text"],
        "consent_channel": consent["channel"],
        "consent_locale": consent["locale"],
        "consented_at": consent["given_at"],
        "created_at": now,
        "updated_at": now,
    }
    testimonial = asks.insert_for_response(Testimonial, "tst", contact, response, values)
    if testimonial is None:
        return None
    _event(testimonial, "testimonial.created")
    return testimonial


def for_response(response_id: str) -> Testimonial | None:
    return db.session.scalar(select(Testimonial).where(Testimonial.response_id == response_id))


# --- moderation and withdrawal --------------------------------------------------------


def moderate(testimonial: Testimonial, data: dict) -> Testimonial:
    """Change the status, featured flag or tags; the words stay the person's."""
    now = utcnow()
    status = data.get("status")
    if status is not None and status not in TESTIMONIAL_STATUSES:
        raise Invalid(f"status is one of {', '.join(TESTIMONIAL_STATUSES)}.")
    if status == "approved" and testimonial.withdrawn_at is not None:
        raise Conflict(
            "Consent to this testimonial was withdrawn; it can never be published again.",
            code="consent_withdrawn",
        )
    changed = False
    if status is not None and status != testimonial.status:
        testimonial.status = status
        testimonial.moderated_at = now
        changed = True
    if "featured" in data and data["featured"] != testimonial.featured:
        testimonial.featured = data["featured"]
        changed = True
    if "tags" in data:
        changed = set_tags(testimonial, data["tags"]) or changed
    if not changed:
        return testimonial  # a repeated PATCH tells nobody twice
    testimonial.updated_at = now
    db.session.flush()
    kind = {"approved": "testimonial.approved", "rejected": "testimonial.rejected"}
    _event(
        testimonial, kind.get(status, "testimonial.updated") if status else "testimonial.updated"
    )
    if status == "approved":
        contact = db.session.get(Contact, testimonial.contact_id)
        advocates.record_act(contact, ACT, "api", subject_id=testimonial.id, occurred_at=now)
    return testimonial


def withdraw(testimonial: Testimonial, source: str, now: datetime | None = None) -> bool:
    """Withdraw consent: never public again. True if this call withdrew it."""
    now = now or utcnow()
    won = db.session.execute(
        update(Testimonial)
        .where(Testimonial.id == testimonial.id, Testimonial.withdrawn_at.is_(None))
        .values(withdrawn_at=now, updated_at=now)
    ).rowcount
    db.session.refresh(testimonial)
    if won:
        _event(testimonial, "testimonial.withdrawn", {"source": source})
    return bool(won)


def tags_of(testimonial_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if testimonial_ids:
        rows = db.session.execute(
            select(TestimonialTag.testimonial_id, TestimonialTag.tag)
            .where(TestimonialTag.testimonial_id.in_(testimonial_ids))
            .order_by(TestimonialTag.tag)
        )
        for testimonial_id, tag in rows:
            found.setdefault(testimonial_id, []).append(tag)
    return found


def set_tags(testimonial: Testimonial, tags: list[str]) -> bool:
    wanted = sorted({tag.strip().lower() for tag in tags if tag.strip()})
    current = tags_of([testimonial.id]).get(testimonial.id, [])
    if wanted == current:
        return False
    db.session.execute(
        delete(TestimonialTag).where(TestimonialTag.testimonial_id == testimonial.id)
    )
    db.session.add_all(TestimonialTag(testimonial_id=testimonial.id, tag=tag) for tag in wanted)
    db.session.flush()
    return True


def _event(testimonial: Testimonial, type_: str, extra: dict | None = None) -> None:
    events.record(
        testimonial.workspace_id,
        type_,
        testimonial.id,
        {
            "contact_id": testimonial.contact_id,
            "response_id": testimonial.response_id,
            "survey_id": testimonial.survey_id,
            "status": testimonial.status,
            "featured": testimonial.featured,
            "public": is_public(testimonial),
            **(extra or {}),
        },
    )


def is_public(testimonial: Testimonial) -> bool:
    return testimonial.status == "approved" and testimonial.withdrawn_at is None


# --- reads ----------------------------------------------------------------------------


def get_testimonial(workspace_id: str, testimonial_id: str) -> Testimonial:
    return scoped.get_or_404(Testimonial, workspace_id, testimonial_id, "testimonial")


def _tagged(statement: Select, tag: str | None) -> Select:
    if not tag:
        return statement
    return statement.where(
        Testimonial.id.in_(select(TestimonialTag.testimonial_id).where(TestimonialTag.tag == tag))
    )


def filter_testimonials(workspace_id: str, filters: dict) -> Select:
    statement = select(Testimonial).where(Testimonial.workspace_id == workspace_id)
    statement = narrowed(statement, Testimonial, filters, "status", "survey_id", "contact_id")
    if "featured" in filters:
        statement = statement.where(Testimonial.featured.is_(filters["featured"]))
    if "public" in filters:
        public = (Testimonial.status == "approved") & Testimonial.withdrawn_at.is_(None)
        statement = statement.where(public if filters["public"] else ~public)
    return _tagged(statement, filters.get("tag"))


def of_contact(contact: Contact) -> list[Testimonial]:
    """The contact's testimonials whose consent still stands (the preference page)."""
    return list(
        db.session.scalars(
            select(Testimonial)
            .where(Testimonial.contact_id == contact.id, Testimonial.withdrawn_at.is_(None))
            .order_by(Testimonial.id)
        )
    )


def cache_seconds() -> float:
    return min(current_app.config["TESTIMONIAL_CACHE_SECONDS"], MAX_CACHE_SECONDS)


def public(
    workspace_id: str, tag: str | None = None, survey_id: str | None = None, limit: int = 50
):
    """The published testimonials (featured first, then newest), as plain values,
    remembered per worker for `cache_seconds()`."""
    return recent.memory("public_testimonials", cache_seconds()).get(
        (workspace_id, tag, survey_id, limit),
        lambda: recent.freeze(_load_public(workspace_id, tag, survey_id, limit)),
    )


def _load_public(workspace_id: str, tag: str | None, survey_id: str | None, limit: int) -> list:
    statement = select(Testimonial).where(
        Testimonial.workspace_id == workspace_id,
        Testimonial.status == "approved",
        Testimonial.withdrawn_at.is_(None),
    )
    if survey_id:
        statement = statement.where(Testimonial.survey_id == survey_id)
    statement = _tagged(statement, tag).order_by(Testimonial.featured.desc(), Testimonial.id.desc())
    rows = list(db.session.scalars(statement.limit(limit)))
    tags = tags_of([row.id for row in rows])
    return [
        {
            "id": row.id,
            "text": row.text,
            "name": row.display_name,
            "role": row.role,
            "company": row.company,
            "score": row.score,
            "max_score": scoring.score_range(row.kind).stop - 1 if row.kind else None,
            "kind": row.kind,
            "date": row.consented_at.date().isoformat(),
            "featured": row.featured,
            "tags": tags.get(row.id, []),
            "survey_id": row.survey_id,
        }
        for row in rows
    ]


def forget_testimonials(contact: Contact) -> None:
    """Erasure deletes the person's testimonials: their words and names are theirs."""
    for testimonial in db.session.scalars(
        select(Testimonial).where(Testimonial.contact_id == contact.id)
    ):
        events.record(
            testimonial.workspace_id,
            "testimonial.deleted",
            testimonial.id,
            {"contact_id": contact.id, "reason": "erasure"},
        )
        db.session.delete(testimonial)
    db.session.flush()
