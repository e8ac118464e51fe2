"""Who the widget user is: `user_hash = HMAC-SHA256(identity secret, user_id)`.

The customer's server computes the hash and puts it in the page, so a visitor
cannot answer (or read a referral link) as someone else. The identity secret is
derived from our SECRET_KEY, the workspace id and a version, not stored: there
is nothing to leak from the database, and bumping the version rotates it.
While SECRET_KEY itself is being rotated, secrets derived from the fallback
keys still verify.
"""

import hashlib
import hmac
from functools import lru_cache

from flask import current_app

from api.workspaces.models import Workspace


def _derive(secret_key: str, workspace: Workspace) -> str:
    return _derived(secret_key, workspace.id, workspace.identity_secret_version)


@lru_cache(maxsize=1024)
def _derived(secret_key: str, workspace_id: str, version: int) -> str:
    # Every identified page view verifies a hash with it, and it only changes with
    # SECRET_KEY or the version: derived once per worker, not per request.
    label = f"widget-identity:{workspace_id}:{version}"
    return "wis_" + hmac.new(secret_key.encode(), label.encode(), hashlib.sha256).hexdigest()


def identity_secret(workspace: Workspace) -> str:
    return _derive(current_app.config["SECRET_KEY"], workspace)


def user_hash(secret: str, user_id: str) -> str:
    # hmac.digest: the one-shot C HMAC (the HMAC class runs in Python), same digest.
    return hmac.digest(secret.encode(), user_id.encode(), "sha256").hex()


def verify(workspace: Workspace, user_id: str, given_hash: str) -> bool:
    if not user_id or not given_hash:
        return False
    config = current_app.config
    for secret_key in [config["SECRET_KEY"], *config["SECRET_KEY_FALLBACKS"]]:
        expected = user_hash(_derive(secret_key, workspace), user_id)
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        if hmac.compare_digest(expected.encode(), given_hash.lower().encode()):
            return True
    return False
