"""Tests for api.reports.charts: well-formed, accessible, escaped inline SVG."""

import xml.etree.ElementTree as ET

import pytest

from api.reports.charts import (
    NARROW,
    IntervalBar,
    TrendPoint,
    bars_svg,
    distribution_svg,
    interval_bars_svg,
    trend_svg,
)
from api.scoring import score_range

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<&">'
RED, GREY, GREEN = "#b91c1c", "#6b7280", "#15803d"


def parse(svg):
    """The root element; fails the test if the string is not well-formed XML."""
    root = ET.fromstring(svg)  # noqa: S314 -- our own output, not untrusted input
    assert root.tag == f"{SVG}svg"
    return root


def find_all(root, tag):
    return root.findall(f".//{SVG}{tag}")


def bars(root):
    return [rect for rect in find_all(root, "rect") if rect.get("class") == "bar"]


def texts(root):
    return [element.text for element in find_all(root, "text")]


def point(label, value, margin=None, n=100):
    low = None if margin is None or value is None else value - margin
    high = None if margin is None or value is None else value + margin
    return TrendPoint(label, value, low, high, n)


def trend(values, margin=8, **kwargs):
    points = [point(f"2026-W{i:02d}", v, margin) for i, v in enumerate(values, 1)]
    return parse(trend_svg(points, title="NPS trend", **kwargs))


ALL_CHARTS = {
    "trend": lambda title: trend_svg([point("Jan", 10, 5), point("Feb", 20, 5)], title=title),
    "distribution": lambda title: distribution_svg({9: 3, 2: 1}, kind="nps", title=title),
    "bars": lambda title: bars_svg([("Sent", 10), ("Opened", 4)], title=title),
    "interval bars": lambda title: interval_bars_svg(
        [IntervalBar("Promoter", 0.1, 0.05, 0.2, 40)], title=title
    ),
    "empty trend": lambda title: trend_svg([], title=title),
    "empty distribution": lambda title: distribution_svg({}, kind="csat", title=title),
    "empty bars": lambda title: bars_svg([], title=title),
    "empty interval bars": lambda title: interval_bars_svg(
        [IntervalBar("Promoter", None, None, None, 0)], title=title
    ),
}


# --- shared: accessible, responsive, script-free ------------------------------------------


@pytest.mark.parametrize("render", ALL_CHARTS.values(), ids=ALL_CHARTS.keys())
def test_accessible_and_responsive(render):
    root = parse(render("Responses"))
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox").startswith("0 0 ")
    title, desc = root[0], root[1]
    assert (title.tag, desc.tag) == (f"{SVG}title", f"{SVG}desc")
    assert title.text == "Responses" and desc.text.strip()
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]


@pytest.mark.parametrize("render", ALL_CHARTS.values(), ids=ALL_CHARTS.keys())
def test_no_script_or_event_handlers(render):
    root = parse(render("x"))
    for element in root.iter():
        assert element.tag != f"{SVG}script"
        assert not [name for name in element.attrib if name.lower().startswith("on")]


@pytest.mark.parametrize("render", ALL_CHARTS.values(), ids=ALL_CHARTS.keys())
def test_title_is_escaped(render):
    svg = render(f"Title {NASTY}")
    assert NASTY not in svg
    assert parse(svg)[0].text == f"Title {NASTY}"


def test_ids_are_deterministic_and_differ_between_charts():
    first = ALL_CHARTS["bars"]("A")
    assert first == ALL_CHARTS["bars"]("A")
    assert parse(first)[0].get("id") != parse(ALL_CHARTS["bars"]("B"))[0].get("id")


@pytest.mark.parametrize(
    "svg",
    [
        trend_svg([], title="t"),
        trend_svg([point("Jan", None), point("Feb", None)], title="t"),
        distribution_svg({}, kind="nps", title="t"),
        distribution_svg({7: 0, 8: 0}, kind="nps", title="t"),
        bars_svg([], title="t"),
        interval_bars_svg([], title="t"),
        interval_bars_svg([IntervalBar("Detractor", None, None, None, 0)], title="t"),
    ],
)
def test_empty_data_says_no_data_yet(svg):
    root = parse(svg)
    assert texts(root) == ["No data yet"]
    assert root[1].text == "No data yet."
    assert not find_all(root, "polyline") and not bars(root)


# --- trend --------------------------------------------------------------------------------


def test_band_polygon_follows_highs_then_lows():
    root = trend([10, 20, 30], margin=5, y_min=0, y_max=100)
    (polygon,) = find_all(root, "polygon")
    ys = [float(pair.split(",")[1]) for pair in polygon.get("points").split()]
    (polyline,) = find_all(root, "polyline")
    line_ys = [float(pair.split(",")[1]) for pair in polyline.get("points").split()]
    assert len(ys) == 6
    upper, lower = ys[:3], list(reversed(ys[3:]))
    for high_y, line_y, low_y in zip(upper, line_ys, lower, strict=True):
        assert high_y < line_y < low_y  # SVG y grows downwards


def test_no_band_without_intervals():
    root = trend([10, 20, 30], margin=None)
    assert not find_all(root, "polygon")
    assert len(find_all(root, "polyline")) == 1


def test_gaps_break_line_and_band():
    root = trend([10, 20, None, 30, 40, None, 50])
    assert len(find_all(root, "polyline")) == 2  # the lone 50 has no line to draw
    assert [len(p.get("points").split()) for p in find_all(root, "polyline")] == [2, 2]
    assert len(find_all(root, "polygon")) == 2
    assert len(find_all(root, "circle")) == 5


def test_isolated_point_interval_is_an_error_bar():
    root = trend([10, None, 30], margin=5)
    assert not find_all(root, "polygon") and not find_all(root, "polyline")
    error_bars = [line for line in find_all(root, "line") if line.get("stroke-width") == "6"]
    assert len(error_bars) == 2


def test_point_tooltips():
    points = [
        TrendPoint("2026-11-02", 31, 23, 39, 120),
        TrendPoint("2026-11-09", 12.34, None, None, 1),
    ]
    root = parse(trend_svg(points, title="t"))
    tooltips = [circle.find(f"{SVG}title").text for circle in find_all(root, "circle")]
    assert tooltips == [
        "2026-11-02: NPS 31, 95% interval 23 to 39 (n=120)",
        "2026-11-09: NPS 12.3 (n=1)",
    ]


def test_measure_names_the_number():
    root = parse(
        trend_svg(
            [TrendPoint("Q1", 5.26, 5.0, 5.6, 40)], title="t", y_min=1, y_max=7, measure="CES"
        )
    )
    tooltip = find_all(root, "circle")[0].find(f"{SVG}title").text
    assert tooltip == "Q1: CES 5.3, 95% interval 5 to 5.6 (n=40)"


def test_desc_states_the_key_numbers():
    points = [
        TrendPoint("Jan", -5, -15, 5, 80),
        TrendPoint("Feb", None, None, None, 0),
        TrendPoint("Mar", 42, 34, 50, 120),
        TrendPoint("Apr", 31, 23, 39, 110),
    ]
    desc = parse(trend_svg(points, title="t"))[1].text
    assert desc == (
        "4 periods from Jan to Apr. Latest (Apr): NPS 31, 95% interval 23 to 39 (n=110). "
        "Lowest NPS -5 (Jan), highest 42 (Mar). No responses in 1 of 4 periods."
    )


def dashed_lines(root):
    return [line for line in find_all(root, "line") if line.get("stroke-dasharray")]


def test_zero_line_only_when_zero_is_inside_the_range():
    assert len(dashed_lines(trend([10, 20]))) == 1
    assert not dashed_lines(trend([10, 20], y_min=0, y_max=100))
    assert not dashed_lines(trend([3, 4], y_min=1, y_max=7))


def test_zero_line_is_at_zero():
    root = trend([0, 0], margin=None)
    (zero,) = dashed_lines(root)
    (polyline,) = find_all(root, "polyline")
    assert {pair.split(",")[1] for pair in polyline.get("points").split()} == {zero.get("y1")}


def test_y_axis_labels_span_the_range():
    labels = texts(trend([10, 20], y_min=-100, y_max=100))
    assert labels[:5] == ["-100", "-50", "0", "50", "100"]


def test_out_of_range_values_are_drawn_at_the_edge():
    root = trend([150, -150], margin=None)
    gridlines = [line for line in find_all(root, "line") if line.get("stroke") == "#e5e7eb"]
    bottom, top = float(gridlines[0].get("y1")), float(gridlines[-1].get("y1"))
    ys = [float(circle.get("cy")) for circle in find_all(root, "circle")]
    assert ys == [top, bottom]


def test_x_labels_are_thinned_but_escaped():
    points = [point(f"W{i} {NASTY}", i) for i in range(20)]
    svg = trend_svg(points, title="t")
    labels = [t for t in texts(parse(svg)) if t.startswith("W")]
    assert 2 <= len(labels) <= 6
    assert labels[0] == f"W0 {NASTY}"
    assert NASTY not in svg


def test_y_range_must_be_increasing():
    with pytest.raises(ValueError, match="y_max"):
        trend_svg([point("a", 1)], title="t", y_min=5, y_max=5)


# --- distribution -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["nps", "csat", "ces"])
def test_one_bar_per_score_on_the_scale(kind):
    root = parse(distribution_svg({score_range(kind)[-1]: 4}, kind=kind, title="t"))
    assert len(bars(root)) == len(score_range(kind))


@pytest.mark.parametrize(
    ("kind", "colours"),
    [
        ("nps", [RED] * 7 + [GREY] * 2 + [GREEN] * 2),
        ("csat", [RED] * 2 + [GREY] + [GREEN] * 2),
        ("ces", [RED] * 3 + [GREY] + [GREEN] * 3),
    ],
)
def test_bars_are_coloured_by_category(kind, colours):
    root = parse(distribution_svg(dict.fromkeys(score_range(kind), 1), kind=kind, title="t"))
    assert [bar.get("fill") for bar in bars(root)] == colours


def test_bar_heights_are_proportional_and_counts_labelled():
    root = parse(distribution_svg({1: 10, 2: 5, 5: 20}, kind="csat", title="t"))
    heights = [float(bar.get("height")) for bar in bars(root)]
    assert heights[2] == heights[3] == 0
    assert heights[4] == pytest.approx(2 * heights[0], abs=0.1)
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.1)
    labels = texts(root)
    for count in ("10", "5", "20", "0"):
        assert count in labels
    tooltips = [bar.find(f"{SVG}title").text for bar in bars(root)]
    assert tooltips[4] == "5: 20 responses (57.1%)"


def test_distribution_desc_and_legend():
    root = parse(distribution_svg({0: 1, 8: 1, 10: 2}, kind="nps", title="t"))
    assert root[1].text == (
        "4 responses: promoter 2 (50%), passive 1 (25%), detractor 1 (25%). "
        "Responses per score: 0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 1, 9: 0, 10: 2."
    )
    assert {"Promoter", "Passive", "Detractor"} <= set(texts(root))


@pytest.mark.parametrize("counts", [{11: 1}, {0: -1}, {"5": 1}])
def test_distribution_rejects_bad_counts(counts):
    with pytest.raises(ValueError):
        distribution_svg(counts, kind="nps", title="t")


# --- horizontal bars ----------------------------------------------------------------------


def test_one_bar_per_row_with_proportional_widths():
    root = parse(bars_svg([("Invited", 200), ("Clicked", 50), ("Signed up", 0)], title="t"))
    widths = [float(bar.get("width")) for bar in bars(root)]
    assert len(widths) == 3
    assert widths[0] == pytest.approx(4 * widths[1], abs=0.5)  # coordinates are rounded
    assert widths[2] == 0


def test_labels_units_and_escaping():
    svg = bars_svg([(f"Step {NASTY}", 12.5), ("Done", 3)], title="t", unit="%")
    assert NASTY not in svg
    root = parse(svg)
    assert {f"Step {NASTY}", "12.5%", "Done", "3%"} <= set(texts(root))
    assert root[1].text == f"Step {NASTY}: 12.5%; Done: 3%."


def test_long_labels_are_shortened_but_kept_in_tooltip():
    label = "A very long funnel step name that does not fit"
    root = parse(bars_svg([(label, 1)], title="t"))
    shown = texts(root)[0]
    assert shown.endswith("…") and len(shown) < len(label)
    assert bars(root)[0].find(f"{SVG}title").text == f"{label}: 1"


def test_all_zero_rows_are_data_not_an_error():
    root = parse(bars_svg([("a", 0), ("b", 0)], title="t"))
    assert [bar.get("width") for bar in bars(root)] == ["0.0", "0.0"]


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf")])
def test_bars_reject_values_that_cannot_be_drawn(value):
    with pytest.raises(ValueError, match="finite value"):
        bars_svg([("a", value)], title="t")


# --- narrow: drawn for a phone ------------------------------------------------------------

NARROW_CHARTS = {
    "trend": lambda: trend_svg(
        [point(f"2026-11-{day:02d}", day, 5) for day in range(1, 29)], title="t", width=NARROW
    ),
    "distribution": lambda: distribution_svg(
        dict.fromkeys(range(11), 3), kind="nps", title="t", width=NARROW
    ),
    "bars": lambda: bars_svg(
        [("Follow-up dismissed", 12), ("Advocacy open", 3)], title="t", width=NARROW
    ),
    "interval bars": lambda: interval_bars_svg(
        [
            IntervalBar("Promoter", 0.333, 0.097, 0.7, 3),
            IntervalBar("Passive", 0.5, 0.15, 0.85, 2),
            IntervalBar("Detractor", 0.667, 0.3, 1.0, 3),
        ],
        title="t",
        width=NARROW,
    ),
    "empty": lambda: bars_svg([], title="t", width=NARROW),
}


@pytest.mark.parametrize("render", NARROW_CHARTS.values(), ids=NARROW_CHARTS.keys())
def test_a_narrow_chart_is_drawn_within_its_width(render):
    root = parse(render())
    assert root.get("viewBox").split()[2] == str(NARROW)
    for element in root.iter():
        for name in ("x", "x1", "x2", "cx"):
            if element.get(name) is not None:
                assert 0 <= float(element.get(name)) <= NARROW, (element.tag, element.attrib)
        if element.get("width") not in (None, "100%"):
            assert float(element.get("x", 0)) + float(element.get("width")) <= NARROW


def test_a_narrow_trend_labels_fewer_periods():
    labels = [t for t in texts(parse(NARROW_CHARTS["trend"]())) if t.startswith("2026")]
    assert 2 <= len(labels) <= 3


def test_an_interval_off_centre_is_told_by_its_ends():
    """Adjusted Wald intervals are centred on an adjusted estimate, not on the value."""
    root = parse(trend_svg([TrendPoint("Mar", 30, -19.1, 65.2, 10)], title="t"))
    tooltip = find_all(root, "circle")[0].find(f"{SVG}title").text
    assert tooltip == "Mar: NPS 30, 95% interval -19.1 to 65.2 (n=10)"
    assert "±" not in tooltip


# --- shares with intervals ----------------------------------------------------------------


def test_interval_bars_draw_each_share_with_its_whisker():
    rows = [
        IntervalBar("Promoter", 0.04, 0.02, 0.07, 300),
        IntervalBar("Passive", 0.06, 0.03, 0.1, 150),
        IntervalBar("Detractor", 0.15, 0.1, 0.22, 120),
    ]
    root = parse(interval_bars_svg(rows, title="Churn"))
    drawn = bars(root)
    widths = [float(bar.get("width")) for bar in drawn]
    assert widths[0] < widths[1] < widths[2]
    assert widths[2] / widths[0] == pytest.approx(0.15 / 0.04, rel=0.01)
    assert len([p for p in find_all(root, "path") if p.get("class") == "interval"]) == 3
    # The axis ends at the smallest of 10/25/50/100% that holds every interval: 25%.
    assert {"0%", "12.5%", "25%"} <= set(texts(root))
    assert "15% (n=120)" in texts(root)
    assert drawn[2].find(f"{SVG}title").text == "15%, 95% interval 10% to 22% (n=120)"
    assert root[1].text.startswith("Promoter: 4%, 95% interval 2% to 7% (n=300); Passive")


def test_interval_bars_keep_a_row_without_data_and_escape_labels():
    rows = [IntervalBar(NASTY, 0.5, 0.2, 0.8, 4), IntervalBar("Passive", None, None, None, 0)]
    svg = interval_bars_svg(rows, title="t")
    assert NASTY not in svg
    root = parse(svg)
    assert NASTY in texts(root) and "no data" in texts(root)
    assert len(bars(root)) == 1
    assert root[1].text.endswith("Passive: no data.")


# --- languages ------------------------------------------------------------------------------


def test_a_chart_speaks_its_locale():
    empty = parse(bars_svg([], title="t", locale="de"))
    assert texts(empty) == ["Noch keine Daten"]
    distribution = parse(distribution_svg({0: 1, 8: 1, 10: 2}, kind="nps", title="t", locale="fr"))
    assert {"Promoteurs", "Passifs", "Détracteurs"} <= set(texts(distribution))
    assert distribution[1].text.startswith("4 réponses\u00a0: promoteurs 2 (50\u00a0%)")
    points = [
        TrendPoint("2026-03", -3.0, None, None, 1),
        TrendPoint("2026-04", 12.5, 2.3, 20.0, 40),
    ]
    trend = parse(trend_svg(points, title="t", measure="NPS", locale="de"))
    assert "NPS 12,5, 95\u00a0%-Intervall 2,3 bis 20 (n=40)" in trend[1].text
    shares = [IntervalBar("Promoter", 0.125, 0.05, 0.3, 8)]
    bars = parse(interval_bars_svg(shares, title="t", locale="es"))
    assert "12,5\u00a0% (n=8)" in texts(bars)
