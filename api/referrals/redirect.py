"""The tracked referral link /r/<code>: its route, its own limit, and HEAD probes.

Public and unauthenticated. Whatever happens (unknown or disabled code, no
program, too many visits from one address, a failure of ours) the visitor is
redirected, never shown an error page: a person who followed a friend's link
should land on the product, with or without the attribution.
"""

import logging

from flask import Blueprint, current_app, request

from api.http import ratelimit
from api.referrals import clicks

log = logging.getLogger(__name__)

bp = Blueprint("referral_links", __name__)

ROUTE = "/r/<code>"
ENDPOINT = "referral_links.follow"
# Its own limit, more generous than other public routes: many people share one
# address (offices, campuses, carrier NAT) and a shared link is clicked in bursts.
LIMIT = ratelimit.Rule("RATELIMIT_REDIRECT")
ratelimit.limit_blueprint(bp, LIMIT)


def _redirect(url: str):
    # No body: the browser follows at once, and werkzeug's HTML "Redirecting..." page
    # would only cost time on the hottest public route. (Werkzeug makes the Location
    # an URI when it sends the headers.)
    response = current_app.response_class(status=302)
    response.headers["Location"] = url
    # Every visit must reach us to be counted; no cache may answer for us.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(ROUTE)
def follow(code):
    """A person's visit: counted, and redirected with attribution.

    Link checkers and unfurlers probe with HEAD; a person's browser never does,
    so a HEAD lands without being counted.
    """
    if request.method == "HEAD":
        return _redirect(clicks.unattributed_url(code))
    try:
        url = clicks.visit(
            code,
            ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent"),
            referrer=request.headers.get("Referer"),
            args=request.args,
        )
    except Exception:
        # A person following a friend's link lands on the product, never on an error.
        log.exception("referral link %s failed; sent to the base URL", ROUTE)
        return _redirect(current_app.config["BASE_URL"])
    return _redirect(url)


@bp.errorhandler(ratelimit.RateLimited)
def over_limit(_error):
    """Past the limit the visitor still lands, but the click is not counted."""
    return _redirect(clicks.unattributed_url((request.view_args or {}).get("code", "")))
