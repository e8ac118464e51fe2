"""The worker's periodic tasks and job queue, driven in-process with a chosen clock."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.database import utcnow
from api.domain_errors import Conflict
from api.extensions import db
from api.http import idempotency
from api.http.idempotency import IdempotencyRecord
from api.jobs import queue as jobs
from api.jobs.models import Job
from api.referrals.models import ReferralReward
from api.worker import periodic
from api.worker.loop import Worker
from api.worker.signals import Stop
from tests.conftest import on_postgres
from tests.feed import wait_until_readable
from tests.test_referral_rewards import convert, enable, referred

# --- periodic tasks ------------------------------------------------------------------------


def test_rewards_are_approved_after_the_hold_with_no_cli_call(app, tenant):
    enable(tenant, hold_days=14)
    assert convert(tenant, referred(tenant)["id"]).status_code == 201
    worker = Worker(app)
    now = utcnow()
    worker.run_once(now)
    statuses = tenant.get("/v1/rewards").get_json()["data"]
    assert {reward["status"] for reward in statuses} == {"pending"}

    done = worker.run_once(now + timedelta(days=14, minutes=1))
    assert done.periodic["rewards.approve_due"] == 2
    assert {reward["status"] for reward in tenant.get("/v1/rewards").get_json()["data"]} == {
        "approved"
    }
    wait_until_readable(app)
    assert len(tenant.get("/v1/events?type=reward.approved").get_json()["data"]) == 2


def test_idempotency_records_are_purged_after_their_ttl_with_no_cli_call(app, tenant):
    for key in ("k-1", "k-2", "k-3"):
        answer = tenant.post(
            "/v1/contacts", json={"external_id": key}, headers={"Idempotency-Key": key}
        )
        assert answer.status_code == 201
    with app.app_context():
        # One of them is older: only it is past the 24 hours.
        db.session.get(IdempotencyRecord, (tenant.id, "k-1")).created_at = utcnow() - timedelta(
            hours=25
        )
        db.session.commit()
    done = Worker(app).run_once(utcnow())
    assert done.periodic["idempotency.purge_expired"] == 1
    with app.app_context():
        left = db.session.scalars(select(IdempotencyRecord.key).order_by(IdempotencyRecord.key))
        assert list(left) == ["k-2", "k-3"]
    done = Worker(app).run_once(utcnow() + timedelta(hours=25))
    assert done.periodic["idempotency.purge_expired"] == 2


def test_the_purge_works_in_batches(app, tenant):
    with app.app_context():
        old = utcnow() - timedelta(days=2)
        for number in range(7):
            db.session.add(
                IdempotencyRecord(
                    workspace_id=tenant.id, key=f"old-{number}", fingerprint="x", created_at=old
                )
            )
        db.session.commit()
        ttl = timedelta(hours=24)
        assert (
            periodic.drain(
                lambda now, batch: idempotency.purge_expired(now, ttl, batch), utcnow(), 3
            )
            == 7
        )
        assert db.session.scalars(select(IdempotencyRecord)).all() == []


def test_a_periodic_task_runs_once_per_period_however_many_workers_ask(app, monkeypatch):
    runs = []
    task = periodic.Task(
        "test.count", timedelta(minutes=1), lambda now, batch: runs.append(now) or 0
    )
    monkeypatch.setattr(periodic, "tasks", lambda: [task])
    now = utcnow()
    workers = [Worker(app) for _ in range(4)]
    threads = [threading.Thread(target=worker.run_once, args=(now,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == [now]
    workers[0].run_once(now + timedelta(seconds=30))
    assert len(runs) == 1  # not due again yet
    workers[1].run_once(now + timedelta(seconds=61))
    assert len(runs) == 2


def test_a_failing_periodic_task_does_not_stop_the_others(app, monkeypatch, caplog):
    def broken(now, batch):
        raise RuntimeError("storage away")

    ran = []
    monkeypatch.setattr(
        periodic,
        "tasks",
        lambda: [
            periodic.Task("test.broken", timedelta(minutes=1), broken),
            periodic.Task("test.fine", timedelta(minutes=1), lambda now, b: ran.append(1) or 1),
        ],
    )
    done = Worker(app).run_once(utcnow())
    assert done.periodic == {"test.fine": 1}
    assert "periodic task test.broken failed" in caplog.text


# --- the job queue -------------------------------------------------------------------------

calls: list[dict] = []


@jobs.handler("test.steps")
def _steps(run: jobs.JobRun) -> dict:
    """Counts to payload["to"], a checkpoint per step, resuming where it stopped."""
    calls.append({"job": run.job_id, "from": run.progress.get("done", 0)})
    for step in range(run.progress.get("done", 0), run.payload["to"]):
        if run.payload.get("fail_at") == step:
            raise RuntimeError("a bug, with a secret: sk_do_not_show")
        if run.payload.get("refuse_at") == step:
            raise Conflict("Enable the endpoint first.", code="endpoint_disabled")
        run.checkpoint(done=step + 1)
    return {"counted": run.payload["to"]}


@pytest.fixture(autouse=True)
def _no_calls():
    calls.clear()


def enqueue(app, workspace_id, payload, **fields) -> str:
    with app.app_context():
        job = jobs.enqueue("test.steps", workspace_id, payload)
        for name, value in fields.items():
            setattr(job, name, value)
        db.session.commit()
        return job.id


def job_of(tenant, job_id) -> dict:
    answer = tenant.get(f"/v1/jobs/{job_id}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_job_runs_with_progress_and_a_result(app, tenant):
    job_id = enqueue(app, tenant.id, {"to": 3})
    assert job_of(tenant, job_id)["status"] == "queued"
    done = Worker(app).run_once()
    assert done.jobs == [job_id]
    job = job_of(tenant, job_id)
    assert job["status"] == "succeeded"
    assert job["progress"] == {"done": 3}
    assert job["result"] == {"counted": 3}
    assert job["attempts"] == 1 and job["error"] is None
    assert job["started_at"] and job["finished_at"]
    listed = tenant.get("/v1/jobs", query_string={"status": "succeeded"}).get_json()["data"]
    assert [entry["id"] for entry in listed] == [job_id]


def test_enqueue_refuses_a_kind_without_a_handler(app, tenant):
    with app.app_context(), pytest.raises(ValueError, match="no handler"):
        jobs.enqueue("made.up", tenant.id, {})


def test_a_failing_job_says_so_without_its_traceback(app, tenant, caplog):
    job_id = enqueue(app, tenant.id, {"to": 5, "fail_at": 2})
    Worker(app).run_once()
    job = job_of(tenant, job_id)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "internal_error"
    assert "sk_do_not_show" not in str(job)
    assert job["progress"] == {"done": 2}  # what was checkpointed stays done
    assert f"job={job_id} kind=test.steps failed" in caplog.text


def test_a_refused_job_carries_the_refusal(app, tenant):
    job_id = enqueue(app, tenant.id, {"to": 2, "refuse_at": 0})
    Worker(app).run_once()
    assert job_of(tenant, job_id)["error"] == {
        "code": "endpoint_disabled",
        "message": "Enable the endpoint first.",
    }


def test_a_stopping_worker_puts_the_job_back_at_its_checkpoint(app, tenant):
    job_id = enqueue(app, tenant.id, {"to": 4})
    stop = Stop()
    stop.set()
    assert Worker(app, stop).run_once().jobs == []  # a stopping worker starts nothing
    with app.app_context():
        # Asked to stop while it runs: the first checkpoint hands the job back.
        assert jobs.run_next(utcnow(), 60, stopping=lambda: True) == job_id
    job = job_of(tenant, job_id)
    assert (job["status"], job["progress"], job["attempts"]) == ("queued", {"done": 1}, 0)
    Worker(app).run_once()
    assert job_of(tenant, job_id)["status"] == "succeeded"
    assert calls[1]["from"] == 1  # resumed from its progress, not from the start


def test_a_job_whose_worker_died_is_taken_over_when_its_lease_lapses(app, tenant):
    now = utcnow()
    job_id = enqueue(
        app,
        tenant.id,
        {"to": 2},
        status="running",
        attempts=1,
        progress={"done": 1},
        lease_until=now + timedelta(seconds=30),
    )
    assert Worker(app).run_once(now).jobs == []  # still leased
    assert Worker(app).run_once(now + timedelta(seconds=31)).jobs == [job_id]
    job = job_of(tenant, job_id)
    assert (job["status"], job["attempts"], calls[0]["from"]) == ("succeeded", 2, 1)


def test_a_job_that_kills_its_worker_every_time_is_given_up(app, tenant):
    now = utcnow()
    job_id = enqueue(
        app, tenant.id, {"to": 2}, status="running", attempts=3, lease_until=now - timedelta(1)
    )
    Worker(app).run_once(now)
    job = job_of(tenant, job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "abandoned"
    assert calls == []


def test_jobs_are_per_workspace(app, tenant, make_tenant):
    other = make_tenant("Other")
    job_id = enqueue(app, tenant.id, {"to": 1})
    assert other.get(f"/v1/jobs/{job_id}").status_code == 404
    assert other.get("/v1/jobs").get_json()["data"] == []


def test_finished_jobs_are_purged_after_the_retention(app, tenant):
    job_id = enqueue(app, tenant.id, {"to": 1})
    now = utcnow()
    Worker(app).run_once(now)
    Worker(app).run_once(now + timedelta(days=29))
    assert tenant.get(f"/v1/jobs/{job_id}").status_code == 200
    Worker(app).run_once(now + timedelta(days=31))
    assert tenant.get(f"/v1/jobs/{job_id}").status_code == 404


@on_postgres
def test_concurrent_workers_never_run_one_job_twice(app, tenant):
    job_ids = {enqueue(app, tenant.id, {"to": 1}) for _ in range(12)}
    workers = [Worker(app) for _ in range(4)]
    ran: list[list[str]] = []

    def work(worker):
        ran.append(worker.run_once().jobs)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [job_id for jobs_run in ran for job_id in jobs_run]
    assert sorted(everything) == sorted(job_ids)
    assert len(calls) == 12
    with app.app_context():
        assert set(db.session.scalars(select(Job.status))) == {"succeeded"}


def test_the_worker_command_does_one_pass(app, tenant, runner):
    job_id = enqueue(app, tenant.id, {"to": 1})
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "jobs 1" in result.output
    assert job_of(tenant, job_id)["status"] == "succeeded"


def test_a_lease_shorter_than_a_send_is_refused(app_factory):
    with pytest.raises(RuntimeError, match="WORKER_LEASE_SECONDS"):
        app_factory(WORKER_LEASE_SECONDS=10, WEBHOOKS_TIMEOUT_SECONDS=15)


def test_rewards_cli_still_approves_by_hand(app, tenant, runner):
    enable(tenant, hold_days=0)
    convert(tenant, referred(tenant)["id"])
    result = runner.invoke(args=["referrals", "approve-due"])
    assert "rewards approved: 2" in result.output
    with app.app_context():
        assert set(db.session.scalars(select(ReferralReward.status))) == {"approved"}


def test_the_retry_schedule_is_read_from_the_environment_as_numbers():
    import config

    settings = config.load("production", environ={"WEBHOOKS_RETRY_SCHEDULE": "0, 10,60"})
    assert settings["WEBHOOKS_RETRY_SCHEDULE"] == [0, 10, 60]
