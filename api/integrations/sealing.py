"""Secrets we must read back, sealed at rest: Fernet (AES-128-CBC with HMAC-SHA256).

Our own secrets are derived or hashed and never stored (see api/widget/identity.py,
api/workspaces/keys.py). Another service's secret cannot be: Stripe's webhook
signing secret is needed in clear to verify each delivery. So it is stored sealed
with a key derived (HKDF) from SECRET_KEY, which never is in the database: a
copy of the database alone reveals nothing.

Rotation follows SECRET_KEY's: the newest key seals, the fallbacks still open,
and a value opened with a fallback comes back resealed with the newest key, so
the caller can store it and the old key can be retired.
"""

from base64 import urlsafe_b64encode
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_PURPOSE = b"flipfunnel sealed secrets v1"


class Unreadable(Exception):
    """Sealed with a key that is neither SECRET_KEY nor one of its fallbacks."""


@lru_cache(maxsize=16)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret_key.encode())
    return Fernet(urlsafe_b64encode(key))


def _keys() -> list[Fernet]:
    config = current_app.config
    return [_fernet(config["SECRET_KEY"]), *map(_fernet, config["SECRET_KEY_FALLBACKS"])]


def seal(plaintext: str) -> str:
    return _keys()[0].encrypt(plaintext.encode()).decode()


def unseal(sealed: str) -> tuple[str, str | None]:
    """The plaintext, and the value resealed with the newest key when an older one opened it."""
    newest, *older = _keys()
    try:
        return newest.decrypt(sealed.encode()).decode(), None
    except InvalidToken:
        pass
    try:
        plaintext = MultiFernet(older).decrypt(sealed.encode()).decode() if older else None
    except InvalidToken:
        plaintext = None
    if plaintext is None:
        raise Unreadable
    return plaintext, seal(plaintext)
