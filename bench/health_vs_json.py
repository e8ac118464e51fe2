"""Our `/healthz` against the baseline's `/json`: both a constant JSON answer, no database.

What is left between the two is our per-request machinery: request id and log
line, caller identification, the rate limiter, the end-of-request commit hook,
error handlers, smorest. It is the floor under every other ratio.

    python -m bench.health_vs_json [--duration 5] [--rounds 3]
"""

import argparse
import sys
import tempfile
from pathlib import Path

from bench.throughput import (
    BASELINE_APP,
    Run,
    Target,
    compare,
    prepare_sqlite_database,
    run_bench,
)

# No product target names /healthz. But every route pays this overhead, so the referral
# redirect's target (0.7 of a bare Flask redirect) is out of reach unless this floor is above it.
MIN_RATIO = 0.7


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.health_vs_json")
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-ratio", type=float, default=MIN_RATIO)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)

    def run() -> None:
        with tempfile.TemporaryDirectory(prefix="flipfunnel-bench-db-") as dbdir:
            env = prepare_sqlite_database(Path(dbdir) / "bench.db")
            compare(
                Target("ours-healthz", "wsgi:app", "/healthz", env=env, expect_status=200),
                Target("baseline-json", BASELINE_APP, "/json", expect_status=200),
                Run("health_vs_json", keep_logs=args.keep_logs),
                duration=args.duration,
                rounds=args.rounds,
                min_ratio=args.min_ratio,
            )

    return run_bench(run)


if __name__ == "__main__":
    sys.exit(main())
