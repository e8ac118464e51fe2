"""Who is calling: identified for every request, required by the API blueprints.

Identification runs before the rate limiter (so limits are per key) and only
records what it found; each blueprint then demands the kind of key it needs.
"""

from datetime import timedelta

from flask import current_app, g, request

from api import recent
from api.database import utcnow
from api.extensions import db
from api.http.errors import ApiError
from api.http.openapi import answers
from api.workspaces import keys
from api.workspaces.models import ApiKey

_PUBLISHABLE = keys.KINDS[keys.PUBLISHABLE]


# A key is looked up in the database.
@answers(503)
def identify_caller() -> None:
    g.api_key = None
    environ = request.environ
    if "HTTP_AUTHORIZATION" not in environ and "key=" not in environ.get("QUERY_STRING", ""):
        # No key at all (a tracked link, a hosted page): nothing to parse or look up.
        g.auth_attempted = False
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    # Widgets may name their publishable key in the URL, because a CORS preflight
    # carries no Authorization header. Secret keys never: URLs end up in logs.
    query_key = request.args.get("key", "")
    if not token and query_key.startswith(_PUBLISHABLE):
        token = query_key
    if token.startswith(_PUBLISHABLE):
        g.api_key = publishable_key(token)
    elif token:
        g.api_key = keys.find_live_key(token)
    g.auth_attempted = bool(token or header)


def publishable_key(token: str) -> keys.ApiKey | None:
    """Publishable keys are public and named on every page view of a customer's site,
    so each worker remembers them for `WIDGET_CACHE_SECONDS` (revoking one takes that
    long to reach the widget API). Secret keys are looked up on every request."""
    key = recent.memory("publishable_keys", current_app.config["WIDGET_CACHE_SECONDS"]).get(
        keys.hash_key(token), lambda: recent.frozen(keys.find_key(token))
    )
    return key if key is not None and ApiKey.is_live(key, utcnow()) else None


def _require(kind: str) -> None:
    key = g.get("api_key")
    if key is None:
        if g.get("auth_attempted"):
            message = "This API key is not valid: it is unknown, revoked or expired."
        else:
            message = "Send an API key in the header `Authorization: Bearer <key>`."
        raise ApiError(401, "unauthorized", message).with_headers(
            {"WWW-Authenticate": 'Bearer realm="flipfunnel"'}
        )
    if key.kind != kind:
        if kind == keys.SECRET:
            message = (
                "Publishable keys (pk_...) are for the widget API under /w/v1 and are safe to "
                "put in web pages; /v1 needs a secret key (sk_...) used from your server."
            )
        else:
            message = "Secret keys must never be put in web pages; use a publishable key (pk_...)."
        raise ApiError(403, "wrong_key_kind", message)
    record_use(key)
    g.workspace_id = key.workspace_id


def record_use(key) -> None:
    """Note the key's use, at most once per API_KEY_TOUCH_SECONDS per worker: a
    remembered publishable key still shows the last use it was read with, so the
    worker remembers its own notes too."""
    seconds = current_app.config["API_KEY_TOUCH_SECONDS"]
    recent.memory("key_uses", seconds).get(key.id, lambda: _touch(key, seconds))


def _touch(key, seconds: float) -> bool:
    # Committed now, not with the request: a request that fails still used the key.
    if keys.touch(key, timedelta(seconds=seconds)):
        db.session.commit()
    return True


@answers(401, 403)  # the document's default security: a secret key
def require_secret_key() -> None:
    _require(keys.SECRET)


@answers(401, 403, security=[{"publishableKey": []}])
def require_publishable_key() -> None:
    _require(keys.PUBLISHABLE)


def current_workspace_id() -> str:
    return g.workspace_id
