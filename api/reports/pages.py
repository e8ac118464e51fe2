"""The report page for people: /reports/<survey_id>.

Opened with a signed link from POST /v1/surveys/<id>/report-links, or with a
secret key in `Authorization: Bearer sk_...` (for scripts and internal tools).
Server-rendered with inline SVG charts: no JavaScript, and a CSP that allows
nothing but our own nonce'd stylesheet and images from us or data: URLs.
"""

from collections.abc import Callable
from functools import partial

from flask import g, render_template, request
from marshmallow import EXCLUDE, ValidationError

from api import lifecycle, signing
from api.http import auth
from api.http.errors import ApiError
from api.http.openapi import Blueprint
from api.pages import security
from api.referrals import program as referral_program
from api.referrals import stats as referral_stats
from api.reports import charts, retention, service
from api.reports.schemas import ReportArgs
from api.surveys import texts
from api.surveys.models import Survey
from api.workspaces import keys

bp = Blueprint("report_pages", __name__, public=True, description="Report pages for people.")

# One message for every refusal, so a visitor cannot tell which part of a link failed.
NOT_FOUND = "This report does not exist, or the link to it is not valid."
EXPIRED = "This report link has expired. Ask whoever shared it for a new one."

_QUEUE_LABELS = {"follow_up": "Follow-up", "advocacy": "Advocacy"}

# The funnel counts from a moment until now (stats.funnel takes a named period, not
# the report's dates), so the page shows a rolling period and says which.
FUNNEL_PERIOD = "30d"
# Every other string on this page is English; the funnel follows it so the page
# never mixes languages. Localising the page means choosing the locale here.
_LOCALE = texts.DEFAULT_LOCALE


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@bp.context_processor
def _nonce() -> dict:
    # base.html puts it on its <style>; error pages rendered for this blueprint get it too.
    return {"csp_nonce": security.csp_nonce()}


@bp.after_request
def _security_headers(response):
    return security.add_security_headers(response, scripts=False, data_images=True)


@bp.get("/reports/<survey_id>")
@bp.page(description="The report: a signed `token` in the query, or a secret key.")
@bp.errors(410)  # an expired token
def report_page(survey_id: str):
    try:
        survey = _survey_for_request(survey_id)
        args = _parse_args()
        report = service.survey_report(
            survey,
            start=args["start"],
            end=args["end"],
            interval=args["interval"],
            segment=args.get("segment"),
        )
    except _Refused as refused:
        return _error_page(refused.status, refused.message)
    except ApiError as error:
        return _error_page(error.status, error.message)
    return render_template(
        "report.html",
        report=report,
        view=_view(report),
        retention=_retention_view(survey, report["to"]),
        funnel=_funnel_view(survey.workspace_id, _LOCALE),
        number=number,
        token=request.args.get("token", "") if g.get("api_key") is None else "",
    )


def _survey_for_request(survey_id: str) -> Survey:
    key = g.get("api_key")
    if key is not None and key.kind == keys.SECRET:
        auth.require_secret_key()  # records the key's use, like any API call
        survey = service.get_survey(key.workspace_id, survey_id)
        if survey is None:
            raise _Refused(404, NOT_FOUND)
        return survey
    token = request.args.get("token", "")
    if not token:
        raise _Refused(404, NOT_FOUND)
    try:
        return service.survey_for_token(survey_id, token)
    except signing.TokenInvalid:
        raise _Refused(404, NOT_FOUND) from None
    except signing.TokenExpired:
        raise _Refused(410, EXPIRED) from None


def _parse_args() -> dict:
    try:
        # EXCLUDE: the page's own parameters (token) sit next to the report's.
        return ReportArgs(unknown=EXCLUDE).load(request.args)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        text = " ".join(
            f"{field}: {' '.join(map(str, problems))}" for field, problems in messages.items()
        )
        raise _Refused(422, text or "The report parameters are not valid.") from None


def _error_page(status: int, message: str):
    body = {"message": message, "request_id": g.get("request_id")}
    return render_template("error.html", status=status, error=body), status


# --- what the template shows --------------------------------------------------------------


def _view(report: dict) -> dict:
    """Charts and sentences for the template; the numbers stay those of the report."""
    kind, measure = report["kind"], report["measure"]
    unit = "%" if kind == "csat" else ""
    points = [
        charts.TrendPoint(
            label=point["bucket"].isoformat(),
            value=point["value"],
            low=point["low"],
            high=point["high"],
            n=point["n"],
        )
        for point in report["trend"]
    ]
    queue_rows = [
        (f"{_QUEUE_LABELS.get(queue, queue)} {status}", count)
        for queue, statuses in report["queues"].items()
        for status, count in statuses.items()
    ]
    name = report["survey_name"]
    return {
        "unit": unit,
        "headline": _headline(measure, report["totals"], unit),
        "interval_text": _interval_text(report["totals"], unit),
        "rate_text": _rate_text(report["response_rate"]),
        "change_text": _change_text(report["previous_period"], unit),
        "trend_svg": _drawn(
            partial(
                charts.trend_svg,
                points,
                y_min=report["value_min"],
                y_max=report["value_max"],
                title=f"{measure} per {report['interval']}: {name}",
                measure=measure,
            )
        ),
        "distribution_svg": _drawn(
            partial(
                charts.distribution_svg,
                {row["score"]: row["count"] for row in report["distribution"]},
                kind=kind,
                title=f"Responses per score: {name}",
            )
        ),
        "queues_svg": _drawn(partial(charts.bars_svg, queue_rows, title=f"Queue items: {name}")),
    }


def _drawn(chart: Callable[..., str]) -> dict[str, str]:
    """A chart drawn for a desktop card and for a phone; the page's CSS shows the one
    that fits, so its text is never scaled down to unreadable."""
    return {"wide": chart(width=charts.WIDE), "narrow": chart(width=charts.NARROW)}


def _retention_view(survey: Survey, until) -> dict:
    """The workspace's retention over the 12 months to the report's last, and churn after
    this survey's scores: charts, the cohort table and sentences."""
    end = lifecycle.month_of(until)
    start = lifecycle.add_months(end, 1 - retention.DEFAULT_MONTHS)
    found = retention.retention_report(survey.workspace_id, start=start, end=end, survey=survey)
    complete = [row for row in found["months"] if row["complete"]]
    points = [
        charts.TrendPoint(
            label=row["month"].strftime("%Y-%m"),
            value=_percent(row["churn_rate"]["value"]),
            low=_percent(row["churn_rate"]["low"]),
            high=_percent(row["churn_rate"]["high"]),
            n=row["customers_start"],
        )
        for row in complete
    ]
    highest = max((point.high or point.value or 0 for point in points), default=0)
    by_category = found["churn_by_category"]
    bars = [
        charts.IntervalBar(
            row["category"].capitalize(), row["value"], row["low"], row["high"], row["responses"]
        )
        for row in by_category["categories"]
    ]
    window = by_category["window_days"]
    pooled = found["churn_rate"]
    months = len(found["months"])
    return {
        "report": found,
        "period": f"{start.strftime('%Y-%m')} to {end.strftime('%Y-%m')} (UTC)",
        "headline": (
            f"Monthly churn {number(_percent(pooled['value']))}%"
            if pooled["value"] is not None
            else "Monthly churn: no customers in these months yet"
        ),
        "interval_text": _share_interval_text(pooled),
        "customers_now": found["months"][-1]["customers_end"],
        "churn_svg": _drawn(
            partial(
                charts.trend_svg,
                points,
                y_min=0,
                y_max=next(top for top in (5, 10, 25, 50, 100) if highest <= top),
                title="Monthly churn rate, % of the customers at the month's start",
                measure="Churn %",
            )
        ),
        "category_heading": f"Churn within {window} days of a response, by category",
        "category_svg": _drawn(
            partial(
                charts.interval_bars_svg,
                bars,
                title=f"Customers who left within {window} days of answering: {survey.name}",
            )
        ),
        "offsets": list(range(months)),
        "recovery": _recovery_text(found["recovery"], survey.kind),
    }


_RECOVERED = {
    "nps": "passive or promoter",
    "csat": "neutral or satisfied",
    "ces": "neutral or easy",
}


def _recovery_text(found: dict, kind: str) -> list[str]:
    """Sentences on the detractors asked again: how many, how many recovered, how fast."""
    if not found["scheduled"]:
        return ["No follow-up item of this survey scheduled a re-survey in these months."]
    lines = [
        f"{found['scheduled']} asked again after their follow-up: {found['sent']} sent, "
        f"{found['waiting']} not yet due, {found['cancelled']} cancelled; "
        f"{found['answered']} answered since."
    ]
    if found["answered"]:
        lines.append(
            f"Recovered ({_RECOVERED[kind]} at their next answer): {found['recovered']} of "
            f"{found['answered']}, {number(_percent(found['rate']['value']))}%; "
            f"{_share_interval_text(found['rate'])}."
        )
    if found["median_days_to_recover"] is not None:
        lines.append(
            f"Median time to recover: {number(found['median_days_to_recover'])} days "
            "from the unhappy answer."
        )
    return lines


def _share_interval_text(found: dict) -> str:
    """A share's interval by its ends, in percent (see _interval_text for why)."""
    if found["low"] is None:
        return ""
    return f"95% interval {number(_percent(found['low']))}% to {number(_percent(found['high']))}%"


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100 * fraction


def _funnel_view(workspace_id: str, locale: str) -> dict | None:
    """The referral funnel's chart and sentences; None without an enabled program."""
    if referral_program.enabled_program(workspace_id) is None:
        return None
    words = texts.UI[locale]
    numbers = referral_stats.funnel(workspace_id, FUNNEL_PERIOD)
    counts = [
        (words[f"funnel_{step}"], numbers[step])
        for step in ("advocates", "clicks", "signups", "conversions")
    ]
    steps = [
        {
            "label": label,
            "count": count,
            "rate": _local_percent(count, counts[position - 1][1], words) if position else "",
        }
        for position, (label, count) in enumerate(counts)
    ]
    heading = texts.fill(words["funnel_heading"], {"days": referral_stats.PERIODS[FUNNEL_PERIOD]})
    viral = f"{numbers['viral_coefficient']:.2f}".replace(".", words["decimal_mark"])
    return {
        "heading": heading,
        "svg": _drawn(partial(charts.bars_svg, counts, title=heading)),
        "steps": steps,
        "columns": {column: words[f"funnel_{column}"] for column in ("step", "count", "rate")},
        "viral_text": texts.fill(words["funnel_viral"], {"value": viral}),
    }


def _local_percent(part: int, whole: int, words: dict) -> str:
    """``part`` as a share of the step before; a dash when that step is empty.

    Not capped at 100%: sign-ups may come from a typed code without a click, and an
    advocate's link may be clicked many times.
    """
    if not whole:
        return number(None)
    value = number(100 * part / whole).replace(".", words["decimal_mark"])
    return texts.fill(words["funnel_percent"], {"value": value})


def number(value: float | None) -> str:
    """At most one decimal, no trailing .0, never -0; a dash for no value."""
    if value is None:
        return "\u2013"  # an en dash
    return f"{round(value, 1) + 0.0:.1f}".removesuffix(".0")


def _headline(measure: str, totals: dict, unit: str) -> str:
    if not totals["n"]:
        return f"{measure}: no responses in this period"
    return f"{measure} {number(totals['value'])}{unit}"


def _interval_text(totals: dict, unit: str) -> str:
    """The interval by its ends. Not as ``value ± margin``: for NPS and CSAT it is an
    adjusted Wald interval, centred on an adjusted estimate (and clipped to the scale),
    so ``value ± margin`` would name other ends than the interval's own."""
    if totals["low"] is None:
        return ""
    return f"95% interval {number(totals['low'])}{unit} to {number(totals['high'])}{unit}"


def _rate_text(rate: dict) -> str:
    if rate["rate"] is None:
        return f"{rate['responses']} responses; no invitations were sent in this period."
    return (
        f"{number(rate['rate'] * 100)}% ({rate['responses']} responses to "
        f"{rate['invitations']} invitations sent in this period)"
    )


def _change_text(previous: dict, unit: str) -> str:
    period = f"{previous['from'].isoformat()} to {previous['to'].isoformat()}"
    if previous["change"] is None:
        return f"No comparison: one of the two periods has no responses (previous: {period})."
    change = previous["change"]
    sign = "+" if change > 0 else ""
    verdict = (
        "significant (the 95% intervals do not overlap)"
        if previous["significant"]
        else "not significant (within the margins of error)"
    )
    return (
        f"{sign}{number(change)}{unit} against the previous period ({period}, "
        f"{number(previous['value'])}{unit}, n = {previous['n']}): {verdict}."
    )
