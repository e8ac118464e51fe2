"""`GET /r/<code>` answered in front of Flask's request dispatch.

The tracked link is the hottest public route and must keep 70% of a bare Flask
redirect's throughput (bench/README.md). Its own work (a remembered code, a signed
click id, a click handed to the batch writer) is a fraction of what Flask's
request machinery around it costs: the request context, URL routing, every
before/after hook, the response object. So this WSGI middleware answers a GET
of `/r/<code>` itself, in an app context, and hands every other request (HEAD
included) to Flask untouched.

It keeps what the hooks give every route: the request id (`X-Request-ID`), the
one log line naming the route pattern, the per-IP rate limit (past it the
visitor still lands, uncounted, as `redirect.over_limit` does) and no stack
trace for anyone: whatever fails, the visitor is sent to our base URL.
"""

import logging
import time
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.datastructures import MultiDict
from werkzeug.urls import iri_to_uri

from api import database
from api.http import ratelimit, request_log
from api.referrals import clicks
from api.referrals.redirect import ENDPOINT, LIMIT, ROUTE

log = logging.getLogger(__name__)

PREFIX = "/r/"
STATUS = "302 Found"


class TrackedLinks:
    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        # WSGI gives the path as latin-1 decoded bytes; Flask would decode UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        code = path[len(PREFIX) :]
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or not path.startswith(PREFIX)
            or not code
            or "/" in code
        ):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        request_id = request_log.request_id(environ.get("HTTP_X_REQUEST_ID"))
        with self.app.app_context():
            location = self._visit(code, environ)
            request_log.log_request(request_id, "GET", ROUTE, 302, started)
        start_response(
            STATUS,
            [
                ("Location", location),
                # Every visit must reach us to be counted; no cache may answer for us.
                ("Cache-Control", "no-store"),
                ("Content-Length", "0"),
                ("X-Request-ID", request_id),
            ],
        )
        return [b""]

    def _visit(self, code: str, environ) -> str:
        """Where to send the visitor (as a URI), having counted the click if it counts."""
        ip = environ.get("REMOTE_ADDR")
        try:
            try:
                ratelimit.limiter().hit(LIMIT, ENDPOINT, ratelimit.ip_key(ip))
            except ratelimit.RateLimited:
                return iri_to_uri(clicks.unattributed_url(code))
            url = clicks.visit(
                code,
                ip=ip,
                user_agent=environ.get("HTTP_USER_AGENT"),
                referrer=environ.get("HTTP_REFERER"),
                args=MultiDict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)),
            )
            database.end_work(succeeded=True)
            return iri_to_uri(url)
        except Exception:
            # A person following a friend's link lands on the product, never on an error.
            log.exception("referral link %s failed; sent to the base URL", ROUTE)
            return self.app.config["BASE_URL"]


def init_app(app: Flask) -> None:
    app.wsgi_app = TrackedLinks(app, app.wsgi_app)
