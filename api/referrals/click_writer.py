"""Clicks reach the database in batches, written off the request that counted them.

`/r/<code>` is the hottest public route (target: 70% of a bare redirect's
throughput). A write transaction per click cost more than the rest of the
request together, and on SQLite every worker queued for the one write lock. So
the request hands its click (the IP already hashed, the id already signed into
the landing URL) to its process's writer, which inserts whatever has gathered
every `CLICK_FLUSH_SECONDS` (at once past `BATCH` clicks), clicks and their
`referral.click` events in one transaction.

The price: a click is in the database up to that interval later, and a worker
killed hard (SIGKILL, power loss) loses the clicks of its last interval; a
graceful stop flushes them (atexit). A sign-up attributed within that interval
by another process does not see the click yet and falls back to the typed code.
`CLICK_FLUSH_SECONDS = 0` writes each click in its request, as tests do.
"""

import atexit
import logging
import os
import threading

from flask import Flask, current_app
from sqlalchemy import insert

from api.bulk import insert_many
from api.events import service as events
from api.extensions import db
from api.referrals.models import ReferralClick

log = logging.getLogger(__name__)

BATCH = 500
_INSERT_CLICKS = insert(ReferralClick.__table__)


def write(clicks: list[tuple[dict, dict]]) -> None:
    """Insert (click row, event data) pairs in the current transaction."""
    insert_many(_INSERT_CLICKS, [row for row, _ in clicks])
    by_workspace: dict[str, list] = {}
    for row, event in clicks:
        by_workspace.setdefault(row["workspace_id"], []).append((row["id"], event))
    for workspace_id, rows in by_workspace.items():
        events.record_many(workspace_id, "referral.click", rows)


class ClickWriter:
    def __init__(self, app: Flask, interval: float):
        self.app = app
        self.interval = interval
        self._pending: list[tuple[dict, dict]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = None

    def add(self, click: tuple[dict, dict]) -> None:
        with self._lock:
            self._pending.append(click)
            full = len(self._pending) >= BATCH
        # Started lazily: gunicorn forks workers after importing the app, and a
        # thread started before the fork would not exist in them.
        if self._pid != os.getpid():
            self._start()
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Write what is pending now, in its own transaction; the number written.

        Never raises: the caller is a sign-up being attributed, or this thread.
        """
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        with self.app.app_context():
            try:
                write(batch)
                db.session.commit()
            except Exception:
                db.session.rollback()
                # Dropped, not retried: a batch that broke once (a code deleted in
                # between, a full disk) would otherwise block every later click.
                log.exception("writing %d referral clicks failed", len(batch))
                return 0
            finally:
                db.session.remove()
        return len(batch)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="click-writer", daemon=True)
            self._thread.start()
            atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()


def flush_pending() -> None:
    """Write this process's waiting clicks now (before reading clicks back)."""
    writer = current_app.extensions["click_writer"]
    if writer is not None:
        writer.flush()


def init_app(app: Flask) -> None:
    interval = app.config["CLICK_FLUSH_SECONDS"]
    app.extensions["click_writer"] = ClickWriter(app, interval) if interval > 0 else None
