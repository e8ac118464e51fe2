from datetime import timedelta

from flask.views import MethodView

from api.database import utcnow
from api.http import idempotency
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.pagination import page_of, paginate
from api.jobs.schemas import JobSchema
from api.webhooks import deliveries, endpoints
from api.webhooks.models import WebhookDelivery, WebhookEndpoint
from api.webhooks.schemas import (
    DeliveryFilterArgs,
    DeliverySchema,
    DeliveryWithAttemptsSchema,
    EndpointCreateSchema,
    EndpointFields,
    EndpointFilterArgs,
    EndpointSchema,
    NewSecretSchema,
    RecoverSchema,
    RotateSecretSchema,
)

bp = ApiBlueprint(
    "webhooks",
    __name__,
    url_prefix="/v1",
    description="Webhook endpoints and their deliveries: signed, retried, logged, replayable.",
)


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    return endpoints.get(current_workspace_id(), endpoint_id)


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> dict:
    # A retry with the same Idempotency-Key gets the endpoint without its secret.
    idempotency.replay_instead(EndpointSchema().dump(endpoint))
    return {name: getattr(endpoint, name) for name in EndpointSchema().fields} | {"secret": secret}


@bp.route("/webhook-endpoints")
class Endpoints(MethodView):
    @bp.arguments(EndpointFilterArgs, location="query")
    @bp.response(200, page_of(EndpointSchema))
    def get(self, args):
        """List the workspace's endpoints (never their secrets)."""
        statement = endpoints.in_workspace(current_workspace_id())
        if "enabled" in args:
            statement = statement.where(WebhookEndpoint.enabled.is_(args["enabled"]))
        return paginate(statement, args)

    @bp.arguments(EndpointCreateSchema)
    @bp.response(201, NewSecretSchema)
    def post(self, data):
        """Create an endpoint; the answer is the only time its signing secret is shown.

        The URL must be https on a public address (checked now and at every attempt).
        """
        endpoint, secret = endpoints.create(current_workspace_id(), data)
        return _with_secret(endpoint, secret)


@bp.route("/webhook-endpoints/<endpoint_id>")
class EndpointById(MethodView):
    @bp.response(200, EndpointSchema)
    def get(self, endpoint_id):
        """One endpoint (without its secret)."""
        return _endpoint(endpoint_id)

    @bp.arguments(EndpointFields)
    @bp.response(200, EndpointSchema)
    def patch(self, data, endpoint_id):
        """Change it; `{"enabled": true}` re-enables a disabled one."""
        return endpoints.change(_endpoint(endpoint_id), data)

    @bp.response(204)
    def delete(self, endpoint_id):
        """Delete it, with its deliveries and their log."""
        endpoints.delete(_endpoint(endpoint_id))


@bp.post("/webhook-endpoints/<endpoint_id>/rotate-secret")
@bp.arguments(RotateSecretSchema)
@bp.response(201, NewSecretSchema)
def rotate_secret(data, endpoint_id):
    """A new signing secret; the old one signs too until `grace_hours` (default 24) pass."""
    endpoint = _endpoint(endpoint_id)
    secret = endpoints.rotate_secret(endpoint, timedelta(hours=data["grace_hours"]))
    return _with_secret(endpoint, secret)


@bp.post("/webhook-endpoints/<endpoint_id>/ping")
@bp.response(202, DeliverySchema)
def ping(endpoint_id):
    """Send a `webhook.ping` to this endpoint alone; follow the delivery it answers with."""
    return endpoints.ping(_endpoint(endpoint_id))


@bp.route("/webhook-endpoints/<endpoint_id>/deliveries")
class EndpointDeliveries(MethodView):
    @bp.arguments(DeliveryFilterArgs, location="query")
    @bp.response(200, page_of(DeliverySchema))
    def get(self, args, endpoint_id):
        """The endpoint's deliveries, newest first; filter by `status` and `event_type`."""
        statement = deliveries.log_of(_endpoint(endpoint_id), args)
        return paginate(statement, args, order=[(WebhookDelivery.id, True)])


@bp.post("/webhook-endpoints/<endpoint_id>/recover")
@bp.arguments(RecoverSchema)
@bp.response(202, JobSchema)
def recover(data, endpoint_id):
    """Queue again every failed delivery created in [`since`, `until`), as a job."""
    until = data["until"] or utcnow()
    return deliveries.recover(_endpoint(endpoint_id), data["since"], until)


@bp.route("/webhook-deliveries/<delivery_id>")
class DeliveryById(MethodView):
    @bp.response(200, DeliveryWithAttemptsSchema)
    def get(self, delivery_id):
        """One delivery with every attempt: status, latency, the answer's first 2 KB."""
        delivery = deliveries.get(current_workspace_id(), delivery_id)
        delivery.attempt_log = deliveries.attempts_of(delivery)
        return delivery


@bp.post("/webhook-deliveries/<delivery_id>/retry")
@bp.response(202, DeliverySchema)
def retry(delivery_id):
    """Send it again now (also to replay one that succeeded), the schedule from the start."""
    return deliveries.retry(deliveries.get(current_workspace_id(), delivery_id), utcnow())
