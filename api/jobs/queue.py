"""The job queue: enqueue in a request, run in the worker.

    from api.jobs import queue as jobs

    @jobs.handler("contacts.import")
    def import_contacts(run: jobs.JobRun) -> dict:
        for chunk in chunks_of(run.payload, start=run.progress.get("done", 0)):
            ...                                   # write the chunk
            run.checkpoint(done=...)              # commit it, with the progress
        return {"imported": n}                    # the result, committed with the last work

    job = jobs.enqueue("contacts.import", workspace_id, {"file": ...})  # in the request

Handlers must be safe to run again from their last checkpoint: a worker that dies
mid-job leaves a lease that lapses, and another worker runs the job again (at most
`max_attempts` times). `checkpoint` commits the work done so far, so no
transaction stays open for the whole job (an open transaction holds back the
event feed's frontier), renews the lease, and stops the job when the worker is
shutting down: it goes back to the queue and resumes from its progress.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update

from api.database import utcnow
from api.domain_errors import DomainError
from api.extensions import db
from api.jobs.models import FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from api.worker import leases

log = logging.getLogger("flipfunnel.worker")

_HANDLERS: dict[str, Callable[["JobRun"], dict | None]] = {}


class Interrupted(Exception):
    """The worker is stopping: the job goes back to the queue at its last checkpoint."""


def handler(kind: str):
    """Register the function that runs jobs of `kind`."""

    def register(function):
        if kind in _HANDLERS:
            raise ValueError(f"a handler for job kind {kind!r} is registered already")
        _HANDLERS[kind] = function
        return function

    return register


def kinds() -> list[str]:
    return sorted(_HANDLERS)


def enqueue(kind: str, workspace_id: str, payload: dict, now: datetime | None = None) -> Job:
    """A job for the worker, added to the caller's transaction (it runs once committed)."""
    if kind not in _HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    now = now or utcnow()
    job = Job(
        workspace_id=workspace_id,
        kind=kind,
        status=QUEUED,
        payload=payload,
        progress={},
        run_after=now,
        created_at=now,
        updated_at=now,
    )
    db.session.add(job)
    db.session.flush()
    return job


class JobRun:
    """What a handler gets: the job's payload and progress, and its checkpoint."""

    def __init__(self, job: Job, token_until, stopping: Callable[[], bool]):
        self.job_id = job.id
        self.workspace_id = job.workspace_id
        self.kind = job.kind
        self.payload = dict(job.payload)
        self.progress = dict(job.progress)
        self._lease = token_until
        self._stopping = stopping

    def checkpoint(self, **progress) -> None:
        """Commit the work so far with this progress and renew the lease."""
        self.progress.update(progress)
        now = utcnow()
        db.session.execute(
            update(Job)
            .where(Job.id == self.job_id)
            .values(progress=self.progress, lease_until=self._lease(now), updated_at=now)
        )
        db.session.commit()
        if self._stopping():
            raise Interrupted


def _runnable(now: datetime):
    return or_(
        and_(Job.status == QUEUED, Job.run_after <= now),
        and_(Job.status == RUNNING, Job.lease_until < now),
    )


def run_next(
    now: datetime, lease_seconds: float, stopping: Callable[[], bool] = lambda: False
) -> str | None:
    """Claim one runnable job and run it to its end; its id, or None when none is due."""
    claimed = leases.claim(
        Job,
        [_runnable(now)],
        [Job.run_after, Job.id],
        1,
        {
            "status": RUNNING,
            "attempts": Job.attempts + 1,
            "lease_until": leases.until(now, lease_seconds),
            "started_at": func.coalesce(Job.started_at, now),
            "updated_at": now,
        },
    )
    db.session.commit()
    if not claimed:
        return None
    job = db.session.get(Job, claimed[0])
    if job.attempts > job.max_attempts:
        # Its worker died each time (a lapsed lease): running it again would too.
        _finish(job, FAILED, error={"code": "abandoned", "message": _abandoned(job)})
        return job.id
    run_job(job, lease_seconds, stopping)
    return job.id


def run_job(job: Job, lease_seconds: float, stopping: Callable[[], bool]) -> None:
    run = JobRun(job, lambda now: leases.until(now, lease_seconds), stopping)
    function = _HANDLERS.get(job.kind)
    try:
        if function is None:
            raise DomainError(f"No handler for job kind {job.kind!r}.", code="unknown_kind")
        result = function(run)
    except Interrupted:
        db.session.rollback()
        # Stopped on purpose: not a failed attempt.
        db.session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status=QUEUED, lease_until=None, attempts=Job.attempts - 1)
        )
        db.session.commit()
        log.info("job=%s kind=%s stopped at its checkpoint; queued again", job.id, job.kind)
        return
    # A refusal by our rules: its message is meant for the caller.
    except DomainError as error:
        db.session.rollback()
        _finish(
            db.session.get(Job, job.id),
            FAILED,
            error={"code": error.code, "message": error.message},
        )
        return
    except Exception:
        db.session.rollback()
        # The traceback goes to the log (with ids only); the job says just that it failed.
        log.exception("job=%s kind=%s failed", job.id, job.kind)
        _finish(
            db.session.get(Job, job.id),
            FAILED,
            error={"code": "internal_error", "message": "The job failed; the log has the details."},
        )
        return
    _finish(db.session.get(Job, job.id), SUCCEEDED, result=result or {}, progress=run.progress)


def _finish(job: Job, status: str, **values) -> None:
    now = utcnow()
    job.status = status
    job.lease_until = None
    job.finished_at = now
    job.updated_at = now
    for name, value in values.items():
        setattr(job, name, value)
    db.session.commit()
    log.info("job=%s kind=%s %s attempts=%d", job.id, job.kind, status, job.attempts)


def _abandoned(job: Job) -> str:
    return f"The worker running this job stopped {job.max_attempts} times before it finished."


def get(workspace_id: str, job_id: str) -> Job | None:
    return db.session.scalar(select(Job).where(Job.workspace_id == workspace_id, Job.id == job_id))


def in_workspace(workspace_id: str, filters: dict):
    statement = select(Job).where(Job.workspace_id == workspace_id)
    for name in ("kind", "status"):
        if filters.get(name):
            statement = statement.where(getattr(Job, name) == filters[name])
    return statement


def purge(before: datetime, batch: int) -> int:
    """Delete up to `batch` jobs that finished before `before`; run by the worker."""
    old = select(Job.id).where(Job.finished_at < before).limit(batch)
    return db.session.execute(delete(Job).where(Job.id.in_(old))).rowcount
