"""Deliveries: claimed when due, each attempt recorded, retried on the schedule.

The schedule is `WEBHOOKS_RETRY_SCHEDULE` (Svix's defaults): at once, then 5 s,
5 min, 30 min, 2 h, 5 h, 10 h and 10 h, each delay ±20% so that receivers coming
back from an outage are not hit by every retry in the same second. A 429 or 503
with `Retry-After` waits that long, but at least the scheduled delay and at most
twice it. A 3xx is a failure (redirects are never followed). A 410 disables the
endpoint at once; an endpoint whose every attempt failed for
`WEBHOOKS_DISABLE_AFTER_DAYS` is disabled too (`webhook_endpoint.disabled`). A
delivery out of attempts fails with `webhook_delivery.exhausted`. A retry or a
recover queues it again, with the schedule from the start.
"""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, delete, select, update

from api import scoped
from api.bulk import insert_many
from api.database import utcnow
from api.domain_errors import Conflict, Invalid
from api.events import service as events
from api.extensions import db
from api.filters import narrowed
from api.jobs import queue as jobs
from api.webhooks import endpoints
from api.webhooks.models import (
    DISABLED_FAILING,
    DISABLED_GONE,
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from api.webhooks.sender import Outcome
from api.worker import leases

RECOVER = "webhooks.recover"
_RECOVER_BATCH = 500


def delay(
    schedule: Sequence[int],
    attempts_made: int,
    rng: random.Random,
    retry_after: float | None = None,
) -> float | None:
    """Seconds until the next attempt after `attempts_made` attempts; None when none is left."""
    if attempts_made >= len(schedule):
        return None
    scheduled = schedule[attempts_made] * rng.uniform(0.8, 1.2)
    if retry_after is not None:
        return min(max(retry_after, scheduled), 2 * scheduled)
    return scheduled


# --- the worker's side ---------------------------------------------------------------------


def claim_due(now: datetime, limit: int, lease_seconds: float) -> tuple[str, list[str]]:
    """Lease up to `limit` due deliveries (oldest due first): (lease token, their ids).

    The caller commits before sending anything, so the lease is the worker's.
    """
    token = leases.new_token()
    ids = leases.claim(
        WebhookDelivery,
        [
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            leases.lapsed(WebhookDelivery.lease_until, now),
        ],
        [WebhookDelivery.next_attempt_at, WebhookDelivery.id],
        limit,
        {"lease_until": leases.until(now, lease_seconds), "lease_token": token},
    )
    return token, ids


def release(claimed: Sequence) -> None:
    """Give claimed deliveries back unsent (a stopping worker): due again at once.
    The caller commits."""
    for token in {request.token for request in claimed}:
        db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_([r.delivery_id for r in claimed if r.token == token]),
                WebhookDelivery.lease_token == token,
            )
            .values(lease_until=None, lease_token=None),
            execution_options={"synchronize_session": False},
        )


def record(outcomes: Sequence[Outcome], now: datetime, rng: random.Random) -> None:
    """Log each attempt and move each delivery on; the caller commits.

    An outcome whose lease was taken over (it outlived it) is logged, but the
    delivery is left to the worker that holds it now. Successes, nearly all of
    them, are recorded a statement per claim rather than a statement each.
    """
    if not outcomes:
        return
    by_id = {
        delivery.id: delivery
        for delivery in db.session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.id.in_([outcome.delivery_id for outcome in outcomes])
            )
        )
    }
    # A delivery deleted meanwhile (with its endpoint) has nothing left to log to.
    outcomes = [outcome for outcome in outcomes if outcome.delivery_id in by_id]
    insert_many(
        WebhookAttempt.__table__.insert(),
        [
            {
                "delivery_id": outcome.delivery_id,
                "attempted_at": outcome.attempted_at,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "response_body": outcome.response_body,
                "error": outcome.error,
                "error_message": outcome.error_message,
            }
            for outcome in outcomes
        ],
    )
    current = [o for o in outcomes if by_id[o.delivery_id].lease_token == o.token]
    _succeeded([o for o in current if o.succeeded], by_id, now)
    for outcome in current:
        if not outcome.succeeded:
            _failed(by_id[outcome.delivery_id], outcome, now, rng)


def _succeeded(outcomes: list[Outcome], by_id: dict, now: datetime) -> None:
    batches: dict[tuple, list[str]] = {}
    for outcome in outcomes:
        key = (outcome.token, outcome.attempted_at, outcome.status_code)
        batches.setdefault(key, []).append(outcome.delivery_id)
    for (token, attempted_at, status_code), ids in batches.items():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.lease_token == token)
            .values(
                status=SUCCEEDED,
                attempts=WebhookDelivery.attempts + 1,
                last_attempt_at=attempted_at,
                last_status_code=status_code,
                last_error=None,
                next_attempt_at=None,
                lease_until=None,
                lease_token=None,
                finished_at=now,
                updated_at=now,
            ),
            execution_options={"synchronize_session": False},
        )
    if outcomes:
        # A success ends an endpoint's run of failures (a no-op for healthy ones).
        endpoint_ids = sorted({by_id[outcome.delivery_id].endpoint_id for outcome in outcomes})
        db.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(endpoint_ids), WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None),
            execution_options={"synchronize_session": False},
        )


def _failed(delivery: WebhookDelivery, outcome: Outcome, now: datetime, rng) -> None:
    config = current_app.config
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    delivery.attempts += 1
    delivery.last_attempt_at = outcome.attempted_at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.lease_until = delivery.lease_token = None
    delivery.updated_at = now
    if outcome.error == "endpoint_disabled" or not endpoint.enabled:
        _fail(delivery, now)
        return
    if outcome.status_code == 410:
        _disable(endpoint, DISABLED_GONE, now)
        _fail(delivery, now)
        return
    endpoint.failing_since = endpoint.failing_since or outcome.attempted_at
    if now - endpoint.failing_since >= timedelta(days=config["WEBHOOKS_DISABLE_AFTER_DAYS"]):
        _disable(endpoint, DISABLED_FAILING, now)
        _fail(delivery, now)
        return
    wait = delay(config["WEBHOOKS_RETRY_SCHEDULE"], delivery.attempts, rng, outcome.retry_after)
    if wait is None:
        _fail(delivery, now)
        events.record(
            delivery.workspace_id,
            "webhook_delivery.exhausted",
            delivery.id,
            {
                "endpoint_id": delivery.endpoint_id,
                "event_id": str(delivery.event_id),
                "event_type": delivery.event_type,
                "attempts": delivery.attempts,
                "last_status_code": delivery.last_status_code,
                "last_error": delivery.last_error,
            },
        )
        return
    delivery.next_attempt_at = now + timedelta(seconds=wait)


def _fail(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status, delivery.next_attempt_at, delivery.finished_at = FAILED, None, now


def _disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoints.disable(endpoint, reason, now)
    events.record(
        endpoint.workspace_id,
        "webhook_endpoint.disabled",
        endpoint.id,
        {"endpoint_id": endpoint.id, "reason": reason, "description": endpoint.description},
    )


def purge(before: datetime, batch: int) -> int:
    """Delete up to `batch` deliveries (with their attempts) that finished before `before`."""
    old = select(WebhookDelivery.id).where(WebhookDelivery.finished_at < before).limit(batch)
    return db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old))).rowcount


# --- the API's side ------------------------------------------------------------------------


def log_of(endpoint: WebhookEndpoint, filters: dict) -> Select:
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    return narrowed(statement, WebhookDelivery, filters, "status", "event_type")


def get(workspace_id: str, delivery_id: str) -> WebhookDelivery:
    return scoped.get_or_404(WebhookDelivery, workspace_id, delivery_id, "webhook delivery")


def attempts_of(delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return list(
        db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        )
    )


def _queued_again(now: datetime) -> dict:
    return {
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "finished_at": None,
        "lease_until": None,
        "lease_token": None,
        "updated_at": now,
    }


def _enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise Conflict(
            "The endpoint is disabled: enable it first (PATCH).", code="endpoint_disabled"
        )


def retry(delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Send it again now, whatever became of it, with the schedule from the start."""
    _enabled(db.session.get(WebhookEndpoint, delivery.endpoint_id))
    if delivery.lease_until is not None and delivery.lease_until > now:
        raise Conflict("This delivery is being sent right now; retry after.", code="in_flight")
    for name, value in _queued_again(now).items():
        setattr(delivery, name, value)
    db.session.flush()
    return delivery


def recover(endpoint: WebhookEndpoint, since: datetime, until: datetime):
    """A job that queues again every failed delivery made in [since, until)."""
    _enabled(endpoint)
    if until <= since:
        message = "`until` must be after `since`."
        raise Invalid(message, fields={"until": [message]})
    return jobs.enqueue(
        RECOVER,
        endpoint.workspace_id,
        {"endpoint_id": endpoint.id, "since": since.isoformat(), "until": until.isoformat()},
    )


@jobs.handler(RECOVER)
def _run_recover(run: jobs.JobRun) -> dict:
    endpoint = endpoints.get(run.workspace_id, run.payload["endpoint_id"])
    _enabled(endpoint)
    since = datetime.fromisoformat(run.payload["since"])
    until = datetime.fromisoformat(run.payload["until"])
    after = run.progress.get("after", "")
    requeued = run.progress.get("requeued", 0)
    while True:
        ids = list(
            db.session.scalars(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.endpoint_id == endpoint.id,
                    WebhookDelivery.status == FAILED,
                    WebhookDelivery.created_at >= since,
                    WebhookDelivery.created_at < until,
                    WebhookDelivery.id > after,
                )
                .order_by(WebhookDelivery.id)
                .limit(_RECOVER_BATCH)
            )
        )
        if not ids:
            return {"requeued": requeued}
        now = utcnow()
        requeued += db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == FAILED)
            .values(**_queued_again(now))
        ).rowcount
        after = ids[-1]
        run.checkpoint(after=after, requeued=requeued)
