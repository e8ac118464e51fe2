from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.reports import retention, score_churn, service
from api.reports.schemas import (
    ReportArgs,
    ReportLinkArgs,
    ReportLinkSchema,
    ReportSchema,
    RetentionArgs,
    RetentionReportSchema,
)
from api.surveys import service as surveys
from api.surveys.models import Survey
from api.worker import periodic

bp = ApiBlueprint(
    "reports",
    __name__,
    url_prefix="/v1/surveys",
    description="Reports: NPS, CSAT and CES with margins of error, trends and segments.",
)


retention_bp = ApiBlueprint(
    "retention",
    __name__,
    url_prefix="/v1/reports",
    description="Workspace reports: retention and churn, tied to scores.",
)


# `flask retention count-churn`: the worker does it every hour (api/worker/periodic.py).
@periodic.command(retention_bp.cli, "count-churn", score_churn.close_due, per="Steps")
def _count_churn(total: int) -> str:
    """Count the days whose 90-day churn window has passed into the retention report."""
    return (
        f"days counted into the retention report: {total} steps of up to "
        f"{score_churn.CHUNK_DAYS} days of one survey each"
    )


def _found(survey_id: str) -> Survey:
    return surveys.get_survey(current_workspace_id(), survey_id)


@bp.get("/<survey_id>/report")
@bp.arguments(ReportArgs, location="query")
@bp.response(200, ReportSchema)
def report(args, survey_id):
    """The survey's score, distribution, trend, response rate and segments for a period.

    Read from daily rollups, so a report costs the same over 10,000 or 1,000,000
    responses. Days are UTC; `from` and `to` are both included.
    """
    return service.survey_report(
        _found(survey_id),
        start=args["start"],
        end=args["end"],
        interval=args["interval"],
        segment=args.get("segment"),
    )


@bp.post("/<survey_id>/report-links")
@bp.arguments(ReportLinkArgs, required=False)
@bp.response(201, ReportLinkSchema)
def report_link(args, survey_id):
    """A signed link to the survey's report page, for people without an API key.

    Anyone holding the link can read the report until it expires; keep it to the
    people meant to see it.
    """
    return service.report_link(_found(survey_id), (args or {}).get("expires_in_days", 7))


@retention_bp.get("/retention")
@retention_bp.arguments(RetentionArgs, location="query")
@retention_bp.response(200, RetentionReportSchema)
@retention_bp.errors(404)  # the survey it names
def retention_report(args):
    """Customers month by month (at the start, joined, left, churned, retained, churn rate
    with its 95% interval), cohorts by the month their contacts became customers, and,
    per category, the share of customers' responses followed by churn within 90 days.

    Read from rollups, so it costs the same over 10,000 or 1,000,000 stage changes.
    Months are UTC.
    """
    survey = _found(args["survey_id"]) if "survey_id" in args else None
    return retention.retention_report(
        current_workspace_id(), start=args["start"], end=args["end"], survey=survey
    )
