"""Throughput ratios and worker memory, measured with wrk against gunicorn.

Method (bench/README.md, "How we measure"): our app and a bare-Flask baseline run
under the same `gunicorn.conf.py`, each on a free loopback port. Both servers
stay up for the whole comparison, but only one is loaded at a time: one short
warm-up each, then A B A B ... for `rounds`, the same wrk duration and
connections for both. The figure is the median of the per-round ratios
ours/baseline; absolute requests per second on a shared machine mean little.

    python -m bench.throughput --ours wsgi:app --ours-path /healthz \\
        --baseline-path /json --min-ratio 0.5 --duration 5 --rounds 3
    python -m bench.throughput --memory --ours-path /healthz --memory-requests 100000

The exit status is 0 whatever the verdict (PASS/FAIL is printed); it is 2 when
the harness itself could not run (no wrk, a server that does not start).
Results are also written to bench/results/<name>-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import http.client
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
RESULTS_DIR = ROOT / "bench" / "results"

BASELINE_APP = "bench.baseline_app:app"

# One signing key for the whole bench run: `flask db upgrade` and every gunicorn
# worker must agree, or signed tokens made by one would not verify in another.
BENCH_SECRET_KEY = secrets.token_urlsafe(48)

# The bench must measure the app, not its rate limiter's 429s.
UNTHROTTLED = {
    "RATELIMIT_PUBLIC": "100000000 per minute",
    "RATELIMIT_API": "100000000 per minute",
}


class BenchError(RuntimeError):
    """The harness could not measure (as opposed to a measurement that fails its target)."""


@dataclass
class Target:
    """One HTTP request to load, and the app (a gunicorn app spec) that serves it."""

    name: str
    app_spec: str
    path: str
    method: str = "GET"
    body: str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # The status the request must answer (checked once before loading); None: any < 400.
    expect_status: int | None = None
    # A complete wrk Lua script to use instead of the generated one (e.g. varying bodies).
    lua: str | None = None

    def needs_script(self) -> bool:
        return bool(self.lua or self.method != "GET" or self.body is not None or self.headers)


# --- environment for our app ------------------------------------------------------------


def our_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment our app runs with in a bench: dev settings, fixed key, no throttling."""
    env = {"FLIPFUNNEL_ENV": "development", "SECRET_KEY": BENCH_SECRET_KEY, **UNTHROTTLED}
    env.update(extra or {})
    return env


def prepare_sqlite_database(path: str | Path, extra: dict[str, str] | None = None) -> dict:
    """Create and migrate a SQLite database at `path`; return the env to run our app with.

    The same env (database, secret key, limits) must go to gunicorn as went to the
    migration, so pass the returned dict as the Target's env.
    """
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return prepare_database(f"sqlite:///{path}", extra)


@contextlib.contextmanager
def migrated_database(postgres: bool, extra: dict[str, str] | None = None):
    """(where, env): a migrated scratch database and the env to run our app on it.

    A temporary SQLite file (its path), or with `postgres` a scratch database next to
    DATABASE_URL's (its URL), dropped afterwards."""
    if postgres:
        from bench.fresh_database import postgres_database

        with postgres_database() as url:
            yield url, prepare_database(url, extra)
        return
    with tempfile.TemporaryDirectory(prefix="flipfunnel-bench-db-") as dbdir:
        path = Path(dbdir) / "bench.db"
        yield path, prepare_sqlite_database(path, extra)


def prepare_database(url: str, extra: dict[str, str] | None = None) -> dict:
    """Migrate the (empty) database at `url`; return the env to run our app with."""
    env = our_env({**(extra or {}), "DATABASE_URL": url})
    completed = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(
            f"flask db upgrade failed ({completed.returncode}):\n"
            f"{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
        )
    return env


# --- processes --------------------------------------------------------------------------

_LIVE_GROUPS: set[int] = set()


def _kill_leftovers() -> None:
    # Last resort at interpreter exit: nothing we started may outlive us.
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        _LIVE_GROUPS.discard(pgid)


atexit.register(_kill_leftovers)


def _raise_system_exit(signum, _frame):
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so `finally` blocks stop the servers."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_system_exit)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _ppid(int(entry.name)) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user + nice + system + steal; irq and softirq (loopback traffic) are the bench's own.
    return (values[0] + values[1] + values[2] + values[7]) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


def worker_process(env: dict[str, str], log: IO[str]) -> subprocess.Popen:
    """`flask worker` of this checkout in a process of its own, with `env` as its whole
    environment and its output (stdout and stderr) in the open file `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


class Server:
    """A gunicorn master (and its workers) serving one target on a free loopback port."""

    def __init__(self, target: Target, workdir: Path, startup_timeout: float = 60.0):
        self.target = target
        self.workdir = Path(workdir)
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.log_path = self.workdir / f"{target.name}.gunicorn.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.target.path}"

    def start(self) -> Server:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONF),
            "-b",
            f"127.0.0.1:{self.port}",
            self.target.app_spec,
        ]
        env = {**os.environ, **self.target.env}
        # The app logs a line per request to stderr: into a file, not the terminal.
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stopped as one, spared our Ctrl-C
            )
        _LIVE_GROUPS.add(self.proc.pid)
        return self

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def probe(self) -> int:
        """One request like the load's; returns its status."""
        target = self.target
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(target.method, target.path, body=target.body, headers=target.headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        status = None
        while status is None:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.target.name}: gunicorn exited with {self.proc.returncode}\n"
                    + self.log_tail()
                )
            if time.monotonic() > deadline:
                raise BenchError(f"{self.target.name}: not ready in time\n" + self.log_tail())
            try:
                status = self.probe()
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
        expected = self.target.expect_status
        if (expected is not None and status != expected) or (expected is None and status >= 400):
            raise BenchError(
                f"{self.target.name}: {self.target.method} {self.target.path} answered {status}"
                f" (expected {expected or '< 400'})\n" + self.log_tail()
            )
        # Workers boot in parallel; wait until their number stops changing.
        previous, stable_since = None, time.monotonic()
        while time.monotonic() - stable_since < 0.5 and time.monotonic() < deadline:
            current = len(self.workers())
            if current != previous:
                previous, stable_since = current, time.monotonic()
            time.sleep(0.1)
        if self.proc.poll() is not None or not previous:
            raise BenchError(
                f"{self.target.name}: gunicorn lost its workers while starting"
                f" (exit {self.proc.poll()})\n" + self.log_tail()
            )

    def workers(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def cpu_seconds(self) -> float:
        if not self.proc:
            return 0.0
        return sum(_proc_cpu_seconds(pid) for pid in [self.proc.pid, *self.workers()])

    def worker_rss(self) -> dict[int, int]:
        sizes = {pid: rss_kib(pid) for pid in self.workers()}
        return {pid: size for pid, size in sizes.items() if size is not None}

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        # Whatever is left of the group (a stuck worker, an orphan) goes now.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        _LIVE_GROUPS.discard(pgid)
        self.proc = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


# --- wrk --------------------------------------------------------------------------------


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise BenchError("wrk is not installed: apt-get install -y wrk")
    return path


def wrk_version() -> str:
    completed = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (completed.stdout or completed.stderr).splitlines()[0].strip()


def lua_string(value: str | bytes) -> str:
    """A Lua string literal for any bytes (decimal escapes for all but plain ASCII)."""
    data = value.encode() if isinstance(value, str) else value
    return (
        '"'
        + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in data)
        + '"'
    )


def wrk_script(target: Target) -> str:
    if target.lua:
        return target.lua
    lines = [f"wrk.method = {lua_string(target.method)}"]
    if target.body is not None:
        lines.append(f"wrk.body = {lua_string(target.body)}")
    for name, value in target.headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    return "\n".join(lines) + "\n"


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unreadable wrk time {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str) -> dict:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    done = re.search(r"^\s*(\d+) requests in ([\d.]+\w+)", output, re.M)
    if not rps or not done:
        raise BenchError("unreadable wrk output:\n" + output)
    result = {
        "requests_per_sec": float(rps[1]),
        "requests": int(done[1]),
        "elapsed_ms": _ms(done[2]),
        "latency_ms": {},
        "non_2xx_3xx": 0,
        "socket_errors": {},
    }
    for percent, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M):
        result["latency_ms"][f"p{percent}"] = _ms(value)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if bad:
        result["non_2xx_3xx"] = int(bad[1])
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if errors:
        result["socket_errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
    return result


def run_wrk(
    server: Server,
    duration: float,
    *,
    threads: int = 2,
    connections: int = 32,
    script_dir: Path,
) -> dict:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
    ]
    if server.target.needs_script():
        script = Path(script_dir) / f"{server.target.name}.lua"
        script.write_text(wrk_script(server.target))
        command += ["-s", str(script)]
    command.append(server.url)
    # CPU used meanwhile by anything but this server, wrk and us: the noise on the figure.
    started = (time.monotonic(), _machine_busy_seconds(), server.cpu_seconds(), _own_cpu_seconds())
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=duration + 60
    )
    ended = (time.monotonic(), _machine_busy_seconds(), server.cpu_seconds(), _own_cpu_seconds())
    wall, busy, served, own = (b - a for a, b in zip(started, ended, strict=True))
    if completed.returncode != 0:
        raise BenchError(
            f"wrk failed ({completed.returncode}) on {server.target.name}: {completed.stderr}"
            + server.log_tail()
        )
    result = parse_wrk(completed.stdout)
    result["errors"] = result["non_2xx_3xx"] + sum(result["socket_errors"].values())
    result["server_cpu_s"] = served
    result["foreign_cpu_pct"] = max(0.0, busy - served - own) / (wall * (os.cpu_count() or 1)) * 100
    return result


# --- reporting --------------------------------------------------------------------------


def machine_facts() -> dict:
    return {
        "cores": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "wrk": wrk_version(),
        "gunicorn_conf": str(GUNICORN_CONF.relative_to(ROOT)),
    }


def save_result(name: str, result: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def _line(label: str, run: dict) -> str:
    latency = run["latency_ms"]
    text = (
        f"{label:>10} {run['requests_per_sec']:>9.1f} req/s"
        f"  p50 {latency.get('p50', float('nan')):6.2f} ms"
        f"  p99 {latency.get('p99', float('nan')):6.2f} ms"
    )
    text += f"  others {run['foreign_cpu_pct']:3.0f}% CPU"
    if run["errors"]:
        text += f"  ERRORS {run['errors']}"
    return text


@contextlib.contextmanager
def _workdir(keep: bool):
    if keep:
        path = Path(tempfile.mkdtemp(prefix="flipfunnel-bench-"))
        print(f"logs and scripts kept in {path}")
        yield path
    else:
        with tempfile.TemporaryDirectory(prefix="flipfunnel-bench-") as path:
            yield Path(path)


# --- the two measurements ---------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """How a measurement loads its servers and keeps its result: wrk's threads and
    connections, the seconds of warm-up per server, and the name of its record in
    bench/results (written unless `save` is off; `keep_logs` keeps gunicorn's logs)."""

    name: str
    threads: int = 2
    connections: int = 32
    warmup: float = 2
    save: bool = True
    keep_logs: bool = False

    @property
    def wrk_options(self) -> dict:
        return {"threads": self.threads, "connections": self.connections}

    def kept(self, kind: str, facts: dict, found: dict, verdict: str, reason: str) -> dict:
        """The measurement's record, printed and (with `save`) written to bench/results."""
        result = {
            "kind": kind,
            "name": self.name,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            **found,
            "machine": facts,
            "verdict": verdict,
            "reason": reason,
        }
        print(f"{verdict}: {reason}")
        if self.save:
            print(f"written: {save_result(self.name, result).relative_to(ROOT)}")
        return result


def compare(
    ours: Target,
    baseline: Target,
    run: Run,
    *,
    duration: float = 5,
    rounds: int = 3,
    min_ratio: float | None = None,
) -> dict:
    """Load ours and the baseline alternately; the median of the per-round ratios."""
    require_wrk()
    facts = machine_facts()
    wrk_options = run.wrk_options
    print(
        f"{run.name}: {ours.name} ({ours.method} {ours.path}) vs {baseline.name}"
        f" ({baseline.method} {baseline.path}); wrk -t{run.threads} -c{run.connections}"
        f" -d{duration}s x {rounds} rounds, {facts['cores']} cores"
    )
    with _workdir(run.keep_logs) as workdir:
        servers = [Server(ours, workdir), Server(baseline, workdir)]
        try:
            for server in servers:
                server.start()
            for server in servers:
                server.wait_ready()
            workers = {s.target.name: len(s.workers()) for s in servers}
            print(f"workers: {workers}")
            for server in servers:
                run_wrk(server, run.warmup, script_dir=workdir, **wrk_options)
            per_round = []
            for index in range(1, rounds + 1):
                a = run_wrk(servers[0], duration, script_dir=workdir, **wrk_options)
                b = run_wrk(servers[1], duration, script_dir=workdir, **wrk_options)
                ratio = a["requests_per_sec"] / b["requests_per_sec"]
                per_round.append({"round": index, "ours": a, "baseline": b, "ratio": ratio})
                print(f"round {index}:")
                print(_line("ours", a))
                print(_line("baseline", b))
                print(f"{'ratio':>10} {ratio:.3f}")
        finally:
            for server in servers:
                server.stop()

    median = statistics.median(r["ratio"] for r in per_round)
    errors = sum(r["ours"]["errors"] + r["baseline"]["errors"] for r in per_round)
    if errors:
        verdict = "FAIL"
        reason = f"invalid run: {errors} error responses or socket errors"
    elif min_ratio is None:
        verdict, reason = "INFO", "no minimum ratio given"
    else:
        verdict = "PASS" if median >= min_ratio else "FAIL"
        reason = f"median ratio {median:.3f} {'>=' if verdict == 'PASS' else '<'} {min_ratio}"
    ratios = ", ".join(f"{r['ratio']:.3f}" for r in per_round)
    print(f"ratios per round: {ratios}")
    spread = max(r["ratio"] for r in per_round) - min(r["ratio"] for r in per_round)
    foreign = max(
        max(r["ours"]["foreign_cpu_pct"], r["baseline"]["foreign_cpu_pct"]) for r in per_round
    )
    print(f"busiest run's CPU use by other processes: {foreign:.0f}% of the machine")
    if spread > 0.2 * median:
        print(f"noisy: the per-round ratios spread {spread:.3f}; rerun on a quieter machine")
    print(f"median ratio ours/baseline: {median:.3f}")
    found = {
        "ours": _describe(ours),
        "baseline": _describe(baseline),
        "settings": {
            "duration_s": duration,
            "rounds": rounds,
            "warmup_s": run.warmup,
            **wrk_options,
        },
        "workers": workers,
        "rounds": per_round,
        "median_ratio": median,
        "ratio_spread": spread,
        "min_ratio": min_ratio,
    }
    return run.kept("throughput_ratio", facts, found, verdict, reason)


def memory(
    target: Target, run: Run, *, requests: int = 100_000, max_growth_pct: float = 10.0
) -> dict:
    """Worker RSS before and after about `requests` requests (a wrk run sized from the
    warm-up, which `run` should make 3 s or more)."""
    require_wrk()
    facts = machine_facts()
    wrk_options = run.wrk_options
    with _workdir(run.keep_logs) as workdir, Server(target, workdir) as server:
        server.start()
        server.wait_ready()
        warm = run_wrk(server, run.warmup, script_dir=workdir, **wrk_options)
        # Size the long run from the warm-up rate, with a margin to reach `requests`.
        duration = max(5, math.ceil(requests / warm["requests_per_sec"] * 1.15))
        before = server.worker_rss()
        print(
            f"{run.name}: {target.name} ({target.method} {target.path}), {len(before)} workers,"
            f" ~{requests} requests in a {duration}s wrk run"
        )
        load = run_wrk(server, duration, script_dir=workdir, **wrk_options)
        after = server.worker_rss()

    same_workers = set(before) == set(after)
    total_before, total_after = sum(before.values()), sum(after.values())
    growth = (total_after - total_before) / total_before * 100
    per_worker = {
        pid: (after[pid] - before[pid]) / before[pid] * 100 for pid in before if pid in after
    }
    worst = max(per_worker.values(), default=float("nan"))
    for pid in sorted(before):
        grown = f"{per_worker[pid]:+.1f}%" if pid in per_worker else "(gone)"
        print(f"  worker {pid}: {before[pid]} KiB -> {after.get(pid, '-')} KiB {grown}")
    print(_line("load", load))
    print(f"requests done: {load['requests']}")
    print(f"RSS all workers: {total_before} KiB -> {total_after} KiB ({growth:+.1f}%)")
    print(f"worst worker growth: {worst:+.1f}%")

    if load["errors"]:
        verdict, reason = "FAIL", f"invalid run: {load['errors']} error responses or socket errors"
    elif not same_workers:
        verdict, reason = "FAIL", "workers were replaced during the run (crash or timeout?)"
    elif load["requests"] < requests:
        verdict, reason = "FAIL", f"only {load['requests']} of {requests} requests done"
    else:
        verdict = "PASS" if worst < max_growth_pct else "FAIL"
        reason = f"worst worker growth {worst:+.1f}% vs limit {max_growth_pct}%"
    found = {
        "target": _describe(target),
        "settings": {"requests": requests, "duration_s": duration, **wrk_options},
        "rss_kib_before": before,
        "rss_kib_after": after,
        "growth_pct_total": growth,
        "growth_pct_worst_worker": worst,
        "load": load,
        "max_growth_pct": max_growth_pct,
    }
    return run.kept("worker_memory", facts, found, verdict, reason)


def _describe(target: Target) -> dict:
    described = asdict(target)
    # The env carries the bench's secret key; keep the names only.
    described["env"] = sorted(target.env)
    if isinstance(described["body"], bytes):
        described["body"] = described["body"].decode(errors="replace")
    return described


# --- CLI --------------------------------------------------------------------------------


def _pair(text: str, sep: str) -> tuple[str, str]:
    key, found, value = text.partition(sep)
    if not found or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY{sep}VALUE, got {text!r}")
    return key.strip(), value.strip() if sep == ":" else value


def comparison_options(prog: str, min_ratio: float) -> argparse.ArgumentParser:
    """The options of a bench that compares one of our routes with the baseline;
    `comparison(args, name)` hands them to `compare`."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-ratio", type=float, default=min_ratio)
    parser.add_argument("--postgres", action="store_true", help="ours on DATABASE_URL's server")
    return parser


def comparison(args: argparse.Namespace, name: str, **kept) -> dict:
    """`compare`'s keywords from what `comparison_options` parsed, its record named
    `name`; `kept` are the rest of its `Run` (save, keep_logs)."""
    return {
        "run": Run(name, threads=args.threads, connections=args.connections, **kept),
        "duration": args.duration,
        "rounds": args.rounds,
        "min_ratio": args.min_ratio,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description="Throughput of our app as a ratio to a bare Flask baseline (wrk, gunicorn).",
    )
    parser.add_argument("--name", help="result name (default: throughput or memory)")
    parser.add_argument("--ours", default="wsgi:app", help="our gunicorn app spec")
    parser.add_argument("--ours-path", default="/healthz")
    parser.add_argument("--ours-method", default="GET")
    parser.add_argument("--ours-body", help="request body for our app")
    parser.add_argument(
        "--ours-header", action="append", default=[], metavar="'NAME: VALUE'", help="repeatable"
    )
    parser.add_argument("--ours-status", type=int, help="status our request must answer")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for our app (repeatable); without DATABASE_URL a fresh migrated"
        " SQLite database is made in a temporary directory",
    )
    parser.add_argument("--baseline", default=BASELINE_APP, help="baseline gunicorn app spec")
    parser.add_argument("--baseline-path", default="/json")
    parser.add_argument("--min-ratio", type=float, help="PASS when the median ratio reaches it")
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per server")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--memory", action="store_true", help="measure worker RSS growth instead")
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument("--max-growth", type=float, default=10.0, help="memory limit, percent")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    parser.add_argument("--keep-logs", action="store_true", help="keep gunicorn logs and scripts")
    return parser


def run_bench(body) -> int:
    """Run a benchmark's body with the harness's exit codes and clean interrupts.

    0 when it ran (the verdict is printed, not returned), 2 when the harness
    itself could not run, 130 on Ctrl-C; the servers are stopped either way.
    """
    install_signal_handlers()
    try:
        body()
    except BenchError as error:
        print(f"bench error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    return 0


def bench_app(database: str | Path):
    """Our app on a bench database (a SQLite file's path, or a URL), signing with the
    same key as the bench's servers."""
    import config
    from api import create_app

    url = str(database)
    uri = config.database_uri(url, "") if "://" in url else f"sqlite:///{url}"
    return create_app(
        {
            "ENV_NAME": "development",
            "SQLALCHEMY_DATABASE_URI": uri,
            "SECRET_KEY": BENCH_SECRET_KEY,
        }
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_bench(lambda: _run(args))


def _run(args) -> None:
    extra = dict(_pair(item, "=") for item in args.env)
    headers = dict(_pair(item, ":") for item in args.ours_header)
    with tempfile.TemporaryDirectory(prefix="flipfunnel-bench-db-") as dbdir:
        if "DATABASE_URL" in extra:
            env = our_env(extra)
            if env["DATABASE_URL"].startswith("sqlite:///"):
                env = prepare_sqlite_database(env["DATABASE_URL"][len("sqlite:///") :], extra)
        else:
            env = prepare_sqlite_database(Path(dbdir) / "bench.db", extra)
        ours = Target(
            name="ours",
            app_spec=args.ours,
            path=args.ours_path,
            method=args.ours_method.upper(),
            body=args.ours_body,
            headers=headers,
            env=env,
            expect_status=args.ours_status,
        )
        kept = {
            "threads": args.threads,
            "connections": args.connections,
            "save": not args.no_save,
            "keep_logs": args.keep_logs,
        }
        if args.memory:
            memory(
                ours,
                Run(args.name or "memory", warmup=max(args.warmup, 3), **kept),
                requests=args.memory_requests,
                max_growth_pct=args.max_growth,
            )
        else:
            baseline = Target("baseline", args.baseline, args.baseline_path)
            compare(
                ours,
                baseline,
                Run(args.name or "throughput", warmup=args.warmup, **kept),
                duration=args.duration,
                rounds=args.rounds,
                min_ratio=args.min_ratio,
            )


if __name__ == "__main__":
    sys.exit(main())
