"""What the scaling benchmarks share: their options, and timing a small and a large
case alternately so that a change in the machine's load falls on both alike."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import TypeVar

from api.extensions import db

SMALL, LARGE = 10_000, 1_000_000
MAX_RATIO = 2.0  # the target: the large case within twice the small one's time
CHUNK = 20_000  # rows per bulk INSERT
# A plausible NPS mix (about 45% promoters, 30% passives, 25% detractors).
SCORE_WEIGHTS = {0: 2, 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 8, 7: 12, 8: 18, 9: 22, 10: 23}
Case = TypeVar("Case")


def options(prog: str, seed: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per case")
    parser.add_argument("--small", type=int, default=SMALL)
    parser.add_argument("--large", type=int, default=LARGE)
    parser.add_argument("--postgres", action="store_true", help="use DATABASE_URL's database")
    parser.add_argument("--seed", type=int, default=seed)
    return parser


def assert_bulk_equals(
    bulk: Case, real: Case, writer: str, readers: dict[str, Callable[[Case], object]]
) -> None:
    """What the benchmark's bulk insert left for `bulk` is what the app's own `writer`
    left for `real` from the same sample, as each of `readers` reads it (by what it reads).
    Otherwise the timings would be of rows the app never writes."""
    for what, read in readers.items():
        assert read(bulk) == read(real), f"bulk {what}: not what {writer} writes"


def analyze() -> None:
    """PostgreSQL plans from statistics: without them it would plan for empty tables."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def alternating_medians(
    cases: dict[str, Case], measure: Callable[[Case], float], repeat: int
) -> dict[str, float]:
    """The median of `repeat` runs of `measure` per case, after one warm-up run each
    (caches, query plans), the cases taking turns: A B A B ..."""
    for case in cases.values():
        measure(case)
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(repeat):
        for label, case in cases.items():
            times[label].append(measure(case))
    return {label: statistics.median(values) for label, values in times.items()}
