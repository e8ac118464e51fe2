"""Tests for api.scoring. Expected numbers are worked out by hand in the comments."""

import ast
import math
from pathlib import Path

import pytest

from api import scoring
from api.scoring import CATEGORIES, classify, compare, priority, queue_for, score_range, summarize

TOL = 1e-3  # absolute tolerance for hand-computed numbers quoted to 3-4 decimals


# --- scales and categories --------------------------------------------------------------


def test_score_ranges():
    assert score_range("nps") == range(0, 11)
    assert score_range("csat") == range(1, 6)
    assert score_range("ces") == range(1, 8)


def test_categories_ordered_best_to_worst():
    assert CATEGORIES["nps"] == ("promoter", "passive", "detractor")
    assert CATEGORIES["csat"] == ("satisfied", "neutral", "unsatisfied")
    assert CATEGORIES["ces"] == ("easy", "neutral", "hard")


NPS_TABLE = [(s, "detractor") for s in range(0, 7)] + [
    (7, "passive"),
    (8, "passive"),
    (9, "promoter"),
    (10, "promoter"),
]
CSAT_TABLE = [
    (1, "unsatisfied"),
    (2, "unsatisfied"),
    (3, "neutral"),
    (4, "satisfied"),
    (5, "satisfied"),
]
CES_TABLE = [(s, "hard") for s in (1, 2, 3)] + [(4, "neutral")] + [(s, "easy") for s in (5, 6, 7)]


@pytest.mark.parametrize(
    ("kind", "score", "expected"),
    [("nps", s, c) for s, c in NPS_TABLE]
    + [("csat", s, c) for s, c in CSAT_TABLE]
    + [("ces", s, c) for s, c in CES_TABLE],
)
def test_classify_every_score(kind, score, expected):
    assert classify(kind, score) == expected


def test_tables_cover_every_score_once():
    # Guards the parametrize tables above against a missing or duplicated score.
    for kind, table in (("nps", NPS_TABLE), ("csat", CSAT_TABLE), ("ces", CES_TABLE)):
        assert [s for s, _ in table] == list(score_range(kind))


@pytest.mark.parametrize(
    ("kind", "score"),
    [
        ("nps", -1),
        ("nps", 11),
        ("csat", 0),
        ("csat", 6),
        ("ces", 0),
        ("ces", 8),
        ("nps", True),
        ("csat", False),
        ("nps", 5.0),
        ("nps", "5"),
        ("ces", None),
    ],
)
def test_classify_rejects_bad_scores(kind, score):
    with pytest.raises(ValueError):
        classify(kind, score)


def test_unknown_kind_rejected():
    for call in (
        lambda: score_range("rating"),
        lambda: classify("rating", 3),
        lambda: summarize("rating", {}),
        lambda: queue_for("rating", "promoter"),
        lambda: priority("NPS", 3),
    ):
        with pytest.raises(ValueError):
            call()


# --- queues and priority ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "category", "queue"),
    [
        ("nps", "promoter", "advocacy"),
        ("nps", "passive", None),
        ("nps", "detractor", "follow_up"),
        ("csat", "satisfied", None),
        ("csat", "neutral", None),
        ("csat", "unsatisfied", "follow_up"),
        ("ces", "easy", None),
        ("ces", "neutral", None),
        ("ces", "hard", "follow_up"),
    ],
)
def test_queue_for(kind, category, queue):
    assert queue_for(kind, category) == queue


def test_queue_for_rejects_category_of_other_kind():
    with pytest.raises(ValueError):
        queue_for("csat", "promoter")


@pytest.mark.parametrize(
    ("kind", "score", "expected"),
    # nps: 100 * (10 - s) / 10
    [("nps", s, 10 * (10 - s)) for s in range(11)]
    # csat: 100 * (5 - s) / 4 -> 100, 75, 50, 25, 0
    + [("csat", 1, 100), ("csat", 2, 75), ("csat", 3, 50), ("csat", 4, 25), ("csat", 5, 0)]
    # ces: 100 * (7 - s) / 6 -> 100, 83.3, 66.7, 50, 33.3, 16.7, 0 rounded
    + [("ces", 1, 100), ("ces", 2, 83), ("ces", 3, 67), ("ces", 4, 50)]
    + [("ces", 5, 33), ("ces", 6, 17), ("ces", 7, 0)],
)
def test_priority_values(kind, score, expected):
    assert priority(kind, score) == expected


def test_priority_orders_worst_first_across_kinds():
    items = [("csat", 3), ("nps", 0), ("ces", 7), ("nps", 6), ("ces", 2), ("nps", 10)]
    ordered = sorted(items, key=lambda it: priority(*it), reverse=True)
    # nps 0 -> 100, ces 2 -> 83, csat 3 -> 50, nps 6 -> 40, then the two tops (0) in input order
    assert ordered == [("nps", 0), ("ces", 2), ("csat", 3), ("nps", 6), ("ces", 7), ("nps", 10)]


def test_priority_rejects_bad_score():
    with pytest.raises(ValueError):
        priority("csat", 0)


# --- NPS summaries ----------------------------------------------------------------------


def test_nps_worked_example():
    # 50 promoters, 30 passives, 20 detractors, n = 100 -> NPS = 50% - 20% = 30.
    s = summarize("nps", {10: 25, 9: 25, 8: 15, 7: 15, 6: 10, 0: 10})
    assert s.n == 100
    assert s.counts == {"promoter": 50, "passive": 30, "detractor": 20}
    assert s.shares == pytest.approx({"promoter": 0.5, "passive": 0.3, "detractor": 0.2})
    assert s.value == pytest.approx(30.0, abs=1e-9)
    # Plain Wald would be: var = (0.5 + 0.2) - 0.3^2 = 0.61, 1.96 * sqrt(0.61 / 100) * 100 = 15.308
    # Adjusted Wald: n' = 103, p' = 50.75/103 = 0.492718, d' = 20.75/103 = 0.201456
    #   p' - d' = 30/103 = 0.291262, p' + d' = 71.5/103 = 0.694175
    #   var' = 0.694175 - 0.291262^2 = 0.694175 - 0.084834 = 0.609341
    #   margin = 1.96 * sqrt(0.609341 / 103) * 100 = 1.96 * 0.0769151 * 100 = 15.0754
    #   interval = 29.1262 +- 15.0754 = 14.0508 .. 44.2016
    assert s.margin == pytest.approx(15.0754, abs=TOL)
    assert s.low == pytest.approx(14.0508, abs=TOL)
    assert s.high == pytest.approx(44.2016, abs=TOL)
    assert s.margin < 15.308  # the adjustment shrinks the spread a little here


def test_nps_all_promoters_has_nonzero_margin_and_clipped_high():
    # n = 10, all promoters. Raw NPS = 100 (plain Wald margin would be 0).
    # n' = 13, p' = 10.75/13 = 0.826923, d' = 0.75/13 = 0.057692
    # p' - d' = 10/13 = 0.769231, p' + d' = 11.5/13 = 0.884615
    # var' = 0.884615 - 0.591716 = 0.292899; margin = 1.96 * sqrt(0.292899/13) * 100 = 29.4201
    # interval = 76.9231 +- 29.4201 = 47.5030 .. 106.3431 -> high clipped to 100
    s = summarize("nps", {10: 6, 9: 4})
    assert s.value == pytest.approx(100.0, abs=1e-9)
    assert s.margin == pytest.approx(29.4200, abs=TOL)
    assert s.low == pytest.approx(47.5030, abs=TOL)
    assert s.high == 100.0


def test_nps_all_detractors_mirrors_all_promoters():
    # Same arithmetic as above with the roles swapped: centre -76.9231, low clipped to -100.
    s = summarize("nps", {0: 3, 6: 7})
    assert s.value == pytest.approx(-100.0, abs=1e-9)
    assert s.margin == pytest.approx(29.4200, abs=TOL)
    assert s.low == -100.0
    assert s.high == pytest.approx(-47.5030, abs=TOL)


def test_nps_single_response():
    # One 10: n' = 4, p' = 1.75/4 = 0.4375, d' = 0.75/4 = 0.1875
    # p' - d' = 0.25, p' + d' = 0.625, var' = 0.625 - 0.0625 = 0.5625
    # margin = 1.96 * sqrt(0.5625 / 4) * 100 = 1.96 * 0.375 * 100 = 73.5
    # interval = 25 +- 73.5 = -48.5 .. 98.5 (no clipping needed)
    s = summarize("nps", {10: 1})
    assert s.n == 1
    assert s.value == pytest.approx(100.0, abs=1e-9)
    assert s.margin == pytest.approx(73.5, abs=1e-9)
    assert s.low == pytest.approx(-48.5, abs=1e-9)
    assert s.high == pytest.approx(98.5, abs=1e-9)


@pytest.mark.parametrize("kind", ["nps", "csat", "ces"])
@pytest.mark.parametrize("counts", [{}, {5: 0}])
def test_empty_summary_is_well_defined(kind, counts):
    s = summarize(kind, counts)
    assert s.n == 0
    assert s.counts == dict.fromkeys(CATEGORIES[kind], 0)
    assert s.shares == dict.fromkeys(CATEGORIES[kind], 0.0)
    assert (s.value, s.margin, s.low, s.high) == (None, None, None, None)
    assert s.as_dict()["value"] is None


@pytest.mark.parametrize("counts", [{11: 1}, {5: -1}, {5: True}, {5: 1.0}, {"5": 1}, {True: 1}])
def test_summarize_rejects_bad_counts(counts):
    with pytest.raises(ValueError):
        summarize("nps", counts)


def test_summary_is_frozen():
    s = summarize("nps", {10: 1})
    with pytest.raises(AttributeError):
        s.value = 0  # type: ignore[misc]


def test_as_dict_rounds_for_output_only():
    s = summarize("nps", {10: 25, 9: 25, 8: 15, 7: 15, 6: 10, 0: 10})
    d = s.as_dict()
    # raw numbers from test_nps_worked_example, rounded to 1 place
    assert d == {
        "kind": "nps",
        "n": 100,
        "counts": {"promoter": 50, "passive": 30, "detractor": 20},
        "shares": {"promoter": 0.5, "passive": 0.3, "detractor": 0.2},
        "value": 30.0,
        "margin": 15.1,
        "low": 14.1,
        "high": 44.2,
    }
    assert s.margin != d["margin"]  # the dataclass itself keeps full precision
    thirds = summarize("nps", {10: 1, 8: 1, 0: 1}).as_dict(digits=0)
    # value 0; shares 1/3 -> 0.33 (digits + 2 places, i.e. whole percents)
    assert thirds["value"] == 0
    assert thirds["shares"] == {"promoter": 0.33, "passive": 0.33, "detractor": 0.33}


# --- CSAT and CES summaries -------------------------------------------------------------


def test_csat_agresti_coull_example():
    # 40 of 50 satisfied -> value 80%.
    # z^2 = 3.8416, n~ = 53.8416, p~ = (40 + 1.9208) / 53.8416 = 41.9208 / 53.8416 = 0.778595
    # margin = 1.96 * sqrt(0.778595 * 0.221405 / 53.8416) * 100 = 1.96 * 0.0565836 * 100 = 11.0904
    # interval = 77.8595 +- 11.0904 = 66.7691 .. 88.9499
    s = summarize("csat", {5: 25, 4: 15, 3: 5, 2: 3, 1: 2})
    assert s.counts == {"satisfied": 40, "neutral": 5, "unsatisfied": 5}
    assert s.value == pytest.approx(80.0, abs=1e-9)
    assert s.margin == pytest.approx(11.0904, abs=TOL)
    assert s.low == pytest.approx(66.7691, abs=TOL)
    assert s.high == pytest.approx(88.9499, abs=TOL)


def test_csat_all_satisfied_clipped_at_100():
    # 5 of 5: n~ = 8.8416, p~ = 6.9208 / 8.8416 = 0.782754
    # margin = 1.96 * sqrt(0.782754 * 0.217246 / 8.8416) * 100 = 1.96 * 0.138683 * 100 = 27.1818
    # interval = 78.2754 +- 27.1818 -> 51.0936 .. 105.4572 -> high clipped to 100
    s = summarize("csat", {5: 5})
    assert s.value == pytest.approx(100.0, abs=1e-9)
    assert s.margin == pytest.approx(27.1818, abs=TOL)
    assert s.low == pytest.approx(51.0936, abs=TOL)
    assert s.high == 100.0


def test_ces_mean_and_sd_example():
    # scores: 7,7, 6,6,6, 5,5,5, 4, 2 -> n = 10, sum = 14+18+15+4+2 = 53, mean = 5.3
    # squared deviations: 2*1.7^2 + 3*0.7^2 + 3*0.3^2 + 1.3^2 + 3.3^2
    #   = 5.78 + 1.47 + 0.27 + 1.69 + 10.89 = 20.1; s = sqrt(20.1 / 9) = 1.494434
    # margin = 1.96 * 1.494434 / sqrt(10) = 1.96 * 0.472582 = 0.926261
    s = summarize("ces", {7: 2, 6: 3, 5: 3, 4: 1, 2: 1})
    assert s.counts == {"easy": 8, "neutral": 1, "hard": 1}
    assert s.value == pytest.approx(5.3, abs=1e-9)
    assert s.margin == pytest.approx(0.926261, abs=1e-5)
    assert s.low == pytest.approx(5.3 - 0.926261, abs=1e-5)
    assert s.high == pytest.approx(5.3 + 0.926261, abs=1e-5)


def test_ces_single_response_has_no_margin():
    s = summarize("ces", {3: 1})
    assert s.value == pytest.approx(3.0, abs=1e-9)
    assert (s.margin, s.low, s.high) == (None, None, None)


def test_ces_interval_clipped_to_scale():
    # {7, 1}: mean 4, s = sqrt((9 + 9) / 1) = 4.242641, margin = 1.96 * 4.242641 / sqrt(2) = 5.88
    # 4 +- 5.88 = -1.88 .. 9.88 -> clipped to 1 .. 7; margin stays the unclipped half-width
    s = summarize("ces", {7: 1, 1: 1})
    assert s.margin == pytest.approx(5.88, abs=1e-9)
    assert (s.low, s.high) == (1.0, 7.0)


# --- comparisons ------------------------------------------------------------------------

BEFORE = {10: 50, 8: 30, 0: 20}  # NPS 30, interval 14.0508 .. 44.2016 (see worked example)


def test_compare_significant_increase():
    # after: 90 promoters, 10 passives. value 90.
    # n' = 103, p' = 90.75/103 = 0.881068, d' = 0.75/103 = 0.007282, p' - d' = 90/103 = 0.873786
    # var' = 91.5/103 - 0.873786^2 = 0.888350 - 0.763503 = 0.124847
    # margin = 1.96 * sqrt(0.124847 / 103) * 100 = 6.8238 -> low = 87.3786 - 6.8238 = 80.5548
    # 80.5548 > 44.2016: intervals do not overlap.
    c = compare("nps", BEFORE, {10: 90, 8: 10})
    assert c.change == pytest.approx(60.0, abs=1e-9)
    assert c.after.low == pytest.approx(80.5548, abs=TOL)
    assert c.significant is True
    assert c.direction == "up"


def test_compare_significant_decrease_is_symmetric():
    c = compare("nps", {10: 90, 8: 10}, BEFORE)
    assert c.change == pytest.approx(-60.0, abs=1e-9)
    assert (c.significant, c.direction) == (True, "down")


def test_compare_overlapping_intervals_not_significant():
    # after: 55 P, 30 passive, 15 D -> value 40, change +10.
    # n' = 103, p' - d' = 40/103 = 0.388350, p' + d' = 71.5/103 = 0.694175
    # var' = 0.694175 - 0.150815 = 0.543360, margin = 1.96 * sqrt(0.543360/103) * 100 = 14.2358
    # low = 38.8350 - 14.2358 = 24.5992 < 44.2016 (before.high): overlap.
    c = compare("nps", BEFORE, {10: 55, 8: 30, 0: 15})
    assert c.change == pytest.approx(10.0, abs=1e-9)
    assert c.after.low == pytest.approx(24.5992, abs=TOL)
    assert c.significant is False
    assert c.direction == "up"  # direction is the raw sign, not a significance claim


def test_compare_is_conservative_vs_two_sample_test():
    # CES before: 50 x 4, 50 x 5 -> mean 4.5, s^2 = 25/99 = 0.252525, margin = 0.098494
    #   interval 4.401506 .. 4.598494
    # CES after: 33 x 4, 67 x 5 -> mean 4.67, s^2 = 100*0.67*0.33/99 = 0.223333, margin = 0.092626
    #   interval 4.577374 .. 4.762626 -> overlaps before (4.577 < 4.598): not significant.
    # A two-sample z-test would reject: z = 0.17 / sqrt(0.252525/100 + 0.223333/100) = 2.464.
    c = compare("ces", {4: 50, 5: 50}, {4: 33, 5: 67})
    assert c.before.high == pytest.approx(4.598494, abs=1e-5)
    assert c.after.low == pytest.approx(4.577374, abs=1e-5)
    assert c.change == pytest.approx(0.17, abs=1e-9)
    assert 0.17 / math.sqrt(0.252525 / 100 + 0.223333 / 100) > 1.96
    assert c.significant is False


def test_compare_identical_periods_flat():
    c = compare("csat", {5: 2, 1: 1}, {5: 4, 1: 2})  # both 2/3 satisfied
    assert c.change == 0.0
    assert (c.significant, c.direction) == (False, "flat")


@pytest.mark.parametrize(("before", "after"), [({}, {10: 3}), ({10: 3}, {}), ({}, {})])
def test_compare_with_empty_period(before, after):
    c = compare("nps", before, after)
    assert c.change is None
    assert (c.significant, c.direction) == (False, "flat")


def test_compare_ces_single_response_never_significant():
    # n = 1 has no interval, so the intervals cannot "say so".
    c = compare("ces", {1: 1}, {7: 1})
    assert c.change == pytest.approx(6.0, abs=1e-9)
    assert (c.significant, c.direction) == (False, "up")


def test_comparison_as_dict():
    d = compare("nps", BEFORE, {10: 90, 8: 10}).as_dict()
    assert d["change"] == 60.0
    assert d["significant"] is True
    assert d["before"]["high"] == 44.2
    assert d["after"]["low"] == 80.6


def test_module_imports_only_stdlib():
    # The module must stay pure: no Flask/SQLAlchemy or other third-party imports.
    tree = ast.parse(Path(scoring.__file__).read_text(encoding="utf-8"))
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "math", "collections", "dataclasses", "enum", "typing"}
