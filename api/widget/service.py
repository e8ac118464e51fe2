"""The widget's journey: identify, decide, display, answer, comment, decline.

A display is an invitation on the widget channel. Eligibility hands the widget a
signed display token naming a fresh invitation id; recording the display, the
score, the comment and a decline all present that token, and each is idempotent
per display, so a retried or replayed call never duplicates anything.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from flask import current_app
from sqlalchemy import select

from api import recent, scoring, signing
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.database import inserted, utcnow
from api.domain_errors import Conflict, Forbidden, Gone, NotFound, Unidentified, not_found
from api.extensions import db
from api.i18n.catalogs import UI
from api.i18n.negotiation import pick_locale
from api.i18n.placeholders import fill, placeholder_names
from api.ids import new_id
from api.referrals import moment as referral_moment
from api.referrals import program as referral_program
from api.responses import service as responses
from api.responses.models import Response
from api.surveys.invitations import Invitee, placeholder_values
from api.surveys.invitations import create as create_invitations
from api.surveys.models import Invitation, Survey
from api.surveys.wording import survey_texts
from api.widget import eligibility, identity, standing
from api.workspaces.models import Workspace

# The strings the widget shows besides the survey's own texts.
WIDGET_UI_KEYS = (
    "submit",
    "send_comment",
    "comment_label",
    "comment_placeholder",
    "thank_you_title",
    "score_label",
    "close",
    "skip",
    "copy_link",
    "copied",
    "error_retry",
    "score_required",
    "referral_code_label",
)


# The strings the referral widget shows.
REFERRAL_UI_KEYS = (
    "referral_code_label",
    "copy_link",
    "copied",
    "share_email",
    "share_x",
    "share_linkedin",
    "share_whatsapp",
    "status_clicks",
    "status_signups",
    "status_conversions",
    "status_rewards_pending",
    "status_rewards_approved",
)


@dataclass(frozen=True)
class User:
    """The widget user as far as we can trust it."""

    contact: contacts.ContactRow | None  # None: anonymous
    claimed_id: str | None  # a user id that came without a valid hash
    throttles: dict[str, str] = field(default_factory=dict)  # why a survey waits, by its id


def identify(
    workspace: Workspace, user_id: str | None, user_hash: str | None, attributes: dict | None
) -> User:
    """A contact for a correctly signed user id; anonymous otherwise.

    Attributes from the browser are only accepted with a valid hash.
    """
    if not user_id:
        return User(None, None)
    if not identity.verify(workspace, user_id, user_hash or ""):
        return User(None, user_id)
    surveys, now = widget_surveys(workspace.id), utcnow()
    contact, throttles = standing.read(workspace.id, user_id, surveys, now)
    if contact is None or attributes:
        data = {"attributes": attributes} if attributes else {}
        contacts.upsert_contact(workspace.id, user_id, data)
        contact, throttles = standing.read(workspace.id, user_id, surveys, now, in_session=True)
    return User(contact, None, throttles)


def widget_workspace(workspace_id: str) -> Workspace:
    """Remembered per worker, as publishable keys are: changed allowed origins reach
    the widget API within WIDGET_CACHE_SECONDS."""
    return _memory("widget_workspaces").get(
        workspace_id, lambda: recent.frozen(db.session.get(Workspace, workspace_id))
    )


def _memory(name: str):
    return recent.memory(name, current_app.config["WIDGET_CACHE_SECONDS"])


def check_eligibility(
    workspace: Workspace,
    user: User,
    *,
    url: str | None,
    locale: str | None,
    accept_language: str | None,
    anonymous_key: str,
    now: datetime | None = None,
) -> dict:
    now = now or utcnow()
    surveys = widget_surveys(workspace.id)
    decision = eligibility.decide(surveys, user.contact, user.throttles, url, now, anonymous_key)
    if not decision.show:
        if user.claimed_id is not None and decision.reason == eligibility.ANONYMOUS_NOT_ALLOWED:
            raise invalid_user_hash()
        return {"show": False, "reason": decision.reason}
    survey, contact = decision.survey, user.contact
    chosen = pick_locale(
        locale,
        contact.locale if contact else None,
        accept_language=accept_language,
        fallback=survey.default_locale,
    )
    invitation_id = new_id("inv")
    token = signing.sign(
        signing.WIDGET_DISPLAY,
        {"i": invitation_id, "s": survey.id, "c": contact.id if contact else None, "l": chosen},
    )
    return {
        "show": True,
        "display": token,
        "survey": _presented(survey, contact, chosen),
    }


def widget_surveys(workspace_id: str) -> tuple:
    """The workspace's active widget surveys, oldest first, remembered per worker:
    a survey switched on or off reaches the widget within WIDGET_CACHE_SECONDS."""
    return _memory("widget_surveys").get(workspace_id, lambda: _load_widget_surveys(workspace_id))


def _load_widget_surveys(workspace_id: str) -> tuple:
    surveys = db.session.scalars(
        select(Survey)
        .where(
            Survey.workspace_id == workspace_id,
            Survey.active.is_(True),
            Survey.widget_enabled.is_(True),
        )
        .order_by(Survey.id)
    )
    return tuple(recent.frozen(survey) for survey in surveys)


def invalid_user_hash() -> Forbidden:
    return Forbidden(
        "user_hash does not match user_id: compute HMAC-SHA256(identity secret, user_id) on "
        "your server (GET /v1/widget shows the identity secret).",
        code="invalid_user_hash",
    )


_PER_CATEGORY = ("follow_up", "thank_you")


def _presented(survey: Survey, contact: contacts.ContactRow | None, locale: str) -> dict:
    # The wording is parsed once per survey version and locale; only filling in this
    # contact's placeholders is left for each page view.
    wording = _memory("widget_wordings").get(
        (survey.id, survey.updated_at, locale), lambda: _wording(survey, locale)
    )
    return wording(placeholder_values(survey, contact))


def _wording(survey: Survey, locale: str) -> Callable[[dict], dict]:
    """What the widget shows of `survey` in `locale`, for the placeholder values given."""
    strings = survey_texts(survey.kind, locale, survey.texts)
    scale = scoring.score_range(survey.kind)
    ui = {key: UI[locale][key] for key in WIDGET_UI_KEYS}
    names = sorted(
        set().union(
            placeholder_names(strings["question"]),
            *(placeholder_names(t) for k in _PER_CATEGORY for t in strings[k].values()),
            *(placeholder_names(t) for t in ui.values()),
        )
    )
    fixed = {
        "id": survey.id,
        "kind": survey.kind,
        "locale": locale,
        "min": scale.start,
        "max": scale.stop - 1,
        "low_label": strings["low_label"],
        "high_label": strings["high_label"],
        "categories": {str(s): scoring.classify(survey.kind, s) for s in scale},
    }

    # Most page views share their values (the same product, few first names), so each
    # distinct set is filled in once; `fill` turns every value into text anyway.
    @lru_cache(maxsize=256)
    def filled_in(key: tuple) -> dict:
        values = dict(zip(names, key, strict=True))
        # score_label keeps {score} for the widget to fill per button; {max} is known here.
        ui_values = {**values, "score": "{score}", "max": scale.stop - 1}
        return fixed | {
            "question": fill(strings["question"], values),
            **{
                part: {k: fill(v, values) for k, v in strings[part].items()}
                for part in _PER_CATEGORY
            },
            "ui": {key: fill(text, ui_values) for key, text in ui.items()},
        }

    def presented(values: dict) -> dict:
        return filled_in(tuple(None if values.get(n) is None else str(values[n]) for n in names))

    return presented


def display(workspace: Workspace, token: str, now: datetime | None = None) -> Invitation:
    """Record that the widget was shown (once per display token)."""
    return _record_display(workspace, _payload(workspace, token), now or utcnow())


def _record_display(workspace: Workspace, payload: dict, now: datetime) -> Invitation:
    # Looked up first: the score, the comment and a decline present the same display,
    # and a plain read does not queue for SQLite's one write lock as an INSERT would.
    invitation = db.session.get(Invitation, payload["i"])
    if invitation is not None:
        return invitation
    survey = _survey(workspace, payload["s"])
    invitee = Invitee(payload["c"], payload["l"])
    created = create_invitations(survey, [invitee], "widget", now, invitation_ids=[payload["i"]])
    if not created:  # recorded by a request that ran at the same time
        return db.session.get(Invitation, payload["i"])
    return inserted(Invitation, {**created[0]._asdict(), "declined_at": None})


def answer(
    workspace: Workspace,
    token: str,
    score: int,
    *,
    page: str | None = None,
    user_agent: str | None = None,
) -> tuple[dict, bool]:
    """Record the score; returns the widget's answer and whether the response is new.

    A promoter also gets their referral link back, to show at once."""
    meta = {"page": page} if page else {}
    meta["user_agent"] = (user_agent or "")[:300]
    payload = _payload(workspace, token)
    response = responses.unchanged(payload["i"], score, meta)
    created = False
    if response is None:
        survey = _survey(workspace, payload["s"])
        # What the answer reads, read before its first write: on SQLite the write lock
        # is held from that write to the commit, and every other writer waits for it.
        # The session keeps a loaded row only while something references it.
        read_first = [db.session.get(Workspace, workspace.id)]
        if payload["c"]:
            read_first.append(db.session.get(Contact, payload["c"]))
        invitation = _record_display(workspace, payload, utcnow())
        response, created = responses.submit(
            invitation, score, channel="widget", meta=meta, survey=survey
        )
    referral = None
    if response.category == "promoter" and response.contact_id and _runs_referrals(workspace.id):
        contact = db.session.get(Contact, response.contact_id)
        product = _survey(workspace, payload["s"]).product_name
        referral = referral_moment.shown_to(contact, payload["l"], product)
    body = {"response_id": response.id, "category": response.category, "referral": referral}
    return body, created


def _runs_referrals(workspace_id: str) -> bool:
    """Remembered per worker like the widget surveys: a program switched on or off
    reaches the widget's thank-you within WIDGET_CACHE_SECONDS."""
    return _memory("widget_referral_programs").get(
        workspace_id, lambda: referral_program.enabled_program(workspace_id) is not None
    )


def referral(workspace: Workspace, user: User, locale: str) -> dict:
    """The identified user's referral link and status, their code issued on first ask."""
    if user.contact is None:
        raise (
            invalid_user_hash()
            if user.claimed_id
            else Unidentified(
                "The referral widget needs user_id and user_hash.", code="identity_required"
            )
        )
    if referral_program.enabled_program(workspace.id) is None:
        raise NotFound("This workspace runs no referral program.", code="no_referral_program")
    referral_moment.issue_for_promoter(workspace.id, user.contact.id)
    contact = db.session.get(Contact, user.contact.id)
    # Named as the survey widget names it: by its (oldest) survey's product, and a
    # workspace without widget surveys by its own name.
    product = next((s.product_name for s in widget_surveys(workspace.id)), workspace.name)
    shown = referral_moment.shown_to(contact, locale, product)
    if shown is None:
        raise NotFound("This user's referral code is disabled.", code="referral_code_disabled")
    ui = UI[locale]
    return referral_moment.with_status(contact, shown) | {
        "locale": locale,
        "ui": {key: ui[key] for key in REFERRAL_UI_KEYS},
    }


def comment(workspace: Workspace, token: str, text: str) -> Response:
    invitation_id = _payload(workspace, token)["i"]
    response = responses.response_for_invitation(invitation_id)
    if response is None:
        raise Conflict("Submit the score before the comment.", code="no_score_yet")
    return responses.set_comment(response, text)


def decline(workspace: Workspace, token: str, now: datetime | None = None) -> Invitation:
    """Closing the widget unanswered starts the survey's decline throttle."""
    invitation = display(workspace, token, now)
    if invitation.declined_at is None and responses.response_for_invitation(invitation.id) is None:
        invitation.declined_at = now or utcnow()
    return invitation


def _payload(workspace: Workspace, token: str) -> dict:
    max_age = current_app.config["WIDGET_DISPLAY_MAX_AGE_DAYS"] * 86400
    try:
        payload = signing.unsign(signing.WIDGET_DISPLAY, token, max_age)
    except signing.TokenExpired:
        raise Gone("This survey display has expired.", code="display_expired") from None
    except signing.TokenInvalid:
        payload = None
    survey = _survey(workspace, payload["s"]) if isinstance(payload, dict) else None
    if survey is None:
        raise not_found("survey display")
    return payload


def _survey(workspace: Workspace, survey_id: str) -> Survey | None:
    """One of the workspace's surveys; its widget surveys come from what is remembered."""
    for survey in widget_surveys(workspace.id):
        if survey.id == survey_id:
            return survey
    survey = db.session.get(Survey, survey_id)
    return (
        recent.frozen(survey)
        if survey is not None and survey.workspace_id == workspace.id
        else None
    )
