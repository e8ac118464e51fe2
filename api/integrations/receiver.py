"""POST /integrations/stripe/<token>: where Stripe delivers a workspace's events.

Public (Stripe has no key of ours): the token finds the workspace and the
signature proves Stripe sent the body, which is read raw, whatever its
Content-Type, because the signature covers the exact bytes. Any error answers
in the one error format with a status Stripe retries on: a bad signature 400,
a database that is down 503.
"""

from flask import Blueprint, request

from api.domain_errors import found
from api.http import ratelimit
from api.http.errors import ApiError
from api.integrations import stripe_events, stripe_setup

bp = Blueprint("stripe_in", __name__)
# Stripe sends every account's events from a few addresses; see RATELIMIT_STRIPE.
ratelimit.limit_blueprint(bp, ratelimit.Rule("RATELIMIT_STRIPE"))


@bp.post(stripe_setup.ROUTE + "<token>")
def receive(token):
    integration = found(stripe_setup.find_by_token(token), "Stripe endpoint")
    try:
        row, repeat = stripe_events.receive(
            integration, request.get_data(cache=False), request.headers.get("Stripe-Signature")
        )
    except stripe_events.Unverified as error:  # 400: what Stripe expects, and retries
        raise ApiError(400, error.code, error.message) from None
    return {"received": True, "id": row.id, "outcome": row.outcome, "duplicate": repeat}
