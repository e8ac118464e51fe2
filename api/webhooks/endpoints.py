"""Webhook endpoints: what a workspace subscribes, where, and with which secret."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, select, update

from api import scoped
from api.database import utcnow
from api.domain_errors import Conflict, Invalid
from api.events import service as events
from api.extensions import db
from api.webhooks import secrets, ssrf
from api.webhooks.models import (
    DISABLED_MANUALLY,
    FAILED,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)

ALL = "*"
PING = "webhook.ping"


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is no event type subscription: a type, `*`, or a prefix like `reward.*`."""
    if pattern == ALL or pattern in events.TYPES:
        return None
    if pattern.endswith(".*") and any(t.startswith(pattern[:-1]) for t in events.TYPES):
        return None
    return f"{pattern!r} is not an event type, '*', or a prefix of some (such as 'referral.*')."


def matches(patterns: list[str], type_: str) -> bool:
    return any(
        pattern in (ALL, type_) or (pattern.endswith(".*") and type_.startswith(pattern[:-1]))
        for pattern in patterns
    )


def check_url(url: str) -> None:
    """The SSRF rules at creation: a 422 that says what is wrong with the URL."""
    config = current_app.config
    try:
        ssrf.resolve(
            url,
            allow_http=config["WEBHOOKS_ALLOW_HTTP"],
            allow_private=config["WEBHOOKS_ALLOW_PRIVATE"],
        )
    except ssrf.Refused as refused:
        raise Invalid(refused.reason, fields={"url": [refused.reason]}) from None


def in_workspace(workspace_id: str) -> Select:
    return select(WebhookEndpoint).where(WebhookEndpoint.workspace_id == workspace_id)


def get(workspace_id: str, endpoint_id: str) -> WebhookEndpoint:
    return scoped.get_or_404(WebhookEndpoint, workspace_id, endpoint_id, "webhook endpoint")


def create(workspace_id: str, data: dict) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is shown this once."""
    check_url(data["url"])
    now = utcnow()
    endpoint = WebhookEndpoint(
        workspace_id=workspace_id,
        url=data["url"],
        description=data.get("description", ""),
        event_types=data["event_types"],
        format=data["format"],
        enabled=data.get("enabled", True),
        disabled_reason=None if data.get("enabled", True) else DISABLED_MANUALLY,
        secret_nonce=secrets.new_nonce(),
        created_at=now,
        updated_at=now,
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secrets.current(endpoint)


def change(endpoint: WebhookEndpoint, data: dict) -> WebhookEndpoint:
    now = utcnow()
    if "url" in data and data["url"] != endpoint.url:
        check_url(data["url"])
    for name in ("url", "description", "event_types", "format"):
        if name in data:
            setattr(endpoint, name, data[name])
    if data.get("enabled") is True and not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, None, None
    elif data.get("enabled") is False and endpoint.enabled:
        disable(endpoint, DISABLED_MANUALLY, now)
    endpoint.updated_at = now
    db.session.flush()
    return endpoint


def disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    """Stop sending to it; what was waiting fails, so a recover can send it later."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.updated_at = now
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == PENDING,
        )
        .values(
            status=FAILED,
            last_error="endpoint_disabled",
            next_attempt_at=None,
            finished_at=now,
            updated_at=now,
        )
    )


def delete(endpoint: WebhookEndpoint) -> None:
    """Its deliveries and their attempts go with it."""
    db.session.delete(endpoint)
    db.session.flush()


def rotate_secret(endpoint: WebhookEndpoint, grace: timedelta) -> str:
    """A new secret; the previous one keeps signing for `grace` (0: stops now).

    Only one previous generation is kept: rotating again during a grace ends the
    older one's grace at once.
    """
    now = utcnow()
    if grace > timedelta(0):
        endpoint.previous_secret_nonce = endpoint.secret_nonce
        endpoint.previous_secret_expires_at = now + grace
    else:
        endpoint.previous_secret_nonce = endpoint.previous_secret_expires_at = None
    endpoint.secret_nonce = secrets.new_nonce()
    endpoint.updated_at = now
    db.session.flush()
    return secrets.current(endpoint)


def ping(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.ping` event and its one delivery, to this endpoint alone, due now."""
    if not endpoint.enabled:
        raise Conflict("Enable the endpoint before pinging it.", code="endpoint_disabled")
    now = utcnow()
    event = events.record(endpoint.workspace_id, PING, endpoint.id, {"endpoint_id": endpoint.id})
    db.session.flush()  # for the event's id
    delivery = WebhookDelivery(
        workspace_id=endpoint.workspace_id,
        endpoint_id=endpoint.id,
        event_id=event.id,
        event_type=PING,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery
