from flask import current_app, g, request
from flask.views import MethodView
from marshmallow import ValidationError

from api.extensions import db
from api.http import auth, ratelimit
from api.http.blueprint import ApiBlueprint, require_json_body
from api.http.errors import ApiError
from api.http.openapi import Blueprint, answers
from api.i18n.negotiation import pick_locale
from api.widget import cors, identity, service
from api.widget.schemas import (
    WidgetAnswerResultSchema,
    WidgetAnswerSchema,
    WidgetCommentResultSchema,
    WidgetCommentSchema,
    WidgetDeclineResultSchema,
    WidgetDisplayResultSchema,
    WidgetDisplaySchema,
    WidgetEligibilityArgs,
    WidgetEligibilityResultSchema,
    WidgetReferralSchema,
    WidgetSettingsSchema,
    parse_attributes,
)
from api.workspaces.models import Workspace


class WidgetBlueprint(Blueprint):
    """Publishable key, per-workspace CORS, and limits per key and per visitor IP."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ratelimit.limit_blueprint(
            self,
            ratelimit.Rule("RATELIMIT_WIDGET_KEY", ratelimit.per_caller),
            ratelimit.Rule("RATELIMIT_WIDGET_IP", ratelimit.per_ip),
        )
        self.before_request(auth.require_publishable_key)
        self.before_request(_check_origin)
        self.before_request(require_json_body)
        self.after_request(cors.add_headers)


@answers(403)  # an origin the workspace does not allow
def _check_origin():
    workspace = service.widget_workspace(g.workspace_id)
    g.workspace = workspace
    cors.check_origin(workspace.allowed_origins or [])
    if request.method == "OPTIONS":
        return current_app.response_class(status=204)
    return None


bp = WidgetBlueprint(
    "widget",
    __name__,
    url_prefix="/w/v1",
    description="The widget API, for embedded widgets: publishable keys, allowed origins only.",
)


def _user(args: dict) -> service.User:
    try:
        attributes = parse_attributes(args.get("attributes"))
    except ValidationError as error:
        raise ApiError(
            422, "validation_error", "Invalid attributes.", {"attributes": error.messages}
        ) from None
    return service.identify(g.workspace, args.get("user_id"), args.get("user_hash"), attributes)


# What a display token leads to: the calls the widget makes with it, in its order.
DISPLAY_TAKERS = ("/w/v1/displays", "/w/v1/responses", "/w/v1/declines")
ANSWER_TAKERS = (
    "/w/v1/comments",
    "/w/v1/asks",
    "/w/v1/testimonials",
    "/w/v1/reviews",
    "/w/v1/advocates",
)


@bp.get("/eligibility")
@bp.alt_response(200, success=True, schema=WidgetEligibilityResultSchema)
@bp.links(200, {"display": "$response.body#/display"}, *DISPLAY_TAKERS)
@bp.arguments(WidgetEligibilityArgs, location="query")
def eligibility(args):
    """Should this user be asked now, and what? Decided on the server."""
    return service.check_eligibility(
        g.workspace,
        _user(args),
        url=args.get("url"),
        locale=args.get("locale"),
        accept_language=request.headers.get("Accept-Language"),
        # Without an id (an older widget, a bare call) each request is its own draw.
        anonymous_key=args.get("anonymous_id") or g.request_id,
    )


@bp.get("/referral")
@bp.alt_response(200, success=True, schema=WidgetReferralSchema)
@bp.errors(404)  # no referral program, or the code is disabled
@bp.arguments(WidgetEligibilityArgs, location="query")
def referral(args):
    """The identified user's referral link, share links and status (clicks, sign-ups, rewards)."""
    locale = pick_locale(args.get("locale"), accept_language=request.headers.get("Accept-Language"))
    return service.referral(g.workspace, _user(args), locale)


@bp.post("/displays")
@bp.alt_response(200, success=True, schema=WidgetDisplayResultSchema)
@bp.errors(404, 410)  # the display token: unknown, expired
@bp.arguments(WidgetDisplaySchema)
def record_display(data):
    """The survey was shown (counts towards response rates)."""
    invitation = service.display(g.workspace, data["display"])
    return {"display_id": invitation.id}


@bp.post("/responses")
@bp.alt_response(200, success=True, schema=WidgetAnswerResultSchema)
@bp.alt_response(201, success=True, schema=WidgetAnswerResultSchema)
@bp.links(201, {"display": "$request.body#/display"}, *ANSWER_TAKERS)
@bp.errors(404, 410)  # the display token: unknown, expired
@bp.arguments(WidgetAnswerSchema)
def answer(data):
    """The score; sent again with the same display it updates the same response."""
    body, created = service.answer(
        g.workspace,
        data["display"],
        data["score"],
        page=data.get("page"),
        user_agent=request.headers.get("User-Agent"),
    )
    return body, 201 if created else 200


@bp.post("/comments")
@bp.alt_response(200, success=True, schema=WidgetCommentResultSchema)
@bp.errors(404, 409, 410)  # the display token: unknown, not answered yet, expired
@bp.arguments(WidgetCommentSchema)
def add_comment(data):
    """The follow-up comment, after the score."""
    response = service.comment(g.workspace, data["display"], data["comment"])
    return {"response_id": response.id}


@bp.post("/declines")
@bp.alt_response(200, success=True, schema=WidgetDeclineResultSchema)
@bp.errors(404, 410)  # the display token: unknown, expired
@bp.arguments(WidgetDisplaySchema)
def record_decline(data):
    """Closed without answering: starts the survey's decline throttle."""
    invitation = service.decline(g.workspace, data["display"])
    return {"display_id": invitation.id, "declined": invitation.declined_at is not None}


settings_bp = ApiBlueprint(
    "widget_settings",
    __name__,
    url_prefix="/v1/widget",
    description="Widget settings: allowed origins and the identity secret for user hashes.",
)


def _settings(workspace: Workspace) -> dict:
    return {
        "allowed_origins": workspace.allowed_origins or [],
        "identity_secret": identity.identity_secret(workspace),
    }


@settings_bp.route("")
class WidgetSettings(MethodView):
    @settings_bp.response(200, WidgetSettingsSchema)
    def get(self):
        """Allowed origins and the identity secret."""
        return _settings(db.session.get(Workspace, auth.current_workspace_id()))

    @settings_bp.arguments(WidgetSettingsSchema)
    @settings_bp.response(200, WidgetSettingsSchema)
    def patch(self, data):
        """Set the origins (scheme://host[:port]) whose pages may use the widgets."""
        workspace = db.session.get(Workspace, auth.current_workspace_id())
        if "allowed_origins" in data:
            workspace.allowed_origins = sorted(
                {cors.normalise_origin(o) for o in data["allowed_origins"]}
            )
        return _settings(workspace)


@settings_bp.post("/identity-secret/rotate")
@settings_bp.response(200, WidgetSettingsSchema)
def rotate_identity_secret():
    """A new identity secret; user hashes made with the old one stop verifying at once."""
    workspace = db.session.get(Workspace, auth.current_workspace_id())
    workspace.identity_secret_version += 1
    return _settings(workspace)
