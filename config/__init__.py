"""Settings: a class per environment, then the process environment on top.

`FLIPFUNNEL_ENV` picks the class (development, testing, production). Any setting
named here can be overridden by an environment variable of the same name; the
type of the default decides how the text is read (int, float, bool, list).
`DATABASE_URL` and `REDIS_URL` are the conventional names for two of them.
"""

import copy
import os
import secrets
from pathlib import Path


class Default:
    DEBUG = False
    TESTING = False

    # Signing: the newest key signs, the fallbacks still verify (rotation).
    SECRET_KEY = ""
    SECRET_KEY_FALLBACKS: list[str] = []

    DATABASE_URL = ""  # empty: a SQLite file in the instance folder
    SQLITE_BUSY_TIMEOUT_MS = 5000
    # PostgreSQL: seconds to connect, and to run one statement (0: no limit); a server
    # that does not answer at all is given up a second after the statement timeout.
    DATABASE_CONNECT_TIMEOUT_SECONDS = 3
    DATABASE_STATEMENT_TIMEOUT_SECONDS = 5.0
    # A database that does not answer gets a 503 asking clients to come back this much later.
    UNAVAILABLE_RETRY_AFTER_SECONDS = 5
    # Rate limits are counted in Redis when REDIS_URL is set (every machine shares them),
    # else in RATELIMIT_STORAGE_URI, by default a file in the instance folder that all
    # processes of the machine share (and which counts while Redis does not answer).
    REDIS_URL = ""
    RATELIMIT_STORAGE_URI = ""

    BASE_URL = "http://127.0.0.1:8000"
    # `make run` serves a pretend customer site here, embedding the widgets cross-origin.
    DEMO_SITE_URL = "http://127.0.0.1:8001"

    # Limits are per API key on /v1 and per client IP everywhere else.
    RATELIMIT_API = "1200 per minute"
    RATELIMIT_PUBLIC = "120 per minute"
    # The widget API: per publishable key (a whole site's traffic) and per visitor IP.
    RATELIMIT_WIDGET_KEY = "6000 per minute"
    RATELIMIT_WIDGET_IP = "60 per minute"
    # /r/<code> is opened by people behind shared NATs (offices, campuses, mobile carriers).
    RATELIMIT_REDIRECT = "600 per minute"
    # POST /integrations/stripe/<token>, per client IP: Stripe sends every account's events
    # from a few addresses, so the public limit would make a busy shop's events wait.
    RATELIMIT_STRIPE = "1200 per minute"
    # /r/<code>: a code's lookup is remembered this long (0: never), so disabling it
    # takes this long to reach its link.
    REFERRAL_CODE_CACHE_SECONDS = 5
    # The widget API remembers publishable keys, their workspace (allowed origins) and
    # its widget surveys this long per worker (0: never); changes reach it this late.
    WIDGET_CACHE_SECONDS = 5
    # Published testimonials (the public API, the wall page and widget) are remembered
    # this long per worker (0: never; at most 300); a withdrawal reaches them this late.
    TESTIMONIAL_CACHE_SECONDS = 60
    # The one line per request is written in the request; on, a thread of each worker
    # writes it, which cost /healthz a third of its throughput on a quiet 2-core machine.
    REQUEST_LOG_QUEUED = False
    # Trusted proxies in front of us (X-Forwarded-For hops); 0 when exposed directly.
    PROXY_COUNT = 0

    # Upper bounds on link lifetimes; a survey may set a shorter one for its invitations.
    SURVEY_LINK_MAX_AGE_DAYS = 90
    PREFERENCES_LINK_MAX_AGE_DAYS = 365
    REPORT_LINK_MAX_AGE_DAYS = 30
    REVIEW_LINK_MAX_AGE_DAYS = 180
    # How long a widget may take to deliver a score it could not send at first (offline).
    WIDGET_DISPLAY_MAX_AGE_DAYS = 7

    IDEMPOTENCY_TTL_HOURS = 24
    # An in-flight idempotent request older than this is presumed dead and may be retried.
    IDEMPOTENCY_LOCK_SECONDS = 60
    API_KEY_TOUCH_SECONDS = 60

    # The worker (`flask worker`): how often it looks for new events and due work, and
    # how long a claimed delivery or job stays its own before another worker may take it
    # over (a crashed worker's leases lapse; a lease must outlast a whole send).
    WORKER_POLL_SECONDS = 0.2
    WORKER_LEASE_SECONDS = 60
    # Finished jobs, and webhook deliveries with their attempts, are kept this long.
    WORKER_RETENTION_DAYS = 30
    # Finished invitation batches with their skipped rows, and finished contact imports
    # with their row errors, are kept this long (they name the contacts they skipped
    # or failed on); then GET answers 404, as for an unknown one.
    INVITATION_BATCH_RETENTION_DAYS = 30
    CONTACT_IMPORT_RETENTION_DAYS = 30

    # Webhooks: https only and public addresses only, unless allowed (development).
    WEBHOOKS_ALLOW_HTTP = False
    WEBHOOKS_ALLOW_PRIVATE = False
    # Seconds before each attempt, counted from the one before (Svix's defaults): at
    # once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; 8 attempts over about 27 h.
    WEBHOOKS_RETRY_SCHEDULE: list[int] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    WEBHOOKS_DISABLE_AFTER_DAYS = 5
    WEBHOOKS_CONNECT_TIMEOUT_SECONDS = 5.0
    WEBHOOKS_TIMEOUT_SECONDS = 15.0
    WEBHOOKS_MAX_IN_FLIGHT = 16

    # Requests: the largest body (413 past it; invitation batches allow more), a
    # multipart form's fields (size, count), and how deep JSON may nest (422 past it).
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 64 * 1024
    MAX_FORM_PARTS = 100
    JSON_MAX_DEPTH = 32
    PAGE_SIZE_DEFAULT = 50
    # Invitation batches this small are invited in the request and answered at once (201);
    # larger ones are the worker's (202). Bodies of this route may be 64 MB.
    INVITATION_BATCH_AT_ONCE = 100
    PAGE_SIZE_MAX = 500

    API_TITLE = "Flipfunnel API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/"

    # hide_parameters: a failed statement's message must not carry emails or tokens into the log.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}


class Development(Default):
    DEBUG = False  # the Werkzeug debugger would leak tracebacks; use `flask run --debug` locally


class Testing(Default):
    TESTING = True
    RATELIMIT_STORAGE_URI = "memory://"  # each test app counts on its own
    RATELIMIT_API = "100000 per minute"
    RATELIMIT_PUBLIC = "100000 per minute"
    RATELIMIT_WIDGET_KEY = "100000 per minute"
    RATELIMIT_WIDGET_IP = "100000 per minute"
    RATELIMIT_REDIRECT = "100000 per minute"
    RATELIMIT_STRIPE = "100000 per minute"
    REFERRAL_CODE_CACHE_SECONDS = 0
    WIDGET_CACHE_SECONDS = 0
    TESTIMONIAL_CACHE_SECONDS = 0
    REQUEST_LOG_QUEUED = False


class Production(Default):
    pass


ENVIRONMENTS = {"development": Development, "testing": Testing, "production": Production}


def _parse(text: str, like):
    if isinstance(like, bool):
        return text.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    if isinstance(like, list):
        parts = [part.strip() for part in text.split(",") if part.strip()]
        # A list of numbers by default (a retry schedule) is read as numbers.
        return [int(part) for part in parts] if like and isinstance(like[0], int) else parts
    return text


def load(env_name: str | None = None, environ=os.environ) -> dict:
    """The settings of one environment with the process environment applied."""
    env_name = env_name or environ.get("FLIPFUNNEL_ENV", "development")
    try:
        cls = ENVIRONMENTS[env_name]
    except KeyError:
        raise RuntimeError(f"FLIPFUNNEL_ENV must be one of {sorted(ENVIRONMENTS)}") from None
    # Copies: a caller changing its list or dict must not change the class defaults.
    settings = {key: copy.deepcopy(getattr(cls, key)) for key in dir(cls) if key.isupper()}
    for key, default in settings.items():
        if key in environ:
            settings[key] = _parse(environ[key], default)
    settings["ENV_NAME"] = env_name
    return settings


def database_uri(url: str, instance_path: str) -> str:
    """SQLAlchemy URI for `DATABASE_URL`; psycopg 3 is our PostgreSQL driver."""
    if not url:
        return f"sqlite:///{Path(instance_path) / 'flipfunnel.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(settings: dict, instance_path: str) -> str:
    """The signing key: from the environment, or generated once for development.

    Production refuses to start without one, because a generated key would
    differ per machine and silently invalidate every link already sent.
    """
    if settings["SECRET_KEY"]:
        return settings["SECRET_KEY"]
    if settings["ENV_NAME"] == "production":
        raise RuntimeError("SECRET_KEY must be set in production")
    if settings["ENV_NAME"] == "testing":
        return secrets.token_urlsafe(48)
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        # link() fails if another process won the race; both then read the winner's key.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
