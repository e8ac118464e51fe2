from flask.views import MethodView

from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.pagination import page_of, paginate
from api.integrations import stripe_events, stripe_setup
from api.integrations.models import StripeIntegration
from api.integrations.schemas import (
    StripeEventFilterArgs,
    StripeEventSchema,
    StripeIntegrationSchema,
    StripeSecretSchema,
)

bp = ApiBlueprint(
    "integrations",
    __name__,
    url_prefix="/v1/integrations",
    description="Integrations in: Stripe purchases, refunds and disputes as referral events.",
)


def _shown(integration: StripeIntegration) -> dict:
    return stripe_setup.settings(integration) | {
        "handled_event_types": list(stripe_events.HANDLERS)
    }


@bp.route("/stripe")
class Stripe(MethodView):
    @bp.response(200, StripeIntegrationSchema)
    def get(self):
        """The URL to give Stripe (made on first look) and whether the secret is set."""
        return _shown(stripe_setup.connection(current_workspace_id()))

    @bp.arguments(StripeSecretSchema)
    @bp.response(200, StripeIntegrationSchema)
    def put(self, data):
        """Store the endpoint's signing secret (`whsec_...`); it is never returned."""
        return _shown(
            stripe_setup.set_signing_secret(current_workspace_id(), data["signing_secret"])
        )

    @bp.response(204)
    def delete(self):
        """Disconnect: the secret and the URL are forgotten; received events stay listed."""
        stripe_setup.disconnect(current_workspace_id())


@bp.route("/stripe/events")
class StripeEvents(MethodView):
    @bp.arguments(StripeEventFilterArgs, location="query")
    @bp.response(200, page_of(StripeEventSchema))
    def get(self, args):
        """Stripe events received, oldest first, with what each did."""
        return paginate(stripe_events.received(current_workspace_id(), args), args)
