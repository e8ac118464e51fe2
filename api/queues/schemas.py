from marshmallow import Schema, fields, validate

from api.http.pagination import PageArgs
from api.queues.models import RESURVEY_STATUSES, STATUSES
from api.queues.resurveys import MAX_DAYS as MAX_RESURVEY_DAYS
from api.responses.schemas import ContactBriefSchema

MAX_NOTE = 5000


class QueueItemFilterArgs(PageArgs):
    status = fields.List(
        fields.String(validate=validate.OneOf(STATUSES)),
        metadata={"description": "Repeatable: `status=open&status=claimed`."},
    )
    assignee = fields.String(validate=validate.Length(min=1, max=200))
    due_before = fields.AwareDateTime(
        metadata={"description": "ISO 8601 time with a zone; items due before it."}
    )


class ClaimSchema(Schema):
    assignee = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Who takes the item: a name, email or your user id."},
    )


class ResolveSchema(Schema):
    outcome = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_NOTE),
        metadata={"description": "What was done; kept on the item."},
    )
    resurvey_after_days = fields.Integer(
        validate=validate.Range(min=0, max=MAX_RESURVEY_DAYS),
        metadata={
            "description": "Follow-up items only: ask the contact the same survey again "
            "this many days from now (0: at the worker's next run), on the channel they "
            "answered on (an invitation on email, link or api; the widget shows it "
            "again). Their next answer tells whether they recovered."
        },
    )


class DismissSchema(Schema):
    note = fields.String(allow_none=True, validate=validate.Length(max=MAX_NOTE))


class ItemResponseSchema(Schema):
    id = fields.String()
    score = fields.Integer()
    category = fields.String()
    comment = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ResurveySchema(Schema):
    id = fields.String()
    channel = fields.String(metadata={"description": "The channel the contact answered on."})
    status = fields.String(metadata={"description": f"{', '.join(RESURVEY_STATUSES)}."})
    due_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    invitation_id = fields.String(
        allow_none=True,
        metadata={"description": "The invitation it became (email, link, api), once sent."},
    )
    cancelled_reason = fields.String(
        allow_none=True,
        metadata={
            "description": "unsubscribed, contact_erased, survey_inactive, widget_disabled, "
            "stage_not_targeted or rescheduled (the item was resolved again)."
        },
    )


class QueueItemSchema(Schema):
    id = fields.String()
    queue = fields.String(metadata={"description": "`follow_up` or `advocacy`."})
    status = fields.String(metadata={"description": "open, claimed, done or dismissed."})
    priority = fields.Integer(metadata={"description": "0..100, higher is more urgent."})
    score = fields.Integer()
    assignee = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    due_at = fields.DateTime()
    claimed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    survey_id = fields.String()
    response_id = fields.String()
    response = fields.Nested(ItemResponseSchema)
    contact = fields.Nested(
        ContactBriefSchema,
        allow_none=True,
        metadata={"description": "Null when there is none or it was erased."},
    )
    agreed_to = fields.List(
        fields.String(),
        metadata={
            "description": "The acts of advocacy the contact opted in to (testimonial, review, "
            "referral, case_study, reference_call, advisory_board)."
        },
    )
    resurvey = fields.Nested(
        ResurveySchema,
        allow_none=True,
        metadata={"description": "The item's latest re-survey, if one was scheduled."},
    )
