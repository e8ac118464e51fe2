"""The widget API's eligibility and a retried answer against the baseline's constant `/json`.

Ours does the real work: the publishable key, the origin check, the signed user
identity, the survey choice and its throttles (eligibility). The retried answer
sends the same display each time, so after the first request every call is the
idempotent re-submit a retrying widget makes: a retry, not a first answer. The
database is a migrated SQLite file with a real workspace and widget survey.
PASS/FAIL against 0.5 for each, median ratio over rounds (targets: bench/README.md).
`--postgres` runs ours on a scratch database next to DATABASE_URL's instead.

    python -m bench.widget_api [--duration 5] [--rounds 3] [--postgres]
"""

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from bench.invitations import postgres_database
from bench.throughput import (
    BASELINE_APP,
    Target,
    bench_app,
    compare,
    prepare_database,
    prepare_sqlite_database,
    run_bench,
)

MIN_RATIO = 0.5
ORIGIN = "https://shop.example.com"
UNLIMITED = {
    "RATELIMIT_WIDGET_KEY": "100000000 per minute",
    "RATELIMIT_WIDGET_IP": "100000000 per minute",
}


def seed(database: Path | str) -> dict:
    """A workspace, its widget survey, one identified user and one display token."""
    from api.extensions import db
    from api.surveys.models import Survey
    from api.widget import identity
    from api.workspaces import keys

    app = bench_app(database)
    with app.app_context():
        workspace, _, publishable = keys.create_workspace("Bench")
        workspace.allowed_origins = [ORIGIN]
        db.session.add(
            Survey(
                workspace_id=workspace.id,
                name="Bench",
                kind="nps",
                widget_enabled=True,
                resurvey_days=0,
                decline_days=0,
            )
        )
        db.session.commit()
        user_hash = identity.user_hash(identity.identity_secret(workspace), "bench-user")
        query = {"key": publishable, "user_id": "bench-user", "user_hash": user_hash}
        client = app.test_client()
        answer = client.get(f"/w/v1/eligibility?{urlencode(query)}", headers={"Origin": ORIGIN})
        display = answer.get_json()["display"]
        db.engine.dispose()
    return {"query": urlencode(query), "key": publishable, "display": display}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.widget_api")
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-ratio", type=float, default=MIN_RATIO)
    parser.add_argument("--postgres", action="store_true", help="ours on DATABASE_URL's server")
    args = parser.parse_args(argv)
    common = {
        "duration": args.duration,
        "rounds": args.rounds,
        "threads": args.threads,
        "connections": args.connections,
        "min_ratio": args.min_ratio,
    }

    @contextlib.contextmanager
    def database():
        if args.postgres:
            with postgres_database() as url:
                yield url, prepare_database(url, UNLIMITED)
            return
        with tempfile.TemporaryDirectory(prefix="flipfunnel-bench-db-") as dbdir:
            path = Path(dbdir) / "bench.db"
            yield path, prepare_sqlite_database(path, UNLIMITED)

    suffix = "-postgres" if args.postgres else ""

    def run() -> None:
        with database() as (where, env):
            seeded = seed(where)
            baseline = Target("baseline-json", BASELINE_APP, "/json")
            compare(
                Target(
                    "ours-eligibility",
                    "wsgi:app",
                    f"/w/v1/eligibility?{seeded['query']}",
                    headers={"Origin": ORIGIN},
                    env=env,
                ),
                baseline,
                name=f"widget-eligibility{suffix}",
                **common,
            )
            compare(
                Target(
                    "ours-retried-answer",
                    "wsgi:app",
                    f"/w/v1/responses?key={seeded['key']}",
                    method="POST",
                    body=json.dumps({"display": seeded["display"], "score": 9}),
                    headers={"Origin": ORIGIN, "Content-Type": "application/json"},
                    env=env,
                ),
                baseline,
                name=f"widget-retried-answer{suffix}",
                **common,
            )

    return run_bench(run)


if __name__ == "__main__":
    sys.exit(main())
