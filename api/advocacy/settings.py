"""A workspace's advocacy settings: the review ask, review destinations, the ask cooldown.

The review ask goes to every respondent or to none. Asking only the happy ones
for public reviews is review gating: Google's review policy forbids soliciting
positive reviews selectively, and the FTC rule on consumer reviews and
testimonials (16 CFR 465, in force since October 2024) bans suppressing negative
ones. So `review_ask` is `everyone` or `off`, and any other value, a list of
categories or a score threshold included, is refused with the reason.
"""

import secrets
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from api.advocacy.models import REVIEW_ASK_VALUES, AdvocacySettings
from api.database import insert_ignore, utcnow
from api.domain_errors import Invalid
from api.events import service as events
from api.extensions import db

DEFAULTS = {"review_ask": "everyone", "review_destinations": [], "ask_cooldown_days": 90}
MAX_DESTINATIONS = 10

REVIEW_GATING = (
    "`review_ask` is `everyone` or `off`: there is no setting that asks only promoters (or "
    "any score or category) for reviews. Asking only happy customers for public reviews is "
    "review gating, which Google's review policy forbids, and the FTC rule on consumer "
    "reviews and testimonials (16 CFR 465) bans review suppression. Flipfunnel offers the "
    "review ask to every respondent or to none."
)


def review_ask_value(value: object) -> str:
    """`everyone` or `off`; anything else (`promoters`, a category list, ...) is refused."""
    if isinstance(value, str) and value in REVIEW_ASK_VALUES:
        return value
    raise Invalid(REVIEW_GATING, code="review_gating", fields={"review_ask": [REVIEW_GATING]})


def settings_of(workspace_id: str) -> AdvocacySettings:
    """The stored settings, or an unsaved row holding the defaults."""
    found = db.session.get(AdvocacySettings, workspace_id)
    return found or AdvocacySettings(workspace_id=workspace_id, **_copy(DEFAULTS))


def update_settings(workspace_id: str, data: dict) -> AdvocacySettings:
    """Change the given settings. Destinations replace the list; one that names the
    `id` of an existing destination keeps it, so links already sent still work."""
    if "review_ask" in data:
        data = {**data, "review_ask": review_ask_value(data["review_ask"])}
    now = utcnow()
    # Insert-or-nothing first, so two first PATCHes racing do not both create the row.
    insert_ignore(
        AdvocacySettings,
        {"workspace_id": workspace_id, **_copy(DEFAULTS), "created_at": now, "updated_at": now},
        ["workspace_id"],
    )
    settings = db.session.scalar(
        select(AdvocacySettings)
        .where(AdvocacySettings.workspace_id == workspace_id)
        .execution_options(populate_existing=True)
    )
    if "review_ask" in data:
        settings.review_ask = data["review_ask"]
    if "ask_cooldown_days" in data:
        settings.ask_cooldown_days = data["ask_cooldown_days"]
    if "review_destinations" in data:
        settings.review_destinations = _destinations(
            settings.review_destinations or [], data["review_destinations"]
        )
    settings.updated_at = now
    db.session.flush()
    events.record(
        workspace_id,
        "advocacy_settings.updated",
        workspace_id,
        {
            "review_ask": settings.review_ask,
            "ask_cooldown_days": settings.ask_cooldown_days,
            "review_destinations": [d["id"] for d in settings.review_destinations],
        },
    )
    return settings


def _destinations(current: list[dict], given: list[dict]) -> list[dict]:
    known = {d["id"] for d in current}
    result = []
    for entry in given:
        if entry.get("id") and entry["id"] not in known:
            message = "Give the id of an existing destination, or none for a new one."
            raise Invalid(message, fields={"review_destinations": [message]})
        url = entry["url"].strip()
        if urlsplit(url).scheme not in ("http", "https"):
            message = "A review destination's url is an http or https URL."
            raise Invalid(message, fields={"review_destinations": [message]})
        result.append(
            {
                "id": entry.get("id") or f"rd_{secrets.token_hex(6)}",
                "name": entry["name"].strip(),
                "url": url,
            }
        )
    if len({d["id"] for d in result}) != len(result):
        message = "Each destination id may appear once."
        raise Invalid(message, fields={"review_destinations": [message]})
    return result


def destination(settings: AdvocacySettings, destination_id: str | None) -> dict | None:
    return next((d for d in settings.review_destinations or [] if d["id"] == destination_id), None)


def asks_for_reviews(settings: AdvocacySettings) -> bool:
    """Whether there is a review ask at all: on, and somewhere to review."""
    return settings.review_ask == "everyone" and bool(settings.review_destinations)


def wall_url(workspace_id: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/wall/{workspace_id}"


def _copy(values: dict) -> dict:
    return {k: list(v) if isinstance(v, list) else v for k, v in values.items()}
