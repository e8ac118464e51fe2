from flask.views import MethodView

from api.http import intake
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.openapi import LOCATION
from api.http.pagination import PageArgs, page_of
from api.surveys import batches, service
from api.surveys.schemas import (
    InvitationBatchSchema,
    InvitationLinksSchema,
    InvitationRequestSchema,
)

# 100,000 inline contacts need more room than other requests' bodies.
MAX_BODY_BYTES = 64 * 1024 * 1024

bp = ApiBlueprint(
    "invitation_batches",
    __name__,
    url_prefix="/v1",
    description="Invitations: one contact or up to 100,000, and their signed links.",
)
intake.allow_body(bp.name, MAX_BODY_BYTES)


@bp.route("/surveys/<survey_id>/invitations")
class Invitations(MethodView):
    @bp.arguments(InvitationRequestSchema)
    @bp.response(202, InvitationBatchSchema, headers=LOCATION)
    @bp.alt_response(201, schema=InvitationBatchSchema, description="A small batch, done at once")
    @bp.errors(409)
    def post(self, data, survey_id):
        """Invite one contact (`contact`) or a batch of up to 100,000 (`contacts`).

        The answer is the batch. Up to 100 contacts are invited at once: 201, `status`
        `done`, with its `invitations`. A larger batch answers 202 (`queued`); the worker
        invites it, and `GET /v1/invitation-batches/{id}` follows it until `done`, then
        `GET /v1/invitation-batches/{id}/invitations` pages its invitations.

        Contacts given inline are created or updated first. Unsubscribed contacts,
        those at a lifecycle stage the survey does not target, those who responded
        within `resurvey_days` or declined within `decline_days`, and references to no
        contact are not invited; `skipped` lists them with the reason.

        Each invitation carries its survey link `url` (`/s/<token>`, a signed token
        naming this invitation, valid until `expires_at`), one link per score
        (`url?score=N`, for the buttons of your own email; opening one submits by
        POST from our page, so mail scanners that follow links record nothing), a
        ready `email_html` block and its `email_text` alternative, the contact's
        `unsubscribe_url`, and `email_headers` for RFC 8058 one-click unsubscribe
        (`List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`):
        send them with the email. An inactive survey answers 409 `survey_inactive`.
        Retrying with the same `Idempotency-Key` answers the same batch and invites no
        one twice.
        """
        survey = service.get_survey(current_workspace_id(), survey_id)
        refs = data["contacts"] if "contacts" in data else [data["contact"]]
        batch = batches.start(survey, refs, data["channel"])
        done = batches.is_done(batch)
        body = batches.described(batch, with_invitations=done)
        return body, 201 if done else 202, {"Location": f"/v1/invitation-batches/{batch.id}"}


@bp.route("/invitation-batches/<batch_id>")
class BatchById(MethodView):
    @bp.response(200, InvitationBatchSchema)
    def get(self, batch_id):
        """A batch: poll it until `status` is `done` (or `failed`, with its `error`).

        `counts` and `skipped` grow while it runs.
        """
        return batches.described(batches.get_batch(current_workspace_id(), batch_id))


@bp.route("/invitation-batches/<batch_id>/invitations")
class BatchInvitations(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_of(InvitationLinksSchema))
    def get(self, args, batch_id):
        """The batch's invitations, oldest first, with their links and email blocks."""
        return batches.links_page(batches.get_batch(current_workspace_id(), batch_id), args)
