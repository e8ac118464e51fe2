"""CPU time per request, in this process, for the hot routes and the bare baseline.

wrk figures move with whatever else the machine runs; the CPU time one request
costs moves much less. This calls each app's WSGI callable directly (no server,
no socket) N times and divides `time.process_time()` by N: the app's own cost,
the figure to profile against. Among the targets is a first widget answer (a
display no request answered yet; a tenth as many requests per round). Targets
take turns over several rounds; the least of each is printed with its ratio to
the baseline's `/json`. `--profile NAME`
prints cProfile's top functions for one target instead (`--sort cumtime` to see
where a call's time goes rather than which functions spend it). The apps log
each request to stderr, as they do under gunicorn; send it to /dev/null.

    python -m bench.inprocess [--requests 2000] [--rounds 5] [--postgres] 2>/dev/null
    python -m bench.inprocess --profile eligibility [--sort cumtime] [--lines 60]
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time

from api import heap
from bench import redirect, widget_api
from bench.throughput import migrated_database


def environ(path: str, query: str = "", headers: dict | None = None) -> dict:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def call(app, env) -> str:
    """One request; its status line. The body is read to the end, as a server would.

    `env` is the request's WSGI environ, or a function that makes the next one (a
    target whose every request differs, as first answers do)."""
    status = []
    body = app(env() if callable(env) else dict(env), lambda s, h, e=None: status.append(s))
    for _ in body:
        pass
    if hasattr(body, "close"):
        body.close()
    return status[0]


WARM_UP = 200


def per_request(app, env: dict, requests: int) -> float:
    """µs of CPU per request, after a warm-up."""
    for _ in range(WARM_UP):
        call(app, env)
    started = time.process_time()
    for _ in range(requests):
        call(app, env)
    return (time.process_time() - started) / requests * 1e6


def first_answers(seeded: dict):
    """A POST of a first answer per call: each with a display no request answered yet."""
    tokens = iter(seeded["fresh"])
    headers = {"Origin": widget_api.ORIGIN, "Content-Type": "application/json"}

    def next_request() -> dict:
        body = json.dumps({"display": next(tokens), "score": 9}).encode()
        env = environ("/w/v1/responses", f"key={seeded['key']}", headers)
        env |= {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        return env

    return next_request


def targets(where, requests: int = 0) -> dict:
    """Each target's app and request; `requests` first answers are seeded (none if 0)."""
    from bench.baseline_app import app as baseline
    from bench.throughput import bench_app

    seeded = widget_api.seed(where, requests)
    code = redirect.seed(where)
    ours = bench_app(where).wsgi_app
    heap.freeze_startup()  # as wsgi.py does for gunicorn's workers
    origin = {"Origin": widget_api.ORIGIN}
    first = {"first-answer": (ours, first_answers(seeded))} if requests else {}
    return {
        "baseline-json": (baseline.wsgi_app, environ("/json")),
        "baseline-redirect": (baseline.wsgi_app, environ("/redirect")),
        "healthz": (ours, environ("/healthz")),
        "eligibility": (ours, environ("/w/v1/eligibility", seeded["query"], origin)),
        "redirect": (ours, environ(f"/r/{code}")),
        **first,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess")
    parser.add_argument("--requests", type=int, default=2000, help="per target and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="ours on DATABASE_URL's server")
    parser.add_argument("--profile", help="a target's name: print its cProfile instead")
    parser.add_argument("--sort", default="tottime", help="the profile's order (pstats)")
    parser.add_argument("--lines", type=int, default=40, help="the profile's length")
    args = parser.parse_args(argv)
    limits = {**widget_api.UNLIMITED, "RATELIMIT_REDIRECT": "100000000 per minute"}

    with migrated_database(args.postgres, limits) as (where, env):
        os.environ.update(env)  # the app's settings, as gunicorn's workers would get them
        # A first answer costs ten times a read: a tenth as many of them per round.
        answers = max(1, args.requests // 10)
        found = targets(where, 1 + args.rounds * (WARM_UP + answers) + answers)
        counts = {name: answers if name == "first-answer" else args.requests for name in found}
        for name, (app, request) in found.items():
            print(f"{name:18} {call(app, request)}")
        if args.profile:
            app, request = found[args.profile]
            profile = cProfile.Profile()
            runs = counts[args.profile]
            profile.runcall(lambda: [call(app, request) for _ in range(runs)])
            pstats.Stats(profile).sort_stats(args.sort).print_stats(args.lines)
            return 0
        # Rounds through every target in turn, so a change in the machine's load
        # falls on all of them; the least of the rounds (the run least disturbed by other
        # processes), and its ratio to the baseline.
        rounds: dict[str, list[float]] = {name: [] for name in found}
        for _ in range(args.rounds):
            for name, (app, request) in found.items():
                rounds[name].append(per_request(app, request, counts[name]))
        baseline = min(rounds["baseline-json"])
        for name, figures in rounds.items():
            least = min(figures)
            print(f"{name:18} {least:8.1f} µs/request  {least / baseline:5.2f}x baseline-json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
