"""The retention report over 1,000,000 stage changes against the same report over 10,000.

Target: the retention report over 1,000,000 stage changes within 2x its time over
10,000, because its cost must grow with the months reported, not with the number
of contacts or stage changes.

In one run, in a fresh migrated database (a temporary SQLite file, or with
`--postgres` the database of DATABASE_URL), two workspaces get a lifecycle history
over the same 36 months: 10,000 and 1,000,000 stage changes. Contacts go lead ->
trial, most on to onboarding -> adopting -> customer, some to advocate; customers
churn at a few percent a month and some come back. Every change is a real row of
`stage_changes` and every contact its row with the stage columns as
`api.contacts.stages` leaves them; the `stage_rollups` rows are the counts that
`stages.change` would have moved, computed by the same rule
(`api.lifecycle.movement`). About one customer in three answered an NPS survey
while a customer (real invitations and responses), and the real worker step
(`score_churn.close_due`) counts their days into `score_churn_rollups`. Rows are
bulk-inserted because this measures report reads, not writes; so that the bulk
data is honest, a sample of histories is first written both ways (bulk here, and
through `stages.change`) and the rollups and contact columns must be equal, and each
workspace's rollup must add up to its contacts now at a paying stage.

Then `retention_report` over the last 12 and the whole 36 months runs several times,
alternating the workspaces; the medians and their ratio (1M / 10k) are printed, PASS
when under 2x.

    .venv/bin/python -m bench.retention_scaling [--repeat 15] [--postgres]
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from api import lifecycle
from api.contacts import stages
from api.contacts.models import Contact, StageChange, StageRollup
from api.extensions import db
from api.reports import retention, score_churn
from api.responses.models import Response
from api.scoring import classify
from api.surveys.models import Invitation, Survey
from api.worker import periodic
from api.workspaces import keys
from bench import scaling
from bench.fresh_database import fresh_database
from bench.throughput import _machine_busy_seconds, _own_cpu_seconds

MONTHS = 36
SAMPLE = 300
RESPONDING = 1 / 3  # customers who answered an NPS survey while a customer


def main(argv: list[str] | None = None) -> int:
    args = scaling.options("python -m bench.retention_scaling", seed=20261201).parse_args(argv)

    # Building a million rows, and deleting them (cascading over 200,000 contacts), takes
    # longer than a request's statement timeout.
    with fresh_database(
        args.postgres, "flipfunnel-retention-bench-", DATABASE_STATEMENT_TIMEOUT_SECONDS=0
    ) as made:
        return run(args, made)


def run(args, made: list[str]) -> int:
    rng = random.Random(args.seed)
    now = datetime.now(UTC).replace(microsecond=0)
    first = lifecycle.add_months(lifecycle.month_of(now), 1 - MONTHS)
    begins = datetime(first.year, first.month, 1, tzinfo=UTC)

    check_bulk_equals_stages_change(rng, begins, now, made)

    workspaces = {}
    for label, size in (("10k", args.small), ("1M", args.large)):
        began = time.perf_counter()
        workspace_id = new_workspace(f"bench {label}", made)
        histories = list(generate(rng, size, begins, now))
        bulk_insert(workspace_id, histories, rng, now)
        steps = periodic.drain(score_churn.close_due, now, 20)  # as the worker does
        check_totals(workspace_id, histories)
        changes = db.session.scalar(
            select(func.count())
            .select_from(StageChange)
            .where(StageChange.workspace_id == workspace_id)
        )
        rollup_rows = db.session.scalar(
            select(func.count())
            .select_from(StageRollup)
            .where(StageRollup.workspace_id == workspace_id)
        )
        answers = db.session.scalar(
            select(func.count())
            .select_from(Response)
            .join(Survey, Survey.id == Response.survey_id)
            .where(Survey.workspace_id == workspace_id)
        )
        assert changes == size, (changes, size)
        print(
            f"workspace {label}: {len(histories):,} contacts, {changes:,} stage changes, "
            f"{rollup_rows:,} stage rollup rows, {answers:,} NPS responses "
            f"(counted by close_due in {steps} steps), built in "
            f"{time.perf_counter() - began:.1f} s"
        )
        workspaces[label] = workspace_id
    scaling.analyze()

    verdict = True
    this_month = lifecycle.month_of(now)
    busy_before, own_before, wall_before = _machine_busy_seconds(), _own_cpu_seconds(), time.time()
    for months in (12, MONTHS):
        start = lifecycle.add_months(this_month, 1 - months)

        def measure(workspace_id: str, start: date = start) -> float:
            return timed(workspace_id, start, this_month, now)

        medians = scaling.alternating_medians(workspaces, measure, args.repeat)
        small, large = medians["10k"], medians["1M"]
        ratio = large / small
        ok = ratio < scaling.MAX_RATIO
        verdict &= ok
        print(
            f"{months:2d} months  10k {small * 1000:7.2f} ms   1M {large * 1000:7.2f} ms   "
            f"ratio {ratio:5.2f}  {'PASS' if ok else 'FAIL'} (< {scaling.MAX_RATIO:g}x)"
        )
    wall = time.time() - wall_before
    others = (_machine_busy_seconds() - busy_before) - (_own_cpu_seconds() - own_before)
    print(
        f"medians of {args.repeat} runs of retention_report; others "
        f"{max(0.0, 100 * others / (wall * _cpus())):.0f}% CPU while timing"
    )
    print("PASS" if verdict else "FAIL")
    return 0


def _cpus() -> int:
    return os.cpu_count() or 1


def timed(workspace_id: str, start: date, end: date, now: datetime) -> float:
    db.session.expire_all()
    began = time.perf_counter()
    report = retention.retention_report(workspace_id, start=start, end=end, now=now)
    elapsed = time.perf_counter() - began
    assert report["months"][-1]["customers_end"] > 0
    assert sum(c["responses"] for c in report["churn_by_category"]["categories"]) > 0
    db.session.rollback()
    return elapsed


# --- data ---------------------------------------------------------------------------------


def new_workspace(name: str, made: list[str]) -> str:
    workspace, _secret, _publishable = keys.create_workspace(name)
    made.append(workspace.id)
    db.session.add(Survey(workspace_id=workspace.id, name=f"{name} NPS", kind="nps"))
    db.session.commit()
    return workspace.id


def _after(rng: random.Random, moment: datetime, low_days: float, high_days: float) -> datetime:
    return moment + timedelta(seconds=rng.uniform(low_days, high_days) * 86400)


def history(rng: random.Random, begins: datetime, now: datetime) -> list[tuple[datetime, str]]:
    """One contact's (time, stage) changes, in order, all before `now`."""
    at = begins + timedelta(seconds=rng.uniform(0, (now - begins).total_seconds()))
    steps = [(at, "lead")]
    at = _after(rng, at, 0, 20)
    steps.append((at, "trial"))
    if rng.random() < 0.35:
        return [step for step in steps if step[0] < now]  # never bought
    for stage, low, high in (("onboarding", 1, 20), ("adopting", 5, 40), ("customer", 20, 70)):
        at = _after(rng, at, low, high)
        steps.append((at, stage))
    while at < now:
        # A few percent a month leave; some advocate first; some of those who left return.
        if rng.random() < 0.15:
            at = _after(rng, at, 30, 300)
            steps.append((at, "advocate"))
        at = _after(rng, at, 60, 900)
        steps.append((at, "churned"))
        if rng.random() > 0.25:
            break
        at = _after(rng, at, 30, 300)
        steps.append((at, "customer"))
    return [step for step in steps if step[0] < now]


def generate(rng: random.Random, size: int, begins: datetime, now: datetime):
    """Histories adding up to exactly `size` stage changes (the last one cut to fit)."""
    left = size
    while left > 0:
        steps = history(rng, begins, now)[:left]
        left -= len(steps)
        yield steps


def contact_columns(steps: list[tuple[datetime, str]]) -> tuple[dict, list[lifecycle.Movement]]:
    """The contact's stage columns after `steps`, and what each step moved (the rule
    `stages.change` applies)."""
    stage, first_customer_at, customer_since, moved = None, None, None, []
    for at, after in steps:
        movement = lifecycle.movement(stage, after, at, first_customer_at, customer_since)
        moved.append(movement)
        stage, first_customer_at, customer_since = (
            after,
            movement.first_customer_at,
            movement.customer_since,
        )
    columns = {
        "stage": stage,
        "stage_changed_at": steps[-1][0] if steps else None,
        "first_customer_at": first_customer_at,
        "customer_since": customer_since,
    }
    return columns, moved


def bulk_insert(workspace_id: str, histories: list, rng: random.Random, now: datetime) -> None:
    """Contacts, stage changes, rollups and some NPS answers, as the services leave them.

    Ids are a counter, not ULIDs: making millions of ULIDs in Python would dominate
    the set-up, and ids play no part in report reads.
    """
    survey_id = db.session.scalar(select(Survey.id).where(Survey.workspace_id == workspace_id))
    prefix = workspace_id[-8:]
    scores, weights = list(scaling.SCORE_WEIGHTS), list(scaling.SCORE_WEIGHTS.values())
    totals: Counter = Counter()
    contacts, changes, invitations, answers = [], [], [], []
    number = 0
    for index, steps in enumerate(histories):
        contact_id = f"con_{prefix}{index:018d}"
        columns, moved = contact_columns(steps)
        contacts.append(
            {
                "id": contact_id,
                "workspace_id": workspace_id,
                "external_id": f"c{index}",
                "attributes": {},
                "created_at": steps[0][0] if steps else now,
                "updated_at": steps[-1][0] if steps else now,
                **columns,
            }
        )
        previous = None
        for (at, stage), movement in zip(steps, moved, strict=True):
            number += 1
            changes.append(
                {
                    "id": f"stg_{prefix}{number:018d}",
                    "workspace_id": workspace_id,
                    "contact_id": contact_id,
                    "from_stage": previous,
                    "to_stage": stage,
                    "source": "api",
                    "changed_at": at,
                }
            )
            previous = stage
            for column, delta in movement.deltas.items():
                totals[(movement.cohort, movement.month, column)] += delta
        answered = _an_answer(rng, steps, now)
        if answered is not None:
            invitation_id, response_id = f"inv_{prefix}{index:018d}", f"rsp_{prefix}{index:018d}"
            score = rng.choices(scores, weights)[0]
            invitations.append(
                {
                    "id": invitation_id,
                    "workspace_id": workspace_id,
                    "survey_id": survey_id,
                    "contact_id": contact_id,
                    "channel": "email",
                    "created_at": answered,
                    "expires_at": answered + timedelta(days=30),
                }
            )
            answers.append(
                {
                    "id": response_id,
                    "workspace_id": workspace_id,
                    "survey_id": survey_id,
                    "invitation_id": invitation_id,
                    "contact_id": contact_id,
                    "score": score,
                    "category": classify("nps", score),
                    "channel": "email",
                    "meta": {},
                    "segments": {},
                    "day": answered.date(),
                    "created_at": answered,
                    "updated_at": answered,
                }
            )
        if len(changes) >= scaling.CHUNK:
            _flush(contacts, changes, invitations, answers)
    _flush(contacts, changes, invitations, answers)
    rows: dict[tuple, dict] = {}
    for (cohort, month, column), delta in totals.items():
        row = rows.setdefault(
            (cohort, month),
            {"workspace_id": workspace_id, "cohort": cohort, "month": month, "new": 0,
             "joined": 0, "left": 0, "churned": 0},
        )  # fmt: skip
        row[column] += delta
    db.session.execute(StageRollup.__table__.insert(), list(rows.values()))
    db.session.commit()


def _an_answer(rng: random.Random, steps: list, now: datetime) -> datetime | None:
    """A moment during the contact's first time as a customer, for a third of customers."""
    spell = None
    for (at, stage), following in zip(steps, [*steps[1:], (now, None)], strict=True):
        if lifecycle.is_customer(stage):
            spell = spell or [at, following[0]]
            spell[1] = following[0]
        elif spell:
            break
    if spell is None or rng.random() > RESPONDING:
        return None
    return spell[0] + (spell[1] - spell[0]) * rng.random()


def _flush(*batches: list) -> None:
    tables = (Contact.__table__, StageChange.__table__, Invitation.__table__, Response.__table__)
    for table, rows in zip(tables, batches, strict=True):
        if rows:
            db.session.execute(table.insert(), rows)
        rows.clear()
    db.session.commit()


def check_totals(workspace_id: str, histories: list) -> None:
    """The rollup adds up to the contacts now at a paying stage, as the table says."""
    rolled = db.session.scalar(
        select(func.sum(StageRollup.joined - StageRollup.left)).where(
            StageRollup.workspace_id == workspace_id
        )
    )
    staged = db.session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(
            Contact.workspace_id == workspace_id,
            Contact.stage.in_(sorted(lifecycle.CUSTOMER_STAGES)),
        )
    )
    expected = sum(1 for steps in histories if steps and lifecycle.is_customer(steps[-1][1]))
    assert rolled == staged == expected, (rolled, staged, expected)


def check_bulk_equals_stages_change(
    rng: random.Random, begins: datetime, now: datetime, made: list[str]
) -> None:
    """The same histories written in bulk and through `stages.change` leave the same rows."""
    sample = [history(rng, begins, now) for _ in range(SAMPLE)]
    bulk = new_workspace("bench sample (bulk)", made)
    bulk_insert(bulk, sample, random.Random(0), now)
    real = new_workspace("bench sample (stages.change)", made)
    for index, steps in enumerate(sample):
        contact = Contact(workspace_id=real, external_id=f"c{index}", attributes={})
        db.session.add(contact)
        db.session.flush()
        for at, stage in steps:
            stages.change(contact, stage, "api", at)
    db.session.commit()

    def rollup_of(workspace_id: str) -> dict:
        flows = retention.flows_by_cohort(workspace_id, date.min, date.max)
        return {key: flow for key, flow in flows.items() if flow != lifecycle.Flow()}

    def contacts_of(workspace_id: str) -> set:
        rows = db.session.execute(
            select(
                Contact.external_id,
                Contact.stage,
                Contact.stage_changed_at,
                Contact.first_customer_at,
                Contact.customer_since,
            ).where(Contact.workspace_id == workspace_id)
        )
        return set(map(tuple, rows))

    def changes_of(workspace_id: str) -> Counter:
        rows = db.session.execute(
            select(StageChange.from_stage, StageChange.to_stage).where(
                StageChange.workspace_id == workspace_id
            )
        )
        return Counter(map(tuple, rows))

    scaling.assert_bulk_equals(
        bulk,
        real,
        "stages.change",
        {"rollup": rollup_of, "contact columns": contacts_of, "stage changes": changes_of},
    )
    print(
        f"sample of {SAMPLE} histories ({sum(map(len, sample)):,} changes): bulk rows equal "
        f"what stages.change writes ({len(rollup_of(real))} rollup rows)"
    )


if __name__ == "__main__":
    sys.exit(main())
