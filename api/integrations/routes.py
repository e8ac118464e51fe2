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


def _shown(integration: StripeIntegration | None) -> dict:
    return stripe_setup.settings(integration) | {
        "handled_event_types": list(stripe_events.HANDLERS)
    }


@bp.route("/stripe")
class Stripe(MethodView):
    @bp.response(200, StripeIntegrationSchema)
    def get(self):
        """The URL to give Stripe (null until connected) and whether the secret is set."""
        return _shown(stripe_setup.find(current_workspace_id()))

    @bp.response(200, StripeIntegrationSchema)
    @bp.alt_response(201, schema=StripeIntegrationSchema, description="Connected now")
    def post(self):
        """Connect: make the receiving URL to give Stripe (201), or show the one made (200)."""
        integration, made = stripe_setup.connect(current_workspace_id())
        return _shown(integration), (201 if made else 200)

    @bp.arguments(StripeSecretSchema)
    @bp.response(200, StripeIntegrationSchema)
    def put(self, data):
        """Store the endpoint's signing secret (`whsec_...`), connecting first if need be;
        the secret is never returned."""
        workspace_id = current_workspace_id()
        return _shown(stripe_setup.set_signing_secret(workspace_id, data["signing_secret"]))

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
