"""Production gunicorn configuration: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (names below). Options given
on the command line (`-b 127.0.0.1:9000`) win over this file, which is how
`bench/` starts our app and the bare-Flask baseline on free ports with the
same configuration otherwise.
"""

import os


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


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("WEB_CONCURRENCY", _default_workers())
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
# More than 1 with the sync class makes gunicorn use gthread workers.
threads = _int("GUNICORN_THREADS", 1)

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
# Gunicorn's line carries the raw path and query string, which can hold survey
# tokens, API keys or email addresses. Set GUNICORN_ACCESSLOG only for local debugging.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
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
