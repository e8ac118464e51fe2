"""A request whose unit of work lost a race to another is run again, not answered 500.

Counters are moved in one order (api/counters.py), but PostgreSQL can still abort
one of two transactions that wait on each other in ways we do not order (foreign
keys, unique indexes, rows of other tables) with a deadlock (SQLSTATE 40P01), or
a serialisation failure (40001). Run again, such a transaction succeeds. So the
app dispatches a request whose work failed that way again, after a rollback and
a short random pause, hooks and all, up to `ATTEMPTS` times in all; after that
the caller gets a 503 with Retry-After, never a 500. Only the database's work is
undone: a retried request counts against its rate limit again.
"""

import random
import time

from flask import Flask, g
from sqlalchemy.exc import DBAPIError

from api import database
from api.extensions import db

ATTEMPTS = 4


def retries_left() -> int:
    """How many more times the current request may run, should its work lose a race."""
    return g.get("retries_left", 0)


class RetryingFlask(Flask):
    def full_dispatch_request(self):
        for attempt in range(1, ATTEMPTS + 1):
            g.retries_left = ATTEMPTS - attempt
            try:
                return super().full_dispatch_request()
            except DBAPIError as error:
                # The view's errors come here only while retries are left (see
                # errors.handle_database_error); the commit's may come on the last.
                if not database.retryable(error):
                    raise
                db.session.rollback()
                if attempt == ATTEMPTS:
                    answer = self.handle_user_exception(error)
                    return self.finalize_request(answer, from_error_handler=True)
            # Apart, so the transactions that collided do not meet again at once.
            time.sleep(random.uniform(0, 0.01 * attempt))
        raise AssertionError("unreachable")
