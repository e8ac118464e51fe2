"""What every blueprint of the secret-key API gets, declared in one place.

`ApiBlueprint` routes demand a secret key, a JSON body where one is sent,
per-key rate limits and Idempotency-Key handling on POST. A new area gets all
of it by using this class.
"""

import flask_smorest
from flask import request

from api.http import auth, idempotency, ratelimit
from api.http.errors import ApiError

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def require_json_body() -> None:
    if request.method in _BODY_METHODS and request.content_length != 0:
        if request.content_length is None and not request.headers.get("Transfer-Encoding"):
            return
        if not request.is_json:
            raise ApiError(
                415,
                "unsupported_media_type",
                "Send the request body as JSON with `Content-Type: application/json`.",
            )


class ApiBlueprint(flask_smorest.Blueprint):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ratelimit.limit_blueprint(self, ratelimit.Rule("RATELIMIT_API", ratelimit.per_caller))
        self.before_request(auth.require_secret_key)
        self.before_request(require_json_body)
        self.before_request(idempotency.begin)
        self.after_request(idempotency.finish)
