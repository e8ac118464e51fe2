import re
from collections.abc import Callable
from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, validate

from api.database import utcnow
from api.reports import retention
from api.reports.service import DEFAULT_DAYS, INTERVALS, default_period, period_problem


class PeriodArgs(Schema):
    """`from`/`to` of a report: the defaults and the rule come from the report's module."""

    default_period: Callable[[date], tuple[date, date]]
    period_problem: Callable[[date, date], str | None]

    @post_load
    def _fill_period(self, data, **_kwargs):
        # Defaults depend on the day of the request, so they are filled here, not declared.
        if "end" not in data:
            data["end"] = self.default_period(utcnow().date())[1]
        if "start" not in data:
            data["start"] = self.default_period(data["end"])[0]
        problem = self.period_problem(data["start"], data["end"])
        if problem:
            raise ValidationError(problem, "from")
        return data


class ReportArgs(PeriodArgs):
    default_period = staticmethod(default_period)
    period_problem = staticmethod(period_problem)

    start = fields.Date(
        data_key="from",
        metadata={
            "description": f"First day, YYYY-MM-DD, UTC (default: {DEFAULT_DAYS - 1} days "
            "before `to`)."
        },
    )
    end = fields.Date(
        data_key="to",
        metadata={"description": "Last day, included, YYYY-MM-DD, UTC (default: today)."},
    )
    interval = fields.String(
        load_default="day",
        validate=validate.OneOf(INTERVALS),
        metadata={"description": "Trend bucket: `day`, `week` (from Monday) or `month`."},
    )
    segment = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "A contact attribute from the survey's `segment_attributes` "
            "to split the totals by."
        },
    )


class NumbersSchema(Schema):
    n = fields.Integer(metadata={"description": "Number of responses."})
    value = fields.Float(
        allow_none=True,
        metadata={
            "description": "NPS (-100..100), CSAT % satisfied (0..100) or CES mean (1..7); "
            "null without responses."
        },
    )
    margin = fields.Float(
        allow_none=True,
        metadata={
            "description": "Half-width of the 95% interval, in the value's units. The "
            "interval is centred on the adjusted estimate (NPS and CSAT), which for small "
            "samples sits nearer the middle of the scale than `value`: quote [low, high], "
            "not value ± margin."
        },
    )
    low = fields.Float(
        allow_none=True,
        metadata={"description": "95% interval, lower end (clipped to the scale)."},
    )
    high = fields.Float(
        allow_none=True,
        metadata={"description": "95% interval, upper end (clipped to the scale)."},
    )


class CategorySchema(Schema):
    category = fields.String(metadata={"description": "e.g. promoter, passive, detractor."})
    count = fields.Integer()
    share = fields.Float(metadata={"description": "Fraction of n, 0..1."})


class ScoreCountSchema(Schema):
    score = fields.Integer()
    count = fields.Integer()
    share = fields.Float(metadata={"description": "Fraction of n, 0..1."})


class TrendPointSchema(NumbersSchema):
    bucket = fields.Date(
        metadata={"description": "The bucket's calendar start: the day, its Monday, or the 1st."}
    )
    start = fields.Date(
        attribute="from",
        data_key="from",
        metadata={"description": "First day of the bucket inside the period."},
    )
    end = fields.Date(
        attribute="to",
        data_key="to",
        metadata={"description": "Last day of the bucket inside the period."},
    )


class ResponseRateSchema(Schema):
    responses = fields.Integer(metadata={"description": "Responses recorded in the period."})
    invitations = fields.Integer(metadata={"description": "Invitations sent in the period."})
    rate = fields.Float(
        allow_none=True,
        metadata={"description": "responses / invitations; null when none were sent."},
    )


class PreviousPeriodSchema(NumbersSchema):
    start = fields.Date(attribute="from", data_key="from")
    end = fields.Date(attribute="to", data_key="to")
    change = fields.Float(
        allow_none=True,
        metadata={"description": "This period's value minus the previous one's."},
    )
    significant = fields.Boolean(
        metadata={"description": "True only when the two 95% intervals do not overlap."}
    )
    direction = fields.String(metadata={"description": "up, down or flat."})


class SegmentRowSchema(NumbersSchema):
    segment = fields.String(metadata={"description": "The attribute's value."})
    categories = fields.Dict(keys=fields.String(), values=fields.Integer())


class SegmentsSchema(Schema):
    attribute = fields.String()
    rows = fields.List(fields.Nested(SegmentRowSchema), metadata={"description": "Largest first."})
    not_set = fields.Integer(
        metadata={"description": "Responses whose contact had no value for the attribute."}
    )


class QueueCountsSchema(Schema):
    open = fields.Integer()
    claimed = fields.Integer()
    done = fields.Integer()
    dismissed = fields.Integer()


class QueuesSchema(Schema):
    follow_up = fields.Nested(QueueCountsSchema)
    advocacy = fields.Nested(QueueCountsSchema)


class ReportSchema(Schema):
    survey_id = fields.String()
    survey_name = fields.String()
    kind = fields.String(metadata={"description": "nps, csat or ces."})
    measure = fields.String(metadata={"description": "What `value` is: NPS, CSAT or CES."})
    value_min = fields.Float(metadata={"description": "Lowest possible value."})
    value_max = fields.Float(metadata={"description": "Highest possible value."})
    start = fields.Date(attribute="from", data_key="from")
    end = fields.Date(attribute="to", data_key="to")
    interval = fields.String()
    totals = fields.Nested(NumbersSchema)
    categories = fields.List(fields.Nested(CategorySchema))
    distribution = fields.List(
        fields.Nested(ScoreCountSchema),
        metadata={"description": "Every score of the scale, zeros included."},
    )
    trend = fields.List(fields.Nested(TrendPointSchema))
    response_rate = fields.Nested(ResponseRateSchema)
    previous_period = fields.Nested(
        PreviousPeriodSchema,
        metadata={"description": "The period of equal length just before, compared."},
    )
    segments = fields.Nested(
        SegmentsSchema,
        allow_none=True,
        metadata={"description": "Per-value rows when `segment` was asked for, else null."},
    )
    queues = fields.Nested(
        QueuesSchema,
        metadata={"description": "Current queue items of the survey by status (all time)."},
    )


class ReportLinkArgs(Schema):
    expires_in_days = fields.Integer(
        load_default=7,
        validate=validate.Range(min=1, max=30),
        metadata={"description": "How long the link works, 1 to 30 days (default 7)."},
    )


class ReportLinkSchema(Schema):
    url = fields.String(metadata={"description": "The report page; anyone with it can read."})
    expires_at = fields.DateTime()


# --- retention ------------------------------------------------------------------------------


class Month(fields.String):
    """A month as `YYYY-MM` (a `YYYY-MM-DD` day names its month); loads its first day.

    A string field underneath, so the OpenAPI document says what to send."""

    default_error_messages = {"invalid": "A month as YYYY-MM."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value):
            raise self.make_error("invalid")
        try:
            day = date.fromisoformat(value if len(value) == 10 else f"{value}-01")
        except ValueError:
            raise self.make_error("invalid") from None
        return day.replace(day=1)


class RetentionArgs(PeriodArgs):
    default_period = staticmethod(retention.default_period)
    period_problem = staticmethod(retention.period_problem)

    start = Month(
        data_key="from",
        metadata={
            "description": f"First month, YYYY-MM (default: {retention.DEFAULT_MONTHS - 1} "
            "months before `to`).",
            "example": "2026-01",
        },
    )
    end = Month(
        data_key="to",
        metadata={
            "description": "Last month, included (default: this month).",
            "example": "2026-12",
        },
    )
    survey_id = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={
            "description": "Churn after a score for this survey only (by its kind's "
            "categories); default: every NPS survey of the workspace."
        },
    )


class ShareSchema(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "A fraction, 0..1."})
    low = fields.Float(
        allow_none=True,
        metadata={
            "description": "95% interval, lower end (Agresti-Coull, centred on an adjusted "
            "estimate: quote [low, high])."
        },
    )
    high = fields.Float(allow_none=True, metadata={"description": "95% interval, upper end."})


class RetentionMonthSchema(Schema):
    month = fields.Date(metadata={"description": "The month's first day."})
    complete = fields.Boolean(metadata={"description": "False for the month under way."})
    customers_start = fields.Integer(metadata={"description": "Customers when it began."})
    joined = fields.Integer(metadata={"description": "Contacts who became customers in it."})
    left = fields.Integer(metadata={"description": "Customers who stopped being ones in it."})
    churned = fields.Integer(
        metadata={"description": "Of customers_start, how many left during the month."}
    )
    retained = fields.Integer(metadata={"description": "customers_start - churned."})
    customers_end = fields.Integer(metadata={"description": "customers_start + joined - left."})
    churn_rate = fields.Nested(
        ShareSchema, metadata={"description": "churned / customers_start, with its interval."}
    )


class CohortSchema(Schema):
    cohort = fields.Date(metadata={"description": "The month its contacts first became customers."})
    size = fields.Integer()
    active = fields.List(
        fields.Integer(),
        metadata={
            "description": "Customers of the cohort at the end of each month from its first "
            "(index 0) to `to` or this month; returning customers count again."
        },
    )
    retention = fields.List(
        fields.Float(allow_none=True), metadata={"description": "active / size, per month."}
    )


class CategoryChurnSchema(ShareSchema):
    category = fields.String()
    responses = fields.Integer(
        metadata={"description": "Responses given by customers (a paying stage) in the period."}
    )
    churned = fields.Integer(
        metadata={"description": "Of those, how many were followed by the customer leaving."}
    )


class ChurnByCategorySchema(Schema):
    survey_id = fields.String(allow_none=True)
    kind = fields.String()
    window_days = fields.Integer(metadata={"description": "Churn counts within this many days."})
    counted_through = fields.Date(
        allow_none=True,
        metadata={
            "description": "The last day of responses counted: a day is counted once its "
            "window has passed (by the worker), so the latest 91 days are never in."
        },
    )
    categories = fields.List(fields.Nested(CategoryChurnSchema))


class RecoverySchema(Schema):
    scheduled = fields.Integer(
        metadata={
            "description": "Re-surveys scheduled by resolving a follow-up item in the period."
        }
    )
    waiting = fields.Integer(metadata={"description": "Not yet due."})
    cancelled = fields.Integer(
        metadata={"description": "Not asked after all (unsubscribed, erased, rescheduled...)."}
    )
    sent = fields.Integer(metadata={"description": "Asked: an invitation, or the widget."})
    answered = fields.Integer(metadata={"description": "Sent, and answered since."})
    recovered = fields.Integer(
        metadata={
            "description": "Answered and no longer unhappy: NPS passive or promoter (CSAT "
            "neutral or satisfied, CES neutral or easy)."
        }
    )
    rate = fields.Nested(
        ShareSchema, metadata={"description": "recovered / answered, with its interval."}
    )
    median_days_to_recover = fields.Float(
        allow_none=True,
        metadata={"description": "From the unhappy answer to the recovering one, in days."},
    )


class RetentionReportSchema(Schema):
    start = fields.Date(attribute="from", data_key="from")
    end = fields.Date(attribute="to", data_key="to")
    customer_stages = fields.List(fields.String())
    months = fields.List(fields.Nested(RetentionMonthSchema))
    churn_rate = fields.Nested(
        ShareSchema,
        metadata={
            "description": "Average monthly churn over the complete months: their churns "
            "over their starting customers (customer-months)."
        },
    )
    cohorts = fields.List(fields.Nested(CohortSchema))
    churn_by_category = fields.Nested(ChurnByCategorySchema)
    recovery = fields.Nested(
        RecoverySchema,
        metadata={
            "description": "Detractors asked again after their follow-up (survey_id narrows)."
        },
    )
