"""Who a request counts against: its API key on the APIs, its client IP elsewhere."""

from flask import current_app, g, request


def rate_limit_key() -> str:
    api_key = g.get("api_key")
    if api_key is not None:
        return f"key:{api_key.id}"
    return f"ip:{request.remote_addr}"


def api_limit() -> str:
    return current_app.config["RATELIMIT_API"]


def public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]
