"""CSV import of contacts: 100,000 rows from upload to completion under 30 s, on
SQLite and on PostgreSQL.

The clock covers what a user waits for: the upload (`POST /v1/contacts/imports`
through Flask's test client: the body read, the file checked whole, stored with its
import, its job enqueued) and the worker running that job (`Worker.run_once`, as
`flask worker` does: parsing, validating each row with the contact schema, looking up
existing contacts, writing chunk by chunk, each chunk committed at the job's
checkpoint). The file is built before the clock starts: ten columns, as a CRM export
has them, with a bad email on one row in a thousand.

    .venv/bin/python -m bench.contact_import                # SQLite in a temp folder
    .venv/bin/python -m bench.contact_import --postgres     # also a scratch PostgreSQL database
    .venv/bin/python -m bench.contact_import --profile      # also print the top of cProfile

Two figures per engine: a first import (every contact new), then the same file
again with a third of the rows changed (contacts read, compared, a third updated).
"others" is the CPU the rest of the machine used meanwhile, as a share of all of it
(on PostgreSQL it includes the database server's own work).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time

from api.contacts.imports.models import ContactImport
from api.extensions import db
from api.worker.loop import Worker
from bench.fresh_database import engine_options, on_each_engine
from bench.invitations import prepare
from bench.throughput import _machine_busy_seconds, _own_cpu_seconds

TARGET_SECONDS = 30.0
HEADER = (
    "external_id,email,first_name,last_name,locale,stage,unsubscribed,"
    "attr.plan,attr.company,attr.seats\n"
)


def build_csv(rows: int, changed: bool = False) -> bytes:
    locales = ("en", "de", "fr", "pt-BR", "")
    stages = ("lead", "trial", "customer", "churned")
    lines = [HEADER]
    for i in range(rows):
        plan = ("free", "pro", "team")[i % 3]
        if changed and i % 3 == 0:
            plan = "enterprise"
        email = f"person{i}@example.com" if i % 1000 != 999 else f"person{i}-at-example"
        company = f'"Company {i % 977}, Inc."' if i % 7 == 0 else f"Company {i % 977}"
        lines.append(
            f"ext-{i},{email},First{i},Last{i % 313},{locales[i % 5]},{stages[i % 4]},"
            f"{'yes' if i % 50 == 0 else 'no'},{plan},{company},{i % 40}\n"
        )
    return "".join(lines).encode()


def timed_import(app, client, headers, content: bytes, profile: bool) -> dict:
    profiler = cProfile.Profile() if profile else None
    busy, own = _machine_busy_seconds(), _own_cpu_seconds()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    response = client.post(
        "/v1/contacts/imports", data=content, headers={**headers, "Content-Type": "text/csv"}
    )
    assert response.status_code == 202, response.get_data(as_text=True)[:500]
    uploaded = time.perf_counter() - start
    ran = Worker(app).run_once()  # the job the upload enqueued, as `flask worker` runs it
    assert len(ran.jobs) == 1, ran
    with app.app_context():
        job = db.session.get(ContactImport, response.get_json()["id"])
        counts = {n: getattr(job, n) for n in ("created", "updated", "unchanged", "failed")}
        status = job.status
        db.session.remove()
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - start
    cpus = os.cpu_count() or 1
    others = max(0.0, _machine_busy_seconds() - busy - (_own_cpu_seconds() - own))
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(
            int(os.environ.get("PROFILE_LINES", 35))
        )
    assert status == "completed", status
    return {
        "seconds": seconds,
        "upload": uploaded,
        "counts": counts,
        "others_pct": others / (seconds * cpus) * 100,
    }


def run(uri: str, engine: str, rows: int, profile: bool) -> bool:
    app, headers = prepare(uri)
    client = app.test_client()
    first_file, second_file = build_csv(rows), build_csv(rows, changed=True)
    results = [
        ("first import, all new", timed_import(app, client, headers, first_file, profile)),
        ("same file, 1/3 changed", timed_import(app, client, headers, second_file, False)),
    ]
    with app.app_context():
        db.engine.dispose()
    ok = True
    for label, result in results:
        verdict = "PASS" if result["seconds"] < TARGET_SECONDS else "FAIL"
        ok = ok and verdict == "PASS"
        counts = ", ".join(f"{v} {k}" for k, v in result["counts"].items())
        print(
            f"{engine:10} {label:24} {rows:>7} rows ({len(first_file) / 2**20:.1f} MB): "
            f"{result['seconds']:.2f} s ({rows / result['seconds']:,.0f} rows/s; upload "
            f"{result['upload']:.2f} s)  {counts}  others {result['others_pct']:.0f}% CPU  "
            f"target < {TARGET_SECONDS:.0f} s {verdict}"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = engine_options(__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print cProfile of the first")
    parser.add_argument("--database-prefix", default="flipfunnel_bench")
    args = parser.parse_args(argv)
    return on_each_engine(
        args.postgres,
        lambda uri, engine: run(uri, engine, args.rows, args.profile),
        args.database_prefix,
    )


if __name__ == "__main__":
    sys.exit(main())
