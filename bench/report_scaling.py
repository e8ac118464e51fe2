"""The survey report over 1,000,000 responses against the same report over 10,000.

Target: the NPS report over 1,000,000 responses within 2x its time over 10,000,
because its cost must grow with the date range, not with the number of responses.

In one run, in a fresh migrated database (a temporary SQLite file, or with
`--postgres` the database of DATABASE_URL), two NPS surveys, each in its own
workspace, get responses spread over the same 90 days: 10,000 and 1,000,000.
Every response is a real row (with its invitation and, for promoters and
detractors, its queue item, as `submit` leaves them), and the rollup rows are the
counts `submit` would have written. Rows are bulk-inserted because this measures
report reads, not writes; so that the bulk data is honest, a sample is first
written both ways (bulk here, and through `api.responses.service.submit`) and the
two rollups must be equal. Then `survey_report` runs over the 90 days, per day
and per week, several times, alternating the two surveys; the medians and their
ratio (1M / 10k) are printed, PASS when under 2x.

    .venv/bin/python -m bench.report_scaling [--repeat 15] [--postgres]
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from api import scoring
from api.contacts.models import Contact
from api.extensions import db
from api.queues.models import QueueCount, QueueItem
from api.reports import service as reports
from api.responses import service as responses
from api.responses.models import InvitationRollup, Response, ResponseRollup
from api.surveys import invitations
from api.surveys.models import Invitation, Survey
from api.workspaces import keys
from bench import scaling
from bench.fresh_database import fresh_database

DAYS = 90
SAMPLE = 400
PLANS = ("free", "pro", "team")
# Most queue items of a 90-day history are handled; some are still waiting.
STATUS_WEIGHTS = {"done": 70, "dismissed": 10, "open": 15, "claimed": 5}


def main(argv: list[str] | None = None) -> int:
    args = scaling.options("python -m bench.report_scaling", seed=20261123).parse_args(argv)

    with fresh_database(args.postgres, "flipfunnel-report-bench-") as made:
        return run(args, made)


def run(args, made: list[str]) -> int:
    rng = random.Random(args.seed)
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=DAYS - 1)

    check_bulk_equals_submit(rng, start, made)

    surveys = {}
    for label, size in (("10k", args.small), ("1M", args.large)):
        began = time.perf_counter()
        survey = new_survey(f"bench {label}", made)
        bulk_insert(survey, size, rng, start)
        counted = db.session.scalar(
            select(func.count()).select_from(Response).where(Response.survey_id == survey.id)
        )
        rolled = db.session.scalar(
            select(func.sum(ResponseRollup.count)).where(
                ResponseRollup.survey_id == survey.id, ResponseRollup.segment == ""
            )
        )
        rollup_rows = db.session.scalar(
            select(func.count())
            .select_from(ResponseRollup)
            .where(ResponseRollup.survey_id == survey.id)
        )
        assert counted == rolled == size, (counted, rolled, size)
        print(
            f"survey {label}: {counted:,} responses in the responses table, "
            f"{rollup_rows:,} rollup rows, built in {time.perf_counter() - began:.1f} s"
        )
        surveys[label] = survey
    scaling.analyze()

    verdict = True
    for interval in ("day", "week"):
        medians = {}
        for part in PARTS:

            def measure(survey: Survey, part: str = part, interval: str = interval) -> float:
                return timed(part, survey, start, end, interval)

            medians[part] = scaling.alternating_medians(surveys, measure, args.repeat)
        for part, title in PARTS.items():
            small, large = medians[part]["10k"], medians[part]["1M"]
            ratio = large / small
            line = (
                f"per {interval:<4} {title:<36} 10k {small * 1000:7.2f} ms   "
                f"1M {large * 1000:7.2f} ms   ratio {ratio:5.2f}"
            )
            if part == "full":
                ok = ratio < scaling.MAX_RATIO
                verdict &= ok
                line += f"  {'PASS' if ok else 'FAIL'} (< {scaling.MAX_RATIO:g}x)"
            print(line)
    print(f"medians of {args.repeat} runs, {DAYS} days ({start} to {end})")
    print("PASS" if verdict else "FAIL")
    return 0


# What is timed: the report as the API serves it, and its two halves.
PARTS = {
    "full": "survey_report (as the API serves it)",
    "rollup": "  rollup part (include_queues=False)",
    "queues": "  queue counts (queue_counts counters)",
}


def timed(part: str, survey: Survey, start: date, end: date, interval: str) -> float:
    db.session.expire_all()
    began = time.perf_counter()
    if part == "queues":
        reports.queue_counts(survey)
    else:
        result = reports.survey_report(
            survey, start=start, end=end, interval=interval, include_queues=part == "full"
        )
        assert result["totals"]["n"] > 0
    elapsed = time.perf_counter() - began
    db.session.rollback()
    return elapsed


# --- data ---------------------------------------------------------------------------------


def new_survey(name: str, made: list[str]) -> Survey:
    workspace, _secret, _publishable = keys.create_workspace(name)
    made.append(workspace.id)
    survey = Survey(workspace_id=workspace.id, name=name, kind="nps", segment_attributes=["plan"])
    db.session.add(survey)
    db.session.commit()
    return survey


def specs(size: int, rng: random.Random, start: date):
    """(created_at, score, plan) for `size` responses over DAYS days; plan may be None."""
    scores, weights = list(scaling.SCORE_WEIGHTS), list(scaling.SCORE_WEIGHTS.values())
    for _ in range(size):
        when = datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(DAYS * 86400)
        )
        plan = rng.choice((*PLANS, None))
        yield when, rng.choices(scores, weights)[0], plan


def bulk_insert(survey: Survey, size: int, rng: random.Random, start: date, given=None) -> None:
    """Responses, invitations, queue items and rollups as `submit` leaves them, in bulk.

    Ids are a counter, not ULIDs: making two million ULIDs in Python would dominate
    the set-up and ids play no part in report reads.
    """
    rollup: Counter = Counter()
    invited: Counter = Counter()
    queue_counts: Counter = Counter()
    statuses, status_weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    rows = given if given is not None else specs(size, rng, start)
    prefix = survey.id[-10:]
    batch_inv, batch_rsp, batch_qi = [], [], []
    for number, (when, score, plan) in enumerate(rows):
        category = scoring.classify("nps", score)
        segments = {"plan": plan} if plan else {}
        inv_id, rsp_id = f"inv_{prefix}{number:016d}", f"rsp_{prefix}{number:016d}"
        batch_inv.append(
            {
                "id": inv_id,
                "workspace_id": survey.workspace_id,
                "survey_id": survey.id,
                "channel": "email",
                "created_at": when,
                "expires_at": when + timedelta(days=30),
            }
        )
        batch_rsp.append(
            {
                "id": rsp_id,
                "workspace_id": survey.workspace_id,
                "survey_id": survey.id,
                "invitation_id": inv_id,
                "score": score,
                "category": category,
                "channel": "email",
                "meta": {},
                "segments": segments,
                "day": when.date(),
                "created_at": when,
                "updated_at": when,
            }
        )
        queue = scoring.queue_for("nps", category)
        if queue:
            status = rng.choices(statuses, status_weights)[0]
            queue_counts[(queue, status)] += 1
            batch_qi.append(
                {
                    "id": f"qi_{prefix}{number:016d}",
                    "workspace_id": survey.workspace_id,
                    "response_id": rsp_id,
                    "survey_id": survey.id,
                    "queue": queue,
                    "status": status,
                    "priority": scoring.priority("nps", score),
                    "score": score,
                    "due_at": when + timedelta(hours=24),
                    "created_at": when,
                    "updated_at": when,
                }
            )
        invited[when.date()] += 1
        rollup[(when.date(), "", score)] += 1
        for name, value in segments.items():
            rollup[(when.date(), f"{name}={value}", score)] += 1
        if len(batch_rsp) >= scaling.CHUNK:
            _flush(batch_inv, batch_rsp, batch_qi)
    _flush(batch_inv, batch_rsp, batch_qi)
    db.session.execute(
        ResponseRollup.__table__.insert(),
        [
            {"survey_id": survey.id, "day": day, "segment": segment, "score": score, "count": n}
            for (day, segment, score), n in rollup.items()
        ],
    )
    db.session.execute(
        InvitationRollup.__table__.insert(),
        [{"survey_id": survey.id, "day": day, "count": n} for day, n in invited.items()],
    )
    db.session.execute(
        QueueCount.__table__.insert(),
        [
            {"survey_id": survey.id, "queue": queue, "status": status, "count": n}
            for (queue, status), n in queue_counts.items()
        ],
    )
    db.session.commit()


def _flush(invitation_rows: list, response_rows: list, queue_rows: list) -> None:
    for table, rows in (
        (Invitation.__table__, invitation_rows),
        (Response.__table__, response_rows),
        (QueueItem.__table__, queue_rows),
    ):
        if rows:
            db.session.execute(table.insert(), rows)
        rows.clear()
    db.session.commit()


def check_bulk_equals_submit(rng: random.Random, start: date, made: list[str]) -> None:
    """The same sample written in bulk and through `submit` leaves the same rollup."""
    sample = list(specs(SAMPLE, rng, start))
    bulk = new_survey("bench sample (bulk)", made)
    bulk_insert(bulk, SAMPLE, rng, start, given=sample)
    real = new_survey("bench sample (submit)", made)
    for number, (when, score, plan) in enumerate(sample):
        contact = Contact(
            workspace_id=real.workspace_id,
            external_id=f"sample-{number}",
            attributes={"plan": plan} if plan else {},
        )
        db.session.add(contact)
        db.session.flush()
        [(invitation, _)], _skipped = invitations.invite(
            real, [{"contact_id": contact.id}], "email", now=when
        )
        responses.submit(invitation, score, now=when)
    db.session.commit()

    def rollup_of(survey: Survey) -> set:
        rows = db.session.execute(
            select(
                ResponseRollup.day,
                ResponseRollup.segment,
                ResponseRollup.score,
                ResponseRollup.count,
            ).where(ResponseRollup.survey_id == survey.id, ResponseRollup.count != 0)
        )
        return set(map(tuple, rows))

    def invited_of(survey: Survey) -> set:
        rows = db.session.execute(
            select(InvitationRollup.day, InvitationRollup.count).where(
                InvitationRollup.survey_id == survey.id
            )
        )
        return set(map(tuple, rows))

    def counters_of(survey: Survey) -> dict:
        rows = db.session.execute(
            select(QueueCount.queue, QueueCount.status, QueueCount.count).where(
                QueueCount.survey_id == survey.id, QueueCount.count != 0
            )
        )
        return {(queue, status): count for queue, status, count in rows}

    def items_of(survey: Survey) -> dict:
        rows = db.session.execute(
            select(QueueItem.queue, QueueItem.status, func.count())
            .where(QueueItem.survey_id == survey.id)
            .group_by(QueueItem.queue, QueueItem.status)
        )
        return {(queue, status): count for queue, status, count in rows}

    def queues_of(survey: Survey) -> Counter:
        rows = db.session.execute(
            select(QueueItem.queue, func.count())
            .where(QueueItem.survey_id == survey.id)
            .group_by(QueueItem.queue)
        )
        return Counter(dict(map(tuple, rows)))

    scaling.assert_bulk_equals(
        bulk,
        real,
        "submit()",
        {"rollup": rollup_of, "invitation rollup": invited_of, "queue items": queues_of},
    )
    for survey in (bulk, real):
        assert counters_of(survey) == items_of(survey), "queue counters differ from the items"
    print(
        f"sample of {SAMPLE}: bulk rows and rollup equal what submit() writes "
        f"({len(rollup_of(real))} rollup rows, queues {dict(queues_of(real))})"
    )


if __name__ == "__main__":
    sys.exit(main())
