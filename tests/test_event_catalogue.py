"""The README's event catalogue: every type of events.service.TYPES, once, with an
example whose fields are the ones real events carry."""

import json
import re
from pathlib import Path

from sqlalchemy import select

from api.events.models import Event
from api.events.service import TYPES
from api.extensions import db
from tests.factories import submit

README = Path(__file__).resolve().parent.parent / "README.md"


def catalogue() -> dict[str, dict]:
    section = README.read_text().split("### The event catalogue", 1)[1].split("\n## ", 1)[0]
    headings = re.findall(r"^#### `([a-z_.]+)`$", section, re.MULTILINE)
    bodies = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", section, re.S)]
    assert [body["type"] for body in bodies] == headings, "each heading needs its example"
    assert len(set(headings)) == len(headings), "a type is listed twice"
    return dict(zip(headings, bodies, strict=True))


def test_the_catalogue_lists_every_type():
    assert sorted(catalogue()) == sorted(TYPES)


def test_the_examples_carry_the_fields_real_events_have(app, tenant):
    tenant.put("/v1/referral-program", json={"enabled": True, "landing_url": "https://s.example/"})
    survey = tenant.post("/v1/surveys", json={"name": "NPS", "kind": "nps"}).get_json()
    # Invited through a batch, as a mailer invites, so invitation.created names it.
    contact = {"external_id": "c-1", "email": "c1@example.com", "attributes": {}}
    batch = tenant.post(f"/v1/surveys/{survey['id']}/invitations", json={"contact": contact})
    assert batch.status_code == 201, batch.get_data(as_text=True)
    submit(app, batch.get_json()["invitations"][0]["id"], 10)
    examples = catalogue()
    with app.app_context():
        real = {event.type: event.data for event in db.session.scalars(select(Event))}
    assert {"invitation.created", "response.created", "queue_item.opened"} <= set(real)
    for type_, data in real.items():
        assert set(examples[type_]["data"]) == {"id", *data}, type_
