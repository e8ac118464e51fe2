"""Report charts as inline SVG strings: no JavaScript, no chart library, no image requests.

Inline SVG keeps the reports pages (and anything that embeds them) self-contained and
lets CSP stay strict. Every chart is accessible the same way: ``role="img"`` with a
``<title>`` (the name) and a ``<desc>`` that states the key numbers in words, both
referenced by ``aria-labelledby``, because screen readers cannot read a picture of a
line. Hover tooltips are SVG ``<title>`` children, which need no script either.

Charts are responsive: they have a ``viewBox`` and ``width="100%"``, so they scale to
their container and keep their aspect ratio. Scaling shrinks their text too, so every
chart is drawn for a ``width`` in px: ``WIDE`` for a desktop card and ``NARROW`` for a
phone, where ``WIDE`` would set 12 px text at about 6 px; a page shows the one that
fits (api/reports/pages.py). All caller text is escaped (labels come from users: survey
names, dates, funnel steps).

Every chart speaks the ``locale`` it is given: its own words from the gettext catalogs,
its numbers in the locale's conventions (``api.i18n.formatting``).

Colours are chosen for at least 3:1 contrast against white, the WCAG 2.x minimum for
graphical objects; text is dark grey (#374151, 10:1).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import escape

from api.i18n import formatting
from api.i18n.catalogs import DEFAULT_LOCALE, translations
from api.i18n.placeholders import fill
from api.scoring import CATEGORIES, Summary, classify, score_range, summarize

__all__ = [
    "NARROW",
    "WIDE",
    "IntervalBar",
    "TrendPoint",
    "bars_svg",
    "category_name",
    "confidence",
    "distribution_svg",
    "interval_bars_svg",
    "trend_svg",
]

NO_DATA = "No data yet"  # what an empty chart says, in English

WIDE = 640  # a desktop card: 12 px text stays 11-13 px down to about 590 px of card
NARROW = 360  # a phone: 12 px text stays at least 11.5 px on a 390 px screen
_HEIGHT = 240
_TEXT = "#374151"
_GRID = "#e5e7eb"
_LINE = "#1d4ed8"  # blue-700, 6.7:1 on white
# Category colours in CATEGORIES order (good, middle, bad): green, grey, red.
_CATEGORY_COLOURS = ("#15803d", "#6b7280", "#b91c1c")  # 5.0:1, 4.8:1, 6.5:1 on white


@dataclass(frozen=True)
class TrendPoint:
    """One period of a trend line.

    ``value`` is None for a period without responses: the line breaks there instead of
    pretending to know. ``low``/``high`` is the 95% interval (see ``api.scoring.Summary``);
    None where there is none (e.g. a single CES response).
    """

    label: str
    value: float | None
    low: float | None
    high: float | None
    n: int


# --- trend --------------------------------------------------------------------------------

_LEFT, _RIGHT_ROOM, _TOP, _BOTTOM = 44, 40, 12, _HEIGHT - 28  # room for centred labels
_Y_TICKS = 5
_Scale = Callable[[float], float]  # data value (or point index) -> SVG coordinate
_X_LABEL_PX = 90  # a date label ("2026-11-02") at 12 px, with a gap


def _right(width: int) -> int:
    return width - _RIGHT_ROOM


def trend_svg(
    points: Sequence[TrendPoint],
    *,
    y_min: float = -100,
    y_max: float = 100,
    title: str,
    measure: str = "NPS",
    width: int = WIDE,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """A line of ``value`` over the periods, with the interval as a shaded band.

    Periods are spaced evenly (they are buckets like weeks, not timestamps). ``None``
    values break the line and the band. Values outside ``y_min..y_max`` are drawn at
    the edge. A dashed zero line shows when 0 lies strictly inside the range (at an edge
    the gridline already marks it). ``measure`` names the number in tooltips and the
    description ("NPS", "CSAT", "CES"). Raises ValueError if ``y_max <= y_min``.
    """
    if y_max <= y_min:
        raise ValueError(f"y_max must be above y_min, got {y_min}..{y_max}")
    if all(p.value is None for p in points):
        return _no_data(title, width, locale)
    right = _right(width)

    def x(index: int) -> float:
        if len(points) == 1:
            return (_LEFT + right) / 2
        return _LEFT + (right - _LEFT) * index / (len(points) - 1)

    def y(value: float) -> float:
        share = (min(max(value, y_min), y_max) - y_min) / (y_max - y_min)
        return _BOTTOM - share * (_BOTTOM - _TOP)

    parts = [_y_axis(y_min, y_max, y, width, locale)]
    if y_min < 0 < y_max:
        parts.append(_hline(y(0), width, stroke="#6b7280", dashed=True))
    for run in _runs(points, lambda p: None not in (p.value, p.low, p.high)):
        parts.append(_band(points, run, x, y))
    for run in _runs(points, lambda p: p.value is not None):
        if len(run) > 1:
            coords = " ".join(f"{_c(x(i))},{_c(y(points[i].value))}" for i in run)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{_LINE}" stroke-width="2" '
                'stroke-linejoin="round"/>'
            )
    parts += [_trend_point(p, x(i), y(p.value), measure, locale) for i, p in _valued(points)]
    parts.append(_x_labels(points, x, width))
    return _svg(width, _HEIGHT, title, _trend_desc(points, measure, locale), "".join(parts))


def _runs(points: Sequence[TrendPoint], keep: Callable[[TrendPoint], bool]) -> list[list[int]]:
    """Indices of consecutive points that satisfy ``keep``, split wherever one doesn't."""
    runs: list[list[int]] = [[]]
    for i, point in enumerate(points):
        if keep(point):
            runs[-1].append(i)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _band(points: Sequence[TrendPoint], run: list[int], x: _Scale, y: _Scale) -> str:
    """Interval band over a run: along the highs, back along the lows.

    A run of one point has no width to shade, so its interval is an error bar.
    """
    if len(run) == 1:
        p, px = points[run[0]], _c(x(run[0]))
        return (
            f'<line x1="{px}" y1="{_c(y(p.high))}" x2="{px}" y2="{_c(y(p.low))}" '
            f'stroke="{_LINE}" stroke-opacity="0.4" stroke-width="6"/>'
        )
    upper = [f"{_c(x(i))},{_c(y(points[i].high))}" for i in run]
    lower = [f"{_c(x(i))},{_c(y(points[i].low))}" for i in reversed(run)]
    return (
        f'<polygon points="{" ".join(upper + lower)}" fill="{_LINE}" fill-opacity="0.15" '
        'stroke="none"/>'
    )


def _trend_point(point: TrendPoint, px: float, py: float, measure: str, locale: str) -> str:
    tooltip = escape(_labelled(point.label, _reading(point, measure, locale), locale))
    return (
        f'<circle cx="{_c(px)}" cy="{_c(py)}" r="3.5" fill="{_LINE}">'
        f"<title>{tooltip}</title></circle>"
    )


def _reading(point: TrendPoint, measure: str, locale: str) -> str:
    """``"NPS 31, 95% interval 23 to 39 (n=120)"``.

    The interval's ends, not ``value ± margin``: intervals from ``api.scoring`` are
    adjusted Wald ones (NPS, CSAT), centred on an adjusted estimate, and clipped to the
    scale, so they are often not centred on ``value``.
    """
    _ = translations(locale).gettext
    values = {
        "measure": measure,
        "value": formatting.number(point.value, locale),
        "n": formatting.count(point.n, locale),
    }
    if point.low is None or point.high is None:
        return fill(_("{measure} {value} (n={n})"), values)
    low, high = formatting.number(point.low, locale), formatting.number(point.high, locale)
    return fill(
        _("{measure} {value}, {confidence} interval {low} to {high} (n={n})"),
        {**values, "low": low, "high": high, "confidence": confidence(locale)},
    )


def _trend_desc(points: Sequence[TrendPoint], measure: str, locale: str) -> str:
    catalog = translations(locale)
    _, ngettext = catalog.gettext, catalog.ngettext
    valued = [p for _i, p in _valued(points)]
    lowest = min(valued, key=lambda p: p.value)
    highest = max(valued, key=lambda p: p.value)
    total = formatting.count(len(points), locale)
    sentences = [
        fill(
            ngettext(
                "{count} period from {first} to {last}.",
                "{count} periods from {first} to {last}.",
                len(points),
            ),
            {"count": total, "first": points[0].label, "last": points[-1].label},
        ),
        fill(
            _("Latest ({label}): {reading}."),
            {"label": valued[-1].label, "reading": _reading(valued[-1], measure, locale)},
        ),
        fill(
            _("Lowest {measure} {low} ({low_label}), highest {high} ({high_label})."),
            {
                "measure": measure,
                "low": formatting.number(lowest.value, locale),
                "low_label": lowest.label,
                "high": formatting.number(highest.value, locale),
                "high_label": highest.label,
            },
        ),
    ]
    gaps = len(points) - len(valued)
    if gaps:
        sentences.append(
            fill(
                ngettext(
                    "No responses in {gaps} of {count} period.",
                    "No responses in {gaps} of {count} periods.",
                    len(points),
                ),
                {"gaps": formatting.count(gaps, locale), "count": total},
            )
        )
    return " ".join(sentences)


def _valued(points: Sequence[TrendPoint]) -> list[tuple[int, TrendPoint]]:
    return [(i, p) for i, p in enumerate(points) if p.value is not None]


def _y_axis(y_min: float, y_max: float, y: _Scale, width: int, locale: str) -> str:
    """Gridlines with value labels at evenly spaced ticks, ends included."""
    parts = []
    for step in range(_Y_TICKS):
        value = y_min + (y_max - y_min) * step / (_Y_TICKS - 1)
        py = y(value)
        parts.append(_hline(py, width, stroke=_GRID))
        parts.append(
            f'<text x="{_LEFT - 6}" y="{_c(py + 4)}" text-anchor="end" fill="{_TEXT}">'
            f"{formatting.number(value, locale)}</text>"
        )
    return "".join(parts)


def _x_labels(points: Sequence[TrendPoint], x: _Scale, width: int) -> str:
    """Period labels under the plot, as many as fit without overlapping (at least two)."""
    fits = max(2, (_right(width) - _LEFT) // _X_LABEL_PX)
    step = math.ceil(len(points) / fits)
    return "".join(
        f'<text x="{_c(x(i))}" y="{_HEIGHT - 8}" text-anchor="middle" fill="{_TEXT}">'
        f"{escape(points[i].label)}</text>"
        for i in range(0, len(points), step)
    )


def _hline(py: float, width: int, *, stroke: str, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (
        f'<line x1="{_LEFT}" y1="{_c(py)}" x2="{_right(width)}" y2="{_c(py)}" stroke="{stroke}" '
        f'stroke-width="1"{dash}/>'
    )


# --- score distribution -------------------------------------------------------------------

_LEGEND_Y = 16


def distribution_svg(
    counts: Mapping[int, int],
    *,
    kind: str,
    title: str,
    width: int = WIDE,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """One vertical bar per score on the kind's scale, coloured by category.

    Scores without responses still get a (zero-height) bar so the scale reads
    complete. Counts are validated like ``api.scoring.summarize`` (ValueError for a
    score off the scale or a negative count).
    """
    summary = summarize(kind, counts)
    if summary.n == 0:
        return _no_data(title, width, locale)
    ngettext = translations(locale).ngettext
    scale = score_range(kind)
    tallest = max(counts.values())
    slot = (_right(width) - _LEFT) / len(scale)
    plot_top, plot_bottom = _TOP + 34, _BOTTOM
    parts = [_legend(kind, locale)]
    for position, score in enumerate(scale):
        count = counts.get(score, 0)
        height = (plot_bottom - plot_top) * count / tallest
        bx = _LEFT + position * slot + slot * 0.15
        colour = _CATEGORY_COLOURS[CATEGORIES[kind].index(classify(kind, score))]
        tooltip = fill(
            ngettext(
                "{score}: {count} response ({share})", "{score}: {count} responses ({share})", count
            ),
            {
                "score": score,
                "count": formatting.count(count, locale),
                "share": _share(count, summary.n, locale),
            },
        )
        parts.append(
            f'<rect class="bar" x="{_c(bx)}" y="{_c(plot_bottom - height)}" '
            f'width="{_c(slot * 0.7)}" height="{_c(height)}" fill="{colour}">'
            f"<title>{escape(tooltip)}</title></rect>"
            f'<text x="{_c(bx + slot * 0.35)}" y="{_c(plot_bottom - height - 4)}" '
            f'text-anchor="middle" fill="{_TEXT}">{count}</text>'
            f'<text x="{_c(bx + slot * 0.35)}" y="{_HEIGHT - 8}" text-anchor="middle" '
            f'fill="{_TEXT}">{score}</text>'
        )
    parts.append(_hline(plot_bottom, width, stroke=_TEXT))
    desc = _distribution_desc(summary, counts, locale)
    return _svg(width, _HEIGHT, title, desc, "".join(parts))


def _legend(kind: str, locale: str) -> str:
    """Category swatches, so the colours are explained and not the only cue."""
    parts, lx = [], _LEFT
    for category, colour in zip(CATEGORIES[kind], _CATEGORY_COLOURS, strict=True):
        name = category_name(category, locale)
        parts.append(
            f'<rect x="{lx}" y="{_LEGEND_Y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{_LEGEND_Y}" fill="{_TEXT}">{escape(name)}</text>'
        )
        lx += 24 + 7 * len(name)
    return "".join(parts)


def _distribution_desc(summary: Summary, counts: Mapping[int, int], locale: str) -> str:
    ngettext = translations(locale).ngettext
    categories = ", ".join(
        f"{category_name(category, locale, in_sentence=True)} {formatting.count(count, locale)} "
        f"({_share(count, summary.n, locale)})"
        for category, count in summary.counts.items()
    )
    scores = ", ".join(
        _labelled(str(score), formatting.count(counts.get(score, 0), locale), locale)
        for score in score_range(summary.kind)
    )
    return fill(
        ngettext(
            "{n} response: {categories}. Responses per score: {scores}.",
            "{n} responses: {categories}. Responses per score: {scores}.",
            summary.n,
        ),
        {"n": formatting.count(summary.n, locale), "categories": categories, "scores": scores},
    )


def category_name(category: str, locale: str = DEFAULT_LOCALE, *, in_sentence: bool = False) -> str:
    """A category's name for people: "Promoter" as a label, "promoter" inside a sentence
    (each language capitalises its own way); an unknown one as it is stored."""
    _ = translations(locale).gettext
    if in_sentence:
        names = {
            "promoter": _("promoter"),
            "passive": _("passive"),
            "detractor": _("detractor"),
            "satisfied": _("satisfied"),
            "neutral": _("neutral"),
            "unsatisfied": _("unsatisfied"),
            "easy": _("easy"),
            "hard": _("hard"),
        }
    else:
        names = {
            "promoter": _("Promoter"),
            "passive": _("Passive"),
            "detractor": _("Detractor"),
            "satisfied": _("Satisfied"),
            "neutral": _("Neutral"),
            "unsatisfied": _("Unsatisfied"),
            "easy": _("Easy"),
            "hard": _("Hard"),
        }
    return names.get(category, category)


# --- horizontal bars ----------------------------------------------------------------------

_ROW_PX = 28
_BAR_PX = 18
_CHAR_PX = 7  # rough average glyph width at 12 px, to size the label column
_VALUE_ROOM_PX = 70


def _label_chars(width: int) -> int:
    """Longer labels are shortened on screen (the tooltip keeps them whole)."""
    return 28 if width >= WIDE else 20


def bars_svg(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    width: int = WIDE,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """Horizontal bars, one per ``(label, value)`` row, in the given order.

    Meant for queue sizes and the referral funnel. ``unit`` is appended verbatim to
    each value (pass ``"%"`` or ``" referrals"``, spacing included). Values must be
    finite and non-negative (ValueError otherwise): bars start at zero.
    """
    for label, value in rows:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"bar {label!r} needs a finite value >= 0, got {value!r}")
    if not rows:
        return _no_data(title, width, locale)
    limit = _label_chars(width)
    longest = max(len(_shorten(label, limit)) for label, _ in rows)
    bar_left = 8 + _CHAR_PX * longest + 8
    room = width - bar_left - _VALUE_ROOM_PX
    largest = max(value for _, value in rows) or 1  # all zero: every bar is empty
    height = len(rows) * _ROW_PX + 8
    parts = []
    for position, (label, value) in enumerate(rows):
        top = 4 + position * _ROW_PX + (_ROW_PX - _BAR_PX) / 2
        length = room * value / largest
        text_y = _c(top + _BAR_PX / 2 + 4)
        shown = formatting.number(value, locale) + unit
        parts.append(
            f'<text x="{bar_left - 8}" y="{text_y}" text-anchor="end" fill="{_TEXT}">'
            f"{escape(_shorten(label, limit))}</text>"
            f'<rect class="bar" x="{bar_left}" y="{_c(top)}" width="{_c(length)}" '
            f'height="{_BAR_PX}" fill="{_LINE}"><title>{escape(_labelled(label, shown, locale))}'
            "</title></rect>"
            f'<text x="{_c(bar_left + length + 6)}" y="{text_y}" fill="{_TEXT}">'
            f"{escape(shown)}</text>"
        )
    desc = (
        "; ".join(
            _labelled(label, formatting.number(value, locale) + unit, locale)
            for label, value in rows
        )
        + "."
    )
    return _svg(width, height, title, desc, "".join(parts))


@dataclass(frozen=True)
class IntervalBar:
    """One share with its 95% interval, all as fractions 0..1 (None: no data), of ``n``."""

    label: str
    value: float | None
    low: float | None
    high: float | None
    n: int


def interval_bars_svg(
    rows: Sequence[IntervalBar], *, title: str, width: int = WIDE, locale: str = DEFAULT_LOCALE
) -> str:
    """Horizontal bars of shares in percent, each with its interval as a whisker.

    Meant for churn per category: the whiskers say whether two bars differ at all.
    The axis runs from 0 to the smallest of 10/25/50/100% that holds every interval.
    A row without data (``value`` None) keeps its label and says "no data".
    """
    if all(row.value is None for row in rows):
        return _no_data(title, width, locale)
    _ = translations(locale).gettext
    limit = _label_chars(width)
    longest = max(len(_shorten(row.label, limit)) for row in rows)
    bar_left = 8 + _CHAR_PX * longest + 8
    room = width - bar_left - _VALUE_ROOM_PX - 40  # the value text reads "33% (n=3)"
    top_share = max((row.high if row.high is not None else row.value or 0) for row in rows)
    scale_max = next(m for m in (0.1, 0.25, 0.5, 1.0) if top_share <= m)

    def x(fraction: float) -> float:
        return bar_left + room * min(fraction, scale_max) / scale_max

    height = len(rows) * _ROW_PX + 8 + 20  # and the axis labels
    parts = []
    for tick in (0.0, scale_max / 2, scale_max):
        parts.append(
            f'<line x1="{_c(x(tick))}" y1="4" x2="{_c(x(tick))}" y2="{height - 22}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
            f'<text x="{_c(x(tick))}" y="{height - 6}" text-anchor="middle" fill="{_TEXT}">'
            f"{formatting.percent(tick, locale)}</text>"
        )
    for position, row in enumerate(rows):
        top = 4 + position * _ROW_PX + (_ROW_PX - _BAR_PX) / 2
        middle = top + _BAR_PX / 2
        text_y = _c(middle + 4)
        parts.append(
            f'<text x="{bar_left - 8}" y="{text_y}" text-anchor="end" fill="{_TEXT}">'
            f"{escape(_shorten(row.label, limit))}</text>"
        )
        if row.value is None:
            parts.append(f'<text x="{bar_left}" y="{text_y}" fill="{_TEXT}">{_("no data")}</text>')
            continue
        parts.append(
            f'<rect class="bar" x="{bar_left}" y="{_c(top)}" width="{_c(x(row.value) - bar_left)}" '
            f'height="{_BAR_PX}" fill="{_LINE}" fill-opacity="0.75">'
            f"<title>{escape(_share_reading(row, locale))}</title></rect>"
        )
        end = x(row.value)
        if row.low is not None and row.high is not None:
            low, high = _c(x(row.low)), _c(x(row.high))
            parts.append(
                f'<path class="interval" d="M{low} {_c(middle)}H{high}M{low} {_c(top + 3)}'
                f'V{_c(top + _BAR_PX - 3)}M{high} {_c(top + 3)}V{_c(top + _BAR_PX - 3)}" '
                f'stroke="{_TEXT}" stroke-width="1.5" fill="none"/>'
            )
            end = max(end, x(row.high))
        parts.append(
            f'<text x="{_c(end + 6)}" y="{text_y}" fill="{_TEXT}">'
            f"{escape(_share_of(row, locale))}</text>"
        )
    desc = "; ".join(_labelled(row.label, _share_reading(row, locale), locale) for row in rows)
    desc += "."
    return _svg(width, height, title, desc, "".join(parts))


def _share_reading(row: IntervalBar, locale: str) -> str:
    """``"33.3%, 95% interval 9.7% to 70% (n=3)"``; ``"no data"`` without one."""
    _ = translations(locale).gettext
    if row.value is None:
        return _("no data")
    if row.low is None or row.high is None:
        return _share_of(row, locale)
    return fill(
        _("{value}, {confidence} interval {low} to {high} (n={n})"),
        {
            "confidence": confidence(locale),
            "value": formatting.percent(row.value, locale),
            "low": formatting.percent(row.low, locale),
            "high": formatting.percent(row.high, locale),
            "n": formatting.count(row.n, locale),
        },
    )


def _share_of(row: IntervalBar, locale: str) -> str:
    """``"33.3% (n=3)"``."""
    return fill(
        translations(locale).gettext("{value} (n={n})"),
        {"value": formatting.percent(row.value, locale), "n": formatting.count(row.n, locale)},
    )


def _shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


# --- shared -------------------------------------------------------------------------------


def _svg(width: int, height: int, title: str, desc: str, body: str) -> str:
    """The accessible, responsive ``<svg>`` wrapper every chart uses.

    The title/desc ids are derived from the content, so output is deterministic (good
    for caching and tests) and two different charts on one page never share ids.
    """
    uid = "chart-" + hashlib.sha256(f"{title}\0{desc}\0{body}".encode()).hexdigest()[:12]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{uid}-title {uid}-desc" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">'
        f'<title id="{uid}-title">{escape(title)}</title>'
        f'<desc id="{uid}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _no_data(title: str, width: int, locale: str) -> str:
    height = 80
    words = translations(locale).gettext("No data yet")
    body = (
        f'<text x="{width / 2:g}" y="{height / 2 + 5:g}" text-anchor="middle" '
        f'fill="{_TEXT}" font-size="14">{escape(words)}</text>'
    )
    return _svg(width, height, title, f"{words}.", body)


def confidence(locale: str) -> str:
    """The intervals' confidence level, "95%", written as the locale writes a percentage."""
    return formatting.percent(0.95, locale)


def _labelled(label: str, value: str, locale: str) -> str:
    """``"Clicks: 4"``, with the locale's spacing around the colon."""
    return fill(translations(locale).gettext("{label}: {value}"), {"label": label, "value": value})


def _share(part: int, total: int, locale: str) -> str:
    return formatting.percent(part / total, locale)


def _c(coordinate: float) -> str:
    """SVG coordinates to 0.1 px: finer is invisible and only bloats the markup."""
    return f"{coordinate:.1f}"
