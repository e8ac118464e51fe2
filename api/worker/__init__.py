"""`flask worker`: the one long-running process beside the web workers.

It delivers webhooks, runs the jobs requests enqueue (api/jobs) and the periodic
tasks (api/worker/periodic.py). Several may run against PostgreSQL: every claim
is `FOR UPDATE SKIP LOCKED` or a conditional UPDATE, and every claim is a lease
that lapses if its worker dies. On SQLite run one.
"""

import logging
import os

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger("flipfunnel.worker")


def _configure_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


@click.command("worker")
@click.option("--once", is_flag=True, help="Do one pass (what is due now) and exit.")
@with_appcontext
def worker_command(once):
    """Deliver webhooks, run jobs and periodic tasks until SIGTERM or Ctrl-C."""
    from api import heap
    from api.worker import signals
    from api.worker.loop import Worker

    _configure_logging()
    app = current_app._get_current_object()
    worker = Worker(app)
    heap.freeze_startup()
    if once:
        done = worker.run_once()
        click.echo(f"attempts {done.attempts} periodic {done.periodic} jobs {len(done.jobs)}")
        return
    signals.install(worker.stop, lambda signum: log.info("signal %d: stopping", signum))
    log.info("worker started pid=%d", os.getpid())
    worker.run()


def init_app(app) -> None:
    lease, timeout = app.config["WORKER_LEASE_SECONDS"], app.config["WEBHOOKS_TIMEOUT_SECONDS"]
    if lease <= timeout:
        # A lease that lapsed mid-send would let a second worker send the same delivery.
        raise RuntimeError(
            f"WORKER_LEASE_SECONDS ({lease}) must be longer than "
            f"WEBHOOKS_TIMEOUT_SECONDS ({timeout})"
        )
    app.cli.add_command(worker_command)
