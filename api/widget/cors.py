"""CORS for the widget API, per workspace.

Allowed origins are a per-workspace setting, known only once the publishable key
is read, so this cannot be a static CORS configuration (flask-cors takes one).
Requests from other origins get no CORS headers and a 403 that says why.
Requests without an Origin header are not cross-origin browser requests and
pass (servers, curl, same-origin pages).
"""

from flask import g, request

from api.http.errors import ApiError

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type, Authorization, Idempotency-Key"
PREFLIGHT_MAX_AGE = "7200"


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """No Origin header: not a cross-origin browser request, so not ours to refuse."""
    return origin is None or normalise_origin(origin) in {normalise_origin(o) for o in allowed}


def check_origin(allowed: list[str]) -> None:
    origin = request.headers.get("Origin")
    if not origin_allowed(origin, allowed):
        raise ApiError(
            403,
            "origin_not_allowed",
            f"The origin {origin} may not use this workspace's widgets; add it to the "
            "workspace's allowed origins (PATCH /v1/widget).",
        )
    g.cors_origin = origin


def headers(origin: str | None, preflight: bool = False) -> list[tuple[str, str]]:
    """The CORS headers for an allowed `origin` (none for None). Every answer of the
    widget API also carries `Vary: Origin`, since these depend on it."""
    if not origin:
        return []
    found = [("Access-Control-Allow-Origin", origin)]
    if preflight:
        found += [
            ("Access-Control-Allow-Methods", ALLOWED_METHODS),
            ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
            ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
        ]
    return found


def add_headers(response):
    response.headers.add("Vary", "Origin")
    response.headers.update(headers(g.get("cors_origin"), request.method == "OPTIONS"))
    return response
