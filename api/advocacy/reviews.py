"""Review requests: asked of every respondent or of none, tracked, and reported.

A request is made when the thank-you page, the widget or the API asks someone to
review the product somewhere public, once the ask cap allows it (the category of
the answer plays no part: see api/advocacy/settings.py). Its signed link opens a
small page of the workspace's review sites; `/rv/<token>/<destination>` counts a
click and sends the person on; "I left a review" records the act.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from api import scoped, signing
from api.advocacy import advocates, asks
from api.advocacy.models import AdvocacySettings, ReviewClick, ReviewRequest
from api.advocacy.settings import asks_for_reviews, destination, settings_of
from api.contacts.models import Contact
from api.database import utcnow
from api.domain_errors import Conflict
from api.events import service as events
from api.extensions import db
from api.filters import narrowed
from api.i18n.catalogs import UI
from api.i18n.negotiation import pick_locale
from api.i18n.placeholders import fill
from api.responses.models import Response
from api.surveys.email_block import LinksEmail, render_links_block, render_links_text
from api.surveys.models import Survey
from api.surveys.tokens import preferences_url
from api.workspaces.models import Workspace

ACT = "review"


def request_for_response(response_id: str) -> ReviewRequest | None:
    return db.session.scalar(select(ReviewRequest).where(ReviewRequest.response_id == response_id))


def offer_after(
    response: Response, contact: Contact | None, channel: str, now: datetime | None = None
) -> ReviewRequest | None:
    """The review ask that follows this response, made now if the ask cap allows.

    Every respondent is asked, whatever their score, when the workspace asks at
    all; anonymous ones are not, as nobody could keep their ask cap.
    """
    settings = settings_of(response.workspace_id)
    if contact is None or contact.erased_at is not None or not asks_for_reviews(settings):
        return None
    existing = request_for_response(response.id)
    if existing is not None:
        return existing
    now = now or utcnow()
    cooldown = settings.ask_cooldown_days
    ask = asks.Ask(response.workspace_id, contact.id, ACT, channel, response.id)
    if not asks.claim(ask, cooldown, now):
        return None
    return _create(contact, channel, now, response) or request_for_response(response.id)


def request_by_api(
    contact: Contact, channel: str, response: Response | None = None, now: datetime | None = None
) -> ReviewRequest:
    """A review request for a partner to send (by email) or show, within the ask cap."""
    settings = settings_of(contact.workspace_id)
    if not asks_for_reviews(settings):
        raise Conflict(
            "This workspace does not ask for reviews: set `review_ask` to `everyone` and "
            "list `review_destinations` (PATCH /v1/advocacy-settings).",
            code="review_ask_off",
        )
    if channel == "email" and contact.unsubscribed:
        raise Conflict("This contact unsubscribed from our emails.", code="unsubscribed")
    if response is not None and request_for_response(response.id) is not None:
        raise Conflict("This response was already followed by a review ask.", code="already_asked")
    now = now or utcnow()
    cooldown = settings.ask_cooldown_days
    response_id = response.id if response is not None else None
    ask = asks.Ask(contact.workspace_id, contact.id, ACT, channel, response_id)
    asks.claim_or_refuse(ask, cooldown, now)
    created = _create(contact, channel, now, response)
    if created is None:  # a concurrent ask after the same response won
        raise Conflict("This response was already followed by a review ask.", code="already_asked")
    return created


def _create(
    contact: Contact, channel: str, now: datetime, response: Response | None
) -> ReviewRequest | None:
    values = {
        "category": response.category if response is not None else None,
        "channel": channel,
        "created_at": now,
    }
    request = asks.insert_for_response(ReviewRequest, "rr", contact, response, values)
    if request is None:
        return None
    _event(request, "review_request.created", {})
    return request


def _event(request: ReviewRequest, type_: str, data: dict) -> None:
    events.record(
        request.workspace_id,
        type_,
        request.id,
        {
            "contact_id": request.contact_id,
            "response_id": request.response_id,
            "category": request.category,
            "channel": request.channel,
            **data,
        },
    )


# --- links, the page and what comes of a request ---------------------------------------


def token_of(request: ReviewRequest) -> str:
    return signing.sign(signing.REVIEW_LINK, request.id)


def request_for_token(token: str) -> ReviewRequest:
    """The request a review link names; signing.TokenInvalid or TokenExpired otherwise."""
    max_age = timedelta(days=current_app.config["REVIEW_LINK_MAX_AGE_DAYS"])
    request_id = signing.unsign(signing.REVIEW_LINK, token, int(max_age.total_seconds()))
    request = db.session.get(ReviewRequest, request_id) if isinstance(request_id, str) else None
    if request is None:
        raise signing.TokenInvalid
    return request


def links(request: ReviewRequest, settings: AdvocacySettings | None = None) -> dict:
    """The request's page and one tracked link per review site, in the order listed."""
    settings = settings or settings_of(request.workspace_id)
    base = f"{current_app.config['BASE_URL'].rstrip('/')}/rv/{token_of(request)}"
    return {
        "url": base,
        "destinations": [
            {"id": d["id"], "name": d["name"], "url": f"{base}/{d['id']}"}
            for d in settings.review_destinations or []
        ],
    }


def click(request: ReviewRequest, destination_id: str, now: datetime | None = None) -> str | None:
    """Count a click on one review site's link; its URL, or None if it is no longer listed."""
    found = destination(settings_of(request.workspace_id), destination_id)
    if found is None:
        return None
    now = now or utcnow()
    db.session.add(
        ReviewClick(
            workspace_id=request.workspace_id,
            review_request_id=request.id,
            destination_id=found["id"],
            created_at=now,
        )
    )
    db.session.execute(
        update(ReviewRequest)
        .where(ReviewRequest.id == request.id, ReviewRequest.first_clicked_at.is_(None))
        .values(first_clicked_at=now)
    )
    _event(request, "review_request.clicked", {"destination_id": found["id"]})
    return found["url"]


def mark_reviewed(
    request: ReviewRequest, destination_id: str | None, source: str, now: datetime | None = None
) -> bool:
    """The person says they left a review: recorded once, with the act. True if new."""
    now = now or utcnow()
    found = destination(settings_of(request.workspace_id), destination_id)
    won = db.session.execute(
        update(ReviewRequest)
        .where(ReviewRequest.id == request.id, ReviewRequest.reviewed_at.is_(None))
        .values(reviewed_at=now, reviewed_destination_id=found["id"] if found else None)
    ).rowcount
    db.session.refresh(request)
    if not won:
        return False
    _event(request, "review_request.reviewed", {"destination_id": request.reviewed_destination_id})
    contact = db.session.get(Contact, request.contact_id)
    if contact is not None and contact.erased_at is None:
        advocates.record_act(
            contact,
            ACT,
            source,
            subject_id=request.id,
            destination=found["name"] if found else None,
            occurred_at=now,
        )
    return True


# --- for a partner: the email block ----------------------------------------------------


def product_name(workspace_id: str, survey_id: str | None) -> str:
    """What a review is asked about: the survey's product, else the workspace's name."""
    survey = db.session.get(Survey, survey_id) if survey_id else None
    if survey is not None:
        return survey.product_name
    return db.session.get(Workspace, workspace_id).name


def for_sending(request: ReviewRequest, contact: Contact, product: str) -> dict:
    """Everything a partner needs to send the ask: the review page, the tracked links,
    and an email HTML fragment with its plain text, in the contact's language."""
    locale = pick_locale(contact.locale)
    ui = UI[locale]
    values = {"product": product, "first_name": contact.first_name}
    found = links(request)
    preferences = preferences_url(contact.id)
    email = LinksEmail(
        heading=fill(ui["review_title"], values),
        body=fill(ui["review_body"], values),
        links=[(d["name"], d["url"]) for d in found["destinations"]],
        footer_links=[
            (ui["review_email_done"], found["url"]),
            (ui["email_footer_unsubscribe"], preferences),
        ],
    )
    return found | {"email_html": render_links_block(email), "email_text": render_links_text(email)}


def get_request(workspace_id: str, request_id: str) -> ReviewRequest:
    return scoped.get_or_404(ReviewRequest, workspace_id, request_id, "review request")


def filter_requests(workspace_id: str, filters: dict):
    statement = select(ReviewRequest).where(ReviewRequest.workspace_id == workspace_id)
    return narrowed(statement, ReviewRequest, filters, "contact_id", "channel")


def report(workspace_id: str, since: datetime | None) -> dict:
    """Asks, asks clicked through and self-reported reviews, per channel and per category
    (every category is asked, which this shows), and clicks and reviews per review site."""
    requests = ReviewRequest.__table__.c
    period = requests.workspace_id == workspace_id
    if since is not None:
        period = period & (requests.created_at >= since)
    counted = (
        func.count(),
        func.count(requests.first_clicked_at),
        func.count(requests.reviewed_at),
    )
    totals = db.session.execute(select(*counted).where(period)).one()
    grouped = {}
    for column in ("channel", "category"):
        rows = db.session.execute(
            select(requests[column], *counted).where(period).group_by(requests[column])
        )
        grouped[column] = {
            (key or "none"): _figures(asked, clicked, reviewed)
            for key, asked, clicked, reviewed in rows
        }
    clicks = ReviewClick.__table__.c
    click_period = clicks.workspace_id == workspace_id
    if since is not None:
        click_period = click_period & (clicks.created_at >= since)
    per_destination: dict[str, dict] = {}
    for destination_id, count in db.session.execute(
        select(clicks.destination_id, func.count())
        .where(click_period)
        .group_by(clicks.destination_id)
    ):
        per_destination.setdefault(destination_id, {"clicks": 0, "reviews": 0})["clicks"] = count
    for destination_id, count in db.session.execute(
        select(requests.reviewed_destination_id, func.count())
        .where(
            period, requests.reviewed_at.is_not(None), requests.reviewed_destination_id.is_not(None)
        )
        .group_by(requests.reviewed_destination_id)
    ):
        per_destination.setdefault(destination_id, {"clicks": 0, "reviews": 0})["reviews"] = count
    names = {d["id"]: d["name"] for d in settings_of(workspace_id).review_destinations or []}
    return {
        **_figures(*totals),
        "by_channel": grouped["channel"],
        "by_category": grouped["category"],
        "by_destination": [
            {"id": key, "name": names.get(key), **figures}
            for key, figures in sorted(per_destination.items())
        ],
    }


def _figures(asked: int, clicked: int, reviewed: int) -> dict:
    return {
        "asks": asked,
        "clicked": clicked,
        "reviews": reviewed,
        "click_rate": round(clicked / asked, 4) if asked else None,
        "review_rate": round(reviewed / asked, 4) if asked else None,
    }
