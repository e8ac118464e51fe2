"""The tracked referral link /r/<code>: its route, its own limit, and HEAD probes.

A GET (a person's visit) is counted and redirected with attribution by
`link_fast_path`, which answers it in front of Flask; Flask sees only HEADs.
Public and unauthenticated. Whatever happens (unknown or disabled code, no
program, too many visits from one address) the visitor is redirected, never
shown an error page: a person who followed a friend's link should land on the
product, with or without the attribution.
"""

from flask import Blueprint, redirect, request

from api.http import ratelimit
from api.referrals import clicks

bp = Blueprint("referral_links", __name__)

ROUTE = "/r/<code>"
ENDPOINT = "referral_links.follow"
# Its own limit, more generous than other public routes: many people share one
# address (offices, campuses, carrier NAT) and a shared link is clicked in bursts.
LIMIT = ratelimit.Rule("RATELIMIT_REDIRECT")
ratelimit.limit_blueprint(bp, LIMIT)


def _redirect(url: str):
    response = redirect(url, code=302)
    # Every visit must reach us to be counted; no cache may answer for us.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(ROUTE)
def follow(code):
    """HEAD only: every GET is answered by `link_fast_path`, in front of Flask.

    Link checkers and unfurlers probe with HEAD; a person's browser never does,
    so a HEAD lands without being counted.
    """
    return _redirect(clicks.unattributed_url(code))


@bp.errorhandler(ratelimit.RateLimited)
def over_limit(_error):
    """Past the limit the visitor still lands, but the click is not counted."""
    return _redirect(clicks.unattributed_url((request.view_args or {}).get("code", "")))
