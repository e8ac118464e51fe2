"""The worker's delivery loop: fan out, claim what is due, send, record.

`run_once(now)` does it synchronously until nothing is due at `now` (tests and
`flask worker --once`). `run(stop)` is the long-running form: it keeps up to
`WEBHOOKS_MAX_IN_FLIGHT` sends going and as many more claimed and queued behind
them, so a send that ends is followed at once by the next instead of waiting for
the loop's next database turn (each queued one still starts within moments of
its claim, far inside its lease). Each turn records the outcomes that came back
and claims more, in one transaction, and every `WORKER_POLL_SECONDS` it looks
for new events. Stopping, it claims nothing more, hands back what has not
started (its leases released for another worker) and waits for what is in flight.
"""

import logging
import random
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import datetime

from flask import Flask
from sqlalchemy import select

from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.webhooks import deliveries, fanout, messages, secrets
from api.webhooks.models import WebhookDelivery, WebhookEndpoint
from api.webhooks.sender import Outcome, Outgoing, Sender
from api.worker.signals import Stop

log = logging.getLogger("flipfunnel.worker")


def outgoing(token: str, ids: list[str], now: datetime) -> tuple[list[Outgoing], list[Outcome]]:
    """The signed requests for claimed deliveries; outcomes at once for those not to send."""
    rows = db.session.execute(
        select(WebhookDelivery, Event, WebhookEndpoint)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    ).all()
    requests, settled = [], []
    for delivery, event, endpoint in rows:
        if not endpoint.enabled:
            settled.append(
                Outcome(
                    delivery.id,
                    token,
                    now,
                    0,
                    error="endpoint_disabled",
                    error_message="The endpoint was disabled.",
                )
            )
            continue
        body = messages.body(endpoint, event)
        message_id = str(event.id)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": secrets.signature(
                secrets.signing(endpoint, now), message_id, now, body
            ),
        }
        requests.append(
            Outgoing(delivery.id, token, endpoint.url, headers, body.encode("ascii"), now)
        )
    return requests, settled


class Dispatcher:
    def __init__(self, app: Flask):
        config = app.config
        self.app = app
        self.lease_seconds = config["WORKER_LEASE_SECONDS"]
        self.poll_seconds = config["WORKER_POLL_SECONDS"]
        self.max_in_flight = config["WEBHOOKS_MAX_IN_FLIGHT"]
        self.sender = Sender(config)
        self.rng = random.Random()

    def close(self) -> None:
        self.sender.close()

    def fan_out(self, now: datetime) -> int:
        total = 0
        while (read := fanout.fan_out(now)) and read > 0:
            total += read
            if read < fanout.BATCH:
                break
        return total

    def turn(self, outcomes: list[Outcome], free: int, now: datetime) -> list[Outgoing]:
        """Record `outcomes` and claim up to `free` due deliveries, in one transaction:
        the signed requests to send now (committed, so their leases hold)."""
        deliveries.record(outcomes, now, self.rng)
        requests: list[Outgoing] = []
        if free > 0:
            token, ids = deliveries.claim_due(now, free, self.lease_seconds)
            if ids:
                requests, settled = outgoing(token, ids, now)
                deliveries.record(settled, now, self.rng)
        db.session.commit()
        return requests

    def run_once(self, now: datetime) -> int:
        """Fan out and send everything due at `now`; how many attempts were made."""
        self.fan_out(now)
        made, outcomes = 0, []
        while True:
            requests = self.turn(outcomes, self.max_in_flight * 4, now)
            if not requests:
                return made + len(outcomes)
            made += len(outcomes)
            outcomes = [future.result() for future in map(self.sender.submit, requests)]

    def run(self, stop: Stop) -> None:
        # A queued send that would start once stopping is not sent: its future gives
        # None, and its lease is released for another worker to take at once.
        self.sender.stopping = stop
        sent: dict[Future, Outgoing] = {}  # in flight, or queued behind those
        # Finished sends not yet recorded: kept until a turn commits them (the
        # database may be away for a moment).
        finished: list[tuple[Outcome | None, Outgoing]] = []
        next_look = 0.0
        while not stop() or sent or finished:
            try:
                for future in [future for future in sent if future.done()]:
                    finished.append((future.result(), sent.pop(future)))
                if not stop() and time.monotonic() >= next_look:
                    next_look = time.monotonic() + self.poll_seconds
                    if fanout.behind():
                        self.fan_out(utcnow())
                free = 0 if stop() else 2 * self.max_in_flight - len(sent)
                if finished or free > 0:
                    deliveries.release([request for result, request in finished if result is None])
                    outcomes = [result for result, _ in finished if result is not None]
                    requests = self.turn(outcomes, free, utcnow())
                    finished = []
                    for request in requests:
                        sent[self.sender.submit(request)] = request
            except Exception:
                db.session.rollback()
                log.exception("delivery pass failed; trying again shortly")
                if stop() and not sent:
                    break  # stopping with the database away: the leases will lapse
                if stop():
                    time.sleep(1.0)  # stop.wait would return at once, and this spin
                else:
                    stop.wait(1.0)
                continue
            finally:
                db.session.remove()
            if sent:
                wait(sent, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
            elif not stop():
                stop.wait(max(0.0, next_look - time.monotonic()))
