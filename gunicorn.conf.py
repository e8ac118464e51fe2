"""Production gunicorn configuration: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (names below). Options given
on the command line (`-b 127.0.0.1:9000`) win over this file, which is how
`bench/` starts our app and the bare-Flask baseline on free ports with the
same configuration otherwise.
"""

import os

from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return value in {"1", "true", "yes", "on"} if value else default


def _default_workers() -> int:
    # gunicorn's rule of thumb for sync workers, capped: beyond a dozen processes a
    # machine gains little and every worker holds its own app, engine pool and limiter.
    return min(2 * (os.cpu_count() or 1) + 1, 12)


class _OurErrorFormat:
    """What gunicorn refuses itself (a request line too long, headers too large, a
    line that is not HTTP) is answered in our JSON error format with a request id,
    and logged without the line it refused (see api/http/server_errors.py).

    The app's modules are imported in the worker, when the first such error
    comes, never in this master process: `kill -HUP` must load new code."""

    def handle_error(self, req, client, addr, exc):
        try:
            from api.http import server_errors

            server_errors.answer(self, req, client, exc)
        except Exception as error:  # never let an answer to one request end the worker
            self.log.error("could not answer an error: %s", type(error).__name__)


class OurSyncWorker(_OurErrorFormat, SyncWorker):
    pass


class OurThreadWorker(_OurErrorFormat, ThreadWorker):
    pass


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("WEB_CONCURRENCY", _default_workers())
# More than 1 makes the workers threaded (gthread).
threads = _int("GUNICORN_THREADS", 1)
# sync or gthread: ours, with our error format; any other class name is gunicorn's own.
_worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
worker_class = {
    "sync": OurThreadWorker if threads > 1 else OurSyncWorker,
    "gthread": OurThreadWorker,
}.get(_worker_class, _worker_class)

# What gunicorn reads of a request before our app sees it; past these it answers
# 414 or 431 (in our error format). Long values belong in a body (MAX_CONTENT_LENGTH).
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 4094)
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 100)
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190)

# Seconds a worker may spend silent on one request before the master kills it.
timeout = _int("GUNICORN_TIMEOUT", 30)
# Time to finish in-flight requests after SIGTERM; below the usual 30 s an
# orchestrator waits before SIGKILL, so a deploy drains instead of cutting.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Only matters behind a proxy that reuses connections (sync workers close them).
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# 0: workers are never recycled. Recycling would hide memory leaks; we want to
# see them (bench/ measures worker growth) and fix them instead.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)

# No access log: the app logs one line per request itself, naming the route pattern.
# Gunicorn's line carries the raw path, which can hold survey tokens or email
# addresses. Set GUNICORN_ACCESSLOG only for local debugging; even then the line
# leaves out the query string (keys, cursors), unless GUNICORN_ACCESS_LOG_FORMAT says otherwise.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
access_log_format = os.environ.get(
    "GUNICORN_ACCESS_LOG_FORMAT", '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s pid=%(p)s'
)
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# X-Forwarded-* are honoured only from a proxy on this machine; the app's own
# PROXY_COUNT decides how many hops it trusts for the client address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# False: each worker imports the app itself after the fork. A preloaded app would
# share the parent's SQLAlchemy engine (pooled sockets, SQLite handles) and
# in-memory limiter across forks, and `kill -HUP` could not load new code.
preload_app = _bool("GUNICORN_PRELOAD", False)

# Gunicorn 25+ opens a Unix control socket for `gunicornc` (scale, reload, shut down)
# at one path per user: a second master on the machine (a bench, a dev server) takes
# it over and removes it on exit. We do not manage workers that way: off unless asked.
control_socket_disable = not _bool("GUNICORN_CONTROL_SOCKET", False)


def post_worker_init(worker):
    """Gunicorn's own log lines name errors by class, never by message, as ours do."""
    from api.http import log_format

    log_format.protect(worker.log.error_log)
    log_format.protect(worker.log.access_log)


def when_ready(server):
    """Warn once, at start, when production rate limits are not shared by every machine."""
    if (
        os.environ.get("FLIPFUNNEL_ENV") != "production"
        or os.environ.get("REDIS_URL")
        or server.num_workers < 2
    ):
        return
    storage = os.environ.get("RATELIMIT_STORAGE_URI", "")
    if storage.startswith("memory"):
        message = (
            "rate limits are kept in each worker's memory (RATELIMIT_STORAGE_URI=%s): "
            "with %d workers every limit is %d times looser than configured; "
            "set REDIS_URL, or leave RATELIMIT_STORAGE_URI empty to share a count per machine"
        )
        server.log.warning(message, storage, server.num_workers, server.num_workers)
    else:
        server.log.warning(
            "rate limits are counted per machine (the %d workers here share one count); "
            "if more than one machine serves this app, set REDIS_URL so they all share it",
            server.num_workers,
        )
