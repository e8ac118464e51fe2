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


def check_origin(allowed: list[str]) -> None:
    origin = request.headers.get("Origin")
    if origin is None:
        return
    if normalise_origin(origin) not in {normalise_origin(o) for o in allowed}:
        raise ApiError(
            403,
            "origin_not_allowed",
            f"The origin {origin} may not use this workspace's widgets; add it to the "
            "workspace's allowed origins (PATCH /v1/widget).",
        )
    g.cors_origin = origin


def add_headers(response):
    origin = g.get("cors_origin")
    response.headers.add("Vary", "Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response
