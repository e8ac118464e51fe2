"""Request ids and one log line per request.

The line names the route pattern (`/s/<token>`), never the concrete path or
query string, so survey tokens, keys and email addresses cannot reach the log.
"""

import logging
import os
import re
import sys
import threading
import time

from flask import g, request

logger = logging.getLogger("flipfunnel.requests")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id(incoming: str | None) -> str:
    """The caller's X-Request-ID when it is a sane one, else a new id."""
    incoming = incoming or ""
    # fullmatch: with match, `$` would let a trailing newline into the header and the log.
    if _CLIENT_ID.fullmatch(incoming):
        return incoming
    # 128 random bits as 32 hex digits, as uuid4().hex gave, without building a UUID
    # object (and setting its version bits) on every request: 1 µs instead of 7.
    return os.urandom(16).hex()


LINE = "request_id=%s method=%s route=%s status=%d ms=%.1f"


def log_request(request_id: str, method: str, route: str, status: int, started: float) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    elapsed = (time.perf_counter() - started) * 1000
    # What `logger.info` does, through the Logger's public makeRecord and handle, but
    # without `findCaller`: its walk up the stack to this line's file and number (a
    # third of the call) is for formats that show them, and the request line's never
    # does: it is always this function.
    args = (request_id, method, route, status, elapsed)
    record = logger.makeRecord(
        logger.name, logging.INFO, __file__, 0, LINE, args, None, func="log_request"
    )
    logger.handle(record)


def start_request() -> None:
    g.request_id = request_id(request.headers.get("X-Request-ID"))
    g.request_started = time.perf_counter()


def finish_request(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    started = g.get("request_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        log_request(g.request_id, request.method, route, response.status_code, started)
    return response


class BatchedLines(logging.StreamHandler):
    """Writes the lines to stderr in batches, at most `seconds` after each was logged.

    A write per request is a system call, and with every worker appending to one
    log file also a wait for that file: under load it cost a widget call a tenth
    of its time. Here lines gather in a buffer that is written when it is
    `seconds` old (a timer sees to it when traffic stops) or full, and at exit;
    a worker killed with SIGKILL loses at most that much of its log.
    """

    def __init__(self, seconds: float, stream=None):
        if stream is None:
            # Block-buffered, over sys.stderr's file descriptor (which stays open).
            stream = open(sys.stderr.fileno(), "w", buffering=1 << 16, closefd=False)  # noqa: SIM115
        super().__init__(stream)
        self.seconds = seconds
        self.due: float | None = None  # when the oldest unwritten line must be out
        self.timer: threading.Timer | None = None
        # A forked child (a preloaded app's worker) has no timer thread, whatever this says.
        os.register_at_fork(after_in_child=self.write_out)

    def flush(self) -> None:
        # StreamHandler.emit calls this after every line, holding the handler's lock.
        now = time.monotonic()
        if self.due is None:
            self.due = now + self.seconds
        if now < self.due:
            if self.timer is None:
                self.timer = threading.Timer(self.due - now, self.write_out)
                self.timer.daemon = True
                self.timer.start()
            return
        self.due = None
        super().flush()

    def write_out(self) -> None:
        with self.lock:
            self.timer, self.due = None, None
            super().flush()

    def close(self) -> None:
        # logging.shutdown (at exit) flushes, then closes: both must write out.
        if self.timer is not None:
            self.timer.cancel()
        self.write_out()
        super().close()


def _handler(seconds: float) -> logging.Handler:
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a test's captured stderr, say
        seconds = 0
    return BatchedLines(seconds) if seconds > 0 else logging.StreamHandler()


def init_app(app) -> None:
    if not logger.handlers:
        handler = _handler(app.config["REQUEST_LOG_FLUSH_SECONDS"])
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    app.before_request(start_request)
    app.after_request(finish_request)
