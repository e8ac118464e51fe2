"""Waiting for the event feed's frontier in tests.

On PostgreSQL an event is readable once every transaction that began before it
has ended. Other transactions on the same server (another test run's included)
can hold that back for a moment, so a test that reads right after writing waits
for it first. On SQLite every committed event is readable at once.
"""

import time

from sqlalchemy import func, select

from api.events.models import Event, feed_frontier
from api.extensions import db


def wait_until_readable(app, timeout: float = 30.0) -> None:
    """Return once every event committed so far is below the frontier."""
    with app.app_context():
        deadline = time.monotonic() + timeout
        while True:
            newest, frontier = db.session.execute(select(func.max(Event.tx), feed_frontier())).one()
            db.session.rollback()
            if newest is None or newest < frontier:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the feed frontier stayed at {frontier} (newest tx {newest})")
            time.sleep(0.01)
