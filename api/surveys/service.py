"""Survey rules: creating and changing surveys, their effective texts, inviting contacts.

Eligibility, invitation rows and links live in api/surveys/invitations.py; this
module is what the routes call, and what tests call directly.
"""

from datetime import datetime

from flask import current_app
from sqlalchemy import Select, select

from api.contacts import service as contacts
from api.database import utcnow
from api.domain_errors import Conflict, Invalid, found
from api.extensions import db
from api.i18n.negotiation import pick_locale
from api.i18n.placeholders import fill
from api.scoring import CATEGORIES, score_range
from api.surveys import invitations
from api.surveys.models import Invitation, Survey
from api.surveys.wording import survey_texts
from api.workspaces.models import Workspace

_SCALARS = (
    "name",
    "kind",
    "active",
    "product_name",
    "default_locale",
    "segment_attributes",
    "resurvey_days",
    "decline_days",
    "link_ttl_days",
    "widget_enabled",
    "allow_anonymous",
    "sampling_percent",
    "first_seen_delay_days",
    "url_rules",
    "target_stages",
    "excluded_stages",
)


def surveys_of(workspace_id: str) -> Select:
    return select(Survey).where(Survey.workspace_id == workspace_id)


def find_survey(workspace_id: str, survey_id: str) -> Survey | None:
    """The workspace's survey or None; another workspace's is as absent as a missing one."""
    return db.session.scalar(surveys_of(workspace_id).where(Survey.id == survey_id))


def get_survey(workspace_id: str, survey_id: str) -> Survey:
    """The workspace's survey, or NotFound for a missing one or another workspace's."""
    return found(find_survey(workspace_id, survey_id), "survey")


def filter_surveys(workspace_id: str, filters: dict) -> Select:
    statement = surveys_of(workspace_id)
    if filters.get("kind"):
        statement = statement.where(Survey.kind == filters["kind"])
    if "active" in filters:
        statement = statement.where(Survey.active.is_(filters["active"]))
    return statement


def create_survey(workspace_id: str, data: dict, now: datetime | None = None) -> Survey:
    now = now or utcnow()
    overrides = _merged_texts({}, data.get("texts") or {})
    _check_categories(data["kind"], overrides)
    # The default never outlives what tokens may (links would die before their expiry).
    fields = {"link_ttl_days": min(30, current_app.config["SURVEY_LINK_MAX_AGE_DAYS"])}
    fields |= {name: data[name] for name in _SCALARS if name in data}
    if "product_name" not in fields:
        # `{product}` is in most built-in texts: left blank, the question would read
        # "How likely are you to recommend to a friend or colleague?".
        longest = Survey.__table__.c.product_name.type.length
        fields["product_name"] = db.session.get(Workspace, workspace_id).name[:longest]
    survey = Survey(
        workspace_id=workspace_id, texts=overrides, created_at=now, updated_at=now, **fields
    )
    db.session.add(survey)
    db.session.flush()
    return survey


def update_survey(survey: Survey, data: dict, now: datetime | None = None) -> Survey:
    """Change the given fields; texts merge per locale (a locale given replaces its texts)."""
    kind = data.get("kind", survey.kind)
    if kind != survey.kind and _has_invitations(survey):
        # Links already sent carry one button per score of the old scale, and
        # responses were classified on it: a new kind would make both wrong.
        raise Conflict(
            "The kind of a survey that has invitations cannot change; create a new survey.",
            code="survey_kind_immutable",
            fields={"kind": ["Cannot change once the survey has invitations."]},
        )
    overrides = _merged_texts(survey.texts or {}, data.get("texts") or {})
    _check_categories(kind, overrides)
    for name in _SCALARS:
        if name in data:
            setattr(survey, name, data[name])
    # A new dict, not an edit in place: the JSON column only notices reassignment.
    survey.texts = overrides
    survey.updated_at = now or utcnow()
    db.session.flush()
    return survey


def preview(survey: Survey) -> dict:
    """The texts the survey shows in its default locale: what the survey itself knows
    (`{product}`) filled in, each contact's placeholders (`{first_name|du}`) as written."""
    locale = pick_locale(survey.default_locale)
    scale = score_range(survey.kind)
    known = invitations.placeholder_values(survey, None)
    strings = {
        name: (
            {key: fill(text, known, only_given=True) for key, text in value.items()}
            if isinstance(value, dict)
            else fill(value, known, only_given=True)
        )
        for name, value in survey_texts(survey.kind, locale, survey.texts).items()
    }
    return {"locale": locale, "scale": {"min": scale.start, "max": scale.stop - 1}, **strings}


def invitation_links(survey: Survey, invitation_id: str) -> dict:
    """`invitations.links` of one of the survey's invitations; 404 for any other."""
    of_survey = select(Invitation).where(
        Invitation.survey_id == survey.id,
        Invitation.workspace_id == survey.workspace_id,
        Invitation.id == invitation_id,
    )
    invitation = found(db.session.scalar(of_survey), "invitation")
    contact = None
    if invitation.contact_id is not None:
        contact = contacts.get_contact_by_id(survey.workspace_id, invitation.contact_id)
    return invitations.links(survey, invitation, contact)


def _has_invitations(survey: Survey) -> bool:
    first = select(Invitation.id).where(Invitation.survey_id == survey.id).limit(1)
    return db.session.scalar(first) is not None


def _merged_texts(current: dict, changes: dict) -> dict:
    merged = dict(current)
    for locale, locale_texts in changes.items():
        if locale_texts is None:
            merged.pop(locale, None)
        else:
            merged[locale] = locale_texts
    return merged


def _check_categories(kind: str, overrides: dict) -> None:
    """Per-category texts must name categories of the survey's kind."""
    allowed = CATEGORIES[kind]
    errors: dict = {}
    for locale, locale_texts in overrides.items():
        for key in ("follow_up", "thank_you"):
            for category in locale_texts.get(key) or {}:
                if category not in allowed:
                    errors.setdefault(locale, {}).setdefault(key, {})[category] = [
                        f"Not a {kind} category; use {', '.join(allowed)}."
                    ]
    if errors:
        raise Invalid("Some fields are missing or invalid.", fields={"texts": errors})
