"""The report page for people: /reports/<survey_id>.

Opened with a signed link from POST /v1/surveys/<id>/report-links, or with a
secret key in `Authorization: Bearer sk_...` (for scripts and internal tools).
Server-rendered with inline SVG charts: no JavaScript, and a CSP that allows
nothing but our own nonce'd stylesheet and images from us or data: URLs.

It speaks the reader's language: the `locale` parameter, else the browser's
(README "Languages"); its words come from the gettext catalogs, its numbers and
dates are written in that locale's conventions (api.i18n.formatting).
"""

from collections.abc import Callable
from functools import partial

from flask import g, render_template, request
from marshmallow import EXCLUDE, ValidationError

from api import lifecycle, signing
from api.domain_errors import DomainError
from api.http import auth
from api.http.errors import ApiError, domain_status
from api.http.openapi import Blueprint
from api.i18n import formatting
from api.i18n.catalogs import DEFAULT_LOCALE, UI, counted, translations
from api.i18n.placeholders import fill
from api.i18n.templates import choose_page_locale
from api.pages import security
from api.referrals import program as referral_program
from api.referrals import stats as referral_stats
from api.reports import charts, retention, service
from api.reports.schemas import ReportArgs
from api.surveys import service as surveys
from api.surveys.models import Survey
from api.workspaces import keys

bp = Blueprint("report_pages", __name__, public=True, description="Report pages for people.")

# The funnel counts from a moment until now (stats.funnel takes a named period, not
# the report's dates), so the page shows a rolling period and says which.
FUNNEL_PERIOD = "30d"


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
@bp.page(
    description="The report: a signed `token` in the query, or a secret key. `locale` (else "
    "Accept-Language) picks its language."
)
@bp.errors(410)  # an expired token
def report_page(survey_id: str):
    locale = choose_page_locale(request.args.get("locale"))  # for _() and error pages too
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
    except DomainError as error:  # a report the service refuses (an unknown segment)
        return _error_page(domain_status(error), error.message)
    return render_template(
        "report.html",
        lang=locale,
        report=report,
        view=_view(report, locale),
        retention=_retention_view(survey, report["to"], locale),
        funnel=_funnel_view(survey.workspace_id, locale),
        number=partial(number, locale=locale),
        percent=partial(formatting.percent, locale=locale),
        count=partial(formatting.count, locale=locale),
        month=partial(formatting.month, locale=locale),
        category_name=partial(charts.category_name, locale=locale),
        between=partial(_between, locale=locale),
        interval_heading=fill(
            translations(locale).gettext("{confidence} interval"),
            {"confidence": charts.confidence(locale)},
        ),
        token=request.args.get("token", "") if g.get("api_key") is None else "",
        locale_param=request.args.get("locale", ""),
    )


def _refusal(status: int) -> _Refused:
    # One message for every refusal, so a visitor cannot tell which part of a link failed.
    _ = translations(g.page_locale).gettext
    if status == 410:
        return _Refused(
            410, _("This report link has expired. Ask whoever shared it for a new one.")
        )
    return _Refused(404, _("This report does not exist, or the link to it is not valid."))


def _survey_for_request(survey_id: str) -> Survey:
    key = g.get("api_key")
    if key is not None and key.kind == keys.SECRET:
        auth.require_secret_key()  # records the key's use, like any API call
        survey = surveys.find_survey(key.workspace_id, survey_id)
        if survey is None:
            raise _refusal(404)
        return survey
    token = request.args.get("token", "")
    if not token:
        raise _refusal(404)
    try:
        return service.survey_for_token(survey_id, token)
    except signing.TokenInvalid:
        raise _refusal(404) from None
    except signing.TokenExpired:
        raise _refusal(410) from None


def _parse_args() -> dict:
    try:
        # EXCLUDE: the page's own parameters (token, locale) sit next to the report's.
        return ReportArgs(unknown=EXCLUDE).load(request.args)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        text = " ".join(
            f"{field}: {' '.join(map(str, problems))}" for field, problems in messages.items()
        )
        fallback = translations(g.page_locale).gettext("The report parameters are not valid.")
        raise _Refused(422, text or fallback) from None


def _error_page(status: int, message: str):
    body = {"message": message, "request_id": g.get("request_id")}
    return render_template("error.html", status=status, error=body, lang=g.page_locale), status


# --- what the template shows --------------------------------------------------------------


def _interval_name(interval: str, locale: str) -> str:
    _ = translations(locale).gettext
    return {"day": _("day"), "week": _("week"), "month": _("month")}.get(interval, interval)


def _queue_label(queue: str, status: str, locale: str) -> str:
    """``"Follow-up open"``: a queue and one of its statuses."""
    _ = translations(locale).gettext
    queues = {"follow_up": _("Follow-up"), "advocacy": _("Advocacy")}
    statuses = {
        "open": _("open"),
        "claimed": _("claimed"),
        "done": _("done"),
        "dismissed": _("dismissed"),
    }
    return fill(
        _("{queue} {status}"),
        {"queue": queues.get(queue, queue), "status": statuses.get(status, status)},
    )


def _view(report: dict, locale: str) -> dict:
    """Charts and sentences for the template; the numbers stay those of the report."""
    _ = translations(locale).gettext
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
        (_queue_label(queue, status, locale), count)
        for queue, statuses in report["queues"].items()
        for status, count in statuses.items()
    ]
    name = report["survey_name"]
    interval = _interval_name(report["interval"], locale)
    chart = partial(_drawn, locale=locale)
    return {
        "unit": unit,
        "score": partial(_with_unit, unit=unit, locale=locale),
        "title": fill(_("{survey} · {measure} report"), {"survey": name, "measure": measure}),
        "period": fill(
            _("{measure} report, {start} to {end} (UTC), per {interval}"),
            {
                "measure": measure,
                "start": formatting.day(report["from"], locale),
                "end": formatting.day(report["to"], locale),
                "interval": interval,
            },
        ),
        "responses_text": fill(
            translations(locale).ngettext(
                "n = {n} response", "n = {n} responses", report["totals"]["n"]
            ),
            {"n": formatting.count(report["totals"]["n"], locale)},
        ),
        "headline": _headline(measure, report["totals"], unit, locale),
        "interval_text": _interval_text(
            report["totals"], lambda end: _with_unit(end, unit, locale), locale
        ),
        "rate_text": _rate_text(report["response_rate"], locale),
        "change_text": _change_text(report["previous_period"], unit, locale),
        "trend_heading": fill(
            _("Trend with its {confidence} interval"), {"confidence": charts.confidence(locale)}
        ),
        "segments_heading": (
            fill(_("By {attribute}"), {"attribute": report["segments"]["attribute"]})
            if report.get("segments")
            else ""
        ),
        "trend_svg": chart(
            partial(
                charts.trend_svg,
                points,
                y_min=report["value_min"],
                y_max=report["value_max"],
                title=fill(
                    _("{measure} per {interval}: {name}"),
                    {"measure": measure, "interval": interval, "name": name},
                ),
                measure=measure,
            )
        ),
        "distribution_svg": chart(
            partial(
                charts.distribution_svg,
                {row["score"]: row["count"] for row in report["distribution"]},
                kind=kind,
                title=fill(_("Responses per score: {name}"), {"name": name}),
            )
        ),
        "queues_svg": chart(
            partial(
                charts.bars_svg,
                queue_rows,
                title=fill(_("Queue items: {name}"), {"name": name}),
            )
        ),
    }


def _drawn(chart: Callable[..., str], locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """A chart drawn for a desktop card and for a phone; the page's CSS shows the one
    that fits, so its text is never scaled down to unreadable."""
    return {
        "wide": chart(width=charts.WIDE, locale=locale),
        "narrow": chart(width=charts.NARROW, locale=locale),
    }


def _retention_view(survey: Survey, until, locale: str = DEFAULT_LOCALE) -> dict:
    """The workspace's retention over the 12 months to the report's last, and churn after
    this survey's scores: charts, the cohort table and sentences."""
    catalog = translations(locale)
    _, ngettext = catalog.gettext, catalog.ngettext
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
            charts.category_name(row["category"], locale),
            row["value"],
            row["low"],
            row["high"],
            row["responses"],
        )
        for row in by_category["categories"]
    ]
    window = by_category["window_days"]
    pooled = found["churn_rate"]
    months = len(found["months"])
    period = fill(
        _("{period} (UTC)"),
        {
            "period": _between(
                formatting.month(start, locale), formatting.month(end, locale), locale
            )
        },
    )
    stages = ", ".join(found["customer_stages"])
    counted = by_category["counted_through"]
    counted_text = (
        fill(_("through {date}"), {"date": formatting.day(counted, locale)})
        if counted
        else _("none yet")
    )
    return {
        "report": found,
        "period": fill(
            _("{period}; customers are contacts at a paying stage ({stages})"),
            {"period": period, "stages": stages},
        ),
        "headline": (
            fill(_("Monthly churn {value}"), {"value": formatting.percent(pooled["value"], locale)})
            if pooled["value"] is not None
            else _("Monthly churn: no customers in these months yet")
        ),
        "interval_text": _share_interval_text(pooled, locale),
        "customers_now": fill(
            _("Customers now: {n}"),
            {"n": formatting.count(found["months"][-1]["customers_end"], locale)},
        ),
        "churn_svg": _drawn(
            partial(
                charts.trend_svg,
                points,
                y_min=0,
                y_max=next(top for top in (5, 10, 25, 50, 100) if highest <= top),
                title=_("Monthly churn rate, as a share of the customers at the month's start"),
                measure=_("Churn %"),
            ),
            locale,
        ),
        "category_heading": fill(
            ngettext(
                "Churn within {days} day of a response, by category",
                "Churn within {days} days of a response, by category",
                window,
            ),
            {"days": window},
        ),
        "category_svg": _drawn(
            partial(
                charts.interval_bars_svg,
                bars,
                title=fill(
                    ngettext(
                        "Customers who left within {days} day of answering: {name}",
                        "Customers who left within {days} days of answering: {name}",
                        window,
                    ),
                    {"days": window, "name": survey.name},
                ),
            ),
            locale,
        ),
        "category_note": fill(
            ngettext(
                "Responses given by customers of this survey in these months, counted once "
                "{days} day has passed ({counted}).",
                "Responses given by customers of this survey in these months, counted once "
                "{days} days have passed ({counted}).",
                window,
            ),
            {"days": window, "counted": counted_text},
        ),
        "offsets": list(range(months)),
        "recovery": _recovery_text(found["recovery"], survey.kind, locale),
    }


def _recovered(kind: str, locale: str) -> str:
    """What a detractor counts as recovered at, in words, per kind."""
    _ = translations(locale).gettext
    return {
        "nps": _("passive or promoter"),
        "csat": _("neutral or satisfied"),
        "ces": _("neutral or easy"),
    }[kind]


def _recovery_text(found: dict, kind: str, locale: str = DEFAULT_LOCALE) -> list[str]:
    """Sentences on the detractors asked again: how many, how many recovered, how fast."""
    catalog = translations(locale)
    _, ngettext = catalog.gettext, catalog.ngettext
    if not found["scheduled"]:
        return [_("No follow-up item of this survey scheduled a re-survey in these months.")]
    counts = {
        name: formatting.count(found[name], locale)
        for name in ("scheduled", "sent", "waiting", "cancelled", "answered", "recovered")
    }
    # Each count agrees with its own words ("1 envoyée, 2 annulées"), so each is a part
    # of its own, and the sentence only orders the parts.
    parts = {
        "asked": ngettext(
            "{scheduled} asked again after their follow-up",
            "{scheduled} asked again after their follow-up",
            found["scheduled"],
        ),
        "sent": ngettext("{sent} sent", "{sent} sent", found["sent"]),
        "waiting": ngettext("{waiting} not yet due", "{waiting} not yet due", found["waiting"]),
        "cancelled": ngettext("{cancelled} cancelled", "{cancelled} cancelled", found["cancelled"]),
        "answered": ngettext(
            "{answered} answered since", "{answered} answered since", found["answered"]
        ),
    }
    lines = [
        fill(
            _("{asked}: {sent}, {waiting}, {cancelled}; {answered}."),
            {name: fill(part, counts) for name, part in parts.items()},
        )
    ]
    if found["answered"]:
        lines.append(
            fill(
                _(
                    "Recovered ({recovered_at} at their next answer): {recovered} of {answered}, "
                    "{rate}; {interval}."
                ),
                {
                    **counts,
                    "recovered_at": _recovered(kind, locale),
                    "rate": formatting.percent(found["rate"]["value"], locale),
                    "interval": _share_interval_text(found["rate"], locale),
                },
            )
        )
    if found["median_days_to_recover"] is not None:
        days = found["median_days_to_recover"]
        lines.append(
            fill(
                ngettext(
                    "Median time to recover: {days} day from the unhappy answer.",
                    "Median time to recover: {days} days from the unhappy answer.",
                    formatting.plural_count(days, locale),
                ),
                {"days": number(days, locale)},
            )
        )
    return lines


def _share_interval_text(found: dict, locale: str) -> str:
    """A share's interval by its ends, in percent."""
    return _interval_text(found, lambda end: formatting.percent(end, locale), locale)


def _between(start: str, end: str, locale: str) -> str:
    """``"Mar 1, 2026 to Mar 31, 2026"``, ``"-19.1 to 65.2"``: a range by its ends."""
    return fill(translations(locale).gettext("{start} to {end}"), {"start": start, "end": end})


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100 * fraction


def _funnel_view(workspace_id: str, locale: str) -> dict | None:
    """The referral funnel's chart and sentences; None without an enabled program."""
    if referral_program.enabled_program(workspace_id) is None:
        return None
    words = UI[locale]
    numbers = referral_stats.funnel(workspace_id, FUNNEL_PERIOD)
    days = referral_stats.PERIODS[FUNNEL_PERIOD]
    counts = [
        (words[f"funnel_{step}"], numbers[step])
        for step in ("advocates", "clicks", "signups", "conversions")
    ]
    steps = [
        {
            "label": label,
            "count": formatting.count(count, locale),
            "rate": _step_rate(count, counts[position - 1][1], locale) if position else "",
        }
        for position, (label, count) in enumerate(counts)
    ]
    heading = fill(counted(locale, "funnel_heading", days), {"days": days})
    viral = formatting.decimal(numbers["viral_coefficient"], 2, locale)
    return {
        "heading": heading,
        "svg": _drawn(partial(charts.bars_svg, counts, title=heading), locale),
        "steps": steps,
        "columns": {column: words[f"funnel_{column}"] for column in ("step", "count", "rate")},
        "viral_text": fill(words["funnel_viral"], {"value": viral}),
    }


def _step_rate(part: int, whole: int, locale: str) -> str:
    """``part`` as a share of the step before; a dash when that step is empty.

    Not capped at 100%: sign-ups may come from a typed code without a click, and an
    advocate's link may be clicked many times.
    """
    return formatting.percent(part / whole if whole else None, locale)


def number(value: float | None, locale: str = DEFAULT_LOCALE) -> str:
    """At most one decimal, no trailing zero, never -0; a dash for no value."""
    return formatting.number(value, locale)


def _headline(measure: str, totals: dict, unit: str, locale: str) -> str:
    _ = translations(locale).gettext
    if not totals["n"]:
        return fill(_("{measure}: no responses in this period"), {"measure": measure})
    return fill(
        _("{measure} {value}"),
        {"measure": measure, "value": _with_unit(totals["value"], unit, locale)},
    )


def _with_unit(value: float | None, unit: str, locale: str) -> str:
    """A score in its unit: CSAT's is a percentage (given as 0..100), NPS and CES have none."""
    if unit == "%" and value is not None:
        return formatting.percent(value / 100, locale)
    return number(value, locale)


def _interval_text(found: dict, shown: Callable[[float], str], locale: str) -> str:
    """An interval by its ends, each as `shown` writes it. Not as ``value ± margin``: for
    NPS and CSAT it is an adjusted Wald interval, centred on an adjusted estimate (and
    clipped to the scale), so ``value ± margin`` would name other ends than its own."""
    if found["low"] is None:
        return ""
    return fill(
        translations(locale).gettext("{confidence} interval {low} to {high}"),
        {
            "confidence": charts.confidence(locale),
            "low": shown(found["low"]),
            "high": shown(found["high"]),
        },
    )


def _rate_text(rate: dict, locale: str) -> str:
    catalog = translations(locale)
    _, ngettext = catalog.gettext, catalog.ngettext
    values = {
        "responses": formatting.count(rate["responses"], locale),
        "invitations": formatting.count(rate["invitations"], locale),
    }
    if rate["rate"] is None:
        return fill(
            ngettext(
                "{responses} response; no invitations were sent in this period.",
                "{responses} responses; no invitations were sent in this period.",
                rate["responses"],
            ),
            values,
        )
    # Two counts, each with its own plural form, in one sentence.
    responses = ngettext("{responses} response", "{responses} responses", rate["responses"])
    invitations = ngettext(
        "{invitations} invitation sent in this period",
        "{invitations} invitations sent in this period",
        rate["invitations"],
    )
    return fill(
        _("{rate} ({responses} to {invitations})"),
        {
            "rate": formatting.percent(rate["rate"], locale),
            "responses": fill(responses, values),
            "invitations": fill(invitations, values),
        },
    )


def _change_text(previous: dict, unit: str, locale: str) -> str:
    _ = translations(locale).gettext
    period = _between(
        formatting.day(previous["from"], locale), formatting.day(previous["to"], locale), locale
    )
    if previous["change"] is None:
        return fill(
            _("No comparison: one of the two periods has no responses (previous: {period})."),
            {"period": period},
        )
    change = previous["change"]
    sign = "+" if change > 0 else ""
    verdict = (
        fill(
            _("significant (the {confidence} intervals do not overlap)"),
            {"confidence": charts.confidence(locale)},
        )
        if previous["significant"]
        else _("not significant (within the margins of error)")
    )
    return fill(
        _("{change} against the previous period ({period}, {value}, n = {n}): {verdict}."),
        {
            "change": sign + _with_unit(change, unit, locale),
            "period": period,
            "value": _with_unit(previous["value"], unit, locale),
            "n": formatting.count(previous["n"], locale),
            "verdict": verdict,
        },
    )
