"""The fast paths of a batch invitation give exactly what the plain paths give.

Each shortcut taken for 10,000 invitations in one call (api/bulk.py, the quick
load of batch refs, the token minter, the parsed question, the ULID encoder) is
checked here against the code it stands in for.
"""

import random

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from api import ids, signing
from api.bulk import insert_many, matching
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.surveys import texts

# --- signing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [("k",), ("old", "new"), ("x" * 64,)])
def test_minted_tokens_are_itsdangerous_tokens(keys):
    serializer = URLSafeTimedSerializer(list(keys), salt=signing.SURVEY_LINK)
    minter = signing._Minter(serializer)
    assert minter._fast
    payloads = [ids.new_id("inv"), "", "é" * 100, "a" * 200, "ab" * 100, ["inv"], {"a": [1]}, 7]
    for payload in payloads:
        token = minter.sign(payload)
        assert token == serializer.dumps(payload)  # within the same second
        assert serializer.loads(token, max_age=10) == payload


def test_a_widget_display_is_signed_plain_and_still_verifies():
    serializer = URLSafeTimedSerializer(["k"], salt=signing.WIDGET_DISPLAY)
    minter = signing._Minter(serializer)
    assert minter._fast
    display = {"i": ids.new_id("inv"), "s": ids.new_id("srv"), "c": ids.new_id("con"), "l": "de"}
    token = minter.sign(display)
    assert serializer.dumps(display).startswith(".")  # itsdangerous would have compressed it
    assert not token.startswith(".")
    assert serializer.loads(token, max_age=10) == display


def test_a_short_compressible_string_is_signed_plain_and_still_verifies(app):
    with app.app_context():
        token = signing.sign(signing.PREFERENCES, "a" * 30)
        assert not token.startswith(".")  # itsdangerous would have compressed it
        assert signing.unsign(signing.PREFERENCES, token, 60) == "a" * 30
        with pytest.raises(signing.TokenInvalid):
            signing.unsign(signing.SURVEY_LINK, token, 60)


def test_the_minter_signs_with_the_newest_key(app_factory):
    app = app_factory(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"])
    with app.app_context():
        token = signing.minter(signing.SURVEY_LINK)("inv_1")
    newest = URLSafeTimedSerializer("new", salt=signing.SURVEY_LINK)
    assert newest.loads(token, max_age=60) == "inv_1"


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
        quick = "".join([ids._PAIRS[(value >> shift) & 1023] for shift in ids._PAIR_SHIFTS])
        assert quick == by_divmod(value)


# --- the question, filled -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "Hi {first_name|there}, would you recommend {product}?",
        "{first_name}, {plan|x} {last_name} {product}: \u00a0?",
        "Hi {first_name}, rate {product}.",
        "{ a }{b|}{c|  }x{0}{__class__}{a.b} \x00 {first_name}!",
        "¿{first_name}? ({last_name})",
        "no placeholders",
    ],
)
def test_filler_fills_as_fill_does(template):
    choices = [None, "", "  ", "Ann", "\x00", " x\x00y ", 0, 1.5, "<b>"]
    rng = random.Random(template)
    fill_one = texts.filler(template)
    for _ in range(500):
        names = ("first_name", "last_name", "product", "plan", "a", "b", "c")
        values = {name: rng.choice(choices) for name in names if rng.random() < 0.8}
        assert fill_one(values) == texts.fill(template, values)


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
