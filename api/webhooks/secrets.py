"""Endpoint signing secrets: derived, not stored (as the widget identity secret is).

    secret = "whsec_" + base64(HMAC-SHA256(SECRET_KEY, "webhook-secret:<endpoint id>:<nonce>"))

The row holds only a random nonce per generation, useless without SECRET_KEY, so
the database has no secret to leak. The secret is shown when the endpoint is made
and when it is rotated. A rotation keeps the previous generation signing until
its grace ends, and while SECRET_KEY itself is rotated the secrets derived from
SECRET_KEY_FALLBACKS sign too: a delivery carries every signature, space
separated, and a receiver holding any one of the secrets accepts it.
"""

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from standardwebhooks.webhooks import Webhook

from api.webhooks.models import WebhookEndpoint

PREFIX = "whsec_"


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def derive(secret_key: str, endpoint_id: str, nonce: str) -> str:
    label = f"webhook-secret:{endpoint_id}:{nonce}".encode()
    digest = hmac.new(secret_key.encode(), label, hashlib.sha256).digest()
    return PREFIX + base64.b64encode(digest).decode()


def current(endpoint: WebhookEndpoint) -> str:
    """The secret to give the receiver: the newest generation, from SECRET_KEY."""
    return derive(current_app.config["SECRET_KEY"], endpoint.id, endpoint.secret_nonce)


def signing(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """Every secret a delivery made at `now` is signed with."""
    nonces = [endpoint.secret_nonce]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_nonce and expires is not None and expires > now:
        nonces.append(endpoint.previous_secret_nonce)
    config = current_app.config
    keys = [config["SECRET_KEY"], *config["SECRET_KEY_FALLBACKS"]]
    return [derive(key, endpoint.id, nonce) for nonce in nonces for key in keys]


def signature(signing_secrets: list[str], message_id: str, at: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space separated.

    standardwebhooks signs "<id>.<timestamp>.<body>"; the body is ASCII JSON, so
    the text signed is byte for byte what is sent.
    """
    return " ".join(Webhook(secret).sign(message_id, at, body) for secret in signing_secrets)
