"""`GET /public/v1/testimonials` (the wall's read) against the baseline's constant `/json`.

Ours is the route as a wall widget calls it: a publishable key in the query string,
an allowed origin, the widget API's rate limits counted, and the published
testimonials of a workspace holding 20 approved ones (with tags) and 5 that are not
public (pending, rejected, withdrawn). Its answer is remembered per worker for
TESTIMONIAL_CACHE_SECONDS (the default, 60 s), as in production: the bench measures
the cached read. The key and the workspace are remembered for WIDGET_CACHE_SECONDS
(5 s). Target: at least 0.5 of the baseline, median ratio over rounds. `--postgres`
runs ours on a scratch database next to DATABASE_URL's.

    python -m bench.public_testimonials [--duration 5] [--rounds 3] [--postgres]
"""

import contextlib
import sys
import tempfile
from pathlib import Path

from bench import throughput
from bench.fresh_database import postgres_database
from bench.throughput import (
    BASELINE_APP,
    Target,
    bench_app,
    compare,
    prepare_database,
    prepare_sqlite_database,
    run_bench,
)
from bench.widget_api import ORIGIN, UNLIMITED

MIN_RATIO = 0.5
PUBLISHED, HIDDEN = 20, 5


def seed(database: Path | str) -> str:
    """A workspace, its allowed origin and its testimonials; returns the publishable key."""
    from api.advocacy import testimonials
    from api.contacts import service as contacts
    from api.extensions import db
    from api.workspaces import keys

    app = bench_app(database)
    with app.app_context():
        workspace, _, publishable = keys.create_workspace("Bench")
        workspace.allowed_origins = [ORIGIN]
        for n in range(PUBLISHED + HIDDEN):
            contact = contacts.upsert_contact(workspace.id, f"advocate-{n}", {})[0]
            made = testimonials.add_by_api(
                contact,
                {
                    "text": f"Testimonial {n}: Acme saved our team a day a week. " * 3,
                    "display_name": f"Advocate {n}",
                    "role": "Head of Operations",
                    "company": "Initech",
                    "tags": ["home", "pricing"] if n % 2 else ["home"],
                    "consent": {"text": "I agree that Acme may publish these words."},
                },
                None,
            )
            # The first PUBLISHED are approved; of the rest one is approved and then
            # withdrawn, the others pending or rejected.
            hidden = ("pending", "rejected")[n % 2]
            status = "approved" if n <= PUBLISHED else hidden
            testimonials.moderate(made, {"status": status, "featured": n < 3})
            if n == PUBLISHED:
                testimonials.withdraw(made, "api")
        db.session.commit()
        client = app.test_client()
        shown = client.get(
            f"/public/v1/testimonials?key={publishable}&limit=20", headers={"Origin": ORIGIN}
        ).get_json()["data"]
        if len(shown) != PUBLISHED:
            raise SystemExit(f"seeding failed: {len(shown)} published, not {PUBLISHED}")
        db.engine.dispose()
    return publishable


def main(argv: list[str] | None = None) -> int:
    parser = throughput.comparison_options("python -m bench.public_testimonials", MIN_RATIO)
    parser.add_argument(
        "--db-prefix", default="flipfunnel_bench", help="name prefix of the scratch database"
    )
    args = parser.parse_args(argv)

    @contextlib.contextmanager
    def database():
        if args.postgres:
            with postgres_database(args.db_prefix) as url:
                yield url, prepare_database(url, UNLIMITED)
            return
        with tempfile.TemporaryDirectory(prefix="flipfunnel-bench-db-") as dbdir:
            path = Path(dbdir) / "bench.db"
            yield path, prepare_sqlite_database(path, UNLIMITED)

    def run() -> None:
        with database() as (where, env):
            key = seed(where)
            compare(
                Target(
                    "ours-public-testimonials",
                    "wsgi:app",
                    f"/public/v1/testimonials?key={key}&limit=20",
                    headers={"Origin": ORIGIN},
                    env=env,
                    expect_status=200,
                ),
                Target("baseline-json", BASELINE_APP, "/json"),
                **throughput.comparison(
                    args, "public-testimonials" + ("-postgres" if args.postgres else "")
                ),
            )

    return run_bench(run)


if __name__ == "__main__":
    sys.exit(main())
