"""Survey rules: creating and changing surveys, their effective texts, inviting contacts.

Eligibility, invitation rows and links live in api/surveys/invitations.py; this
module is what the routes call, and what tests call directly.
"""

import re
from datetime import datetime

from flask import current_app
from markupsafe import escape
from sqlalchemy import Select, select

from api.contacts.models import Contact
from api.database import utcnow
from api.extensions import db
from api.http.errors import ApiError, not_found
from api.scoring import CATEGORIES, score_range
from api.surveys import invitations, texts, tokens
from api.surveys.email_block import render_email_block, render_email_text
from api.surveys.models import Invitation, Survey

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
)


def surveys_of(workspace_id: str) -> Select:
    return select(Survey).where(Survey.workspace_id == workspace_id)


def get_survey(workspace_id: str, survey_id: str) -> Survey:
    """The workspace's survey; another workspace's is as absent as a missing one."""
    survey = db.session.scalar(surveys_of(workspace_id).where(Survey.id == survey_id))
    if survey is None:
        raise not_found("survey")
    return survey


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
    survey = Survey(
        workspace_id=workspace_id,
        texts=overrides,
        created_at=now,
        updated_at=now,
        **{name: data[name] for name in _SCALARS if name in data},
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
        raise ApiError(
            409,
            "survey_kind_immutable",
            "The kind of a survey that has invitations cannot change; create a new survey.",
            {"kind": ["Cannot change once the survey has invitations."]},
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
    """The texts the survey shows in its default locale, placeholders left unfilled."""
    locale = texts.pick_locale(survey.default_locale)
    scale = score_range(survey.kind)
    strings = texts.survey_texts(survey.kind, locale, survey.texts)
    return {"locale": locale, "scale": {"min": scale.start, "max": scale.stop - 1}, **strings}


def invite_contacts(
    survey: Survey, refs: list[dict], channel: str, now: datetime | None = None
) -> dict:
    """Invite the contacts `refs` name; the answer lists links and who was skipped, and why.

    Each invitation's entry is what `invitations.links` gives, made by `BatchLinks`.
    """
    invited, skipped = invitations.invite(survey, refs, channel, now)
    batch = BatchLinks(survey)
    return {
        "invitations": [batch.links(invitation, contact) for invitation, contact in invited],
        "skipped": [{"contact": item.ref, "reason": item.reason} for item in skipped],
        "counts": {"invited": len(invited), "skipped": len(skipped)},
    }


# Stand-ins rendered into an email block once per batch and locale, then replaced per
# invitation. Private-use characters: HTML escaping leaves them alone, and no real
# text or URL piece contains them (BatchLinks checks its first answer per locale).
_QUESTION, _SURVEY_TOKEN, _PREFERENCES_TOKEN = "\ue000", "\ue001", "\ue002"
_STAND_IN = re.compile("([\ue000-\ue002])")


class _Template:
    """One rendering (HTML or text) cut at the stand-ins: literal, stand-in, literal, ..."""

    def __init__(self, rendered: str, escape_question):
        self.pieces = _STAND_IN.split(rendered)
        self.escape_question = escape_question

    def fill(self, question: str, survey_token: str, preferences_token: str) -> str:
        values = {
            _QUESTION: self.escape_question(question),
            _SURVEY_TOKEN: survey_token,
            _PREFERENCES_TOKEN: preferences_token,
        }
        pieces = self.pieces
        # Odd positions are stand-ins; joining never rescans what was put in, so a
        # contact whose name contains a stand-in cannot inject anything.
        return "".join([piece if i % 2 == 0 else values[piece] for i, piece in enumerate(pieces)])


class BatchLinks:
    """`invitations.links` for many invitations of one survey, sharing what they share.

    Texts and the email block (HTML and text) are rendered once per locale with
    stand-ins for the question and the two tokens; per invitation that leaves two
    signatures (the survey link, the contact's preference link), filling the
    question, and joining the rendered pieces. So a batch of 10,000 renders like
    a batch of four, one per locale.

    The answer is the same as `invitations.links` (tests compare them), and the
    first invitation of each locale is also made by `invitations.links` and
    compared: if the renderer ever treats a text in a way the stand-ins cannot
    mirror, that locale falls back to `invitations.links` for every invitation.
    """

    def __init__(self, survey: Survey):
        self.survey = survey
        self.base = current_app.config["BASE_URL"]
        self.labels = [str(score) for score in score_range(survey.kind)]
        self._shared: dict[str, dict | None] = {}

    def links(self, invitation: Invitation, contact: Contact | None) -> dict:
        if contact is None:
            return invitations.links(self.survey, invitation, contact)
        locale = texts.pick_locale(contact.locale, self.survey.default_locale)
        if locale not in self._shared:
            return self._first_of_locale(locale, invitation, contact)
        shared = self._shared[locale]
        if shared is None:
            return invitations.links(self.survey, invitation, contact)
        return self._assemble(
            shared,
            invitation,
            contact,
            tokens.survey_token(invitation.id),
            tokens.preferences_token(contact.id),
        )

    def _first_of_locale(self, locale: str, invitation: Invitation, contact: Contact) -> dict:
        expected = invitations.links(self.survey, invitation, contact)
        shared = self._render(locale)
        # The tokens of the reference answer, since a new signature may carry a later second.
        survey_token = expected["url"].rpartition("/s/")[2]
        preferences_token = expected["unsubscribe_url"].rpartition("/p/")[2]
        fast = self._assemble(shared, invitation, contact, survey_token, preferences_token)
        self._shared[locale] = shared if fast == expected else None
        return expected

    def _render(self, locale: str) -> dict:
        survey = self.survey
        strings = texts.survey_texts(survey.kind, locale, survey.texts)
        block = {
            "question": _QUESTION,
            "kind": survey.kind,
            "score_urls": [
                (int(label), f"{self.base}/s/{_SURVEY_TOKEN}?score={label}")
                for label in self.labels
            ],
            "low_label": strings["low_label"],
            "high_label": strings["high_label"],
            "unsubscribe_url": f"{self.base}/p/{_PREFERENCES_TOKEN}",
            "unsubscribe_text": texts.UI[locale]["email_footer_unsubscribe"],
        }
        return {
            "question": strings["question"],
            "html": _Template(render_email_block(**block), lambda text: str(escape(text))),
            "text": _Template(render_email_text(**block), str),
        }

    def _assemble(
        self,
        shared: dict,
        invitation: Invitation,
        contact: Contact,
        survey_token: str,
        preferences_token: str,
    ) -> dict:
        url = f"{self.base}/s/{survey_token}"
        unsubscribe = f"{self.base}/p/{preferences_token}"
        values = invitations.placeholder_values(self.survey, contact)
        question = texts.fill(shared["question"], values)
        return {
            "id": invitation.id,
            "contact_id": invitation.contact_id,
            "external_id": contact.external_id,
            "url": url,
            "score_urls": {label: f"{url}?score={label}" for label in self.labels},
            "expires_at": invitation.expires_at,
            "unsubscribe_url": unsubscribe,
            "email_html": shared["html"].fill(question, survey_token, preferences_token),
            "email_text": shared["text"].fill(question, survey_token, preferences_token),
            # RFC 8058 one-click unsubscribe: mail clients POST to this URL.
            "email_headers": {
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }


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
        raise ApiError(
            422, "validation_error", "Some fields are missing or invalid.", {"texts": errors}
        )
