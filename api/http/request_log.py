"""Request ids and one log line per request.

The line names the route pattern (`/s/<token>`), never the concrete path or
query string, so survey tokens, keys and email addresses cannot reach the log.
"""

import logging
import re
import time
import uuid

from flask import g, request

logger = logging.getLogger("flipfunnel.requests")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id(incoming: str | None) -> str:
    """The caller's X-Request-ID when it is a sane one, else a new id."""
    incoming = incoming or ""
    # fullmatch: with match, `$` would let a trailing newline into the header and the log.
    return incoming if _CLIENT_ID.fullmatch(incoming) else uuid.uuid4().hex


def log_request(request_id: str, method: str, route: str, status: int, started: float) -> None:
    logger.info(
        "request_id=%s method=%s route=%s status=%d ms=%.1f",
        request_id,
        method,
        route,
        status,
        (time.perf_counter() - started) * 1000,
    )


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


def init_app(app) -> None:
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    app.before_request(start_request)
    app.after_request(finish_request)
