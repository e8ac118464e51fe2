"""The worker's passes: deliveries, jobs and periodic tasks.

`Worker.run_once(now)` does one whole pass synchronously, at a clock the caller
chooses (tests drive retries and holds with it). `Worker.run` is `flask
worker`: the same steps, concurrently, until a signal stops it. Deliveries keep
the main thread (its sends run in a bounded pool); jobs and periodic tasks take
a thread of their own, so a long job never delays a webhook.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask

from api.database import utcnow
from api.extensions import db
from api.jobs import queue as jobs
from api.webhooks.dispatch import Dispatcher
from api.worker import periodic
from api.worker.signals import Stop

log = logging.getLogger("flipfunnel.worker")

# Periodic tasks run every minute at the most often; asking every few seconds is plenty.
PERIODIC_CHECK_SECONDS = 5.0


@dataclass
class Pass:
    """What one pass did."""

    attempts: int = 0
    periodic: dict[str, int] = field(default_factory=dict)
    jobs: list[str] = field(default_factory=list)


class Worker:
    def __init__(self, app: Flask, stop: Stop | None = None):
        self.app = app
        self.stop = stop or Stop()
        config = app.config
        self.poll_seconds = config["WORKER_POLL_SECONDS"]
        self.lease_seconds = config["WORKER_LEASE_SECONDS"]

    # --- one pass, for tests and `flask worker --once` ----------------------------------

    def run_once(self, now: datetime | None = None) -> Pass:
        """Everything due at `now`: deliveries, periodic tasks, queued jobs."""
        now = now or utcnow()
        done = Pass()
        dispatcher = Dispatcher(self.app)
        with self.app.app_context():
            try:
                done.attempts = dispatcher.run_once(now)
                done.periodic = periodic.run_due(now)
                while not self.stop() and (
                    job_id := jobs.run_next(now, self.lease_seconds, self.stop)
                ):
                    done.jobs.append(job_id)
            finally:
                db.session.remove()
                dispatcher.close()
        return done

    # --- the long-running worker ----------------------------------------------------------

    def run(self) -> None:
        housekeeping = threading.Thread(target=self._housekeeping, name="housekeeping")
        housekeeping.start()
        dispatcher = Dispatcher(self.app)
        try:
            with self.app.app_context():
                dispatcher.run(self.stop)
        finally:
            self.stop.set()
            housekeeping.join()
            dispatcher.close()
        log.info("worker stopped")

    def _housekeeping(self) -> None:
        """Jobs as they come, periodic tasks when due; until asked to stop."""
        next_periodic = 0.0
        while not self.stop():
            with self.app.app_context():
                try:
                    if time.monotonic() >= next_periodic:
                        periodic.run_due(utcnow())
                        next_periodic = time.monotonic() + PERIODIC_CHECK_SECONDS
                    ran = jobs.run_next(utcnow(), self.lease_seconds, self.stop)
                except Exception:
                    # The database away for a moment, say: log it and try again shortly.
                    log.exception("housekeeping pass failed")
                    ran = None
                finally:
                    db.session.remove()
            if ran is None:
                self.stop.wait(self.poll_seconds)
