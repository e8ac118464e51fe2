"""The feed's order without a lock: (transaction id, id), read below the frontier."""

import base64
import json
import random
import threading
import time
from contextlib import contextmanager

from sqlalchemy import select, text

from api.events import service as events
from api.events.models import Event, current_transaction
from api.extensions import db
from tests.conftest import on_postgres
from tests.factories import seed
from tests.feed import wait_until_readable


def cursor_of(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_every_append_carries_its_transaction(app, tenant):
    with app.app_context():
        events.record(tenant.id, "referral_code.issued", "one")
        events.record_many(tenant.id, "invitation.created", [("two", {}), ("three", {})])
        own = db.session.scalar(select(current_transaction()))
        db.session.commit()
        stored = db.session.execute(select(Event.subject_id, Event.tx).order_by(Event.id)).all()
    # SQLite: one writer, 0 for all; PostgreSQL: the id of the transaction that wrote them.
    assert [tuple(row) for row in stored] == [("one", own), ("two", own), ("three", own)]


def test_a_cursor_from_before_the_transaction_order_still_reads_on(app, tenant):
    """Cursors handed out before the feed had tx held one id; they keep working."""
    seed(app, tenant.id, contacts=3)
    with app.app_context():
        first = db.session.scalar(
            select(Event.id).where(Event.workspace_id == tenant.id).order_by(Event.id)
        )
        # What the migration gives events written before it: tx 0.
        db.session.execute(text("UPDATE events SET tx = 0"))
        db.session.commit()
    wait_until_readable(app)
    page = tenant.get("/v1/events", query_string={"after": cursor_of([first])}).get_json()
    assert len(page["data"]) == 2
    assert [int(e["id"]) for e in page["data"]] == [first + 1, first + 2]
    # (tx, id) on PostgreSQL; SQLite's feed is ordered by id alone.
    assert json.loads(base64.urlsafe_b64decode(page["next_cursor"] + "=="))[-1] == first + 2


@contextmanager
def held_open(app, workspace_id: str, subject: str):
    """An event appended by another transaction that stays open inside the block."""
    wrote, done = threading.Event(), threading.Event()

    def hold():
        with app.app_context():
            events.record(workspace_id, "referral_code.issued", subject)
            db.session.flush()  # in the database, uncommitted
            wrote.set()
            done.wait(10)
            db.session.commit()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert wrote.wait(10)
        yield
    finally:
        done.set()
        thread.join()


@on_postgres
def test_an_append_never_waits_for_another_in_the_same_workspace(app, tenant):
    """A transaction that appended and stays open does not hold up the next append."""
    with held_open(app, tenant.id, "slow"), app.app_context():
        db.session.execute(text("SET LOCAL lock_timeout = '500ms'"))
        events.record(tenant.id, "referral_code.issued", "fast")
        db.session.commit()  # a lock wait would have raised within half a second


@on_postgres
def test_an_event_stays_unread_while_an_older_transaction_is_open(app, tenant):
    """The later transaction commits first; the reader sees neither until both are done,
    then both, in transaction order, so its cursor never passes one it has not seen."""
    with held_open(app, tenant.id, "older"):
        with app.app_context():
            events.record(tenant.id, "referral_code.issued", "younger")
            db.session.commit()
        assert tenant.get("/v1/events").get_json()["data"] == []
    wait_until_readable(app)
    page = tenant.get("/v1/events").get_json()
    assert [e["subject_id"] for e in page["data"]] == ["older", "younger"]


@on_postgres
def test_eight_writers_and_a_polling_reader_see_every_event_once(app, tenant):
    """Writers hold their transactions open for random moments, so ids commit out of
    order; a reader paging all the while must still read each event exactly once."""
    writers, per_writer = 8, 25
    done = threading.Event()
    errors: list[BaseException] = []

    def write(number: int):
        rng = random.Random(number)
        try:
            with app.app_context():
                for index in range(per_writer):
                    for part in range(rng.randint(1, 3)):
                        events.record(
                            tenant.id, "referral_code.issued", f"w{number}-{index}-{part}"
                        )
                        db.session.flush()  # written, then held open a moment
                        time.sleep(rng.random() * 0.004)
                    db.session.commit()
        except BaseException as error:  # reported by the test below
            errors.append(error)

    seen: list[dict] = []
    reader_client = app.test_client()

    def read():
        cursor = None
        headers = {"Authorization": f"Bearer {tenant.secret_key}"}
        while True:
            finished = done.is_set()
            if finished:
                wait_until_readable(app)
            query = {"limit": 7, **({"after": cursor} if cursor else {})}
            page = reader_client.get("/v1/events", query_string=query, headers=headers)
            body = page.get_json()
            seen.extend(body["data"])
            cursor = body["next_cursor"]
            if finished and not body["has_more"]:
                return

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert not errors, errors

    with app.app_context():
        written = set(db.session.scalars(select(Event.subject_id)))
    subjects = [event["subject_id"] for event in seen]
    assert len(written) > writers * per_writer
    assert len(subjects) == len(set(subjects)), "an event was read twice"
    assert set(subjects) == written, f"missed {sorted(written - set(subjects))[:5]}"
