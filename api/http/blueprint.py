"""What every blueprint of the secret-key API gets, declared in one place.

`ApiBlueprint` routes demand a secret key, a JSON body where one is sent,
per-key rate limits and Idempotency-Key handling on POST. A new area gets all
of it by using this class; one that takes files instead of JSON (an import)
declares them with `Uploads`.
"""

from dataclasses import dataclass

from flask import request

from api.http import auth, idempotency, intake, ratelimit
from api.http.errors import ApiError
from api.http.openapi import BODY_METHODS, Blueprint, answers


@answers(415, methods=BODY_METHODS)
def require_json_body() -> None:
    if request.method in BODY_METHODS and request.content_length != 0:
        if request.content_length is None and not request.headers.get("Transfer-Encoding"):
            return
        if not request.is_json:
            raise ApiError(
                415,
                "unsupported_media_type",
                "Send the request body as JSON with `Content-Type: application/json`.",
            )


@dataclass(frozen=True)
class Uploads:
    """A blueprint whose bodies are files: their media types and the largest body."""

    media_types: tuple[str, ...]
    max_bytes: int

    @answers(413, 415, methods=BODY_METHODS)
    def check(self) -> None:
        if request.content_length is not None and request.content_length > self.max_bytes:
            raise ApiError(413, "payload_too_large", f"The body is over {self.max_bytes:,} bytes.")
        if request.method in BODY_METHODS and request.mimetype not in self.media_types:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"Send the file as {' or '.join(self.media_types)}.",
            )


class ApiBlueprint(Blueprint):
    def __init__(self, *args, uploads: Uploads | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        ratelimit.limit_blueprint(self, ratelimit.Rule("RATELIMIT_API", ratelimit.per_caller))
        self.before_request(auth.require_secret_key)
        if uploads is not None:
            intake.allow_body(self.name, uploads.max_bytes)
        self.before_request(require_json_body if uploads is None else uploads.check)
        self.before_request(idempotency.begin)
        self.after_request(idempotency.finish)
