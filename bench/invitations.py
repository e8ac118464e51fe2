"""Batch invitations: from the POST to the batch done, worker included.

Targets: 10,000 invitations in under 2 s, 100,000 in under 20 s, on both engines.

One POST through Flask's test client against a freshly migrated database (the body
parsed and validated, the batch and its references stored, its job enqueued), then
the worker's job runner in the same process (`jobs.run_next`, as the worker's job
thread calls it: the job claimed and run, chunk by chunk: contacts upserted,
eligibility, invitation, rollup and event rows, each chunk committed), then
`GET /v1/invitation-batches/{id}` saying `done`.
The worker's poll interval (WORKER_POLL_SECONDS, 0.2 s) is not counted: a running
worker would pick the job up within it. Links and email blocks are made when pages
are read; one page of 500 is timed apart.

    .venv/bin/python -m bench.invitations               # SQLite in a temp folder
    .venv/bin/python -m bench.invitations --postgres    # a scratch database on DATABASE_URL
    .venv/bin/python -m bench.invitations --sizes 10000 --profile

Two timings per size: a batch of fresh inline contacts (created by the job), then
the same contacts named by external id only (existing contacts, invited again to a
new survey). Each is run `--rounds` times; the median is the figure. The request
body is encoded before the clock starts (a partner's client does that); CPU seconds
are printed too, since wall time on a shared machine includes waiting, and "others":
the CPU the rest of the machine used meanwhile, as a share of all of it (on
PostgreSQL it includes the database server's own work). "POST" is the request's
part of the wall time, the rest is the worker's.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import secrets
import statistics
import sys
import time

import flask_migrate

from api import create_app, heap
from api.database import utcnow
from api.extensions import db
from api.jobs import queue as jobs
from api.workspaces import keys
from bench.fresh_database import engine_options, on_each_engine
from bench.throughput import _machine_busy_seconds, _own_cpu_seconds

TARGETS = {10_000: 2.0, 100_000: 20.0}


def _app(uri: str):
    return create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": uri,
            "RATELIMIT_API": "100000000 per minute",
        }
    )


def prepare(uri: str):
    app = _app(uri)
    with app.app_context():
        flask_migrate.upgrade()
        _, secret, _ = keys.create_workspace("Bench")
        db.session.commit()
    # As wsgi.py and `flask worker` do once their app is made.
    heap.freeze_startup()
    return app, {"Authorization": f"Bearer {secret}"}


def new_survey(client, headers) -> str:
    response = client.post(
        "/v1/surveys",
        json={
            "name": "Bench NPS",
            "kind": "nps",
            "product_name": "Flipfunnel",
            "texts": {"en": {"question": "Hi {first_name|there}, would you recommend {product}?"}},
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def inline_contacts(prefix: str, size: int) -> list[dict]:
    locales = ("en", "de", "fr", "es", None)
    return [
        {
            "external_id": f"{prefix}-{i}",
            "email": f"{prefix}-{i}@example.com",
            "first_name": f"Name{i}",
            "last_name": "Bench",
            "locale": locales[i % len(locales)],
            "attributes": {"plan": ("free", "pro", "team")[i % 3], "seats": i % 50},
        }
        for i in range(size)
    ]


def timed_batch(
    app, client, headers, survey_id: str, refs: list[dict], profile: bool
) -> tuple[float, float, float, float]:
    """Wall and CPU seconds from the POST to the batch done (CPU shows the cost when the
    machine is busy), the POST's wall seconds, and the others' share of the CPU."""
    path = f"/v1/surveys/{survey_id}/invitations"
    headers = {**headers, "Idempotency-Key": secrets.token_hex(8)}
    profiler = cProfile.Profile() if profile else None
    body = json.dumps({"contacts": refs})
    busy, own = _machine_busy_seconds(), _own_cpu_seconds()
    start, cpu_start = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    response = client.post(path, data=body, content_type="application/json", headers=headers)
    assert response.status_code in (201, 202), response.get_data(as_text=True)[:500]
    posted = time.perf_counter() - start
    run_jobs(app)
    batch = client.get(response.headers["Location"], headers=headers).get_json()
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    others = max(0.0, _machine_busy_seconds() - busy - (_own_cpu_seconds() - own))
    assert batch["status"] == "done", batch
    assert batch["counts"] == {"invited": len(refs), "skipped": 0}, batch["counts"]
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(
            int(os.environ.get("PROFILE_LINES", 35))
        )
    return seconds, cpu, posted, others / (seconds * (os.cpu_count() or 1)) * 100


def run_jobs(app) -> None:
    """What the worker's job thread does once a job is queued: run it to its end."""
    with app.app_context():
        while jobs.run_next(utcnow(), app.config["WORKER_LEASE_SECONDS"]):
            pass
        db.session.remove()


def timed_page(client, headers, batch_location: str) -> float:
    start = time.perf_counter()
    page = client.get(f"{batch_location}/invitations?limit=500", headers=headers).get_json()
    assert len(page["data"]) == 500
    return time.perf_counter() - start


def run(uri: str, engine: str, sizes: list[int], rounds: int, profile: bool) -> bool:
    app, headers = prepare(uri)
    client = app.test_client()
    ok = True
    for size in sizes:
        fresh, existing = [], []
        for round_ in range(rounds):
            contacts = inline_contacts(f"s{size}r{round_}", size)
            survey_id = new_survey(client, headers)
            first = profile and round_ == 0
            fresh.append(timed_batch(app, client, headers, survey_id, contacts, first))
            refs = [{"external_id": contact["external_id"]} for contact in contacts]
            survey_id = new_survey(client, headers)
            existing.append(timed_batch(app, client, headers, survey_id, refs, first))
        target = TARGETS.get(size, 2.0 * size / 10_000)
        for label, runs in (("inline, new contacts", fresh), ("external ids, existing", existing)):
            median = statistics.median(run[0] for run in runs)
            cpu = statistics.median(run[1] for run in runs)
            posted = statistics.median(run[2] for run in runs)
            others = statistics.median(run[3] for run in runs)
            verdict = "PASS" if median < target else "FAIL"
            ok = ok and median < target
            print(
                f"{engine:10} {label:24} {size:>7} invitations: median {median:.2f} s wall "
                f"({size / median:,.0f}/s, POST {posted:.2f} s), {cpu:.2f} s CPU, "
                f"others {others:.0f}% CPU; runs {', '.join(f'{run[0]:.2f}' for run in runs)}  "
                f"target < {target:.0f} s {verdict}",
                flush=True,
            )
    survey_id = new_survey(client, headers)
    refs = [{"external_id": contact["external_id"]} for contact in contacts[:1000]]
    location = client.post(
        f"/v1/surveys/{survey_id}/invitations", json={"contacts": refs}, headers=headers
    ).headers["Location"]
    run_jobs(app)
    seconds = timed_page(client, headers, location)
    print(f"{engine:10} one page of 500 invitations, links and email blocks: {seconds:.2f} s")
    with app.app_context():
        db.engine.dispose()
    print(
        f"{engine:10} load average while measuring: {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = engine_options(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print cProfile of round 1")
    args = parser.parse_args(argv)
    return on_each_engine(
        args.postgres, lambda uri, engine: run(uri, engine, args.sizes, args.rounds, args.profile)
    )


if __name__ == "__main__":
    sys.exit(main())
