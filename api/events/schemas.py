from marshmallow import Schema, fields, validate

from api.events.service import TYPES
from api.http.pagination import PageArgs


class EventFeedArgs(PageArgs):
    type = fields.List(
        fields.String(validate=validate.OneOf(TYPES)),
        metadata={"description": "Repeatable: `type=response.created&type=response.updated`."},
    )


class EventSchema(Schema):
    # A string, like every other id: feed ids may outgrow what JavaScript numbers hold exactly.
    id = fields.String()
    type = fields.String()
    subject_id = fields.String(metadata={"description": "The id of the object that changed."})
    data = fields.Dict()
    created_at = fields.DateTime()
