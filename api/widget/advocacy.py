"""The widget's asks after an answer, and the published testimonials for the wall widget.

On the survey widget's thank-you step the widget asks `POST /w/v1/asks` with its
display token: the asks are made there (within the ask cap) and come back in the
visitor's words, the same ones the hosted thank-you page shows. Giving a
testimonial, saying "I left a review" and opting in present the same display,
so only the identified user it was made for can act on it.

`GET /public/v1/testimonials` is the wall's read: a publishable key, the
workspace's allowed origins, the widget API's limits, and an answer remembered
per worker for TESTIMONIAL_CACHE_SECONDS.
"""

from dataclasses import dataclass

from flask import current_app, g
from marshmallow import fields, validate

from api import recent
from api.advocacy import advocates, offers, reviews, testimonials
from api.advocacy.models import ACTS
from api.advocacy.schemas import PublicTestimonialArgs, PublicTestimonialListSchema
from api.contacts.models import Contact
from api.domain_errors import Conflict, NotFound
from api.extensions import db
from api.i18n.catalogs import UI
from api.i18n.negotiation import pick_locale
from api.responses import service as responses
from api.responses.models import Response
from api.surveys.models import Survey
from api.widget import service
from api.widget.routes import WidgetBlueprint, bp
from api.widget.schemas import (
    WidgetAsksSchema,
    WidgetDisplaySchema,
    WidgetOptInResultSchema,
    WidgetReviewedResultSchema,
    WidgetTestimonialResultSchema,
)

# The strings the widget's asks show besides those the answer carries.
ASK_UI_KEYS = (
    "testimonial_text_label",
    "testimonial_name_label",
    "testimonial_role_label",
    "testimonial_company_label",
    "testimonial_submit",
    "testimonial_thanks",
    "testimonial_incomplete",
    "consent_required",
    "withdraw_link",
    "review_done_button",
    "review_thanks",
    "advocate_submit",
    "advocate_thanks",
)


class WidgetTestimonialSchema(WidgetDisplaySchema):
    text = fields.String(required=True, validate=validate.Length(max=testimonials.MAX_TEXT))
    display_name = fields.String(required=True, validate=validate.Length(max=testimonials.MAX_NAME))
    role = fields.String(allow_none=True, validate=validate.Length(max=testimonials.MAX_NAME))
    company = fields.String(allow_none=True, validate=validate.Length(max=testimonials.MAX_NAME))
    consent = fields.Boolean(required=True, metadata={"description": "The box was ticked."})
    consent_hash = fields.String(
        required=True,
        validate=validate.Length(max=64),
        metadata={"description": "The `consent_hash` of the wording shown."},
    )


class WidgetReviewedSchema(WidgetDisplaySchema):
    destination_id = fields.String(allow_none=True, validate=validate.Length(max=32))


class WidgetOptInSchema(WidgetDisplaySchema):
    acts = fields.List(
        fields.String(validate=validate.OneOf(ACTS)),
        required=True,
        validate=validate.Length(min=1, max=len(ACTS)),
    )


@dataclass
class Answered:
    """A display that was answered: its response, identified contact and survey."""

    response: Response
    contact: Contact | None
    survey: Survey
    locale: str

    def presented(self) -> dict:
        return offers.presented(
            self.response, self.contact, self.survey.kind, self.locale, self.survey.product_name
        )


def _answered(token: str) -> Answered:
    invitation = service.display(g.workspace, token)
    response = responses.response_for_invitation(invitation.id)
    if response is None:
        raise Conflict("Submit the score first.", code="no_score_yet")
    contact = db.session.get(Contact, invitation.contact_id) if invitation.contact_id else None
    survey = db.session.get(Survey, invitation.survey_id)
    return Answered(response, contact, survey, pick_locale(invitation.locale))


def _identified(answered: Answered) -> Contact:
    if answered.contact is None or answered.contact.erased_at is not None:
        raise Conflict(
            "Only an identified user (user_id and user_hash) can do this.", code="identity_required"
        )
    return answered.contact


def _asks(answered: Answered) -> dict:
    ui = UI[answered.locale]
    return answered.presented() | {"ui": {key: ui[key] for key in ASK_UI_KEYS}}


@bp.post("/asks")
@bp.alt_response(200, success=True, schema=WidgetAsksSchema)
@bp.errors(404, 409, 410)  # the display: unknown, not answered or anonymous, expired
@bp.arguments(WidgetDisplaySchema)
def asks(data):
    """After the answer (and comment): the review ask (to every respondent, or none),
    and for promoters the testimonial consent form and the advocate opt-in."""
    answered = _answered(data["display"])
    offers.make(answered.response, answered.contact, answered.survey.kind, "widget")
    return _asks(answered)


@bp.post("/testimonials")
@bp.alt_response(200, success=True, schema=WidgetTestimonialResultSchema)
@bp.alt_response(201, success=True, schema=WidgetTestimonialResultSchema)
@bp.errors(404, 409, 410)  # the display: unknown, not answered or anonymous, expired
@bp.arguments(WidgetTestimonialSchema)
def give_testimonial(data):
    """The visitor agrees to be quoted: their words, the name to show, and the consent
    checkbox (with the hash of its wording, so what is stored is what was shown)."""
    answered = _answered(data["display"])
    contact = _identified(answered)
    testimonial, created = testimonials.give(
        answered.response,
        contact,
        data,
        channel="widget",
        locale=answered.locale,
        product=answered.survey.product_name,
    )
    body = {"id": testimonial.id, "status": testimonial.status}
    return body, 201 if created else 200


@bp.post("/reviews")
@bp.alt_response(200, success=True, schema=WidgetReviewedResultSchema)
@bp.errors(404, 409, 410)  # the display: unknown, not answered or anonymous, expired
@bp.arguments(WidgetReviewedSchema)
def reviewed(data):
    """The visitor says they left a review (optionally where)."""
    answered = _answered(data["display"])
    request = reviews.request_for_response(answered.response.id)
    if request is None or request.contact_id != _identified(answered).id:
        raise NotFound("This answer was not followed by a review ask.")
    reviews.mark_reviewed(request, data.get("destination_id"), "widget")
    return {"reviewed": True}


@bp.post("/advocates")
@bp.alt_response(200, success=True, schema=WidgetOptInResultSchema)
@bp.errors(404, 409, 410)  # the display: unknown, not answered or anonymous, expired
@bp.arguments(WidgetOptInSchema)
def opt_in(data):
    """The visitor agrees to be asked for these acts of advocacy."""
    contact = _identified(_answered(data["display"]))
    advocates.opt_in(contact, data["acts"], "widget")
    return {"acts": sorted(advocates.opted_in(contact.id), key=ACTS.index)}


public_bp = WidgetBlueprint(
    "public",
    __name__,
    url_prefix="/public/v1",
    description="Public reads for pages: a publishable key, allowed origins only.",
)


@public_bp.get("/testimonials")
# An instance: webargs would build a schema from the class on every request (40 µs).
@public_bp.arguments(PublicTestimonialArgs(), location="query")
@public_bp.response(200, PublicTestimonialListSchema)
def public_testimonials(args):
    """Published testimonials (approved, consent standing): featured first, then newest.

    What the wall widget shows. Remembered per worker for TESTIMONIAL_CACHE_SECONDS
    (60 by default, never more than 300): a withdrawal or an erasure reaches this
    answer within that time.
    """
    key = (g.workspace_id, args.get("tag"), args.get("survey_id"), args["limit"])
    # The body is dumped once per cache time: the hottest public read does no more.
    body = recent.memory("public_testimonials_body", testimonials.cache_seconds()).get(
        key, lambda: _public_body(*key)
    )
    return current_app.response_class(body, mimetype="application/json")


def _public_body(workspace_id: str, tag: str | None, survey_id: str | None, limit: int) -> bytes:
    rows = testimonials.public(workspace_id, tag, survey_id, limit)
    return current_app.json.dumps(PublicTestimonialListSchema().dump({"data": rows})).encode()
