"""The real `flask worker` process: killed with -9 it loses nothing, SIGTERM drains it.

The receiver is real and records overlaps: a request for a delivery arriving while
another request for it is still held. A request whose worker died stops counting
as held the moment its connection drops, so an overlap means two live workers.
"""

import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import select

from api.events.models import Event
from api.extensions import db
from api.webhooks.models import WebhookDelivery
from bench.throughput import worker_process
from tests.conftest import POSTGRES_URL, create_tenant
from tests.factories import seed
from tests.receiver import Receiver
from tests.webhooks import LOCAL, make_endpoint


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.stall()
    yield receiver
    receiver.close()


@pytest.fixture
def workers(database_uri, tmp_path):
    started: list[subprocess.Popen] = []

    def start(**settings) -> subprocess.Popen:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SECRET_KEY_FALLBACKS")
        }
        env.update(
            FLIPFUNNEL_ENV="testing",
            DATABASE_URL=database_uri,
            WEBHOOKS_ALLOW_PRIVATE="1",
            WEBHOOKS_ALLOW_HTTP="1",
            WORKER_POLL_SECONDS="0.05",
            **{name: str(value) for name, value in settings.items()},
        )
        path = tmp_path / f"worker-{len(started)}.log"
        with open(path, "w") as log:
            process = worker_process(env, log)
        process.log_path = path
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def wait_for_log(process, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in process.log_path.read_text():
        assert process.poll() is None, process.log_path.read_text()
        assert time.monotonic() < deadline, process.log_path.read_text()
        time.sleep(0.02)


def event_ids(app) -> set[str]:
    with app.app_context():
        return {str(event_id) for event_id in db.session.scalars(select(Event.id))}


def test_a_worker_killed_mid_send_loses_nothing(app_factory, receiver, workers):
    app = app_factory(**LOCAL)
    tenant = create_tenant(app)
    make_endpoint(tenant, receiver.url)
    seed(app, tenant.id, contacts=24)  # 24 events: more than one worker's 16 in flight
    expected = event_ids(app)
    timing = {"WORKER_LEASE_SECONDS": 4, "WEBHOOKS_TIMEOUT_SECONDS": 3}

    first = workers(**timing)
    receiver.wait_in_flight(16)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    # Its 16 claims are leased for a few seconds more; another worker (two on
    # PostgreSQL, which supports several) takes the rest now and those after.
    for _ in range(2 if POSTGRES_URL else 1):
        workers(**timing)
    receiver.release()
    receiver.wait_until(lambda: {r.webhook_id for r in receiver.received} >= expected)
    assert receiver.overlaps == 0
    with app.app_context():
        deadline = time.monotonic() + 20
        while set(db.session.scalars(select(WebhookDelivery.status))) != {"succeeded"}:
            assert time.monotonic() < deadline, "deliveries were left unfinished"
            db.session.rollback()
            time.sleep(0.05)


def test_sigterm_finishes_what_is_in_flight_and_claims_nothing_more(app_factory, receiver, workers):
    app = app_factory(**LOCAL)
    tenant = create_tenant(app)
    make_endpoint(tenant, receiver.url)
    seed(app, tenant.id, contacts=10)
    worker = workers(WEBHOOKS_MAX_IN_FLIGHT=4, WEBHOOKS_TIMEOUT_SECONDS=20)
    receiver.wait_in_flight(4)
    worker.send_signal(signal.SIGTERM)
    wait_for_log(worker, "stopping")  # it stops while its four sends are held
    receiver.release()
    assert worker.wait(20) == 0
    assert len(receiver.received) == 4
    with app.app_context():
        statuses = list(db.session.scalars(select(WebhookDelivery.status)))
    assert sorted(statuses).count("succeeded") == 4
    assert statuses.count("pending") == 6
