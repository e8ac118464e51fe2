"""Requests gunicorn refuses before our app sees them, answered in our error format.

A request line past `limit_request_line` (a 10,000-character cursor), headers
too large or too many, a line that is not HTTP: gunicorn answers these itself,
by default with an HTML page and no request id, and logs the offending line,
query string (and key, token, email address) included. `answer` replaces its
`handle_error` (see the worker classes in gunicorn.conf.py): the same statuses,
the JSON error body with a request id, and a log line naming the error's class
and the request id only. An error of the app that reached gunicorn is a 500 the
same way, logged with its traceback without messages.
"""

import http
import json
import ssl

from gunicorn import util
from gunicorn.http import errors as parsing

from api.http.errors import CODES, MESSAGES, error_body
from api.http.log_format import describe, traceback_text
from api.http.request_log import request_id

# The statuses gunicorn gives; any other of its parse errors is a 400.
_STATUSES = {
    parsing.LimitRequestLine: 414,
    parsing.LimitRequestHeaders: 431,
    parsing.UnsupportedTransferCoding: 501,
    parsing.ForbiddenProxyRequest: 403,
    parsing.ExpectationFailed: 417,
    parsing.ConfigurationProblem: 500,
    ssl.SSLError: 403,
}
# The application sent a header gunicorn will not send: our fault, a 500.
_OURS = (parsing.InvalidResponseHeader, parsing.InvalidResponseHeaderName)


def _message(status: int, cfg) -> str:
    if status == 414:
        return (
            f"The request line is longer than {cfg.limit_request_line} bytes; "
            "send long values in a request body."
        )
    if status == 431:
        return (
            f"Send at most {cfg.limit_request_fields} headers of at most "
            f"{cfg.limit_request_field_size} bytes each."
        )
    if status == 400:
        return "The request is not valid HTTP/1.1."
    return MESSAGES.get(status) or http.HTTPStatus(status).phrase + "."


def _status(exc: BaseException) -> int:
    if isinstance(exc, _OURS):
        return 500
    for kind, status in _STATUSES.items():
        if isinstance(exc, kind):
            return status
    return 400 if isinstance(exc, parsing.ParseException) else 500


def answer(worker, req, client, exc: BaseException) -> None:
    """Log `exc` without its message and answer the client in our error format."""
    status = _status(exc)
    # A request refused for its headers has them parsed; gunicorn upper-cases names.
    parsed = req if req is not None else getattr(exc, "req", None)
    headers = dict(getattr(parsed, "headers", None) or ())
    rid = request_id(headers.get("X-REQUEST-ID"))
    if status == 500:
        method = getattr(req, "method", None) or "-"
        worker.log.error(
            "unhandled error request_id=%s method=%s %s\n%s",
            rid,
            method,
            describe(exc),
            traceback_text(exc),
        )
    else:
        worker.log.info("refused with %d: %s request_id=%s", status, describe(exc), rid)
    error = error_body(CODES.get(status, "error"), _message(status, worker.cfg), rid)
    body = json.dumps({"error": error}, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {rid}\r\n\r\n"
    )
    try:
        util.write_nonblock(client, head.encode("latin-1") + body)
    except OSError:
        worker.log.debug("could not send the error answer")
