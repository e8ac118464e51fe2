from flask import current_app
from flask.views import MethodView

from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.openapi import LOCATION
from api.http.pagination import page_of, paginate
from api.surveys import service
from api.surveys.schemas import (
    InvitationBatchSchema,
    InvitationLinksSchema,
    InvitationRequestSchema,
    SurveyCreateSchema,
    SurveyFilterArgs,
    SurveyPatchSchema,
    SurveySchema,
)

bp = ApiBlueprint(
    "surveys",
    __name__,
    url_prefix="/v1/surveys",
    description="Surveys and invitations: what you ask, and signed links to ask it.",
)


@bp.route("")
class Surveys(MethodView):
    @bp.arguments(SurveyFilterArgs, location="query")
    @bp.response(200, page_of(SurveySchema))
    def get(self, args):
        """List surveys, oldest first, optionally by kind or active flag."""
        return paginate(service.filter_surveys(current_workspace_id(), args), args)

    @bp.arguments(SurveyCreateSchema)
    @bp.response(201, SurveySchema, headers=LOCATION)
    def post(self, data):
        """Create a survey: NPS (0-10), CSAT (1-5) or CES (1-7).

        There is no DELETE: set `active` to false to stop new invitations while
        its responses and reports stay.
        """
        survey = service.create_survey(current_workspace_id(), data)
        return survey, 201, {"Location": f"/v1/surveys/{survey.id}"}


@bp.route("/<survey_id>")
class SurveyById(MethodView):
    @bp.response(200, SurveySchema)
    def get(self, survey_id):
        """Get a survey, with its effective texts in the default locale (`preview`)."""
        return service.get_survey(current_workspace_id(), survey_id)

    @bp.arguments(SurveyPatchSchema)
    @bp.response(200, SurveySchema)
    @bp.errors(409)
    def patch(self, data, survey_id):
        """Change the given fields. `kind` cannot change once the survey has invitations
        (409 `survey_kind_immutable`)."""
        return service.update_survey(service.get_survey(current_workspace_id(), survey_id), data)


@bp.route("/<survey_id>/invitations")
class Invitations(MethodView):
    @bp.arguments(InvitationRequestSchema)
    @bp.response(201, InvitationBatchSchema)
    def post(self, data, survey_id):
        """Invite one contact (`contact`) or a batch of up to 10,000 (`contacts`).

        Contacts given inline are created or updated first. Unsubscribed contacts,
        those at a lifecycle stage the survey does not target, those who responded
        within `resurvey_days` or declined within `decline_days`, and unknown ones are
        not invited; `skipped` lists them with the reason.

        Each invitation carries its survey link `url` (`/s/<token>`, a signed token
        naming this invitation, valid until `expires_at`), one link per score
        (`url?score=N`, for the buttons of your own email; opening one submits by
        POST from our page, so mail scanners that follow links record nothing), a
        ready `email_html` block and its `email_text` alternative, the contact's
        `unsubscribe_url`, and `email_headers` for RFC 8058 one-click unsubscribe
        (`List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`):
        send them with the email. An inactive survey answers 409 `survey_inactive`.
        Retrying with the same `Idempotency-Key` replays the answer and invites no one twice.
        """
        survey = service.get_survey(current_workspace_id(), survey_id)
        refs = data["contacts"] if "contacts" in data else [data["contact"]]
        batch = service.invite_contacts(survey, refs, data["channel"])
        # Already JSON (see InvitationBatch): flask-smorest passes a Response through as is.
        return current_app.response_class(batch.json(), 201, mimetype="application/json")


@bp.get("/<survey_id>/invitations/<invitation_id>")
@bp.response(200, InvitationLinksSchema)
def invitation(survey_id, invitation_id):
    """One invitation's links, email block and headers, as the batch answer gave them.

    For invitations you did not make yourself, such as a re-survey that came due
    (`invitation.created` with a `resurvey_id`): read it here and send it.
    """
    return service.invitation_links(
        service.get_survey(current_workspace_id(), survey_id), invitation_id
    )
