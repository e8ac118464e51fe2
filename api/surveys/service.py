"""Survey rules: creating and changing surveys, their effective texts, inviting contacts.

Eligibility, invitation rows and links live in api/surveys/invitations.py; this
module is what the routes call, and what tests call directly.
"""

import json
import re
from collections.abc import Sequence
from datetime import datetime
from json.encoder import encode_basestring
from operator import itemgetter

from flask import current_app
from markupsafe import escape
from sqlalchemy import Select, select

from api.bulk import gc_paused
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.contacts.service import ContactRow
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
    # The default never outlives what tokens may (links would die before their expiry).
    fields = {"link_ttl_days": min(30, current_app.config["SURVEY_LINK_MAX_AGE_DAYS"])}
    fields |= {name: data[name] for name in _SCALARS if name in data}
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
    """The texts the survey shows in its default locale: what the survey itself knows
    (`{product}`) filled in, each contact's placeholders (`{first_name|du}`) as written."""
    locale = texts.pick_locale(survey.default_locale)
    scale = score_range(survey.kind)
    known = invitations.placeholder_values(survey, None)
    strings = {
        name: (
            {key: texts.fill(text, known, only_given=True) for key, text in value.items()}
            if isinstance(value, dict)
            else texts.fill(value, known, only_given=True)
        )
        for name, value in texts.survey_texts(survey.kind, locale, survey.texts).items()
    }
    return {"locale": locale, "scale": {"min": scale.start, "max": scale.stop - 1}, **strings}


def invitation_links(survey: Survey, invitation_id: str) -> dict:
    """`invitations.links` of one of the survey's invitations; 404 for any other."""
    invitation = db.session.scalar(
        select(Invitation).where(
            Invitation.survey_id == survey.id,
            Invitation.workspace_id == survey.workspace_id,
            Invitation.id == invitation_id,
        )
    )
    if invitation is None:
        raise not_found("invitation")
    contact = None
    if invitation.contact_id is not None:
        contact = contacts.get_contact_by_id(survey.workspace_id, invitation.contact_id)
    return invitations.links(survey, invitation, contact)


def invite_contacts(
    survey: Survey, refs: list[dict], channel: str, now: datetime | None = None
) -> "InvitationBatch":
    """Invite the contacts `refs` name: their links, and who was skipped and why."""
    with gc_paused():
        invited, skipped = invitations.invite(survey, refs, channel, now)
        links = BatchLinks(survey)
        return InvitationBatch(
            [links.pieces(invitation, contact) for invitation, contact in invited],
            [{"contact": item.ref, "reason": item.reason} for item in skipped],
        )


class InvitationBatch:
    """The answer to an invitation call, as JSON (`InvitationBatchSchema` documents it).

    10,000 invitations make about 100 MB of JSON, mostly email HTML. Encoding it
    string by string (a schema dump, then the JSON encoder escaping every byte)
    took most of a second, so each invitation arrives here already encoded, from
    pieces encoded once per locale (`BatchLinks`), and this only joins them, all
    at once: every join of 100 MB is another 0.1 s of copying. The pieces are
    UTF-8 bytes, as the response sends them: a 100 MB str would be encoded once
    more, and texts like "Wie wahrscheinlich ... weiterempfehlen?" make that a
    transcoding, not a copy.
    """

    def __init__(self, invitations_pieces: list[Sequence[bytes]], skipped: list[dict]):
        # Each invitation's JSON is b"".join of its pieces.
        self.invitations_pieces = invitations_pieces
        self.skipped = skipped

    @property
    def counts(self) -> dict:
        return {"invited": len(self.invitations_pieces), "skipped": len(self.skipped)}

    def json(self) -> bytes:
        """The answer as UTF-8 JSON."""
        rest = _encode({"skipped": self.skipped, "counts": self.counts}).encode()
        parts = [b'{"invitations":[']
        for position, pieces in enumerate(self.invitations_pieces):
            if position:
                parts.append(b",")
            parts += pieces
        parts += (b"],", rest[1:])
        return b"".join(parts)

    def as_dict(self) -> dict:
        return json.loads(self.json())


def _encode(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_jsonable)


def _encode_text(text: str) -> str:
    """A string's JSON form without its quotes, to put between a template's quotes."""
    # The encoder's own C string escaper, as json.dumps(text, ensure_ascii=False) uses.
    return encode_basestring(text)[1:-1]


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()  # as marshmallow's DateTime dumps it
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# Stand-ins for what differs between the invitations of a batch: rendered and encoded
# once per locale, then replaced per invitation. Private-use characters: HTML escaping
# and JSON encoding (ensure_ascii off) leave them alone, and no real text or URL holds
# them; BatchLinks checks its first answer per locale in case one ever did.
_INVITATION_ID = "\ue000"
_CONTACT_ID = "\ue001"
_EXTERNAL_ID = "\ue002"
_EXPIRES_AT = "\ue003"
_QUESTION_HTML = "\ue004"
_QUESTION_TEXT = "\ue005"
_SURVEY_LINK_SIGNATURE = "\ue006"
_PREFERENCES_SIGNATURE = "\ue007"
_STAND_INS = (
    _INVITATION_ID,
    _CONTACT_ID,
    _EXTERNAL_ID,
    _EXPIRES_AT,
    _QUESTION_HTML,
    _QUESTION_TEXT,
    _SURVEY_LINK_SIGNATURE,
    _PREFERENCES_SIGNATURE,
)
_STAND_IN = re.compile("([\ue000-\ue007])")


class _Template:
    """One invitation's JSON cut at the stand-ins: literal, stand-in, literal, ...

    Filling puts each value into its slot and joins once; nothing put in is
    rescanned, so a contact whose name holds a stand-in character injects nothing.
    (A list and a join: five times faster here than str.format, which parses the
    10 KB template again on every call.)
    """

    def __init__(self, encoded: str, question: str):
        self.question = texts.filler(question)  # the locale's question, to fill
        pieces = _STAND_IN.split(encoded)
        # The literals, then one value per stand-in, in _STAND_INS order; `pick` lays
        # them out in template order, so filling loops in C, not over ~80 slots here.
        literals = tuple(piece.encode() for piece in pieces[::2])
        self.literals = literals
        self.pick = itemgetter(
            *(
                i // 2 if i % 2 == 0 else len(literals) + _STAND_INS.index(piece)
                for i, piece in enumerate(pieces)
            )
        )

    def fill(self, values: tuple[str, ...]) -> tuple[bytes, ...]:
        """The invitation as pieces of UTF-8 JSON; `values` (one per stand-in, in
        _STAND_INS order) are JSON-encoded already."""
        return self.pick(self.literals + tuple(value.encode() for value in values))


class BatchLinks:
    """`invitations.links` as JSON for many invitations of one survey, sharing what they share.

    Texts, the email block (HTML and text) and the JSON around them are made once
    per locale with stand-ins for what differs; per invitation that leaves two
    signatures (the survey link, the contact's preference link), filling the
    question's placeholders, and joining pieces. So a batch of 10,000 renders
    like a batch of four, one per locale.

    The answer is `invitations.links` as JSON (tests compare them), and the first
    invitation of each locale is also made by `invitations.links` and compared:
    if the renderer ever treats a text in a way the stand-ins cannot mirror, that
    locale falls back to `invitations.links` for every invitation.
    """

    def __init__(self, survey: Survey):
        self.survey = survey
        self.base = current_app.config["BASE_URL"]
        self.labels = [str(score) for score in score_range(survey.kind)]
        self._templates: dict[str, _Template | None] = {}
        self._iso_cache: dict[datetime, str] = {}
        self._locales: dict[str | None, str] = {}
        self._survey_token = tokens.survey_token_minter()
        self._preferences_token = tokens.preferences_token_minter()

    def json(self, invitation: Invitation, contact: Contact | ContactRow | None) -> bytes:
        """`invitations.links` of the invitation as UTF-8 JSON."""
        return b"".join(self.pieces(invitation, contact))

    def pieces(
        self, invitation: Invitation, contact: Contact | ContactRow | None
    ) -> Sequence[bytes]:
        """`json`, not yet joined: the batch joins all invitations' pieces at once."""
        if contact is None:
            return (_encode(invitations.links(self.survey, invitation, contact)).encode(),)
        # A batch has a handful of distinct contact locales; picking one parses the tag.
        locale = self._locales.get(contact.locale)
        if locale is None:
            locale = self._locales[contact.locale] = invitations.email_locale(self.survey, contact)
        if locale not in self._templates:
            return self._first_of_locale(locale, invitation, contact)
        template = self._templates[locale]
        if template is None:
            return (_encode(invitations.links(self.survey, invitation, contact)).encode(),)
        return self._fill(
            template,
            invitation,
            contact,
            self._survey_token(invitation.id),
            self._preferences_token(contact.id),
        )

    def _first_of_locale(
        self, locale: str, invitation: Invitation, contact: Contact | ContactRow
    ) -> Sequence[bytes]:
        expected = _encode(invitations.links(self.survey, invitation, contact)).encode()
        reference = json.loads(expected)
        template = self._template(locale)
        # The reference's own tokens: a new signature may carry a later second.
        survey_token = reference["url"].rpartition("/s/")[2]
        preferences_token = reference["unsubscribe_url"].rpartition("/p/")[2]
        fast = self._fill(template, invitation, contact, survey_token, preferences_token)
        self._templates[locale] = template if json.loads(b"".join(fast)) == reference else None
        return (expected,)

    def _template(self, locale: str) -> _Template:
        survey, base = self.survey, self.base
        strings = texts.survey_texts(survey.kind, locale, survey.texts)
        url = f"{base}/s/{_SURVEY_LINK_SIGNATURE}"
        unsubscribe = f"{base}/p/{_PREFERENCES_SIGNATURE}"
        block = {
            "kind": survey.kind,
            "score_urls": [(int(label), f"{url}?score={label}") for label in self.labels],
            "low_label": strings["low_label"],
            "high_label": strings["high_label"],
            "unsubscribe_url": unsubscribe,
            "unsubscribe_text": texts.UI[locale]["email_footer_unsubscribe"],
        }
        one = {
            "id": _INVITATION_ID,
            "contact_id": _CONTACT_ID,
            "external_id": _EXTERNAL_ID,
            "url": url,
            "score_urls": {label: f"{url}?score={label}" for label in self.labels},
            "expires_at": _EXPIRES_AT,
            "unsubscribe_url": unsubscribe,
            "email_html": render_email_block(question=_QUESTION_HTML, **block),
            "email_text": render_email_text(question=_QUESTION_TEXT, **block),
            # RFC 8058 one-click unsubscribe: mail clients POST to this URL.
            "email_headers": {
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }
        return _Template(_encode(one), strings["question"])

    def _iso(self, moment: datetime) -> str:
        # A batch's invitations share one expiry; formatting it is not free.
        if moment not in self._iso_cache:
            self._iso_cache[moment] = moment.isoformat()
        return self._iso_cache[moment]

    def _fill(
        self,
        template: _Template,
        invitation: Invitation,
        contact: Contact | ContactRow,
        survey_token: str,
        preferences_token: str,
    ) -> tuple[bytes, ...]:
        values = invitations.placeholder_values(self.survey, contact)
        question = template.question(values)
        # In _STAND_INS order.
        return template.fill(
            (
                _encode_text(invitation.id),
                _encode_text(invitation.contact_id),
                _encode_text(contact.external_id),
                self._iso(invitation.expires_at),
                _encode_text(str(escape(question))),
                _encode_text(question),
                # URL-safe base64 and dots: nothing to escape in HTML or JSON.
                survey_token,
                preferences_token,
            )
        )


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
