"""Responses API: recording from partner apps, filters, pages, comments, CSV, rollups, erasure."""

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from api.contacts.models import Contact
from api.events.models import Event
from api.extensions import db
from api.responses import export
from api.responses.models import InvitationRollup, Response, ResponseRollup
from api.surveys.models import Invitation, Survey
from tests.db import count
from tests.factories import seed, submit

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ids(page) -> list[str]:
    return [row["id"] for row in page.get_json()["data"]]


def event_count(app) -> int:
    return count(app, Event)


def set_survey(app, survey_id, **values):
    with app.app_context():
        db.session.execute(update(Survey).where(Survey.id == survey_id).values(**values))
        db.session.commit()


# --- POST /v1/responses ------------------------------------------------------------


def test_post_with_an_invitation_records_and_then_updates(app, tenant):
    seeded = seed(app, tenant.id, contacts=[{"email": "ann@example.com", "first_name": "Ann"}])
    body = {"survey_id": seeded.survey_id, "invitation_id": seeded.invitation_ids[0], "score": 4}
    created = tenant.post("/v1/responses", json={**body, "locale": "de", "metadata": {"p": 1}})
    assert created.status_code == 201, created.get_json()
    first = created.get_json()
    assert created.headers["Location"] == f"/v1/responses/{first['id']}"
    assert first["id"].startswith("rsp_")
    assert (first["score"], first["category"], first["channel"]) == (4, "detractor", "api")
    assert (first["locale"], first["metadata"]) == ("de", {"p": 1})
    assert first["contact_id"] == seeded.contact_ids[0]
    assert first["contact"]["email"] == "ann@example.com"
    assert first["contact"]["name"] == "Ann"
    assert tenant.get(created.headers["Location"]).get_json() == first

    updated = tenant.post("/v1/responses", json={**body, "score": 5})
    assert updated.status_code == 200
    assert updated.get_json()["id"] == first["id"]
    assert updated.headers["Location"] == created.headers["Location"]
    assert count(app, Response) == 1


def test_post_without_an_invitation_invites_through_the_api_channel(app, tenant):
    survey_id = seed(app, tenant.id, contacts=0).survey_id
    events_before = event_count(app)
    body = {
        "survey_id": survey_id,
        "score": 10,
        "contact": {"external_id": "u-9", "email": "U9@Example.com", "attributes": {"plan": "pro"}},
    }
    created = tenant.post("/v1/responses", json=body)
    assert created.status_code == 201, created.get_json()
    response = created.get_json()
    assert response["contact"]["external_id"] == "u-9"
    assert response["contact"]["email"] == "u9@example.com"  # normalised like any upsert
    with app.app_context():
        invitation = db.session.get(Invitation, response["invitation_id"])
        assert (invitation.channel, invitation.survey_id) == ("api", survey_id)
        assert invitation.contact_id == response["contact_id"]
        # counted for the response rate, like an emailed invitation
        assert db.session.scalar(select(func.sum(InvitationRollup.count))) == 1
        types = db.session.scalars(select(Event.type).order_by(Event.id)).all()[events_before:]
    assert types == ["invitation.created", "response.created", "queue_item.opened"]
    assert tenant.get("/v1/contacts/u-9").get_json()["attributes"] == {"plan": "pro"}


def test_post_finds_contacts_by_id_or_external_id(app, tenant):
    seeded = seed(app, tenant.id, contacts=0)
    with app.app_context():
        for external_id in ("a", "b"):
            db.session.add(Contact(workspace_id=tenant.id, external_id=external_id))
        db.session.commit()
        by_external = {c.external_id: c.id for c in db.session.scalars(select(Contact))}
    by_id = tenant.post(
        "/v1/responses",
        json={
            "survey_id": seeded.survey_id,
            "score": 3,
            "contact": {"contact_id": by_external["a"]},
        },
    )
    assert by_id.status_code == 201
    assert by_id.get_json()["contact_id"] == by_external["a"]
    by_ext = tenant.post(
        "/v1/responses",
        json={"survey_id": seeded.survey_id, "score": 3, "contact": {"external_id": "b"}},
    )
    assert by_ext.status_code == 201
    assert by_ext.get_json()["contact_id"] == by_external["b"]
    for ref in ({"contact_id": "con_nope"}, {"external_id": "nobody"}):
        missing = tenant.post(
            "/v1/responses", json={"survey_id": seeded.survey_id, "score": 3, "contact": ref}
        )
        assert missing.status_code == 404
        assert missing.get_json()["error"]["message"] == "No such contact."
    assert count(app, Contact) == 2  # a plain external id is looked up, never created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 3}, "contact"),  # neither contact nor invitation
        ({"score": 3, "contact": {}}, "contact"),
        ({"score": 3, "contact": {"contact_id": "x", "external_id": "y"}}, "contact"),
        ({"score": 3, "contact": {"contact_id": "x", "email": "a@b.co"}}, "contact"),
        ({"score": "3", "contact": {"external_id": "u"}}, "score"),
        ({"score": 3.5, "contact": {"external_id": "u"}}, "score"),
        ({"score": True, "contact": {"external_id": "u"}}, "score"),
        ({"contact": {"external_id": "u"}}, "score"),
        ({"score": 3, "contact": {"external_id": "u"}, "comment": "x" * 5001}, "comment"),
        ({"score": 3, "contact": {"external_id": "u"}, "locale": "english"}, "locale"),
        ({"score": 3, "contact": {"external_id": "u"}, "metadata": {"k": "x" * 4096}}, "metadata"),
        ({"score": 3, "contact": {"external_id": "u"}, "metadata": [1]}, "metadata"),
        ({"score": 11, "contact": {"external_id": "u", "email": "u@example.com"}}, "score"),
    ],
)
def test_post_refuses_invalid_bodies_and_records_nothing(app, tenant, body, field):
    survey_id = seed(app, tenant.id, contacts=0).survey_id
    before = event_count(app)
    refused = tenant.post("/v1/responses", json={"survey_id": survey_id, **body})
    assert refused.status_code == 422, refused.get_json()
    assert field in refused.get_json()["error"]["fields"]
    assert event_count(app) == before
    assert count(app, Response) == count(app, Invitation) == count(app, Contact) == 0


def test_metadata_up_to_4_kb_is_kept(app, tenant):
    survey_id = seed(app, tenant.id, contacts=0).survey_id
    metadata = {"k": "x" * 4000}
    body = {
        "survey_id": survey_id,
        "score": 9,
        "contact": {"external_id": "u"},
        "metadata": metadata,
    }
    body["contact"]["email"] = "u@example.com"
    created = tenant.post("/v1/responses", json=body)
    assert created.status_code == 201
    assert created.get_json()["metadata"] == metadata


def test_references_must_belong_to_the_workspace_and_the_survey(app, tenant, make_tenant):
    ours = seed(app, tenant.id, contacts=2)
    other_survey = seed(app, tenant.id, contacts=1)
    other = make_tenant("Other")
    theirs = seed(app, other.id, contacts=1)

    def post(**body):
        return tenant.post("/v1/responses", json={"score": 3, **body})

    def refused(status, **body) -> dict:
        answer = post(**body)
        assert answer.status_code == status
        return answer.get_json()["error"]

    refused(404, survey_id=theirs.survey_id, invitation_id=theirs.invitation_ids[0])
    foreign = refused(404, survey_id=ours.survey_id, invitation_id=theirs.invitation_ids[0])
    assert foreign["message"] == "No such invitation."
    refused(404, survey_id=ours.survey_id, contact={"contact_id": theirs.contact_ids[0]})
    mismatch = refused(422, survey_id=ours.survey_id, invitation_id=other_survey.invitation_ids[0])
    assert mismatch["code"] == "invitation_mismatch"
    ours_first = {"survey_id": ours.survey_id, "invitation_id": ours.invitation_ids[0]}
    wrong_contact = refused(422, **ours_first, contact={"contact_id": ours.contact_ids[1]})
    assert wrong_contact["code"] == "contact_mismatch"
    right_contact = post(**ours_first, contact={"contact_id": ours.contact_ids[0]})
    assert right_contact.status_code == 201
    assert count(app, Response) == 1
    # And their response is not ours to read or change.
    their_response, _ = submit(app, theirs.invitation_ids[0], 5)
    assert tenant.get(f"/v1/responses/{their_response}").status_code == 404
    assert tenant.patch(f"/v1/responses/{their_response}", json={"comment": "x"}).status_code == 404
    assert ids(tenant.get("/v1/responses")) == [right_contact.get_json()["id"]]


def test_expired_invitation_takes_no_answer(app, tenant):
    seeded = seed(app, tenant.id)
    with app.app_context():
        db.session.execute(
            update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()
    body = {"survey_id": seeded.survey_id, "invitation_id": seeded.invitation_ids[0], "score": 3}
    refused = tenant.post("/v1/responses", json=body)
    assert refused.status_code == 410
    assert refused.get_json()["error"]["code"] == "invitation_expired"
    assert count(app, Response) == 0


def test_contacts_who_must_not_be_asked_are_refused(app, tenant):
    seeded = seed(app, tenant.id, contacts=0)
    assert tenant.put("/v1/contacts/gone", json={"unsubscribed": True}).status_code == 201
    body = {"survey_id": seeded.survey_id, "score": 3, "contact": {"external_id": "gone"}}
    refused = tenant.post("/v1/responses", json=body)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "unsubscribed"
    set_survey(app, seeded.survey_id, active=False)
    body["contact"] = {"external_id": "new", "email": "new@example.com"}
    inactive = tenant.post("/v1/responses", json=body)
    assert inactive.status_code == 409
    assert inactive.get_json()["error"]["code"] == "survey_inactive"
    assert count(app, Response) == 0
    assert count(app, Contact, external_id="new") == 0  # rolled back with the request


# --- listing and filters ------------------------------------------------------------


@pytest.fixture
def mixed(app, tenant):
    """Six responses over six days: scores, comments and plans to filter by."""
    contacts = [
        {"attributes": {"plan": "pro", "region": "eu"}},
        {"attributes": {"plan": "free", "region": "eu"}},
        {"attributes": {"plan": "pro", "region": "us"}},
        {"attributes": {"plan": "pro", "region": "eu", "seats": 3}},
        {},
        {"attributes": {"plan": "free"}},
    ]
    seeded = seed(app, tenant.id, "nps", contacts=contacts)
    scores = [0, 6, 7, 9, 10, 8]
    comments = ["bad", None, "ok", None, "great", None]
    made = []
    for day, (invitation_id, score, comment) in enumerate(
        zip(seeded.invitation_ids, scores, comments, strict=True)
    ):
        made.append(
            submit(app, invitation_id, score, comment=comment, now=T0 + timedelta(days=day))[0]
        )
    return seeded, made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, [0, 1, 2, 3, 4, 5]),
        ({"category": "detractor"}, [0, 1]),
        ({"category": ["promoter", "passive"]}, [2, 3, 4, 5]),
        ({"min_score": 7}, [2, 3, 4, 5]),
        ({"max_score": 6}, [0, 1]),
        ({"min_score": 6, "max_score": 8}, [1, 2, 5]),
        ({"from": (T0 + timedelta(days=2)).isoformat()}, [2, 3, 4, 5]),
        ({"to": (T0 + timedelta(days=2)).isoformat()}, [0, 1]),
        (
            {"from": (T0 + timedelta(days=1)).isoformat(), "to": "2026-03-04T13:00:00+01:00"},
            [1, 2],
        ),
        ({"has_comment": "true"}, [0, 2, 4]),
        ({"has_comment": "false"}, [1, 3, 5]),
        ({"attr.plan": "pro"}, [0, 2, 3]),
        ({"attr.plan": "pro", "attr.region": "eu"}, [0, 3]),
        ({"attr.seats": "3"}, [3]),
        ({"attr.plan": "enterprise"}, []),
        ({"attr.plan": "pro", "category": "promoter", "has_comment": "false"}, [3]),
    ],
)
def test_list_filters(tenant, mixed, query, expected):
    seeded, made = mixed
    listed = tenant.get("/v1/responses", query_string=query)
    assert listed.status_code == 200, listed.get_json()
    assert ids(listed) == [made[i] for i in expected]
    by_survey = tenant.get("/v1/responses", query_string={**query, "survey_id": seeded.survey_id})
    assert ids(by_survey) == [made[i] for i in expected]


def test_survey_filter(app, tenant, mixed):
    other = seed(app, tenant.id, "csat")
    other_response, _ = submit(app, other.invitation_ids[0], 5)
    assert ids(tenant.get("/v1/responses", query_string={"survey_id": other.survey_id})) == [
        other_response
    ]
    assert len(ids(tenant.get("/v1/responses"))) == 7


@pytest.mark.parametrize(
    "query",
    [
        {"category": "angry"},
        {"min_score": "low"},
        {"min_score": 8, "max_score": 2},
        {"from": "2026-03-01T00:00:00"},  # no zone: ambiguous
        {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"has_comment": "maybe"},
        {"attr.": "x"},
        {"attr." + "n" * 65: "x"},
        {'attr.a"b': "x"},
        {"attr.plan": "x" * 501},
        {"attr.plan": ["a", "b"]},
        {"after": "not-a-cursor"},
        {"limit": 0},
    ],
)
def test_bad_filters_are_422(tenant, query):
    for path in ("/v1/responses", "/v1/responses/export.csv"):
        if path.endswith(".csv") and set(query) & {"after", "limit"}:
            continue
        refused = tenant.get(path, query_string=query)
        assert refused.status_code == 422, (path, query, refused.get_data(as_text=True))
        assert refused.get_json()["error"]["code"] == "validation_error"


def test_pages_return_every_response_once_in_order(tenant, mixed):
    _seeded, made = mixed
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 4, **({"after": cursor} if cursor else {})}
        page = tenant.get("/v1/responses", query_string=query).get_json()
        pages += 1
        seen += [row["id"] for row in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert pages == 2
    assert seen == made
    filtered = tenant.get("/v1/responses", query_string={"limit": 2, "min_score": 7}).get_json()
    rest = tenant.get(
        "/v1/responses",
        query_string={"limit": 2, "min_score": 7, "after": filtered["next_cursor"]},
    ).get_json()
    assert [r["id"] for r in filtered["data"] + rest["data"]] == made[2:]


# --- comments -----------------------------------------------------------------------


def test_patch_sets_and_clears_the_comment(app, tenant):
    seeded = seed(app, tenant.id)
    response_id, _ = submit(app, seeded.invitation_ids[0], 6, now=T0)
    before = event_count(app)
    patched = tenant.patch(f"/v1/responses/{response_id}", json={"comment": "  Too slow  "})
    assert patched.status_code == 200
    body = patched.get_json()
    assert body["comment"] == "Too slow"
    assert body["updated_at"] > body["created_at"]
    assert event_count(app) == before + 1
    again = tenant.patch(f"/v1/responses/{response_id}", json={"comment": "Too slow"})
    assert again.status_code == 200
    assert event_count(app) == before + 1  # the same comment again changes nothing
    cleared = tenant.patch(f"/v1/responses/{response_id}", json={"comment": None})
    assert cleared.get_json()["comment"] is None
    assert event_count(app) == before + 2
    assert tenant.patch(f"/v1/responses/{response_id}", json={}).status_code == 422
    too_long = tenant.patch(f"/v1/responses/{response_id}", json={"comment": "x" * 5001})
    assert too_long.status_code == 422
    assert tenant.patch("/v1/responses/rsp_nope", json={"comment": "x"}).status_code == 404
    assert tenant.get("/v1/responses/rsp_nope").status_code == 404


# --- CSV export ---------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_export_streams_csv(tenant, mixed, monkeypatch):
    _seeded, made = mixed
    monkeypatch.setattr(export, "CHUNK", 2)  # six rows: three chunks and an empty read
    exported = tenant.get("/v1/responses/export.csv")
    assert exported.status_code == 200
    assert exported.is_streamed
    assert exported.mimetype == "text/csv"
    assert exported.headers["Content-Disposition"] == 'attachment; filename="responses.csv"'
    chunks = list(exported.response)
    assert len(chunks) == 1 + 3  # the header, then one block per chunk
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert rows[0] == list(export.COLUMNS)
    assert [row[0] for row in rows[1:]] == made
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["score"] == "0" and first["category"] == "detractor"
    assert first["comment"] == "bad" and first["channel"] == "email"
    assert first["created_at"] == T0.isoformat()
    assert first["email"] == "" and first["external_id"].endswith("-c0")


def test_export_applies_the_filters(tenant, mixed):
    _seeded, made = mixed
    query = {"attr.plan": "pro", "category": ["detractor", "promoter"], "has_comment": "true"}
    rows = read_csv(tenant.get("/v1/responses/export.csv", query_string=query))
    assert [row[0] for row in rows[1:]] == [made[0]]
    assert read_csv(tenant.get("/v1/responses/export.csv", query_string={"category": "hard"})) == [
        list(export.COLUMNS)
    ]


def test_export_of_more_than_one_chunk(app, tenant, monkeypatch):
    monkeypatch.setattr(export, "CHUNK", 3)
    seeded = seed(app, tenant.id, contacts=7)
    made = [submit(app, invitation_id, 5)[0] for invitation_id in seeded.invitation_ids]
    rows = read_csv(tenant.get("/v1/responses/export.csv"))
    assert [row[0] for row in rows[1:]] == made  # 3 + 3 + 1: each once, in order


@pytest.mark.parametrize(
    "comment",
    ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", '=HYPERLINK("http://evil","x")'],
)
def test_export_neutralises_formulas(app, tenant, comment):
    seeded = seed(app, tenant.id, contacts=[{"first_name": "=evil", "external_id": "=cmd|x"}])
    submit(app, seeded.invitation_ids[0], 3, comment=comment)
    header, row = read_csv(tenant.get("/v1/responses/export.csv"))
    cells = dict(zip(header, row, strict=True))
    # The service strips surrounding whitespace, so a comment keeps what is left of it.
    stored = comment.strip()
    expected = "'" + stored if stored[:1] in ("=", "+", "-", "@") else stored
    assert cells["comment"] == expected
    assert cells["external_id"] == "'=cmd|x"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_neutralise():
    for raw in ("=1", "+1", "-1", "@a", "\t1", "\r1"):
        assert export.neutralise(raw) == "'" + raw
    for raw in ("a=1", "1-2", "ok", "", " =1"):
        assert export.neutralise(raw) == raw
    assert export.neutralise(None) == ""
    assert export.neutralise(7) == "7"


def test_export_needs_a_secret_key(tenant):
    assert tenant.client.get("/v1/responses/export.csv").status_code == 401


# --- rollups ------------------------------------------------------------------------


def rollup(app, survey_id, segment="") -> dict:
    with app.app_context():
        # A key's count is the sum of its shards (api.counters).
        rows = db.session.execute(
            select(ResponseRollup.day, ResponseRollup.score, func.sum(ResponseRollup.count))
            .where(ResponseRollup.survey_id == survey_id, ResponseRollup.segment == segment)
            .group_by(ResponseRollup.day, ResponseRollup.score)
            .having(func.sum(ResponseRollup.count) != 0)
        )
        return {(day, score): number for day, score, number in rows}


def grouped(app, survey_id, plan=None) -> dict:
    with app.app_context():
        statement = (
            select(Response.day, Response.score, func.count())
            .where(Response.survey_id == survey_id)
            .group_by(Response.day, Response.score)
        )
        if plan is not None:
            statement = statement.join(Contact, Contact.id == Response.contact_id).where(
                Contact.attributes["plan"].as_string() == plan
            )
        return {(day, score): number for day, score, number in db.session.execute(statement)}


def test_rollup_equals_a_group_by_after_creates_and_changes(app, tenant):
    plans = ["pro", "free", "pro", None, "free", "pro", "pro", None]
    contacts = [{"attributes": {"plan": p}} if p else {} for p in plans]
    seeded = seed(app, tenant.id, contacts=contacts, segment_attributes=["plan"])
    scores = [0, 3, 6, 7, 9, 10, 10, 2]
    for index, (invitation_id, score) in enumerate(zip(seeded.invitation_ids, scores, strict=True)):
        submit(app, invitation_id, score, now=T0 + timedelta(days=index % 3))
    # Changed minds, later: counts move on the response's own day.
    for index, score in [(0, 9), (4, 1), (7, 2), (0, 8), (5, 10), (3, 0)]:
        submit(app, seeded.invitation_ids[index], score, now=T0 + timedelta(days=5))
    assert rollup(app, seeded.survey_id) == grouped(app, seeded.survey_id)
    assert sum(rollup(app, seeded.survey_id).values()) == len(plans)
    for plan in ("pro", "free"):
        assert rollup(app, seeded.survey_id, f"plan={plan}") == grouped(app, seeded.survey_id, plan)
    assert sum(rollup(app, seeded.survey_id, "plan=pro").values()) == 4
    with app.app_context():
        segments = set(
            db.session.scalars(
                select(ResponseRollup.segment).where(ResponseRollup.survey_id == seeded.survey_id)
            )
        )
    assert segments == {"", "plan=pro", "plan=free"}


def test_a_long_segment_value_fits_the_rollup(app, tenant):
    name = "n" * 64
    seeded = seed(
        app,
        tenant.id,
        contacts=[{"attributes": {name: "v" * 300}}],
        segment_attributes=[name],
    )
    submit(app, seeded.invitation_ids[0], 9)
    with app.app_context():
        (segment,) = db.session.scalars(
            select(ResponseRollup.segment).where(ResponseRollup.segment != "")
        ).all()
    assert len(segment) <= 200 and segment.startswith(f"{name}=vvv")


# --- erasure ------------------------------------------------------------------------


def test_erased_contact_keeps_the_score_and_loses_the_comment(app, tenant):
    seeded = seed(
        app,
        tenant.id,
        contacts=[{"external_id": "ann", "email": "ann@example.com", "attributes": {"plan": "x"}}],
        segment_attributes=["plan"],
    )
    body = {
        "survey_id": seeded.survey_id,
        "invitation_id": seeded.invitation_ids[0],
        "score": 2,
        "comment": "My name is Ann and I am unhappy",
        "metadata": {"page": "/account/ann"},
    }
    response_id = tenant.post("/v1/responses", json=body).get_json()["id"]
    totals = rollup(app, seeded.survey_id)
    segment = rollup(app, seeded.survey_id, "plan=x")

    assert tenant.delete("/v1/contacts/ann").status_code == 204

    after = tenant.get(f"/v1/responses/{response_id}").get_json()
    assert (after["score"], after["category"]) == (2, "detractor")
    assert after["comment"] is None and after["metadata"] == {}
    assert after["contact"] is None
    assert rollup(app, seeded.survey_id) == totals
    assert rollup(app, seeded.survey_id, "plan=x") == segment
    (row,) = read_csv(tenant.get("/v1/responses/export.csv"))[1:]
    cells = dict(zip(export.COLUMNS, row, strict=True))
    assert (cells["score"], cells["comment"], cells["external_id"], cells["email"]) == (
        "2",
        "",
        "",
        "",
    )
    assert "ann" not in ",".join(row).lower()
    item = tenant.get("/v1/queues/follow_up/items").get_json()["data"][0]
    assert item["contact"] is None and item["response"]["comment"] is None


@pytest.mark.parametrize("values", [[5], [None], [["a"]], ["a", "b"]])
def test_a_forged_cursor_is_422_not_500(tenant, values):
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    answer = tenant.get("/v1/responses", query_string={"after": cursor})
    assert answer.status_code == 422
