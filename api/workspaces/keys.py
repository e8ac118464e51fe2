"""API keys: minted once, stored as hashes, looked up by hash.

Keys carry about 238 bits of randomness, so a plain SHA-256 cannot be brute
forced and, unlike a slow password hash, can be looked up by index on every
request. Only the visible prefix (`sk_AbCd1234`) is kept in clear, so people
can tell their keys apart.
"""

import hashlib
import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import select, update

from api.database import utcnow
from api.domain_errors import Conflict
from api.extensions import db
from api.workspaces.models import ApiKey, Workspace

SECRET = "secret"  # noqa: S105  a key kind, not a password
PUBLISHABLE = "publishable"
KINDS = {SECRET: "sk_", PUBLISHABLE: "pk_"}
_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 40
_VISIBLE = 8


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_workspace(name: str) -> tuple[Workspace, str, str]:
    """A workspace with one secret and one publishable key, returned in clear once."""
    workspace = Workspace(name=name)
    db.session.add(workspace)
    db.session.flush()
    _, secret = create_key(workspace.id, SECRET, "default")
    _, publishable = create_key(workspace.id, PUBLISHABLE, "default")
    return workspace, secret, publishable


def create_key(workspace_id: str, kind: str, name: str = "") -> tuple[ApiKey, str]:
    raw = KINDS[kind] + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))
    key = ApiKey(
        workspace_id=workspace_id,
        kind=kind,
        name=name,
        prefix=raw[: len(KINDS[kind]) + _VISIBLE],
        key_hash=hash_key(raw),
    )
    db.session.add(key)
    db.session.flush()
    return key, raw


def find_key(raw: str) -> ApiKey | None:
    """The key with this value, live or not."""
    if not raw.startswith(tuple(KINDS.values())):
        return None
    return db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))


def find_live_key(raw: str, now: datetime | None = None) -> ApiKey | None:
    key = find_key(raw)
    if key is None or not key.is_live(now or utcnow()):
        return None
    return key


def touch(key, every: timedelta, now: datetime | None = None) -> bool:
    """Record use, at most once per `every`, so reads don't all become writes.

    `key` is an ApiKey or a frozen snapshot of one: only its id and last use are read."""
    now = now or utcnow()
    if key.last_used_at is not None and now - key.last_used_at < every:
        return False
    db.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return True


def list_keys(workspace_id: str) -> list[ApiKey]:
    return list(
        db.session.scalars(
            select(ApiKey).where(ApiKey.workspace_id == workspace_id).order_by(ApiKey.id)
        )
    )


def get_key(workspace_id: str, key_id: str) -> ApiKey | None:
    return db.session.scalar(
        select(ApiKey).where(ApiKey.workspace_id == workspace_id, ApiKey.id == key_id)
    )


def revoke(key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def rotate(key: ApiKey, grace: timedelta) -> tuple[ApiKey, str]:
    """A new key of the same kind; the old one keeps working for `grace`, then expires."""
    if not key.is_live(utcnow()):
        raise Conflict("Only a live key can be rotated; create a new key.", code="key_not_live")
    new_key, raw = create_key(key.workspace_id, key.kind, key.name)
    expires = utcnow() + grace
    if key.expires_at is None or key.expires_at > expires:
        key.expires_at = expires
    return new_key, raw
