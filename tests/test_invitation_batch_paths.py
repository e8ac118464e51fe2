"""The fast paths of a batch invitation give exactly what the plain paths give.

Each shortcut taken for many invitations at once (api/bulk.py, the ULID encoder) is
checked here against the code it stands in for.
"""

import random
import time

from sqlalchemy import func, select

from api import ids
from api.bulk import insert_many, matching
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.database import utcnow
from api.events.models import Event
from api.extensions import db

# --- ids --------------------------------------------------------------------------------------


def test_ulids_are_crockford_base32_of_the_value():
    def by_divmod(value: int) -> str:
        chars = []
        for _ in range(26):
            value, index = divmod(value, 32)
            chars.append(ids._CROCKFORD[index])
        return "".join(reversed(chars))

    rng = random.Random(1)
    for value in [0, 1, 2**128 - 1, *(rng.getrandbits(128) for _ in range(2000))]:
        assert ids._crockford(value) == by_divmod(value)


def test_ids_drawn_at_once_are_ids_of_this_moment():
    before = int(time.time() * 1000)
    drawn = ids.new_ids("inv", 1000)
    after = int(time.time() * 1000)
    assert len(set(drawn)) == 1000
    assert drawn == sorted(drawn)  # they follow the order of the rows they are given to
    for made in drawn:
        prefix, ulid = made.split("_")
        assert (prefix, len(ulid)) == ("inv", 26)
        value = 0
        for digit in ulid:
            value = value * 32 + ids._CROCKFORD.index(digit)
        assert before <= value >> 80 <= after  # the time part: milliseconds since 1970


# --- the database ------------------------------------------------------------------------------


def test_insert_many_writes_what_execute_writes(app, tenant):
    rows = [{"subject_id": f"s-{i}", "data": {"n": i, "x": None, "t": 'q"\\'}} for i in range(50)]
    with app.app_context():
        shared = {"workspace_id": tenant.id, "type": "invitation.created"}
        insert_many(Event.__table__.insert(), rows, shared | {"created_at": utcnow()})
        # Missing a column it binds: the plain executemany (which fills the default).
        insert_many(Event.__table__.insert(), [{"subject_id": "plain", "data": {}}], shared)
        stored = db.session.execute(
            select(Event.subject_id, Event.data, Event.workspace_id).order_by(Event.id)
        ).all()
        assert [tuple(row) for row in stored] == [
            *((row["subject_id"], row["data"], tenant.id) for row in rows),
            ("plain", {}, tenant.id),
        ]


def test_insert_many_writes_rows_whose_values_are_all_shared(app, tenant):
    shared = {"workspace_id": tenant.id, "type": "invitation.created", "subject_id": "same"}
    shared |= {"data": {"n": 1}, "created_at": utcnow()}
    with app.app_context():
        assert insert_many(Event.__table__.insert(), [{}] * 60, shared) == 60
        stored = db.session.execute(select(Event.subject_id, Event.data)).all()
        assert [tuple(row) for row in stored] == [("same", {"n": 1})] * 60


def test_insert_many_counts_the_rows_it_wrote(app, tenant):
    """What upsert_many relies on to skip reading its contacts back: the count says
    how many rows ON CONFLICT DO NOTHING let through, on the few-rows path (execute)
    and the many-rows path alike."""
    now = utcnow()
    shared = {"workspace_id": tenant.id, "unsubscribed_at": None}
    shared |= {"created_at": now, "updated_at": now}

    def rows(external_ids):
        return contacts._new_rows([{"external_id": e} for e in external_ids], now)

    with app.app_context():
        statement = contacts._insert_ignore_statement()
        for size in (3, 120):  # below and above FEW_ROWS
            taken = [f"n{size}-{i}" for i in range(size)]
            assert insert_many(statement, rows(taken), shared) == size
            # Every other one exists already: skipped, and not counted.
            again = taken[::2] + [f"m{size}-{i}" for i in range(size)]
            assert insert_many(statement, rows(again), shared) == size
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 2 * (3 + 120)


def test_matching_finds_every_value(app, tenant):
    with app.app_context():
        contacts.upsert_many(
            tenant.id, [{"external_id": f"u-{i}", "email": None} for i in range(2500)]
        )
        wanted = [f"u-{i}" for i in range(0, 2500, 2)] + ["nobody"]
        found = set()
        for condition in matching(Contact.external_id, wanted):
            found.update(db.session.scalars(select(Contact.external_id).where(condition)))
        assert found == set(wanted) - {"nobody"}
        assert list(matching(Contact.external_id, [])) == []


def test_a_contact_inserted_by_someone_else_meanwhile_gets_the_fields(app, tenant, monkeypatch):
    with app.app_context():
        contacts.upsert_many(tenant.id, [{"external_id": "race", "first_name": "Old"}])
        # As if a concurrent request inserted it after we looked for existing ones.
        monkeypatch.setattr(contacts, "_existing_external_ids", lambda *_args: set())
        rows = contacts.upsert_many(
            tenant.id,
            [
                {"external_id": "race", "last_name": "New", "attributes": {"plan": "pro"}},
                {"external_id": "fresh", "first_name": "F"},
            ],
        )
        assert rows["race"].first_name == "Old" and rows["race"].last_name == "New"
        assert rows["race"].attributes == {"plan": "pro"}
        assert rows["fresh"].first_name == "F" and not rows["fresh"].unsubscribed
        assert db.session.scalar(
            select(Contact.last_name).where(Contact.external_id == "race")
        ) == ("New")
