"""Clicks on `/r/<code>`: look the code up, record the click, build the landing URL.

This is the hottest public path, so it is written down to what it needs: one
SELECT of the code joined with its workspace's program (remembered for
`REFERRAL_CODE_CACHE_SECONDS`), and the click and its event inserted in the
request's transaction. No ORM objects are loaded or flushed on the way.

On PostgreSQL that transaction commits with `synchronous_commit` off: the visitor
is redirected without waiting for the click to reach the disk, and a crash of
the database server (not of a worker) can lose the last fraction of a second of
clicks. Nothing depends on the row being there: the landing URL's signed
`ffclick` carries the click's id, code and time, which is all attribution needs.
"""

import hashlib
import hmac
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app
from sqlalchemy import bindparam, insert, select, text

from api import recent, signing
from api.database import utcnow
from api.events import service as events
from api.extensions import db
from api.ids import new_id
from api.referrals import codes
from api.referrals.models import ReferralClick, ReferralCode, ReferralProgram

# Paid-ad click ids that ad platforms append to the URL an ad points to.
AD_CLICK_PARAMS = ("gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "twclid")
USER_AGENT_MAX = 256
REFERRER_MAX = 512
# Our own parameters on the landing URL; incoming ones of these names are dropped.
OURS = ("ref", "ffclick")
# At most this many incoming query parameters are passed on (utm_*, gclid, ...).
PASS_ON_MAX = 20

_codes = ReferralCode.__table__.c
_programs = ReferralProgram.__table__.c
# Core, not ORM: a table-column SELECT run on the session's connection skips the
# ORM's per-statement work, which is a good part of this route's cost.
_LOOKUP = (
    select(
        _codes.id,
        _codes.workspace_id,
        _codes.disabled_at,
        _programs.enabled,
        _programs.landing_url,
    )
    .select_from(
        ReferralCode.__table__.outerjoin(
            ReferralProgram.__table__, _programs.workspace_id == _codes.workspace_id
        )
    )
    .where(_codes.code == bindparam("code"))
)
_INSERT_CLICK = insert(ReferralClick.__table__)
# The database's own trade of durability for speed, for this transaction only.
_COMMIT_WITHOUT_WAITING = text("SET LOCAL synchronous_commit TO OFF")


def hash_ip(ip: str | None) -> str | None:
    """HMAC-SHA256 of the address keyed with the app's secret: comparable, not reversible.

    A plain hash of an IPv4 address is reversed by trying all 2**32 of them; the
    key makes that impossible for anyone without it.
    """
    if not ip:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()


class SignedClick(NamedTuple):
    """What an `ffclick` value says about its click."""

    id: str
    code_id: str
    at: datetime
    ad_click_param: str | None


def sign_click(click_id: str, code_id: str, at: datetime, ad_click_param: str | None) -> str:
    payload = {"i": click_id, "c": code_id, "t": round(at.timestamp() * 1000)}
    if ad_click_param:
        payload["a"] = ad_click_param
    return signing.sign(signing.REFERRAL_CLICK, payload)


def read_click(token: str, max_age_seconds: int) -> SignedClick | str | None:
    """The click an `ffclick` value names; None when forged, damaged or too old.

    A value minted before clicks carried their code and time holds the click's
    id alone: that id is returned, for the caller to look the click up.
    """
    try:
        value = signing.unsign(signing.REFERRAL_CLICK, token, max_age_seconds)
    except (signing.TokenInvalid, signing.TokenExpired):
        return None
    if isinstance(value, str):
        return value
    try:
        at = datetime.fromtimestamp(value["t"] / 1000, UTC)
        return SignedClick(value["i"], value["c"], at, value.get("a"))
    except (TypeError, KeyError, ValueError, OverflowError):
        return None


def landing_url(base: str, params: list[tuple[str, str]]) -> str:
    """`base` with `params` appended after its own query parameters."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in OURS]
    return urlunsplit(parts._replace(query=urlencode(query + params)))


def _passed_on(args) -> list[tuple[str, str]]:
    passed = []
    for name, value in args.items(multi=True):
        if name not in OURS and len(passed) < PASS_ON_MAX:
            passed.append((name[:64], value[:500]))
    return passed


def _ad_click_param(args) -> str | None:
    # `in` first: a MultiDict's get of a missing key raises and catches a KeyError.
    return next((name for name in AD_CLICK_PARAMS if name in args and args[name]), None)  # noqa: RUF019


def canonical_code(code_text: str) -> str | None:
    """The stored form of a code in a link, or None when it cannot be one (no query)."""
    canonical = codes.normalize_code(code_text)
    if not canonical or len(canonical) > codes.VANITY_MAX_LENGTH or not canonical.isalnum():
        return None
    return canonical


def lookup(canonical: str | None):
    """(id, workspace_id, disabled_at, enabled, landing_url) of a code, or None.

    Remembered per process (`api.recent`): disabling a code, or changing the
    landing URL, reaches every worker within `REFERRAL_CODE_CACHE_SECONDS`;
    unknown codes are remembered too, so a scanner trying codes costs one query
    per code and interval.
    """
    if canonical is None:
        return None
    return recent.memory("referral_codes", current_app.config["REFERRAL_CODE_CACHE_SECONDS"]).get(
        canonical, lambda: _lookup(canonical)
    )


class CodeLookup(NamedTuple):
    id: str
    workspace_id: str
    disabled_at: datetime | None
    enabled: bool | None
    landing_url: str | None


def _lookup(canonical: str) -> CodeLookup | None:
    row = db.session.connection().execute(_LOOKUP, {"code": canonical}).first()
    return None if row is None else CodeLookup(*row)


def fallback_url(row) -> str:
    """Where a visit goes without attribution: the workspace's landing page, else ours."""
    if row is not None and row.landing_url:
        return row.landing_url
    return current_app.config["BASE_URL"]


def unattributed_url(code_text: str) -> str:
    """Where a visit that is not counted goes (a HEAD probe, a visitor past the limit)."""
    return fallback_url(lookup(canonical_code(code_text)))


def visit(
    code_text: str,
    *,
    ip: str | None,
    user_agent: str | None,
    referrer: str | None,
    args,
    now: datetime | None = None,
) -> str:
    """Record a click when the code is live in an enabled program; the URL to send to."""
    canonical = canonical_code(code_text)
    row = lookup(canonical)
    if row is None or row.disabled_at is not None or not row.enabled or not row.landing_url:
        return fallback_url(row)
    click_id = new_id("clk")
    ad_param = _ad_click_param(args)
    now = now or utcnow()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_COMMIT_WITHOUT_WAITING)
    db.session.execute(
        _INSERT_CLICK,
        {
            "id": click_id,
            "workspace_id": row.workspace_id,
            "code_id": row.id,
            "ip_hash": hash_ip(ip),
            "user_agent": (user_agent or "")[:USER_AGENT_MAX] or None,
            "referrer": (referrer or "")[:REFERRER_MAX] or None,
            "ad_click_param": ad_param,
            "created_at": now,
        },
    )
    events.record_many(
        row.workspace_id,
        "referral.click",
        [(click_id, {"code_id": row.id, "code": canonical, "ad_click_param": ad_param})],
    )
    token = sign_click(click_id, row.id, now, ad_param)
    return landing_url(row.landing_url, [*_passed_on(args), ("ref", canonical), ("ffclick", token)])
