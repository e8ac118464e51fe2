"""A dependency that stopped answering, logged once when it stops and once when it is back.

While the database (or Redis) is down every request fails the same way; a line
per request, let alone a traceback, would bury the one fact worth knowing. So an
`Outage` logs its first failure (by class and SQLSTATE, see log_format.describe)
and then counts quietly until `answered` is called, which logs how long it lasted.
"""

import logging
import threading
import time

from api.http.log_format import describe

log = logging.getLogger("api.outages")


class Outage:
    def __init__(self, what: str):
        self.what = what
        self.since: float | None = None  # time.monotonic() of the first failure
        self.failures = 0
        self._lock = threading.Lock()

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.failures += 1
            if self.since is not None:
                return
            self.since, self.failures = time.monotonic(), 1
        log.warning("%s unavailable: %s", self.what, describe(error))

    def answered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            lasted, failures = time.monotonic() - self.since, self.failures
            self.since, self.failures = None, 0
        log.warning(
            "%s available again after %.1f s (%d failed calls)", self.what, lasted, failures
        )
