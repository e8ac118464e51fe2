"""Request and response shapes of surveys and invitations.

Only shape is checked here. Rules that need the survey (categories of its kind,
whether its kind may still change) live in api/surveys/service.py.
"""

import copy

from flask import current_app
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    missing,
    pre_dump,
    pre_load,
    utils,
    validate,
    validates,
    validates_schema,
)

from api.bulk import gc_paused
from api.contacts.schemas import ContactUpsertSchema
from api.http.pagination import PageArgs
from api.lifecycle import STAGES
from api.surveys import service, texts
from api.surveys.models import KINDS

MAX_TEXT = 1000
MAX_SEGMENT_ATTRIBUTES = 5
MAX_BATCH = 10_000
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
        if locale not in texts.LOCALES:
            errors[locale] = [f"Unsupported locale; use one of {', '.join(texts.LOCALES)}."]
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
        validate=validate.Length(max=100),
        metadata={"description": "Fills the `{product}` placeholder."},
    )
    default_locale = fields.String(
        validate=validate.OneOf(texts.LOCALES),
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


def _optional(field: fields.Field) -> fields.Field:
    """The contacts API's own field, not required: a ref may name a contact by id instead."""
    field = copy.copy(field)
    field.required = False
    return field


class InviteeSchema(ContactUpsertSchema):
    """`{"contact_id"}`, `{"external_id"}`, or an inline contact upserted by external_id."""

    class Meta:
        # An invitation never resubscribes anyone: a stale `unsubscribed: false` in a
        # partner's sync must not undo a one-click unsubscribe.
        exclude = ("unsubscribed",)

    contact_id = fields.String(
        validate=validate.Length(min=1, max=32), metadata={"description": "Our contact id."}
    )
    external_id = _optional(ContactUpsertSchema._declared_fields["external_id"])

    @validates_schema
    def _one_way_to_name(self, data: dict, **_kwargs) -> None:
        if "contact_id" in data and len(data) > 1:
            raise ValidationError(
                "Name a contact by contact_id alone, or by external_id with its fields.",
                "contact_id",
            )
        if "contact_id" not in data and "external_id" not in data:
            raise ValidationError("Give contact_id or external_id.", "external_id")


class _Doubt(Exception):
    """The quick load cannot vouch for this item; marshmallow decides."""


def _plain(field: fields.Field) -> bool:
    """No per-field hooks or defaults that the quick load would have to mirror."""
    return (
        not field.pre_load
        and not field.post_load
        and field.data_key is None
        and field.attribute is None
        and not field.required
        and field.load_default is missing
    )


def _run_validators(field: fields.Field, value):
    for validator in field.validators:
        # As marshmallow's And: a plain function may fail by returning False.
        if validator(value) is False:
            raise _Doubt
    return value


def _quick_field(field: fields.Field):
    """`field.deserialize` for plainly valid values (raising _Doubt or ValidationError
    otherwise), spelled out for the field types of a ref and done by marshmallow for
    any other. Its `deserialize` builds an And of the validators per value, which
    was half of the cost of a batch."""
    if not _plain(field):
        return None
    allow_none = field.allow_none

    if type(field) in (fields.String, fields.Email):  # Email adds its validator to the list

        def load_text(value):
            if value is None and allow_none:
                return None
            if type(value) is not str:
                raise _Doubt
            return _run_validators(field, value)

        return load_text
    if (
        type(field) is fields.Dict
        and field.value_field is None
        and type(field.key_field) is fields.String
        and _plain(field.key_field)
        and not field.key_field.validators
    ):

        def load_mapping(value):
            if value is None and allow_none:
                return None
            if type(value) is not dict or not all(type(key) is str for key in value):
                raise _Doubt
            return _run_validators(field, dict(value))

        return load_mapping
    return lambda value: field.deserialize(value)


class _QuickLoad:
    """`schema.load(item)` for the item that is plainly valid, None for any other.

    Loading a batch of 10,000 refs through marshmallow took 0.7 s, mostly its
    per-item and per-field machinery (error stores, getters, an And of the
    validators built per value) rather than the checks themselves. This runs the
    same checks: the schema's own pre_load hooks, per field its type, null and
    own validators, unknown keys refused, the schema's own validates_schema
    hooks, and builds the dict as marshmallow does (fields in declared order).
    It answers None at the first doubt; the caller then loads the whole list
    through marshmallow, so errors are marshmallow's own, word for word. A
    schema using anything this does not mirror (other hooks, data keys, defaults,
    `unknown` other than raise) is never loaded here.
    """

    _MIRRORED_HOOKS = {"pre_load", "validates_schema"}

    def __init__(self, schema: Schema):
        hooks = {tag: entries for tag, entries in schema._hooks.items() if entries}
        self.fields = {name: _quick_field(field) for name, field in schema.load_fields.items()}
        self.usable = (
            set(hooks) <= self._MIRRORED_HOOKS
            # Only per-item hooks without the original data, as called below.
            and not any(
                many or options.get("pass_original")
                for entries in hooks.values()
                for _, many, options in entries
            )
            and schema.unknown == RAISE
            and schema.dict_class is dict
            and not schema.partial
            and None not in self.fields.values()
        )
        self.pre_load = [getattr(schema, name) for name, _, _ in hooks.get("pre_load", ())]
        self.validators = [
            getattr(schema, name) for name, _, _ in hooks.get("validates_schema", ())
        ]

    def __call__(self, item) -> dict | None:
        if type(item) is not dict:
            return None
        try:
            for hook in self.pre_load:
                item = hook(item, many=False, partial=None, unknown=RAISE)
            loaders = self.fields
            if type(item) is not dict or not item.keys() <= loaders.keys():
                return None
            loaded = {name: load(item[name]) for name, load in loaders.items() if name in item}
            for validator in self.validators:
                validator(loaded, many=False, partial=None, unknown=RAISE)
        except (_Doubt, ValidationError):
            return None
        return loaded


class _BatchList(fields.List):
    """A list of nested refs loaded by `_QuickLoad` when every one of them is plainly valid."""

    def _deserialize(self, value, attr, data, **kwargs):
        inner = self.inner
        quick = getattr(self, "_quick", None)
        if quick is None:
            quick = self._quick = _QuickLoad(inner.schema)
        if (
            quick.usable
            and not kwargs
            and isinstance(inner, fields.Nested)
            and inner.unknown is None
            and not inner.many
            and not inner.validators
            and utils.is_collection(value)
        ):
            with gc_paused():
                loaded = [quick(item) for item in value]
            if None not in loaded:
                return loaded
        return super()._deserialize(value, attr, data, **kwargs)


_BATCH_DESCRIPTION = (
    'Each ref is `{"contact_id": "con_..."}` or `{"external_id": "u-1"}`, naming an existing '
    "contact (else it is skipped as contact_not_found), or an inline contact "
    '`{"external_id": "u-1", "email": ..., "first_name": ..., "locale": ..., "attributes": '
    "{...}}`, created or updated first (given fields change, attributes merge). "
    "`unsubscribed` cannot be set here: an invitation never resubscribes anyone."
)


class InvitationRequestSchema(Schema):
    contact = fields.Nested(
        InviteeSchema, metadata={"description": f"One contact. {_BATCH_DESCRIPTION}"}
    )
    contacts = _BatchList(
        fields.Nested(InviteeSchema),
        validate=validate.Length(min=1, max=MAX_BATCH),
        metadata={"description": f"A batch of 1 to {MAX_BATCH:,} contacts. {_BATCH_DESCRIPTION}"},
    )
    channel = fields.String(
        load_default="email",
        validate=validate.OneOf(INVITE_CHANNELS),
        metadata={"description": "How you will deliver the link (default email)."},
    )

    @pre_load
    def _refuse_oversized_batch(self, data, **_kwargs):
        # Say so before validating 10,001 nested contacts one by one.
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
    contact_id = fields.String()
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
    contact = fields.Dict(metadata={"description": "The contact as given, or its ids."})
    reason = fields.String(
        metadata={
            "description": "unsubscribed, stage_not_targeted (the contact's lifecycle stage "
            "is not among target_stages, or is among excluded_stages), recently_responded "
            "(within resurvey_days), recently_declined (within decline_days) or "
            "contact_not_found."
        }
    )


class InvitationCountsSchema(Schema):
    invited = fields.Integer()
    skipped = fields.Integer()


class InvitationBatchSchema(Schema):
    invitations = fields.List(fields.Nested(InvitationLinksSchema))
    skipped = fields.List(fields.Nested(SkippedSchema))
    counts = fields.Nested(InvitationCountsSchema)
