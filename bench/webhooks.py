"""Webhooks: one worker's deliveries per second, and event commit to receipt.

Targets: one worker delivers at least 300 deliveries/s to a local receiver that
answers 200 at once; from an event's commit to its receipt, p50 under 1 s and
p99 under 2 s.

    .venv/bin/python -m bench.webhooks               # SQLite in a temp folder
    .venv/bin/python -m bench.webhooks --postgres    # a scratch database on DATABASE_URL

The real parts: one `flask worker` process (as `make run` starts it) delivers; the
receiver runs in a process of its own (HTTP/1.1 keep-alive, http.server's threads)
and verifies every delivery with `standardwebhooks`, as a receiver should; this
process makes the events through the API.

1. Throughput: a batch invitation makes `--deliveries` events (one
   `invitation.created` each) before the worker starts; the figure counts from
   the first receipt to the last, so the worker's start-up is left out.
2. Latency: while the worker runs, first answers (`POST /v1/responses` for a new
   contact: the write a survey makes) come at `--rate` per second for
   `--seconds`; each `response.created` is timed from the moment its request
   returned (committed) to the moment the receiver had it.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import flask_migrate
from sqlalchemy import create_engine, text

from api import create_app
from api.extensions import db
from api.surveys import batches
from api.workspaces import keys
from bench.fresh_database import postgres_database, sqlite_database
from bench.throughput import (
    BENCH_SECRET_KEY,
    _machine_busy_seconds,
    _own_cpu_seconds,
    _proc_cpu_seconds,
    free_port,
    our_env,
    worker_process,
)

MIN_PER_SECOND = 300
MAX_P50, MAX_P99 = 1.0, 2.0
LOCAL = {"WEBHOOKS_ALLOW_PRIVATE": "1", "WEBHOOKS_ALLOW_HTTP": "1"}


# --- the receiver, in its own process ------------------------------------------------------


def receive(port: int, secret_file: str, log_file: str, ready) -> None:
    from standardwebhooks.webhooks import Webhook

    webhook: list = []
    log = open(log_file, "a", buffering=1)  # noqa: SIM115  for the process's life

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            at = time.time()
            if not webhook:
                webhook.append(Webhook(Path(secret_file).read_text().strip()))
            try:
                event = webhook[0].verify(body, dict(self.headers))
                log.write(f"{at} {event['type']} {event['data']['id']} ok\n")
            except Exception:  # a bench counts failures, it does not stop
                log.write(f"{at} ? ? bad\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ready.set()
    server.serve_forever()


def received(log_file: Path) -> list[tuple[float, str, str, bool]]:
    rows = []
    # The receiver may be writing a line as it is read: only whole lines count.
    for line in log_file.read_text().split("\n")[:-1]:
        at, type_, subject, verdict = line.split(" ")
        rows.append((float(at), type_, subject, verdict == "ok"))
    return rows


# --- the run -------------------------------------------------------------------------------


def _app(uri: str):
    return create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": uri,
            "SECRET_KEY": BENCH_SECRET_KEY,
            "RATELIMIT_API": "100000000 per minute",
            "WEBHOOKS_ALLOW_PRIVATE": True,
            "WEBHOOKS_ALLOW_HTTP": True,
        }
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.02)


def run(
    uri: str, engine: str, deliveries: int, rate: float, seconds: float, keep_logs: bool = False
) -> bool:
    app = _app(uri)
    with app.app_context():
        flask_migrate.upgrade()
        _, secret_key, _ = keys.create_workspace("Bench")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret_key}"}
    work = Path(tempfile.mkdtemp(prefix="flipfunnel-bench-hooks-"))
    log_file, secret_file = work / "received.log", work / "secret"
    log_file.touch()
    port = free_port()
    ready = multiprocessing.Event()
    receiver = multiprocessing.Process(
        target=receive, args=(port, str(secret_file), str(log_file), ready), daemon=True
    )
    receiver.start()
    ready.wait(10)

    def post(path, body, status=(200, 201)):
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code in status, answer.get_data(as_text=True)[:300]
        return answer.get_json()

    endpoint = post(
        "/v1/webhook-endpoints",
        {
            "url": f"http://127.0.0.1:{port}/",
            "event_types": ["invitation.created", "response.created"],
        },
    )
    secret_file.write_text(endpoint["secret"])
    survey = post("/v1/surveys", {"name": "Bench NPS", "kind": "nps"})
    invited = post(
        f"/v1/surveys/{survey['id']}/invitations",
        {
            "contacts": [
                {"external_id": f"t-{i}", "email": f"t-{i}@example.com"} for i in range(deliveries)
            ]
        },
        status=(201, 202),
    )
    # A batch this large is queued for the worker (202; a small one is done at once, 201).
    # It is invited here, before the worker starts, so that what is timed is the sending
    # of a backlog of deliveries. run_batch leaves a done batch as it is.
    with app.app_context():
        done = batches.run_batch(invited["id"])
        assert done.invited == deliveries, batches.counts(done)

    env = {**os.environ, **our_env({"DATABASE_URL": uri, **LOCAL})}
    worker_log = open(work / "worker.log", "w")  # noqa: SIM115  closed below
    started_cpu = (_machine_busy_seconds(), _own_cpu_seconds(), _proc_cpu_seconds(receiver.pid))
    started_wall = time.monotonic()
    worker = worker_process(env, worker_log)
    try:
        wait_for(lambda: len(received(log_file)) >= deliveries, 300, "the batch's deliveries")
        batch = received(log_file)[:deliveries]
        span = batch[-1][0] - batch[0][0]
        per_second = (deliveries - 1) / span if span > 0 else float("inf")
        bad = sum(1 for row in batch if not row[3])

        watcher = LongestTransaction(uri) if engine == "postgresql" else None
        committed: dict[str, float] = {}
        interval = 1.0 / rate
        next_at = time.monotonic()
        for number in range(int(rate * seconds)):
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            answer = post(
                "/v1/responses",
                {
                    "survey_id": survey["id"],
                    "contact": {"external_id": f"l-{number}", "email": f"l-{number}@example.com"},
                    "score": 9,
                },
            )
            committed[answer["id"]] = time.time()
        wait_for(
            lambda: (
                {row[2] for row in received(log_file) if row[1] == "response.created"}
                >= set(committed)
            ),
            60,
            "the answers' deliveries",
        )
        held = watcher.stop() if watcher else None
        arrivals = {row[2]: row[0] for row in received(log_file) if row[1] == "response.created"}
        latencies = sorted(arrivals[rid] - at for rid, at in committed.items())
        bad += sum(1 for row in received(log_file)[deliveries:] if not row[3])
        worker_cpu = _proc_cpu_seconds(worker.pid)
        receiver_cpu = _proc_cpu_seconds(receiver.pid) - started_cpu[2]
        wall = time.monotonic() - started_wall
        busy = _machine_busy_seconds() - started_cpu[0]
        own = _own_cpu_seconds() - started_cpu[1]
        others = max(0.0, busy - worker_cpu - receiver_cpu - own) / (wall * (os.cpu_count() or 1))
    finally:
        worker.terminate()
        worker.wait(30)
        worker_log.close()
        receiver.terminate()
        receiver.join(10)
        with app.app_context():
            db.engine.dispose()
        if keep_logs:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    ok = per_second >= MIN_PER_SECOND and p50 < MAX_P50 and p99 < MAX_P99 and bad == 0
    print(
        f"{engine:10} throughput {per_second:7.0f} deliveries/s ({deliveries} in {span:.2f} s) "
        f"target >= {MIN_PER_SECOND} {'PASS' if per_second >= MIN_PER_SECOND else 'FAIL'}"
    )
    print(
        f"{engine:10} commit -> receipt p50 {p50 * 1000:5.0f} ms  p99 {p99 * 1000:5.0f} ms  "
        f"max {latencies[-1] * 1000:5.0f} ms ({len(latencies)} answers at {rate:g}/s) "
        f"target p50 < {MAX_P50:g} s, p99 < {MAX_P99:g} s "
        f"{'PASS' if p50 < MAX_P50 and p99 < MAX_P99 else 'FAIL'}"
    )
    print(
        f"{engine:10} signatures failing: {bad}; worker {worker_cpu:.1f} s CPU; "
        f"others {others * 100:3.0f}% CPU"
    )
    if held is not None:
        print(
            f"{engine:10} longest transaction of other databases on the server while answers "
            f"came: {held:.1f} s (it holds every event back that long)"
        )
    return ok


class LongestTransaction:
    """Samples the oldest open writing transaction of the server's other databases.

    The feed's frontier waits for every transaction on the server, so another
    application's (or test run's) long transaction delays events by its length:
    printed beside the latency, so the two can be told apart.
    """

    QUERY = text(
        "SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0) FROM pg_stat_activity "
        "WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()"
    )

    def __init__(self, uri: str):
        self.engine = create_engine(uri, isolation_level="AUTOCOMMIT")
        self.longest = 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        with self.engine.connect() as connection:
            while not self.done.wait(0.2):
                self.longest = max(self.longest, float(connection.scalar(self.QUERY)))

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        self.engine.dispose()
        return self.longest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="on DATABASE_URL instead")
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=20.0, help="answers per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker's log")
    args = parser.parse_args(argv)
    database = postgres_database() if args.postgres else sqlite_database()
    with database as uri:
        engine = "postgresql" if args.postgres else "sqlite"
        run(uri, engine, args.deliveries, args.rate, args.seconds, args.keep_logs)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
