"""Periodic work: each task runs about once per period, whatever the number of workers.

A task's turn is claimed with one conditional UPDATE of its row in
`periodic_runs` (`next_run_at <= now` becomes `now + every`): of several
workers asking at once, one wins and the others see the row already moved. The
tasks themselves are idempotent (approving a due reward twice approves it once,
deleting what expired is the same the second time), so a worker dying mid-task
only leaves the rest for the next period. Each runs in batches, one commit per
batch: a long transaction would hold back the event feed.
"""

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Select, String, update
from sqlalchemy.orm import Mapped, mapped_column

from api.database import UTCDateTime, insert_ignore, utcnow
from api.extensions import db

log = logging.getLogger("flipfunnel.worker")


class PeriodicRun(db.Model):
    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Task:
    name: str
    every: timedelta
    # One batch: does up to `batch` items at `now` and says how many it did.
    step: Callable[[datetime, int], int]
    batch: int = 500


def each_due(statement: Select, batch: int, act: Callable[[Any], object]) -> int:
    """One batch of a step: `act` on up to `batch` rows of `statement`, in its order;
    flushes and says how many.

    Rows are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers
    can run the step at once without acting on one row twice.
    """
    due = list(db.session.scalars(statement.limit(batch).with_for_update(skip_locked=True)))
    for row in due:
        act(row)
    db.session.flush()
    return len(due)


def drain(step: Callable[[datetime, int], int], now: datetime, batch: int) -> int:
    """Run `step` until a batch comes back short, committing after each one."""
    total = 0
    while True:
        done = step(now, batch)
        db.session.commit()
        total += done
        if done < batch:
            return total


def command(
    group: click.Group, name: str, step: Callable[[datetime, int], int], *, per: str
) -> Callable[[Callable[[int], str]], click.Command]:
    """`flask <area> <name>` on `group`: a task's step by hand, now, drained as the worker
    does (one commit per batch, so items and their events land together).

    Decorates what says the total; its docstring is the command's help, `per` names what
    a batch counts ("Rewards"), and --batch defaults to the step's own batch.
    """
    default = inspect.signature(step).parameters["batch"].default

    def decorator(says: Callable[[int], str]) -> click.Command:
        @group.command(name, help=says.__doc__)
        @with_appcontext
        @click.option("--batch", default=default, show_default=True, help=f"{per} per transaction.")
        def run(batch):
            click.echo(says(drain(step, utcnow(), batch)))

        return run

    return decorator


def tasks() -> list[Task]:
    from api.contacts.imports import service as imports
    from api.http import idempotency
    from api.jobs import queue as jobs
    from api.queues import resurveys
    from api.referrals import rewards
    from api.reports import score_churn
    from api.surveys import batches
    from api.webhooks import deliveries

    config = current_app.config
    ttl = timedelta(hours=config["IDEMPOTENCY_TTL_HOURS"])
    retention = timedelta(days=config["WORKER_RETENTION_DAYS"])
    batch_retention = timedelta(days=config["INVITATION_BATCH_RETENTION_DAYS"])
    import_retention = timedelta(days=config["CONTACT_IMPORT_RETENTION_DAYS"])
    return [
        Task("rewards.approve_due", timedelta(minutes=1), rewards.approve_due),
        Task("resurveys.send_due", timedelta(minutes=1), resurveys.send_due, batch=200),
        # A batch is 20 steps of up to 31 days of one survey's responses each.
        Task("retention.count_churn", timedelta(hours=1), score_churn.close_due, batch=20),
        Task(
            "idempotency.purge_expired",
            timedelta(minutes=10),
            lambda now, batch: idempotency.purge_expired(now, ttl, batch),
        ),
        Task(
            "webhooks.purge_deliveries",
            timedelta(hours=1),
            lambda now, batch: deliveries.purge(now - retention, batch),
        ),
        Task(
            "jobs.purge", timedelta(hours=1), lambda now, batch: jobs.purge(now - retention, batch)
        ),
        # A batch is 10 invitation batches, each with up to 100,000 skipped rows.
        Task(
            "invitation_batches.purge",
            timedelta(hours=1),
            lambda now, batch: batches.purge(now - batch_retention, batch),
            batch=10,
        ),
        Task(
            "contact_imports.purge",
            timedelta(hours=1),
            lambda now, batch: imports.purge(now - import_retention, batch),
        ),
    ]


def _take_turn(task: Task, now: datetime) -> bool:
    """This worker's turn at `task` if it is due: one conditional UPDATE decides."""
    insert_ignore(PeriodicRun, {"name": task.name, "next_run_at": now}, ["name"])
    moved = db.session.execute(
        update(PeriodicRun)
        .where(PeriodicRun.name == task.name, PeriodicRun.next_run_at <= now)
        .values(next_run_at=now + task.every, last_run_at=now)
    )
    db.session.commit()
    return moved.rowcount == 1


def run_due(now: datetime, only: Callable[[Task], bool] = lambda task: True) -> dict[str, int]:
    """Run every task whose turn has come; what each did."""
    done = {}
    for task in tasks():
        if not only(task) or not _take_turn(task, now):
            continue
        try:
            done[task.name] = drain(task.step, now, task.batch)
        except Exception:
            db.session.rollback()
            log.exception("periodic task %s failed; it runs again next period", task.name)
            continue
        if done[task.name]:
            log.info("periodic task %s did %d", task.name, done[task.name])
    return done
