from flask.views import MethodView

from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.openapi import LOCATION
from api.http.pagination import page_of, paginate
from api.surveys import service
from api.surveys.schemas import (
    InvitationLinksSchema,
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
