"""Lifecycle stages: every path that changes a contact's stage records it, once.

Each change leaves a history row (from, to, source, time), a `contact.stage_changed`
event, and moves the customer counts of `stage_rollups` as api/lifecycle.py says.
"""

from datetime import UTC, date, datetime

from sqlalchemy import select, text

from api.contacts import service as contacts
from api.contacts import stages
from api.contacts.models import Contact, StageChange, StageRollup
from api.events.models import Event
from api.extensions import db
from api.worker.loop import Worker
from tests.factories import make_survey


def post_stage(tenant, external_id: str, stage: str) -> None:
    response = tenant.post("/v1/contacts", json={"external_id": external_id, "stage": stage})
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def history(tenant, external_id: str) -> list[tuple]:
    response = tenant.get(f"/v1/contacts/{external_id}/stages")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(row["from"], row["to"], row["source"]) for row in response.get_json()["data"]]


def stage_events(app, workspace_id: str) -> list[tuple]:
    with app.app_context():
        found = db.session.scalars(
            select(Event)
            .where(Event.workspace_id == workspace_id, Event.type == "contact.stage_changed")
            .order_by(Event.id)
        )
        return [
            (e.data["external_id"], e.data["from"], e.data["to"], e.data["source"]) for e in found
        ]


def rollup(app, workspace_id: str) -> dict:
    with app.app_context():
        rows = db.session.scalars(
            select(StageRollup).where(StageRollup.workspace_id == workspace_id)
        )
        return {
            (row.cohort, row.month): (row.new, row.joined, row.left, row.churned) for row in rows
        }


def test_every_api_write_records_the_change_it_made(app, tenant):
    assert tenant.put("/v1/contacts/u-1", json={"stage": "trial"}).status_code == 201
    # POST upsert, then the same stage again: the second changes nothing, records nothing.
    post_stage(tenant, "u-1", "onboarding")
    post_stage(tenant, "u-1", "onboarding")
    patched = tenant.patch("/v1/contacts/u-1", json={"stage": "customer"})
    assert patched.get_json()["stage"] == "customer"
    assert patched.get_json()["stage_changed_at"] is not None
    # PATCH of other fields leaves the stage, and its history, alone.
    assert tenant.patch("/v1/contacts/u-1", json={"first_name": "Ann"}).status_code < 300
    # PUT replaces the whole contact: a PUT without a stage clears it.
    assert tenant.put("/v1/contacts/u-1", json={"email": "ann@example.com"}).status_code == 200

    expected = [
        (None, "trial", "api"),
        ("trial", "onboarding", "api"),
        ("onboarding", "customer", "api"),
        ("customer", None, "api"),
    ]
    assert history(tenant, "u-1") == expected
    assert stage_events(app, tenant.id) == [("u-1", *change) for change in expected]
    # Joined (first time) when it reached onboarding, left when the stage was cleared,
    # both this month; not counted as churn: it was not a customer when the month began.
    month = date.today().replace(day=1)
    assert rollup(app, tenant.id) == {(month, month): (1, 1, 1, 0)}


def test_moves_between_paying_stages_are_no_coming_or_going(app, tenant):
    for stage in ("adopting", "customer", "advocate", "customer"):
        post_stage(tenant, "u-2", stage)
    month = date.today().replace(day=1)
    assert rollup(app, tenant.id) == {(month, month): (1, 1, 0, 0)}
    assert len(history(tenant, "u-2")) == 4


def test_inline_contacts_of_a_batch_invitation_record_their_stages(app, tenant):
    with app.app_context():
        survey = make_survey(tenant.id, active=True)
        db.session.commit()
        survey_id = survey.id
    assert tenant.put("/v1/contacts/old", json={"stage": "trial"}).status_code == 201
    response = tenant.post(
        f"/v1/surveys/{survey_id}/invitations",
        json={
            "contacts": [
                {"external_id": "new-a", "stage": "customer"},  # inserted with its stage
                {"external_id": "new-b", "email": "b@example.com"},  # no stage: no history
                {"external_id": "old", "stage": "customer"},  # existed: updated
            ]
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert history(tenant, "new-a") == [(None, "customer", "api")]
    assert history(tenant, "new-b") == []
    assert history(tenant, "old") == [(None, "trial", "api"), ("trial", "customer", "api")]
    assert [e[0] for e in stage_events(app, tenant.id)] == ["old", "new-a", "old"]
    with app.app_context():
        inserted = contacts.get_contact(tenant.id, "new-a")
        assert inserted.stage_changed_at is not None
        assert inserted.first_customer_at == inserted.customer_since == inserted.stage_changed_at
    month = date.today().replace(day=1)
    assert rollup(app, tenant.id) == {(month, month): (2, 2, 0, 0)}


def test_erasure_is_a_change_to_no_stage(app, tenant):
    assert tenant.put("/v1/contacts/u-3", json={"stage": "customer"}).status_code == 201
    with app.app_context():
        contact_id = contacts.get_contact(tenant.id, "u-3").id
    assert tenant.delete("/v1/contacts/u-3").status_code == 204
    with app.app_context():
        rows = db.session.scalars(
            select(StageChange).where(StageChange.contact_id == contact_id).order_by(StageChange.id)
        )
        assert [(r.from_stage, r.to_stage, r.source) for r in rows] == [
            (None, "customer", "api"),
            ("customer", None, "erasure"),
        ]
    # The event names the erased contact by its freed id, not by the partner's.
    assert stage_events(app, tenant.id)[-1] == (f"erased:{contact_id}", "customer", None, "erasure")


def test_a_stale_read_records_the_stage_it_really_changed(app, tenant):
    """The change is conditional on the stage read: a write that came in between is seen,
    not overwritten unrecorded (another request's change, committed meanwhile)."""
    assert tenant.put("/v1/contacts/u-4", json={"stage": "trial"}).status_code == 201
    with app.app_context():
        contact = contacts.get_contact(tenant.id, "u-4")
        assert contact.stage == "trial"
        with db.engine.begin() as other:  # another request moved it meanwhile
            other.execute(
                text("UPDATE contacts SET stage = 'customer' WHERE id = :id"), {"id": contact.id}
            )
        assert stages.change(contact, "churned", "api")
        db.session.commit()
        assert contact.stage == "churned"
        rows = db.session.scalars(
            select(StageChange).where(StageChange.contact_id == contact.id).order_by(StageChange.id)
        )
        assert [(r.from_stage, r.to_stage) for r in rows] == [
            (None, "trial"),
            ("customer", "churned"),
        ]
        assert db.session.get(Contact, contact.id).stage == "churned"


def test_churn_counts_customers_of_the_month_start(app, tenant):
    """Joined in January, left in March: a churn of March's starting customers; one who
    joins and leaves within March is a leaving but not March's churn."""
    with app.app_context():
        a, _ = contacts.upsert_contact(tenant.id, "a", {})
        b, _ = contacts.upsert_contact(tenant.id, "b", {})
        stages.change(a, "onboarding", "api", datetime(2026, 1, 10, tzinfo=UTC))
        stages.change(a, "customer", "api", datetime(2026, 2, 1, tzinfo=UTC))
        stages.change(a, "churned", "api", datetime(2026, 3, 5, tzinfo=UTC))
        stages.change(b, "customer", "api", datetime(2026, 3, 2, tzinfo=UTC))
        stages.change(b, "churned", "api", datetime(2026, 3, 20, tzinfo=UTC))
        # b comes back in April: joined again, still in its first cohort (March).
        stages.change(b, "customer", "api", datetime(2026, 4, 2, tzinfo=UTC))
        db.session.commit()
        assert a.customer_since is None
        assert b.first_customer_at == datetime(2026, 3, 2, tzinfo=UTC)
        assert b.customer_since == datetime(2026, 4, 2, tzinfo=UTC)
    jan, mar, apr = date(2026, 1, 1), date(2026, 3, 1), date(2026, 4, 1)
    assert rollup(app, tenant.id) == {
        (jan, jan): (1, 1, 0, 0),
        (jan, mar): (0, 0, 1, 1),
        (mar, mar): (1, 1, 1, 0),
        (mar, apr): (0, 1, 0, 0),
    }


def test_stage_history_pages_and_is_the_workspaces_own(app, tenant, make_tenant):
    for stage in ("lead", "trial", "onboarding"):
        post_stage(tenant, "u-5", stage)
    first = tenant.get("/v1/contacts/u-5/stages", query_string={"limit": 2}).get_json()
    assert [row["to"] for row in first["data"]] == ["lead", "trial"] and first["has_more"]
    rest = tenant.get(
        "/v1/contacts/u-5/stages", query_string={"after": first["next_cursor"]}
    ).get_json()
    assert [row["to"] for row in rest["data"]] == ["onboarding"] and not rest["has_more"]
    assert tenant.get("/v1/contacts/nobody/stages").status_code == 404
    assert make_tenant("Other").get("/v1/contacts/u-5/stages").status_code == 404


def test_unknown_stage_is_refused(tenant):
    response = tenant.put("/v1/contacts/u-6", json={"stage": "vip"})
    assert response.status_code == 422
    assert "stage" in response.get_json()["error"]["fields"]


def test_a_score_recorded_with_an_inline_contact_records_its_stage(app, tenant):
    with app.app_context():
        survey = make_survey(tenant.id)
        db.session.commit()
        survey_id = survey.id
    response = tenant.post(
        "/v1/responses",
        json={
            "survey_id": survey_id,
            "contact": {"external_id": "u-7", "stage": "adopting"},
            "score": 9,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert history(tenant, "u-7") == [(None, "adopting", "api")]


def test_a_csv_import_records_the_stages_it_sets(app, tenant):
    """New contacts are inserted with their stage, existing ones updated: both recorded,
    with the import as the source."""
    post_stage(tenant, "old", "trial")
    text = "external_id,stage\nnew,onboarding\nold,customer\nsame,\n"
    response = tenant.post(
        "/v1/contacts/imports", data=text.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    assert len(Worker(app).run_once().jobs) == 1
    assert history(tenant, "new") == [(None, "onboarding", "import")]
    assert history(tenant, "old") == [(None, "trial", "api"), ("trial", "customer", "import")]
    assert history(tenant, "same") == []
    sources = {(e[0], e[3]) for e in stage_events(app, tenant.id)}
    assert sources == {("old", "api"), ("new", "import"), ("old", "import")}
    month = date.today().replace(day=1)
    assert rollup(app, tenant.id) == {(month, month): (2, 2, 0, 0)}
