"""The one way to sign: itsdangerous, one salt per purpose, max_age always checked.

A token minted for one purpose never verifies for another. Tokens are signed,
not encrypted (never put a secret in one), and not single-use by themselves:
whatever must happen once is settled by state in the database.
"""

import hmac
import zlib
from base64 import urlsafe_b64encode
from collections.abc import Callable
from functools import lru_cache
from json.encoder import encode_basestring

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes

SURVEY_LINK = "survey-link"
PREFERENCES = "preferences"
REPORT_LINK = "report-link"
REFERRAL_CLICK = "referral-click"
WIDGET_DISPLAY = "widget-display"
REVIEW_LINK = "review-link"
PURPOSES = (SURVEY_LINK, PREFERENCES, REPORT_LINK, REFERRAL_CLICK, WIDGET_DISPLAY, REVIEW_LINK)


class TokenInvalid(Exception):
    """Forged, damaged or minted for another purpose."""


class TokenExpired(Exception):
    """Genuine, but older than it may be."""


def _keys(purpose: str) -> tuple[str, ...]:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown signing purpose {purpose!r}")
    config = current_app.config
    # The newest key signs; the fallbacks still verify, so keys rotate without breaking links.
    return (*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"])


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _cached_serializer(purpose, _keys(purpose))


@lru_cache(maxsize=64)
def _cached_serializer(purpose: str, keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    """One serializer per purpose and key set: building one derives its keys."""
    return URLSafeTimedSerializer(list(keys), salt=purpose)


# Payloads whose JSON is at most this long are signed as they are, without trying
# zlib: a widget display's four ids (121 bytes) would shrink to 94, for 50 µs.
_NEVER_COMPRESSED = 160


class _Minter:
    """Makes the tokens `URLSafeTimedSerializer.dumps` makes, at a fraction of the cost.

    Per token, itsdangerous builds a signer, derives the key again, runs the HMAC
    through Python's `hmac.HMAC` class with a callable digest (its slow path) and
    tries zlib on the payload, whose set-up (a 256 KB state, allocated and freed
    each time) alone costs 10 to 100 µs here; a batch of 10,000 invitations signs
    20,000 tokens. Here the key is derived once, by itsdangerous itself, and each
    token is one C `hmac.digest`. Short payloads (an id, a display's few ids) are
    not offered to zlib: it shortens an id by nothing, and a short payload it could
    shorten just stays in the plain form, which `loads` reads as well.
    Salt, key, digest, timestamp and format are itsdangerous's, so verification
    stays its `loads` with max_age. The constructor compares its output with
    itsdangerous's and, should they ever differ (another itsdangerous, other
    settings), every token goes through itsdangerous instead.
    """

    def __init__(self, serializer: URLSafeTimedSerializer):
        signer = serializer.make_signer()
        self._serializer = serializer
        self._signer = signer
        self._sep = signer.sep
        self._stamp: tuple[int, bytes] = (-1, b"")
        self._key = signer.derive_key()
        self._digest = signer.digest_method().name
        self._fast = self._agrees_with(serializer, signer)

    def _agrees_with(self, serializer: URLSafeTimedSerializer, signer) -> bool:
        display = {"i": "inv_01JD3ZQ5B7C8E9F0G1H2J3K4M5", "s": "srv_1", "c": None, "l": "é"}
        # (sample, whether itsdangerous makes the same bytes: it would compress `display`)
        samples = [("inv_01JD3ZQ5B7C8E9F0G1H2J3K4M5", True), ("é", True), ("a" * 200, True)]
        samples += [("ab" * 100, True), (display, False)]
        try:
            for sample, same in samples:
                payload = self._payload(sample)
                if serializer.load_payload(payload) != sample:
                    return False
                if same and payload != serializer.dump_payload(sample):
                    return False
                if self._signature(payload) != signer.get_signature(payload):
                    return False
        except (ValueError, TypeError, AttributeError):  # a digest that is not hashlib's
            return False
        return True

    def _payload(self, value) -> bytes:
        if type(value) is str:
            # As itsdangerous's compact JSON (ensure_ascii off) and URL-safe mixin make it.
            json = encode_basestring(value).encode()
        else:
            json = self._serializer.serializer.dumps(value, **self._serializer.serializer_kwargs)
            json = json.encode() if isinstance(json, str) else json
        if len(json) <= _NEVER_COMPRESSED:
            return urlsafe_b64encode(json).rstrip(b"=")
        compressed = zlib.compress(json)
        if len(compressed) < len(json) - 1:
            return b"." + base64_encode(compressed)
        return base64_encode(json)

    def _signature(self, value: bytes) -> bytes:
        return urlsafe_b64encode(hmac.digest(self._key, value, self._digest)).rstrip(b"=")

    def _timestamp(self) -> bytes:
        now = self._signer.get_timestamp()  # itsdangerous's clock, as tests may set it
        second, encoded = self._stamp
        if second != now:
            encoded = base64_encode(int_to_bytes(now))
            self._stamp = (now, encoded)
        return encoded

    def sign(self, value) -> str:
        if not self._fast:
            return self._serializer.dumps(value)
        signed = self._payload(value) + self._sep + self._timestamp()
        return (signed + self._sep + self._signature(signed)).decode()


@lru_cache(maxsize=64)
def _cached_minter(purpose: str, keys: tuple[str, ...]) -> _Minter:
    return _Minter(_cached_serializer(purpose, keys))


def minter(purpose: str) -> Callable[[object], str]:
    """`sign(purpose, ·)` without the per-call look-up, for signing many tokens in a row."""
    return _cached_minter(purpose, _keys(purpose)).sign


def sign(purpose: str, payload) -> str:
    return _cached_minter(purpose, _keys(purpose)).sign(payload)


def unsign(purpose: str, token: str, max_age_seconds: int):
    try:
        return _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise TokenExpired from None
    except BadSignature:
        raise TokenInvalid from None
