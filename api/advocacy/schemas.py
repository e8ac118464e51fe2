from marshmallow import Schema, fields, validate

from api.advocacy.models import ACTS, CHANNELS, REVIEW_ASK_VALUES, TESTIMONIAL_STATUSES
from api.advocacy.settings import MAX_DESTINATIONS
from api.advocacy.testimonials import MAX_NAME, MAX_TEXT
from api.contacts.schemas import REFERENCE_DESCRIPTION, ContactReferenceSchema
from api.http.pagination import PageArgs
from api.responses.schemas import ContactBriefSchema

ACT = validate.OneOf(ACTS)
ID = validate.Length(max=32)
TAG = fields.String(validate=validate.Length(min=1, max=50))


# --- settings ---------------------------------------------------------------------------


class DestinationSchema(Schema):
    id = fields.String(
        validate=ID, metadata={"description": "Keep an existing destination (and its links)."}
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AdvocacySettingsSchema(Schema):
    review_ask = fields.Raw(
        allow_none=True,  # refused by the service, with the reason
        metadata={
            "type": "string",
            "enum": list(REVIEW_ASK_VALUES),
            "description": "`everyone` or `off`. A subset (promoters only, a score) is refused "
            "with 422 `review_gating`: it is review gating (Google's review policy, the FTC rule "
            "16 CFR 465).",
        },
    )
    review_destinations = fields.List(
        fields.Nested(DestinationSchema),
        validate=validate.Length(max=MAX_DESTINATIONS),
        metadata={
            "description": "Where reviews go (G2, Capterra, Google, an app store), in order."
        },
    )
    ask_cooldown_days = fields.Integer(
        validate=validate.Range(min=0, max=3650),
        metadata={
            "description": "Nobody is asked for the same act twice within this many days, "
            "by any channel (default 90; 0: no cap)."
        },
    )
    wall_url = fields.String(dump_only=True, metadata={"description": "The hosted wall page."})
    updated_at = fields.DateTime(dump_only=True, allow_none=True)


# --- testimonials -----------------------------------------------------------------------


class ConsentInSchema(Schema):
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=5000),
        metadata={"description": "The exact wording the person agreed to."},
    )
    given_at = fields.AwareDateTime(metadata={"description": "When (default: now)."})
    locale = fields.String(validate=validate.Length(max=16))


class ConsentSchema(Schema):
    text = fields.String(attribute="consent_text")
    channel = fields.String(attribute="consent_channel")
    locale = fields.String(attribute="consent_locale", allow_none=True)
    given_at = fields.DateTime(attribute="consented_at")
    withdrawn_at = fields.DateTime(allow_none=True)


class TestimonialCreateSchema(Schema):
    contact = fields.Nested(
        ContactReferenceSchema, required=True, metadata={"description": REFERENCE_DESCRIPTION}
    )
    response_id = fields.String(validate=ID)
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME))
    role = fields.String(allow_none=True, validate=validate.Length(max=MAX_NAME))
    company = fields.String(allow_none=True, validate=validate.Length(max=MAX_NAME))
    tags = fields.List(TAG, validate=validate.Length(max=20))
    consent = fields.Nested(ConsentInSchema, required=True)


class TestimonialModerateSchema(Schema):
    status = fields.String(validate=validate.OneOf(TESTIMONIAL_STATUSES))
    featured = fields.Boolean()
    tags = fields.List(TAG, validate=validate.Length(max=20))


class TestimonialSchema(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "pending, approved or rejected."})
    public = fields.Boolean(
        metadata={"description": "Approved and consent standing: shown on the wall."}
    )
    featured = fields.Boolean()
    tags = fields.List(fields.String())
    text = fields.String()
    display_name = fields.String()
    role = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    score = fields.Integer(allow_none=True)
    kind = fields.String(allow_none=True)
    contact_id = fields.String()
    survey_id = fields.String(allow_none=True)
    response_id = fields.String(allow_none=True)
    consent = fields.Nested(ConsentSchema)
    moderated_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TestimonialFilterArgs(PageArgs):
    status = fields.List(fields.String(validate=validate.OneOf(TESTIMONIAL_STATUSES)))
    tag = fields.String(validate=validate.Length(max=50))
    survey_id = fields.String(validate=ID)
    contact_id = fields.String(validate=ID)
    featured = fields.Boolean()
    public = fields.Boolean()


class PublicTestimonialArgs(Schema):
    # The wall's query string is the same for every visitor of a page: loaded once.
    shared_query = True

    key = fields.String(metadata={"description": "The publishable key (pk_...)."})
    tag = fields.String(validate=validate.Length(max=50))
    survey_id = fields.String(validate=ID)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class PublicTestimonialSchema(Schema):
    id = fields.String()
    text = fields.String()
    name = fields.String()
    role = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    score = fields.Integer(allow_none=True)
    max_score = fields.Integer(allow_none=True)
    kind = fields.String(allow_none=True)
    date = fields.String(metadata={"description": "The day consent was given, YYYY-MM-DD."})
    featured = fields.Boolean()
    tags = fields.List(fields.String())
    survey_id = fields.String(allow_none=True)


class PublicTestimonialListSchema(Schema):
    data = fields.List(fields.Nested(PublicTestimonialSchema))


# --- review requests --------------------------------------------------------------------


class TrackedDestinationSchema(Schema):
    id = fields.String()
    name = fields.String()
    url = fields.String(metadata={"description": "Our tracked link: counts the click, redirects."})


class ReviewRequestSchema(Schema):
    id = fields.String()
    contact_id = fields.String()
    response_id = fields.String(allow_none=True)
    survey_id = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    channel = fields.String()
    first_clicked_at = fields.DateTime(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    reviewed_destination_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class NewReviewRequestSchema(ReviewRequestSchema):
    """Links are signed when the request is made, and handed out then (like invitations')."""

    url = fields.String(metadata={"description": "The review page: sites, and 'I left a review'."})
    destinations = fields.List(fields.Nested(TrackedDestinationSchema))
    email_html = fields.String(metadata={"description": "A ready email HTML block."})
    email_text = fields.String()


class ReviewRequestCreateSchema(Schema):
    contact = fields.Nested(
        ContactReferenceSchema, required=True, metadata={"description": REFERENCE_DESCRIPTION}
    )
    response_id = fields.String(validate=ID)
    channel = fields.String(load_default="email", validate=validate.OneOf(("email", "api")))
    product = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The name to ask about (default: the survey's, else ours)."},
    )


class ReviewRequestFilterArgs(PageArgs):
    contact_id = fields.String(validate=ID)
    channel = fields.List(fields.String(validate=validate.OneOf(CHANNELS)))


class ReviewedSchema(Schema):
    destination_id = fields.String(allow_none=True, validate=ID)


class ReviewFiguresSchema(Schema):
    asks = fields.Integer()
    clicked = fields.Integer(metadata={"description": "Asks followed by a click."})
    reviews = fields.Integer(metadata={"description": "Self-reported: 'I left a review'."})
    click_rate = fields.Float(allow_none=True)
    review_rate = fields.Float(allow_none=True)


class DestinationFiguresSchema(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    clicks = fields.Integer()
    reviews = fields.Integer()


class ReviewReportSchema(ReviewFiguresSchema):
    period = fields.String()
    by_channel = fields.Dict(keys=fields.String(), values=fields.Nested(ReviewFiguresSchema))
    by_category = fields.Dict(keys=fields.String(), values=fields.Nested(ReviewFiguresSchema))
    by_destination = fields.List(fields.Nested(DestinationFiguresSchema))


# --- advocates and acts -----------------------------------------------------------------


class ActsSchema(Schema):
    acts = fields.List(
        fields.String(validate=ACT), required=True, validate=validate.Length(min=1, max=len(ACTS))
    )


class OptOutSchema(Schema):
    acts = fields.List(
        fields.String(validate=ACT),
        validate=validate.Length(min=1, max=len(ACTS)),
        metadata={"description": "Leave out to opt out of everything."},
    )


class AdvocateSchema(Schema):
    contact = fields.Nested(ContactBriefSchema)
    acts = fields.List(fields.String(), metadata={"description": "What they agreed to."})


class AdvocateActSchema(Schema):
    act = fields.String()
    opted_in = fields.Boolean()
    opted_in_at = fields.DateTime(allow_none=True)
    last_asked_at = fields.DateTime(allow_none=True)
    next_ask_at = fields.DateTime(
        allow_none=True, metadata={"description": "Null: may be asked now."}
    )
    done = fields.Integer(metadata={"description": "Acts of this kind done in the period."})


class AdvocateReferralsSchema(Schema):
    code = fields.String(allow_none=True)
    clicks = fields.Integer()
    signups = fields.Integer()
    conversions = fields.Integer()


class AdvocateProfileSchema(Schema):
    contact = fields.Nested(ContactBriefSchema)
    period = fields.String()
    acts = fields.List(fields.Nested(AdvocateActSchema))
    referrals = fields.Nested(AdvocateReferralsSchema)


class OptInResultSchema(Schema):
    acts = fields.List(fields.String(), metadata={"description": "What they agree to now."})
    changed = fields.List(fields.String())


class AdvocateFilterArgs(PageArgs):
    act = fields.List(fields.String(validate=ACT))


class AskSchema(Schema):
    act = fields.String(required=True, validate=ACT)
    channel = fields.String(load_default="api", validate=validate.OneOf(CHANNELS))


class AskResultSchema(Schema):
    act = fields.String()
    asked_at = fields.DateTime()
    next_ask_at = fields.DateTime()


class ActCreateSchema(Schema):
    contact = fields.Nested(
        ContactReferenceSchema, required=True, metadata={"description": REFERENCE_DESCRIPTION}
    )
    act = fields.String(required=True, validate=ACT)
    destination = fields.String(
        validate=validate.Length(max=100), metadata={"description": "Where (G2, a webinar...)."}
    )
    note = fields.String(validate=validate.Length(max=2000))
    occurred_at = fields.AwareDateTime(metadata={"description": "When (default: now)."})


class ActSchema(Schema):
    id = fields.String()
    contact_id = fields.String()
    act = fields.String()
    subject_id = fields.String(allow_none=True)
    destination = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    source = fields.String()
    occurred_at = fields.DateTime()
    created_at = fields.DateTime()


class ActFilterArgs(PageArgs):
    act = fields.List(fields.String(validate=ACT))
    contact_id = fields.String(validate=ID)
