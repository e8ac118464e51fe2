"""Survey scoring rules: scales, categories, queue routing and aggregate statistics.

This module is the single owner of the product's scoring rules so that the API,
the widgets and the reports cannot drift apart. It is pure Python (standard
library only) and never rounds inside the math; round only for output
(``Summary.as_dict``).

Kinds and scales:
    nps   0..10   promoter 9-10, passive 7-8, detractor 0-6
    csat  1..5    satisfied 4-5, neutral 3, unsatisfied 1-2
    ces   1..7    easy 5-7, neutral 4, hard 1-3
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Queue = Literal["follow_up", "advocacy"]

Z95 = 1.96  # two-sided 95% normal quantile used by every interval below

_SCALES: dict[str, range] = {
    "nps": range(0, 11),
    "csat": range(1, 6),
    "ces": range(1, 8),
}

# Ordered best -> worst for every kind, so index 0 is always the "good" end.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "nps": ("promoter", "passive", "detractor"),
    "csat": ("satisfied", "neutral", "unsatisfied"),
    "ces": ("easy", "neutral", "hard"),
}

# Lowest score that still falls into each category, in CATEGORIES order.
_THRESHOLDS: dict[str, tuple[int, ...]] = {
    "nps": (9, 7, 0),
    "csat": (4, 3, 1),
    "ces": (5, 4, 1),
}

_FOLLOW_UP = frozenset({"detractor", "unsatisfied", "hard"})


def score_range(kind: str) -> range:
    """Valid scores for ``kind`` (inclusive of both ends). Unknown kind -> ValueError."""
    try:
        return _SCALES[kind]
    except KeyError:
        raise ValueError(f"unknown survey kind: {kind!r}") from None


def validate_score(kind: str, score: object) -> int:
    """Return ``score`` if it is a valid int on the kind's scale, else raise ValueError.

    ``bool`` is rejected even though it subclasses ``int``: ``True`` is not a rating.
    """
    scale = score_range(kind)
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(f"{kind} score must be an int, got {type(score).__name__}")
    if score not in scale:
        raise ValueError(f"{kind} score must be {scale.start}..{scale.stop - 1}, got {score}")
    return score


def classify(kind: str, score: int) -> str:
    """Category name for one response (see the module docstring for the cut-offs)."""
    validate_score(kind, score)
    for name, lowest in zip(CATEGORIES[kind], _THRESHOLDS[kind], strict=True):
        if score >= lowest:
            return name
    raise AssertionError("unreachable: thresholds cover the whole scale")


def queue_for(kind: str, category: str) -> Queue | None:
    """Which work queue a response of this category goes to, if any.

    Unhappy responses (detractor/unsatisfied/hard) go to "follow_up". Only NPS
    promoters go to "advocacy" (referral asks); satisfied CSAT and easy CES
    respondents are left alone.
    """
    if category not in CATEGORIES[_known(kind)]:
        raise ValueError(f"unknown {kind} category: {category!r}")
    if category in _FOLLOW_UP:
        return "follow_up"
    if kind == "nps" and category == "promoter":
        return "advocacy"
    return None


def priority(kind: str, score: int) -> int:
    """Follow-up urgency 0..100, comparable across kinds; higher = handle first.

    It is the distance of the score from the top of its scale as a share of the
    scale's span, times 100, rounded half-up to an int:
    ``round(100 * (top - score) / (top - bottom))``. So the lowest score of any
    scale is 100, the top score is 0, and e.g. NPS 5 (50) ties with CSAT 3 and
    CES 4 (both 50). Sort descending for "worst first".
    """
    validate_score(kind, score)
    scale = score_range(kind)
    top, span = scale.stop - 1, scale.stop - 1 - scale.start
    # Integer half-up rounding: avoids float ties and banker's rounding.
    return (200 * (top - score) + span) // (2 * span)


@dataclass(frozen=True)
class Summary:
    """Aggregate of one survey kind over a set of responses.

    ``value`` is the point estimate from the raw data:
        nps  % promoters - % detractors, on -100..100
        csat % satisfied, on 0..100
        ces  mean score, on 1..7
    ``low``/``high`` is the 95% interval clipped to those bounds; ``margin`` is the
    half-width of that interval *before* clipping (same units as ``value``). For NPS
    and CSAT the interval is an adjusted-Wald one, centred on the adjusted estimate,
    not on ``value`` -- so ``value +- margin`` need not equal ``low..high``.

    With ``n == 0`` there is nothing to estimate: ``value``, ``margin``, ``low`` and
    ``high`` are None and every share is 0.0. For CES with ``n == 1`` the sample
    standard deviation is undefined, so ``margin``/``low``/``high`` are None while
    ``value`` is the single score.
    """

    kind: str
    n: int
    counts: dict[str, int]
    shares: dict[str, float]
    value: float | None
    margin: float | None
    low: float | None
    high: float | None

    def as_dict(self, digits: int = 1) -> dict[str, Any]:
        """JSON-ready dict; rounds value/margin/low/high to ``digits`` places.

        Shares are fractions, so they get ``digits + 2`` places: the same precision
        as the other fields once shown as percentages.
        """
        return {
            "kind": self.kind,
            "n": self.n,
            "counts": dict(self.counts),
            "shares": {k: round(v, digits + 2) for k, v in self.shares.items()},
            "value": _round(self.value, digits),
            "margin": _round(self.margin, digits),
            "low": _round(self.low, digits),
            "high": _round(self.high, digits),
        }


@dataclass(frozen=True)
class Comparison:
    """Two periods of the same kind; see ``compare``."""

    kind: str
    before: Summary
    after: Summary
    change: float | None
    significant: bool
    direction: Literal["up", "down", "flat"]

    def as_dict(self, digits: int = 1) -> dict[str, Any]:
        """JSON-ready dict with both summaries rounded like ``Summary.as_dict``."""
        return {
            "kind": self.kind,
            "before": self.before.as_dict(digits),
            "after": self.after.as_dict(digits),
            "change": _round(self.change, digits),
            "significant": self.significant,
            "direction": self.direction,
        }


def summarize(kind: str, counts: Mapping[int, int]) -> Summary:
    """Summarise responses given as ``{score: number_of_responses}``.

    Scores missing from ``counts`` count as zero. Keys must be valid scores and
    values non-negative ints, else ValueError. See ``Summary`` for field meanings.
    """
    _known(kind)
    for score, count in counts.items():
        validate_score(kind, score)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count for score {score} must be a non-negative int: {count!r}")

    by_cat = dict.fromkeys(CATEGORIES[kind], 0)
    for score, count in counts.items():
        by_cat[classify(kind, score)] += count
    n = sum(by_cat.values())
    shares = {c: (k / n if n else 0.0) for c, k in by_cat.items()}

    if n == 0:
        return Summary(kind, 0, by_cat, shares, None, None, None, None)
    if kind == "nps":
        value, (centre, margin) = _nps(by_cat["promoter"], by_cat["detractor"], n)
        bounds = (-100.0, 100.0)
    elif kind == "csat":
        value, (centre, margin) = _csat(by_cat["satisfied"], n)
        bounds = (0.0, 100.0)
    else:
        value, centre_margin = _ces(counts, n)
        if centre_margin is None:
            return Summary(kind, n, by_cat, shares, value, None, None, None)
        centre, margin = centre_margin
        bounds = (1.0, 7.0)
    low = max(bounds[0], centre - margin)
    high = min(bounds[1], centre + margin)
    return Summary(kind, n, by_cat, shares, value, margin, low, high)


@dataclass(frozen=True)
class Share:
    """``count`` of ``n`` as a fraction, with its 95% interval ``low``..``high``.

    The interval is Agresti-Coull (see ``_agresti_coull``), clipped to 0..1 and, like
    the CSAT one, centred on the adjusted estimate rather than on ``value``. With
    ``n == 0`` there is no share: ``value``, ``low`` and ``high`` are None.
    """

    count: int
    n: int
    value: float | None
    low: float | None
    high: float | None

    def as_dict(self, digits: int = 4) -> dict[str, Any]:
        """JSON-ready dict; the fractions rounded to ``digits`` places."""
        return {
            "count": self.count,
            "n": self.n,
            "value": _round(self.value, digits),
            "low": _round(self.low, digits),
            "high": _round(self.high, digits),
        }


def share(count: int, n: int) -> Share:
    """The share ``count / n`` (a churn rate, a recovery rate) with its 95% interval.

    ``count`` and ``n`` are non-negative ints with ``count <= n``, else ValueError.
    """
    for name, value in (("count", count), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int: {value!r}")
    if count > n:
        raise ValueError(f"count {count} exceeds n {n}")
    if n == 0:
        return Share(0, 0, None, None, None)
    centre, margin = _agresti_coull(count, n)
    return Share(count, n, count / n, max(0.0, centre - margin), min(1.0, centre + margin))


def compare(kind: str, before: Mapping[int, int], after: Mapping[int, int]) -> Comparison:
    """Compare two periods of responses of the same kind.

    ``change`` is ``after.value - before.value`` (None if either period is empty).
    ``direction`` is the sign of ``change`` ("flat" for 0 or None); it says nothing
    about significance.

    ``significant`` is True only when both 95% intervals exist and do not overlap.
    We call a change between two periods significant only when the intervals say
    so, and use exactly that rule. It is conservative:
    two 95% intervals can overlap while a two-sample test at 5% would still reject,
    so this flags fewer changes than such a test would (never more).
    """
    b, a = summarize(kind, before), summarize(kind, after)
    change = None if a.value is None or b.value is None else a.value - b.value
    significant = False
    if a.low is not None and a.high is not None and b.low is not None and b.high is not None:
        significant = a.low > b.high or a.high < b.low
    direction: Literal["up", "down", "flat"] = "flat"
    if change is not None and change > 0:
        direction = "up"
    elif change is not None and change < 0:
        direction = "down"
    return Comparison(kind, b, a, change, significant, direction)


# --- estimators: each returns (value, (interval centre, half-width)) in output units ---


def _nps(promoters: int, detractors: int, n: int) -> tuple[float, tuple[float, float]]:
    """NPS with an adjusted-Wald 95% interval.

    Each response scores +1/0/-1, so with shares p, d: var = (p + d) - (p - d)^2 and
    the plain Wald margin is z * sqrt(var / n). That margin is 0 when everyone is a
    promoter, which overstates certainty for small n. The adjusted-Wald fix adds 3/4
    of a promoter and 3/4 of a detractor and 3 to n (n' = n + 3, p' = (P + 0.75) / n',
    d' = (D + 0.75) / n') and applies the Wald formula to those.
    Sources: Rocks (2016), "Interval Estimation for the 'Net Promoter Score'",
    The American Statistician 70(4), who found it the best of six methods; and
    Sauro & Lewis (MeasuringU, 2021: measuringu.com/nps-confidence-intervals and
    measuringu.com/nps-three-confidence-intervals), who recommend it for NPS.
    ``value`` uses the raw shares; the interval is centred on p' - d'.
    """
    value = 100 * (promoters - detractors) / n
    n_adj = n + 3
    p = (promoters + 0.75) / n_adj
    d = (detractors + 0.75) / n_adj
    var = (p + d) - (p - d) ** 2
    return value, (100 * (p - d), 100 * Z95 * math.sqrt(var / n_adj))


def _csat(satisfied: int, n: int) -> tuple[float, tuple[float, float]]:
    """% satisfied with an Agresti-Coull (adjusted-Wald) 95% interval (see ``_agresti_coull``)."""
    centre, margin = _agresti_coull(satisfied, n)
    return 100 * satisfied / n, (100 * centre, 100 * margin)


def _agresti_coull(successes: int, n: int) -> tuple[float, float]:
    """(centre, half-width) of the Agresti-Coull 95% interval of a proportion, as fractions.

    n~ = n + z^2, p~ = (X + z^2 / 2) / n~, interval p~ +- z * sqrt(p~ (1 - p~) / n~).
    It adds two successes and two failures (z^2 ~ 4) before the Wald formula, so 0 of 5
    and 5 of 5 get honest widths where plain Wald claims certainty.
    Source: Agresti & Coull (1998), "Approximate is better than 'exact' for interval
    estimation of binomial proportions", The American Statistician 52(2).
    """
    n_adj = n + Z95**2
    p = (successes + Z95**2 / 2) / n_adj
    return p, Z95 * math.sqrt(p * (1 - p) / n_adj)


def _ces(counts: Mapping[int, int], n: int) -> tuple[float, tuple[float, float] | None]:
    """Mean CES with a normal 95% interval: mean +- z * s / sqrt(n), s with n - 1.

    For n == 1 the sample standard deviation is undefined, so no interval (None).
    """
    mean = sum(score * k for score, k in counts.items()) / n
    if n < 2:
        return mean, None
    ss = sum(k * (score - mean) ** 2 for score, k in counts.items())
    s = math.sqrt(ss / (n - 1))
    return mean, (mean, Z95 * s / math.sqrt(n))


def _known(kind: str) -> str:
    score_range(kind)
    return kind


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)
