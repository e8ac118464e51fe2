"""Request and response shapes of surveys and invitations.

Only shape is checked here. Rules that need the survey (categories of its kind,
whether its kind may still change) live in api/surveys/service.py.
"""

from flask import current_app
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_dump,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from api.contacts.schemas import REFERENCE_DESCRIPTION, ContactReferenceSchema
from api.http.pagination import PageArgs
from api.i18n.catalogs import LOCALES
from api.lifecycle import STAGES
from api.surveys import service
from api.surveys.models import KINDS

MAX_TEXT = 1000
MAX_SEGMENT_ATTRIBUTES = 5
MAX_BATCH = 100_000
# Channels an invitation can be created for through the API; widget invitations
# are made by the widget API itself.
INVITE_CHANNELS = ("email", "link", "api")

_SINGLE_TEXTS = ("question", "low_label", "high_label")
_PER_CATEGORY_TEXTS = ("follow_up", "thank_you")
_TEXT = validate.Length(min=1, max=MAX_TEXT)


def _locale_texts_shape(value: dict) -> None:
    """One locale's overrides: known keys only, texts of 1..1000 characters.

    Which categories are allowed depends on the survey's kind, so the service
    checks those once it knows the kind.
    """
    errors: dict = {}
    for key, text in value.items():
        if key in _SINGLE_TEXTS:
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
                errors[key] = [f"A text of 1 to {MAX_TEXT} characters."]
        elif key in _PER_CATEGORY_TEXTS:
            if not isinstance(text, dict):
                errors[key] = ['An object of texts by category, like {"detractor": "..."}.']
                continue
            for category, category_text in text.items():
                if not isinstance(category_text, str) or not 1 <= len(category_text) <= MAX_TEXT:
                    errors.setdefault(key, {})[category] = [
                        f"A text of 1 to {MAX_TEXT} characters."
                    ]
        else:
            known = ", ".join((*_SINGLE_TEXTS, *_PER_CATEGORY_TEXTS))
            errors[key] = [f"Unknown text; use {known}."]
    if errors:
        raise ValidationError(errors)


def _texts_shape(value: dict) -> None:
    errors: dict = {}
    for locale, locale_texts in value.items():
        if locale not in LOCALES:
            errors[locale] = [f"Unsupported locale; use one of {', '.join(LOCALES)}."]
        elif locale_texts is None:
            continue  # PATCH: drop this locale's overrides
        elif not isinstance(locale_texts, dict):
            errors[locale] = ["An object of texts."]
        else:
            try:
                _locale_texts_shape(locale_texts)
            except ValidationError as error:
                errors[locale] = error.messages
    if errors:
        raise ValidationError(errors)


_TEXTS_DESCRIPTION = (
    "Your wording, by locale, on top of the built-in texts (English, German, French, "
    'Spanish): `{"de": {"question": "...", "follow_up": {"detractor": "..."}, '
    '"thank_you": {"promoter": "..."}, "low_label": "...", "high_label": "..."}}`. '
    "Categories are those of the kind (nps: promoter, passive, detractor; csat: satisfied, "
    "neutral, unsatisfied; ces: easy, neutral, hard). Texts may use `{first_name}`, "
    "`{last_name}`, `{product}` and any contact attribute, with a fallback as "
    "`{first_name|there}`. On PATCH a locale given replaces that locale's texts and `null` "
    "removes them; other locales stay."
)


class UrlRuleSchema(Schema):
    match = fields.String(
        required=True, validate=validate.OneOf(("contains", "starts_with", "exact"))
    )
    value = fields.String(required=True, validate=validate.Length(min=1, max=500))
    exclude = fields.Boolean(load_default=False)


class SurveyFieldsSchema(Schema):
    """The writable fields of a survey; PATCH takes any of them."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(
        validate=validate.OneOf(KINDS),
        metadata={
            "description": "nps (0-10), csat (1-5) or ces (1-7). Cannot change once the "
            "survey has invitations: links already sent carry one button per score."
        },
    )
    active = fields.Boolean(
        metadata={
            "description": "Inactive surveys accept no new invitations (deactivate "
            "instead of deleting: responses and reports stay)."
        }
    )
    product_name = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "Fills the `{product}` placeholder; the workspace's name (its "
            "first 100 characters) when a survey is created without one."
        },
    )
    default_locale = fields.String(
        validate=validate.OneOf(LOCALES),
        metadata={"description": "Used when the contact's locale is unknown or unsupported."},
    )
    texts = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        validate=_texts_shape,
        metadata={"description": _TEXTS_DESCRIPTION},
    )
    segment_attributes = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        validate=validate.Length(max=MAX_SEGMENT_ATTRIBUTES),
        metadata={"description": "Contact attributes reports can be split by (at most 5)."},
    )
    resurvey_days = fields.Integer(
        validate=validate.Range(min=0, max=3650),
        metadata={
            "description": "Days before a contact who responded is asked again "
            "(default 90; 0: no limit)."
        },
    )
    decline_days = fields.Integer(
        validate=validate.Range(min=0, max=3650),
        metadata={
            "description": "Days before a contact who declined is asked again "
            "(default 30; 0: no limit)."
        },
    )
    link_ttl_days = fields.Integer(
        validate=validate.Range(min=1),
        metadata={
            "description": "Days an invitation link stays valid (default 30, at most "
            "the server's SURVEY_LINK_MAX_AGE_DAYS, 90 unless configured)."
        },
    )

    widget_enabled = fields.Boolean(
        metadata={"description": "Ask this survey in the in-app widget (default false)."}
    )
    allow_anonymous = fields.Boolean(
        metadata={
            "description": "Let the widget ask visitors without a valid user_hash; their "
            "answers are never attached to a contact (default false)."
        }
    )
    sampling_percent = fields.Integer(
        validate=validate.Range(min=0, max=100),
        metadata={"description": "Share of eligible users the widget asks (default 100)."},
    )
    first_seen_delay_days = fields.Integer(
        validate=validate.Range(min=0, max=3650),
        metadata={"description": "Days after a contact is first seen before the widget asks."},
    )
    url_rules = fields.List(
        fields.Nested(UrlRuleSchema),
        validate=validate.Length(max=20),
        metadata={
            "description": "Pages the widget asks on: none means everywhere; include rules "
            "(one must match) and exclude rules (none may match)."
        },
    )
    target_stages = fields.List(
        fields.String(validate=validate.OneOf(STAGES)),
        metadata={
            "description": "Lifecycle stages asked, in the widget and in invitations: "
            "none (the default) means every contact; otherwise only contacts at one of "
            'them (so not those without a stage, nor anonymous visitors). `["customer", '
            '"advocate"]` asks only after ramp-up. Others are skipped as `stage_not_targeted`.'
        },
    )
    excluded_stages = fields.List(
        fields.String(validate=validate.OneOf(STAGES)),
        metadata={
            "description": 'Lifecycle stages never asked: `["onboarding"]` never surveys '
            "during onboarding. Wins over `target_stages`; skipped as `stage_not_targeted`."
        },
    )

    @validates("segment_attributes")
    def _distinct(self, value: list, **_kwargs) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("Name each attribute once.")

    @validates("target_stages", "excluded_stages")
    def _distinct_stages(self, value: list, **_kwargs) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("Name each stage once.")

    @validates("link_ttl_days")
    def _within_max_age(self, value: int, **_kwargs) -> None:
        # Tokens are refused after SURVEY_LINK_MAX_AGE_DAYS whatever the survey says.
        limit = current_app.config["SURVEY_LINK_MAX_AGE_DAYS"]
        if value > limit:
            raise ValidationError(f"At most {limit} days.")


class SurveyCreateSchema(SurveyFieldsSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={
            "description": "nps (0-10), csat (1-5) or ces (1-7); cannot change once "
            "the survey has invitations."
        },
    )


class SurveyPatchSchema(SurveyFieldsSchema):
    pass


class PreviewSchema(Schema):
    locale = fields.String()
    scale = fields.Dict(metadata={"description": 'The scores: {"min": 0, "max": 10}.'})
    question = fields.String()
    follow_up = fields.Dict(keys=fields.String(), values=fields.String())
    thank_you = fields.Dict(keys=fields.String(), values=fields.String())
    low_label = fields.String()
    high_label = fields.String()


class SurveySchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    active = fields.Boolean()
    product_name = fields.String()
    default_locale = fields.String()
    texts = fields.Dict(metadata={"description": "Your overrides by locale, as given."})
    preview = fields.Nested(
        PreviewSchema,
        metadata={
            "description": "The effective texts in the default locale (built-in texts with "
            "your overrides), placeholders left unfilled."
        },
    )
    segment_attributes = fields.List(fields.String())
    resurvey_days = fields.Integer()
    decline_days = fields.Integer()
    link_ttl_days = fields.Integer()
    widget_enabled = fields.Boolean()
    allow_anonymous = fields.Boolean()
    sampling_percent = fields.Integer()
    first_seen_delay_days = fields.Integer()
    url_rules = fields.List(fields.Nested(UrlRuleSchema))
    target_stages = fields.List(fields.String())
    excluded_stages = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    @pre_dump
    def _with_preview(self, survey, **_kwargs) -> dict:
        values = {name: getattr(survey, name) for name in self.fields if name != "preview"}
        return values | {"preview": service.preview(survey)}


class SurveyFilterArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))
    active = fields.Boolean()


# --- invitations ------------------------------------------------------------------------


class InvitationRequestSchema(Schema):
    contact = fields.Nested(
        ContactReferenceSchema, metadata={"description": f"One contact. {REFERENCE_DESCRIPTION}"}
    )
    # One load of the whole list (`many=True`), not one per contact: at 100,000
    # contacts a load per item was a quarter of the request.
    contacts = fields.Nested(
        ContactReferenceSchema,
        many=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
        metadata={
            "description": f"A batch of 1 to {MAX_BATCH:,} contacts. {REFERENCE_DESCRIPTION}"
        },
    )
    channel = fields.String(
        load_default="email",
        validate=validate.OneOf(INVITE_CHANNELS),
        metadata={"description": "How you will deliver the link (default email)."},
    )

    @pre_load
    def _refuse_oversized_batch(self, data, **_kwargs):
        # Say so before validating 100,001 nested contacts one by one.
        batch = data.get("contacts") if isinstance(data, dict) else None
        if isinstance(batch, list) and len(batch) > MAX_BATCH:
            raise ValidationError(f"At most {MAX_BATCH:,} contacts per call.", "contacts")
        return data

    @validates_schema
    def _exactly_one(self, data: dict, **_kwargs) -> None:
        if ("contact" in data) == ("contacts" in data):
            raise ValidationError("Give either `contact` or `contacts`.", "contacts")


class InvitationLinksSchema(Schema):
    id = fields.String()
    # An anonymous visitor's invitation (the widget, where the survey allows them)
    # names no contact.
    contact_id = fields.String(allow_none=True)
    # A contact made from an email alone has no external id.
    external_id = fields.String(allow_none=True)
    url = fields.String(
        metadata={
            "description": "The survey link: our hosted page `/s/<token>`. The token is "
            "signed, names this invitation only, and expires at `expires_at`."
        }
    )
    score_urls = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "One link per score of the kind (`url?score=N`: 11 for NPS 0-10, "
            "5 for CSAT 1-5, 7 for CES 1-7). Opening one shows the page with that score "
            "chosen and submits it by POST; a bare GET (a mail scanner) records nothing."
        },
    )
    expires_at = fields.DateTime()
    unsubscribe_url = fields.String(
        metadata={"description": "The contact's preference page `/p/<token>`."}
    )
    email_html = fields.String(
        metadata={
            "description": "A ready email block: table layout with inline styles (Gmail, "
            "Outlook), the question in the contact's locale with placeholders filled and "
            "escaped, one button per score, and an unsubscribe footer."
        }
    )
    email_text = fields.String(metadata={"description": "The plain-text alternative."})
    email_headers = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "Headers to send with the email for RFC 8058 one-click "
            "unsubscribe: `List-Unsubscribe: <unsubscribe_url>` and "
            "`List-Unsubscribe-Post: List-Unsubscribe=One-Click`; mail clients then POST "
            "to the URL and the contact is unsubscribed from every survey."
        },
    )


class SkippedSchema(Schema):
    contact = fields.Dict(
        metadata={"description": "The contact as given, or its ids; `{}` once it is erased."}
    )
    reason = fields.String(
        metadata={
            "description": "unsubscribed, stage_not_targeted (the contact's lifecycle stage "
            "is not among target_stages, or is among excluded_stages), recently_responded "
            "(within resurvey_days), recently_declined (within decline_days), "
            "contact_not_found, or erased (the contact was erased while the batch waited: "
            "its reference was taken out of the batch, and `contact` is `{}`)."
        }
    )


class InvitationCountsSchema(Schema):
    invited = fields.Integer()
    skipped = fields.Integer()


class BatchErrorSchema(Schema):
    code = fields.String()
    message = fields.String()


class InvitationBatchSchema(Schema):
    id = fields.String()
    survey_id = fields.String()
    channel = fields.String()
    status = fields.String(
        metadata={
            "description": "queued, running, done or failed. Counts and `skipped` grow "
            "while it runs; its invitations are complete once it is done."
        }
    )
    size = fields.Integer(metadata={"description": "How many contacts the request named."})
    counts = fields.Nested(InvitationCountsSchema)
    skipped = fields.List(fields.Nested(SkippedSchema))
    error = fields.Nested(
        BatchErrorSchema,
        allow_none=True,
        metadata={"description": "Why a failed batch stopped (`survey_inactive`, say)."},
    )
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    invitations = fields.List(
        fields.Nested(InvitationLinksSchema),
        metadata={
            "description": "Only in the answer to a batch done at once (201): its "
            "invitations, as the pages of `GET /v1/invitation-batches/{id}/invitations` "
            "give them."
        },
    )
