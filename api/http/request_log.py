"""Request ids and one log line per request.

The line names the route pattern (`/s/<token>`), never the concrete path or
query string, so survey tokens, keys and email addresses cannot reach the log.
"""

import atexit
import logging
import os
import queue
import re
import time
from logging.handlers import QueueHandler, QueueListener

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


_STARTED = "flipfunnel.request_started"


def start_request() -> None:
    # A request run again (api/http/retries.py) keeps its id and its start.
    started = request.environ.get(_STARTED)
    if started is None:
        started = request.environ[_STARTED] = (
            request_id(request.headers.get("X-Request-ID")),
            time.perf_counter(),
        )
    g.request_id, g.request_started = started


def finish_request(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    started = g.get("request_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        log_request(g.request_id, request.method, route, response.status_code, started)
    return response


def _handler(queued: bool) -> logging.Handler:
    """Where the lines go: stderr, written by a thread of the worker's own when `queued`.

    A write per request is a system call, and with every worker appending to one
    log file also a wait for that file: under load it cost a widget call a tenth
    of its time. Queued, the request only puts its line on a queue; the standard
    library's QueueListener writes it. Nothing is dropped: a line waits in the
    queue until written, and the queue is drained at exit (a worker killed with
    SIGKILL loses what was still waiting, a few lines).
    """
    stream = logging.StreamHandler()
    stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    if not queued:
        return stream
    lines: queue.SimpleQueue = queue.SimpleQueue()
    listener = QueueListener(lines, stream)
    listener.start()
    # A forked child (a preloaded app's worker) has no listener thread: it starts its own.
    os.register_at_fork(after_in_child=listener.start)
    atexit.register(listener.stop)
    handler = QueueHandler(lines)
    handler.listener = listener  # as logging.config names a queue handler's listener
    return handler


def init_app(app) -> None:
    if not logger.handlers:
        logger.addHandler(_handler(app.config["REQUEST_LOG_QUEUED"]))
        logger.setLevel(logging.INFO)
        logger.propagate = False
    app.before_request(start_request)
    app.after_request(finish_request)
