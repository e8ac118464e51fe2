"""Our tracked link `/r/<code>` against the baseline's constant `/redirect`.

Ours does the real work of a click: it looks the code up (joined with the
program), inserts the click and its event, signs the click id and redirects
with attribution, in a migrated SQLite database holding a real workspace,
program and code. The baseline answers a constant 302. Target: at least 0.70 of
the baseline's throughput, as a median ratio over A B rounds. `--postgres` runs
ours on a scratch database next to DATABASE_URL's instead.

    python -m bench.redirect [--duration 5] [--rounds 3] [--connections 32] [--postgres]
"""

import sys
from pathlib import Path

from bench import throughput
from bench.throughput import (
    BASELINE_APP,
    Target,
    bench_app,
    compare,
    migrated_database,
    run_bench,
)

MIN_RATIO = 0.7
LANDING = "https://example.com/landing"
# Past the per-IP limit the route still redirects but stops counting; wrk comes from one IP.
UNLIMITED_REDIRECT = {"RATELIMIT_REDIRECT": "100000000 per minute"}


def seed(database: Path | str) -> str:
    """A workspace with an enabled program and one advocate's code; returns the code."""
    from api.contacts import service as contacts
    from api.extensions import db
    from api.referrals import links, program
    from api.workspaces import keys

    app = bench_app(database)
    with app.app_context():
        workspace, _, _ = keys.create_workspace("Bench")
        program.put_program(workspace.id, {"enabled": True, "landing_url": LANDING})
        contact = contacts.upsert_contact(workspace.id, "advocate", {})[0]
        code = links.issue_for_contact(workspace.id, contact)[0].code
        db.session.commit()
        db.engine.dispose()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = throughput.comparison_options("python -m bench.redirect", MIN_RATIO)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)

    def run() -> None:
        with migrated_database(args.postgres, UNLIMITED_REDIRECT) as (where, env):
            code = seed(where)
            compare(
                Target("ours-redirect", "wsgi:app", f"/r/{code}", env=env, expect_status=302),
                Target("baseline-redirect", BASELINE_APP, "/redirect", expect_status=302),
                **throughput.comparison(
                    args,
                    "redirect-postgres" if args.postgres else "redirect",
                    keep_logs=args.keep_logs,
                ),
            )

    return run_bench(run)


if __name__ == "__main__":
    sys.exit(main())
