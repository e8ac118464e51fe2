"""Helpers for webhook tests: an app that may send to loopback over http, endpoints,
and one worker pass once the feed has caught up."""

import json
from datetime import datetime

from api.worker.loop import Pass, Worker
from tests.feed import wait_until_readable

LOCAL = {"WEBHOOKS_ALLOW_PRIVATE": True, "WEBHOOKS_ALLOW_HTTP": True}


def make_endpoint(tenant, url: str, **fields) -> dict:
    answer = tenant.post("/v1/webhook-endpoints", json={"url": url, **fields})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def deliver(app, now: datetime | None = None) -> Pass:
    """One worker pass, after every committed event has become readable."""
    wait_until_readable(app)
    return Worker(app).run_once(now)


def bodies(receiver) -> list[dict]:
    return [json.loads(received.body) for received in receiver.received]
