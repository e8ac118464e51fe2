from dataclasses import dataclass, field

from flask.views import MethodView

from api.advocacy import advocates, asks, reviews, settings, testimonials
from api.advocacy.models import ReviewRequest, Testimonial
from api.advocacy.schemas import (
    ActCreateSchema,
    ActFilterArgs,
    ActSchema,
    ActsSchema,
    AdvocacySettingsSchema,
    AdvocateFilterArgs,
    AdvocateProfileSchema,
    AdvocateSchema,
    AskResultSchema,
    AskSchema,
    NewReviewRequestSchema,
    OptInResultSchema,
    OptOutSchema,
    ReviewedSchema,
    ReviewReportSchema,
    ReviewRequestCreateSchema,
    ReviewRequestFilterArgs,
    ReviewRequestSchema,
    TestimonialCreateSchema,
    TestimonialFilterArgs,
    TestimonialModerateSchema,
    TestimonialSchema,
)
from api.contacts import references
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.database import utcnow
from api.domain_errors import NotFound
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.pagination import page_of, paginate
from api.referrals.schemas import PeriodArgs
from api.referrals.stats import since_of
from api.responses import service as responses

bp = ApiBlueprint(
    "advocacy",
    __name__,
    url_prefix="/v1",
    description="Advocacy: testimonials with consent, review requests (never gated), "
    "advocates' opt-ins, the ask cap and acts of advocacy.",
)


# --- settings ---------------------------------------------------------------------------


def _settings_view(found) -> dict:
    return {
        "review_ask": found.review_ask,
        "review_destinations": found.review_destinations or [],
        "ask_cooldown_days": found.ask_cooldown_days,
        "wall_url": settings.wall_url(found.workspace_id),
        "updated_at": found.updated_at,
    }


@bp.route("/advocacy-settings")
class AdvocacySettings(MethodView):
    @bp.response(200, AdvocacySettingsSchema)
    def get(self):
        """The review ask, review destinations and the ask cooldown (defaults until saved)."""
        return _settings_view(settings.settings_of(current_workspace_id()))

    @bp.arguments(AdvocacySettingsSchema)
    @bp.response(200, AdvocacySettingsSchema)
    def patch(self, data):
        """Change the given settings.

        `review_ask` is `everyone` or `off`. Any value that would ask only some
        respondents (promoters, a score) is refused with 422 `review_gating`:
        selectively asking happy customers for reviews breaks Google's review
        policy and the FTC rule on consumer reviews (16 CFR 465).
        """
        return _settings_view(settings.update_settings(current_workspace_id(), data))


# --- testimonials -----------------------------------------------------------------------


@dataclass
class TestimonialView:
    testimonial: Testimonial
    tags: list[str] = field(default_factory=list)

    @property
    def public(self) -> bool:
        return testimonials.is_public(self.testimonial)

    @property
    def consent(self) -> Testimonial:
        return self.testimonial

    def __getattr__(self, name):
        return getattr(self.testimonial, name)


def _testimonial_views(rows: list[Testimonial]) -> list[TestimonialView]:
    tags = testimonials.tags_of([row.id for row in rows])
    return [TestimonialView(row, tags.get(row.id, [])) for row in rows]


def _contact(ref: dict) -> Contact:
    return references.resolve(current_workspace_id(), ref)


def _response_of(contact: Contact, response_id: str | None):
    if response_id is None:
        return None
    response = responses.get_response(current_workspace_id(), response_id)
    if response is None or response.contact_id != contact.id:
        raise NotFound("No such response of this contact.")
    return response


@bp.route("/testimonials")
class Testimonials(MethodView):
    @bp.arguments(TestimonialFilterArgs, location="query")
    @bp.response(200, page_of(TestimonialSchema))
    def get(self, args):
        """List testimonials, oldest first; `status=pending` is the moderation queue."""
        page = paginate(testimonials.filter_testimonials(current_workspace_id(), args), args)
        page["data"] = _testimonial_views(page["data"])
        return page

    @bp.arguments(TestimonialCreateSchema)
    @bp.response(201, TestimonialSchema)
    @bp.errors(404)  # the contact it names
    def post(self, data):
        """Add a testimonial collected elsewhere, with the consent record you kept.

        It starts `pending`; the consent's wording, time and locale are stored as given.
        """
        contact = _contact(data["contact"])
        created = testimonials.add_by_api(
            contact, data, _response_of(contact, data.get("response_id"))
        )
        return _testimonial_views([created])[0]


@bp.route("/testimonials/<testimonial_id>")
class TestimonialById(MethodView):
    @bp.response(200, TestimonialSchema)
    def get(self, testimonial_id):
        """One testimonial, with its consent record."""
        return _testimonial_views(
            [testimonials.get_testimonial(current_workspace_id(), testimonial_id)]
        )[0]

    @bp.arguments(TestimonialModerateSchema)
    @bp.response(200, TestimonialSchema)
    @bp.errors(409)  # consent withdrawn
    def patch(self, data, testimonial_id):
        """Moderate: `status` (pending, approved, rejected), `featured`, `tags`.

        The words and names are the person's and cannot be changed; a testimonial
        whose consent was withdrawn cannot be approved (409 `consent_withdrawn`).
        """
        found = testimonials.get_testimonial(current_workspace_id(), testimonial_id)
        return _testimonial_views([testimonials.moderate(found, data)])[0]


@bp.post("/testimonials/<testimonial_id>/withdraw")
@bp.response(200, TestimonialSchema)
def withdraw_testimonial(testimonial_id):
    """Record that the person withdrew consent: off the public API at once, off the
    wall page and widget within TESTIMONIAL_CACHE_SECONDS; it can never be approved again."""
    found = testimonials.get_testimonial(current_workspace_id(), testimonial_id)
    testimonials.withdraw(found, "api")
    return _testimonial_views([found])[0]


# --- review requests --------------------------------------------------------------------


@dataclass
class NewRequestView:
    request: ReviewRequest
    url: str
    destinations: list[dict]
    email_html: str
    email_text: str

    def __getattr__(self, name):
        return getattr(self.request, name)


@bp.route("/review-requests")
class ReviewRequests(MethodView):
    @bp.arguments(ReviewRequestFilterArgs, location="query")
    @bp.response(200, page_of(ReviewRequestSchema))
    def get(self, args):
        """List review requests, oldest first, from every channel."""
        return paginate(reviews.filter_requests(current_workspace_id(), args), args)

    @bp.arguments(ReviewRequestCreateSchema)
    @bp.response(201, NewReviewRequestSchema)
    @bp.errors(404)  # the contact it names
    def post(self, data):
        """Ask a contact for a review by your own email (or in your app): tracked links
        and a ready email block.

        Within the ask cap (409 `ask_capped`, with when to ask again), whatever the
        contact's scores; 409 `review_ask_off` when the workspace asks for no reviews.
        """
        contact = _contact(data["contact"])
        response = _response_of(contact, data.get("response_id"))
        request = reviews.request_by_api(contact, data["channel"], response)
        product = data.get("product") or reviews.product_name(
            contact.workspace_id, response.survey_id if response is not None else None
        )
        return NewRequestView(request, **reviews.for_sending(request, contact, product))


@bp.route("/review-requests/report")
class ReviewReport(MethodView):
    @bp.arguments(PeriodArgs, location="query")
    @bp.response(200, ReviewReportSchema)
    def get(self, args):
        """Asks, click-throughs and self-reported reviews, by channel, category and site."""
        return reviews.report(current_workspace_id(), since_of(args["period"])) | {
            "period": args["period"]
        }


@bp.route("/review-requests/<review_request_id>")
class ReviewRequestById(MethodView):
    @bp.response(200, ReviewRequestSchema)
    def get(self, review_request_id):
        """One review request and what came of it."""
        return reviews.get_request(current_workspace_id(), review_request_id)


@bp.post("/review-requests/<review_request_id>/reviewed")
@bp.arguments(ReviewedSchema)
@bp.response(200, ReviewRequestSchema)
def request_reviewed(data, review_request_id):
    """The person told you they left the review (optionally where): recorded once, as an act."""
    request = reviews.get_request(current_workspace_id(), review_request_id)
    reviews.mark_reviewed(request, data.get("destination_id"), "api")
    return request


# --- advocates --------------------------------------------------------------------------


def _found_contact(external_id: str) -> Contact:
    return contacts.require_contact(current_workspace_id(), external_id)


@bp.route("/advocates")
class Advocates(MethodView):
    @bp.arguments(AdvocateFilterArgs, location="query")
    @bp.response(200, page_of(AdvocateSchema))
    def get(self, args):
        """Contacts who opted in to acts of advocacy (or to `act`), with what they agreed to."""
        workspace_id = current_workspace_id()
        page = paginate(advocates.advocates(workspace_id, args), args)
        agreed = advocates.agreed_acts(workspace_id, [c.id for c in page["data"]])
        page["data"] = [{"contact": c, "acts": agreed.get(c.id, [])} for c in page["data"]]
        return page


@bp.route("/advocates/<external_id>")
class AdvocateByExternalId(MethodView):
    @bp.arguments(PeriodArgs, location="query")
    @bp.response(200, AdvocateProfileSchema)
    def get(self, args, external_id):
        """A contact's advocacy: each act agreed to, last asked, next allowed ask, done
        (reviews, testimonials, ...), and their referral figures, in the period."""
        return advocates.profile(_found_contact(external_id), args["period"])


@bp.post("/advocates/<external_id>/opt-in")
@bp.arguments(ActsSchema)
@bp.response(200, OptInResultSchema)
def opt_in(data, external_id):
    """The contact agrees to be asked for these acts (adds to what they agreed to)."""
    contact = _found_contact(external_id)
    changed = advocates.opt_in(contact, data["acts"], "api")
    return {"acts": _agreed(contact), "changed": changed}


@bp.post("/advocates/<external_id>/opt-out")
@bp.arguments(OptOutSchema)
@bp.response(200, OptInResultSchema)
def opt_out(data, external_id):
    """The contact withdraws these acts (or, without `acts`, all of them)."""
    contact = _found_contact(external_id)
    changed = advocates.opt_out(contact, data.get("acts"), "api")
    return {"acts": _agreed(contact), "changed": changed}


def _agreed(contact: Contact) -> list[str]:
    return advocates.agreed_acts(contact.workspace_id, [contact.id]).get(contact.id, [])


@bp.post("/advocates/<external_id>/asks")
@bp.arguments(AskSchema)
@bp.response(200, AskResultSchema)
def ask(data, external_id):
    """Claim an ask before you make it yourself (a case study, a reference call).

    The same cap every channel keeps: 409 `ask_capped` if the contact was asked for
    this act within `ask_cooldown_days`, by any channel.
    """
    contact = _found_contact(external_id)
    cooldown = settings.settings_of(contact.workspace_id).ask_cooldown_days
    now = utcnow()
    ask = asks.Ask(contact.workspace_id, contact.id, data["act"], data["channel"])
    again = asks.claim_or_refuse(ask, cooldown, now)
    return {"act": data["act"], "asked_at": now, "next_ask_at": again}


# --- acts -------------------------------------------------------------------------------


@bp.route("/advocacy-acts")
class AdvocacyActs(MethodView):
    @bp.arguments(ActFilterArgs, location="query")
    @bp.response(200, page_of(ActSchema))
    def get(self, args):
        """Acts of advocacy done, oldest first: reviews left, testimonials published, ..."""
        return paginate(advocates.filter_acts(current_workspace_id(), args), args)

    @bp.arguments(ActCreateSchema)
    @bp.response(201, ActSchema)
    @bp.errors(404)  # the contact it names
    def post(self, data):
        """Record an act done (a case study, a reference call, a review you know of).

        Self-reported reviews and approved testimonials are recorded by themselves.
        """
        act, _created = advocates.record_act(
            _contact(data["contact"]),
            data["act"],
            "api",
            destination=data.get("destination"),
            note=data.get("note"),
            occurred_at=data.get("occurred_at"),
        )
        return act
