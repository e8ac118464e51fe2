"""A workspace's Stripe connection: its receiving URL and Stripe's signing secret.

The URL's token is 256 random bits, so it cannot be guessed; it names the
workspace through its hash, as an API key does. It is made when the workspace
connects (`connect`, or with the secret: Stripe's dashboard asks for the URL
before it shows the secret, its CLI shows a secret first) and stays the same
until the connection is removed, whatever happens to SECRET_KEY: Stripe keeps
calling the URL it was given.
"""

import hashlib
import secrets

from flask import current_app
from sqlalchemy import delete, select

from api.database import insert_ignore, utcnow
from api.domain_errors import Conflict
from api.extensions import db
from api.integrations import sealing
from api.integrations.models import StripeIntegration

ROUTE = "/integrations/stripe/"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find(workspace_id: str) -> StripeIntegration | None:
    return db.session.scalar(
        select(StripeIntegration)
        .where(StripeIntegration.workspace_id == workspace_id)
        .execution_options(populate_existing=True)
    )


def connect(workspace_id: str) -> tuple[StripeIntegration, bool]:
    """The workspace's connection, made now with a new receiving URL (True) if it had none."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    made = insert_ignore(
        StripeIntegration,
        {
            "workspace_id": workspace_id,
            "token_hash": _hash(token),
            "sealed_token": sealing.seal(token),
            "created_at": now,
            "updated_at": now,
        },
        ["workspace_id"],
    )
    return find(workspace_id), made


def set_signing_secret(workspace_id: str, secret: str) -> StripeIntegration:
    integration, _ = connect(workspace_id)
    now = utcnow()
    integration.sealed_signing_secret = sealing.seal(secret)
    integration.signing_secret_set_at = now
    integration.updated_at = now
    db.session.flush()
    return integration


def disconnect(workspace_id: str) -> bool:
    """Forget the secret and the URL (connecting again makes a new one); events stay."""
    result = db.session.execute(
        delete(StripeIntegration).where(StripeIntegration.workspace_id == workspace_id)
    )
    return result.rowcount > 0


def find_by_token(token: str) -> StripeIntegration | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        select(StripeIntegration).where(StripeIntegration.token_hash == _hash(token))
    )


def _unsealed(integration: StripeIntegration, name: str) -> str | None:
    sealed = getattr(integration, name)
    if sealed is None:
        return None
    try:
        plaintext, resealed = sealing.unseal(sealed)
    except sealing.Unreadable:
        raise Conflict(
            "The Stripe connection was sealed with a SECRET_KEY this service no longer has: "
            "put that key back in SECRET_KEY_FALLBACKS, or delete the connection and set it "
            "up again.",
            code="sealed_with_unknown_key",
        ) from None
    if resealed is not None:
        setattr(integration, name, resealed)
    return plaintext


def receiving_url(integration: StripeIntegration) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}{ROUTE}{_unsealed(integration, 'sealed_token')}"


def signing_secret(integration: StripeIntegration) -> str | None:
    return _unsealed(integration, "sealed_signing_secret")


def settings(integration: StripeIntegration | None) -> dict:
    """What the API shows (nothing set while not connected): never the secret itself."""
    if integration is None:
        return {"receiving_url": None, "signing_secret_set": False}
    return {
        "receiving_url": receiving_url(integration),
        "signing_secret_set": integration.sealed_signing_secret is not None,
        "signing_secret_set_at": integration.signing_secret_set_at,
        "created_at": integration.created_at,
    }
