"""CSV imports of contacts: files as Excel and Google Sheets save them, bad rows reported
by line among good ones, dry runs, limits, and imports that resume where they stopped."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.contacts.imports import csv_file, service
from api.contacts.imports.models import ContactImport, ContactImportFile
from api.contacts.models import Contact
from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.worker.loop import Worker
from tests.db import event_types, statements
from tests.factories import Stopped, commit_then_stop, erase, erasure_under_way, run_periodic


def upload(tenant, text: str | bytes, *, encoding="utf-8", query=None, **headers):
    data = text.encode(encoding) if isinstance(text, str) else text
    return tenant.post(
        "/v1/contacts/imports",
        data=data,
        query_string=query or {},
        headers={"Content-Type": "text/csv", **headers},
    )


def run(app, import_id: str) -> None:
    with app.app_context():
        service.run_import(import_id)


def imported(app, tenant, text, **kwargs) -> dict:
    """Upload, let the worker run the job the upload enqueued, and read the import back."""
    response = upload(tenant, text, **kwargs)
    assert response.status_code == 202, response.get_data(as_text=True)
    accepted = response.get_json()
    assert accepted["status"] == "queued"
    assert response.headers["Location"] == f"/v1/contacts/imports/{accepted['id']}"
    assert len(Worker(app).run_once().jobs) == 1
    shown = tenant.get(f"/v1/contacts/imports/{accepted['id']}")
    assert shown.status_code == 200
    return shown.get_json()


def contacts_of(tenant) -> dict[str, dict]:
    return {c["external_id"]: c for c in tenant.get("/v1/contacts?limit=500").get_json()["data"]}


def test_every_column(app, tenant):
    text = (
        "external_id,email,first_name,last_name,locale,stage,unsubscribed,attr.plan,attr.Company\n"
        "c1,Ada@Example.com,Ada,Lovelace,en,customer,false,pro,Analytical Engines\n"
        "c2,bob@example.com,Bob,,pt-BR,trial,yes,,\n"
    )
    job = imported(app, tenant, text)
    assert job["status"] == "completed" and job["errors"] == []
    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    assert (job["total_rows"], job["rows_done"]) == (2, 2)
    ada, bob = contacts_of(tenant)["c1"], contacts_of(tenant)["c2"]
    assert (ada["email"], ada["first_name"], ada["last_name"]) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
    )
    assert (ada["locale"], ada["stage"], ada["unsubscribed"]) == ("en", "customer", False)
    assert ada["attributes"] == {"plan": "pro", "Company": "Analytical Engines"}
    assert (bob["locale"], bob["stage"], bob["unsubscribed"]) == ("pt-BR", "trial", True)
    assert bob["last_name"] is None and bob["attributes"] == {}
    types = event_types(app)
    assert types.count("contact.unsubscribed") == 1, "an imported unsubscribe is an event"
    assert types[-1] == "contact_import.completed"


def test_header_names_as_people_write_them(app, tenant):
    text = "External ID,E Mail,First Name,LAST-NAME, Attr.Plan \nc1,,Ada,Lovelace,pro\n"
    response = upload(tenant, text)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_header"
    assert "E Mail" in response.get_json()["error"]["fields"]["header"][0]
    job = imported(app, tenant, text.replace("E Mail", "Email"))
    assert job["counts"]["created"] == 1
    c1 = contacts_of(tenant)["c1"]
    assert (c1["first_name"], c1["last_name"]) == ("Ada", "Lovelace")
    assert c1["attributes"] == {"Plan": "pro"}, "an attribute's name is kept as written"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("email,first_name", "An external_id column is required."),
        ("external_id,email,Email", "Repeated columns: Email."),
        ("external_id,phone", "Unknown columns: phone."),
        ("external_id,attr.", "Unknown columns: attr.."),
    ],
)
def test_a_header_that_cannot_be_used_is_refused_whole(app, tenant, header, problem):
    response = upload(tenant, f"{header}\nc1,x\n")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_header"
    assert any(message.startswith(problem) for message in error["fields"]["header"]), error
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ContactImport)) == 0


def test_excel_csv_utf8_with_a_bom_and_semicolons(app, tenant):
    # Excel's "CSV UTF-8" in a German locale: BOM, `;`, CRLF, a decimal comma in a value.
    text = "\ufeffexternal_id;email;first_name;attr.score\r\nc1;jo@example.com;Jörg;4,5\r\n"
    job = imported(app, tenant, text)
    assert job["counts"]["created"] == 1
    c1 = contacts_of(tenant)["c1"]
    assert (c1["first_name"], c1["attributes"]) == ("Jörg", {"score": "4,5"})


def test_google_sheets_csv_commas_quotes_and_newlines(app, tenant):
    text = (
        "external_id,first_name,attr.note,email\n"
        'c1,"Smith, Jane","Line one\nline two ""quoted""",jane@example.com\n'
        'c2,Bob,"a\r\nb\r\nc",not-an-email\n'
        "c3,Carl,,carl@example.com\n"
    )
    job = imported(app, tenant, text)
    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 1}
    c1 = contacts_of(tenant)["c1"]
    assert c1["first_name"] == "Smith, Jane"
    assert c1["attributes"] == {"note": 'Line one\nline two "quoted"'}
    # c2 starts on line 4 of the file (c1 spans two) and is row 3 of the spreadsheet.
    (error,) = job["errors"]
    assert (error["line"], error["row"], error["external_id"]) == (4, 3, "c2")
    assert error["fields"] == {"email": ["Not a valid email address."]}
    assert error["reason"] == "email: Not a valid email address."


def test_a_bad_row_never_stops_the_good_ones(app, tenant):
    rows = [f"c{n},person{n}@example.com,customer" for n in range(1, 8)]
    rows[2] = "c3,not an email,customer"
    rows[4] = "c5,five@example.com,emperor"
    rows.insert(5, "")  # a blank row: skipped, still counted as a spreadsheet row
    rows.append("c1,again@example.com,lead")
    rows.append("c9,nine@example.com,lead,surplus")
    rows.append("erased:c10,ten@example.com,lead")
    job = imported(app, tenant, "external_id,email,stage\n" + "\n".join(rows) + "\n")
    assert job["counts"] == {"created": 5, "updated": 0, "unchanged": 0, "failed": 5}
    assert set(contacts_of(tenant)) == {"c1", "c2", "c4", "c6", "c7"}
    assert contacts_of(tenant)["c1"]["email"] == "person1@example.com"
    found = {(e["line"], e["external_id"]): e["reason"] for e in job["errors"]}
    assert found == {
        (4, "c3"): "email: Not a valid email address.",
        (
            6,
            "c5",
        ): "stage: Must be one of: lead, trial, onboarding, adopting, customer, advocate, churned.",
        (10, "c1"): "The external_id repeats row 2.",
        (11, "c9"): "This row has 4 cells; the header has 3.",
        (12, "erased:c10"): "external_id: External ids starting with `erased:` are reserved.",
    }


def test_upsert_counts_created_updated_and_unchanged(app, tenant):
    tenant.put("/v1/contacts/c1", json={"email": "one@example.com", "attributes": {"plan": "free"}})
    tenant.put("/v1/contacts/c2", json={"email": "two@example.com", "first_name": "Two"})
    before = contacts_of(tenant)["c2"]["updated_at"]
    text = (
        "external_id,email,first_name,attr.plan\n"
        "c1,one@example.com,,pro\n"  # an attribute changes; the merge keeps the rest
        "c2,TWO@example.com,Two,\n"  # the same values: left as it was
        "c3,three@example.com,Three,free\n"
    )
    job = imported(app, tenant, text)
    assert job["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "failed": 0}
    found = contacts_of(tenant)
    assert found["c1"]["attributes"] == {"plan": "pro"}
    assert found["c1"]["email"] == "one@example.com"
    assert found["c2"]["updated_at"] == before, "an unchanged contact is not written"


def test_unsubscribed_rows_are_written_together_each_with_its_event(app, tenant):
    text = "external_id,unsubscribed\n" + "".join(f"u-{i},yes\n" for i in range(30))
    with statements(app) as sent:
        job = imported(app, tenant, text)
    assert job["counts"]["created"] == 30
    assert all(contact["unsubscribed"] for contact in contacts_of(tenant).values())
    assert event_types(app, type="contact.unsubscribed") == ["contact.unsubscribed"] * 30
    # One statement for the updates, not a flush per contact (a round trip each).
    starts = [" ".join(statement.split()[:3]).upper() for statement in sent]
    assert starts.count("UPDATE CONTACTS SET") == 1


def test_an_imports_unsubscribes_say_they_came_from_the_import(app, tenant):
    tenant.put("/v1/contacts/old", json={"email": "old@example.com"})
    imported(app, tenant, "external_id,unsubscribed\nold,yes\nnew,yes\n")
    with app.app_context():
        sources = db.session.scalars(
            select(Event.data["source"].as_string())
            .where(Event.workspace_id == tenant.id, Event.type == "contact.unsubscribed")
            .order_by(Event.id)
        ).all()
    # The contact that existed went through the same update as one changed by the API.
    assert sources == ["import", "import"]


def test_an_import_reads_the_contacts_it_updates_once(app, tenant):
    rows = "".join(f"u-{i},First{i}\n" for i in range(20))
    imported(app, tenant, "external_id,first_name\n" + rows)
    changed = "".join(f"u-{i},{'Changed' if i % 2 else 'First'}{i}\n" for i in range(20))
    with statements(app) as sent:
        job = imported(app, tenant, "external_id,first_name\n" + changed)
    reads = [s for s in sent if re.match(r"SELECT\b.*\bFROM contacts\b", s, re.DOTALL)]
    assert job["counts"] == {"created": 0, "updated": 10, "unchanged": 10, "failed": 0}
    assert contacts_of(tenant)["u-1"]["first_name"] == "Changed1"
    assert len(reads) == 1, reads  # compared, then updated from the same read


def test_create_only_leaves_existing_contacts_alone(app, tenant):
    tenant.put("/v1/contacts/c1", json={"email": "kept@example.com"})
    text = "external_id,email\nc1,changed@example.com\nc2,new@example.com\n"
    job = imported(app, tenant, text, query={"mode": "create_only"})
    assert job["mode"] == "create_only"
    assert job["counts"] == {"created": 1, "updated": 0, "unchanged": 1, "failed": 0}
    assert contacts_of(tenant)["c1"]["email"] == "kept@example.com"
    assert contacts_of(tenant)["c2"]["email"] == "new@example.com"


def test_a_dry_run_counts_and_writes_nothing(app, tenant):
    tenant.put("/v1/contacts/c1", json={"email": "one@example.com"})
    events_before = event_types(app)
    text = (
        "external_id,email,unsubscribed\nc1,new@example.com,yes\nc2,two@example.com,no\nc3,bad,\n"
    )
    job = imported(app, tenant, text, query={"dry_run": "true"})
    assert job["dry_run"] is True and job["status"] == "completed"
    assert job["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "failed": 1}
    assert job["errors"][0]["external_id"] == "c3"
    found = contacts_of(tenant)
    assert set(found) == {"c1"}
    assert (found["c1"]["email"], found["c1"]["unsubscribed"]) == ("one@example.com", False)
    assert event_types(app) == events_before


def test_merged_attributes_that_grow_too_large_fail_their_row(app, tenant):
    tenant.put("/v1/contacts/c1", json={"attributes": {"big": "x" * 15000}})
    text = f"external_id,attr.more\nc1,{'y' * 2000}\nc2,fine\n"
    job = imported(app, tenant, text)
    assert job["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "failed": 1}
    assert job["errors"][0]["reason"].startswith("attributes: Attributes take at most")


def test_a_multipart_upload_with_options_as_form_fields(app, tenant):
    from io import BytesIO

    response = tenant.post(
        "/v1/contacts/imports",
        data={
            "file": (BytesIO(b"external_id,email\nc1,a@example.com\n"), "customers.csv"),
            "dry_run": "true",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    job = response.get_json()
    assert (job["filename"], job["dry_run"], job["total_rows"]) == ("customers.csv", True, 1)
    for data in ({"other": "x"}, {"file": (BytesIO(b"external_id\nc1\n"), "a.csv"), "mode": "x"}):
        refused = tenant.post("/v1/contacts/imports", data=data, content_type="multipart/form-data")
        assert refused.status_code == 422, refused.get_data(as_text=True)


def test_a_multipart_upload_larger_than_other_bodies_and_retried_by_key(tenant):
    from io import BytesIO

    big = b"external_id,attr.pad\n" + b"".join(b"c%d,%s\n" % (n, b"x" * 900) for n in range(10_000))
    assert len(big) > tenant.client.application.config["MAX_CONTENT_LENGTH"]

    def post(content: bytes, key: str):
        return tenant.post(
            "/v1/contacts/imports",
            data={"file": (BytesIO(content), "big.csv")},
            content_type="multipart/form-data",
            headers={"Idempotency-Key": key},
        )

    first = post(big, "import-1")
    assert first.status_code == 202, first.get_data(as_text=True)
    assert first.get_json()["total_rows"] == 10_000
    again = post(big, "import-1")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    other_file = post(b"external_id\nc1\n", "import-1")
    assert other_file.status_code == 422
    assert other_file.get_json()["error"]["code"] == "idempotency_key_reused"


def test_bodies_that_are_not_csv_are_415(tenant):
    response = tenant.post("/v1/contacts/imports", json={"external_id": "c1"})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert "text/csv" in response.get_json()["error"]["message"]


def test_more_than_100000_rows_is_refused_clearly(app, tenant):
    rows = "".join(f"c{n}\n" for n in range(csv_file.MAX_ROWS + 1))
    response = upload(tenant, "external_id\n" + rows)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "too_many_rows"
    assert "100,000 rows" in error["message"]
    assert upload(tenant, "external_id\n" + rows[: rows.rindex("c")]).status_code == 202


def test_more_than_20_mb_is_413(tenant):
    body = b"external_id,attr.pad\n" + b"c1," + b"x" * csv_file.MAX_BYTES + b"\n"
    response = upload(tenant, body)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\nexternal_id\nc1\n", " , \nc1,x\n"])
def test_an_empty_file_or_header_is_refused(tenant, text):
    response = upload(tenant, text)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "empty_file"


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tenant):
    response = upload(tenant, "external_id,first_name\nc1,Jörg\n", encoding="cp1252")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "not_utf8" and "line 2" in error["message"]


def test_an_import_resumes_after_the_last_committed_chunk(app, tenant, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_ROWS", 3)
    text = "external_id,email\n" + "".join(f"c{n},p{n}@example.com\n" for n in range(1, 9))
    text += "c2,again@example.com\n"
    accepted = upload(tenant, text).get_json()
    real_upsert_many = service.contacts.upsert_many
    calls = []

    def stop_in_the_second_chunk(workspace_id, rows, **options):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("the worker was stopped")
        return real_upsert_many(workspace_id, rows, **options)

    monkeypatch.setattr(service.contacts, "upsert_many", stop_in_the_second_chunk)
    with app.app_context(), pytest.raises(RuntimeError):
        service.run_import(accepted["id"])
    stopped = tenant.get(f"/v1/contacts/imports/{accepted['id']}").get_json()
    assert (stopped["status"], stopped["rows_done"], stopped["counts"]["created"]) == (
        "running",
        3,
        3,
    )
    assert set(contacts_of(tenant)) == {"c1", "c2", "c3"}

    run(app, accepted["id"])  # run again, as the job is after a restart
    done = tenant.get(f"/v1/contacts/imports/{accepted['id']}").get_json()
    assert done["status"] == "completed"
    assert done["counts"] == {"created": 8, "updated": 0, "unchanged": 0, "failed": 1}
    assert done["errors"][0]["reason"] == "The external_id repeats row 3."
    assert len(contacts_of(tenant)) == 8
    run(app, accepted["id"])  # and once more: a finished import stays as it is
    assert tenant.get(f"/v1/contacts/imports/{accepted['id']}").get_json() == done
    with app.app_context():
        assert db.session.get(ContactImportFile, accepted["id"]) is None, "the file is deleted"
    assert event_types(app).count("contact_import.completed") == 1


def test_a_checkpoint_commits_each_chunk_and_may_stop_the_run(app, tenant, monkeypatch):
    # As a job's checkpoint does: commit, then stop when the worker is shutting down.
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    accepted = upload(tenant, "external_id\n" + "".join(f"c{n}\n" for n in range(5))).get_json()
    seen = []

    class Stopping(Exception):
        pass

    def checkpoint(**progress):
        db.session.commit()
        seen.append(progress)
        if len(seen) == 2:
            raise Stopping

    with app.app_context(), pytest.raises(Stopping):
        service.run_import(accepted["id"], checkpoint=checkpoint)
    assert seen == [{"rows_done": 2, "total_rows": 5}, {"rows_done": 4, "total_rows": 5}]
    assert len(contacts_of(tenant)) == 4
    with app.app_context():
        service.run_import(accepted["id"], checkpoint=checkpoint)
    assert seen[-1] == {"rows_done": 5, "total_rows": 5}
    done = tenant.get(f"/v1/contacts/imports/{accepted['id']}").get_json()
    assert (done["status"], done["counts"]["created"]) == ("completed", 5)


def test_a_chunk_claimed_by_another_run_is_not_applied_twice(app, tenant):
    accepted = upload(tenant, "external_id\nc1\nc2\n").get_json()
    with app.app_context():
        stale = db.session.get(ContactImport, accepted["id"])
        db.session.expunge(stale)
        service.run_import(accepted["id"])
        header = [csv_file.Column("external_id")]
        chunk = [csv_file.Record(2, 2, ["c3"])]
        assert service._apply(stale, header, chunk, {}, lambda **_: db.session.commit()) is False
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 2


def test_the_upload_enqueues_a_job_that_the_worker_runs(app, tenant):
    accepted = upload(tenant, "external_id,email\nc1,a@example.com\nc2,bad\n").get_json()
    (job,) = tenant.get("/v1/jobs").get_json()["data"]
    assert (job["kind"], job["status"]) == ("contacts.import", "queued")
    assert Worker(app).run_once().jobs == [job["id"]]
    done = tenant.get(f"/v1/jobs/{job['id']}").get_json()
    assert done["status"] == "succeeded"
    assert done["progress"] == {"rows_done": 2, "total_rows": 2}
    assert done["result"] == {
        "import_id": accepted["id"],
        "status": "completed",
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
    }
    shown = tenant.get(f"/v1/contacts/imports/{accepted['id']}").get_json()
    assert shown["status"] == "completed" and set(contacts_of(tenant)) == {"c1"}


def test_only_the_first_100_row_errors_are_kept(app, tenant):
    text = "external_id,email\n" + "".join(f"c{n},bad\n" for n in range(150))
    job = imported(app, tenant, text)
    assert job["counts"]["failed"] == 150 and len(job["errors"]) == 100
    assert job["errors"][-1]["line"] == 101


def test_imports_are_per_workspace(app, tenant, make_tenant):
    accepted = upload(tenant, "external_id\nc1\n").get_json()
    other = make_tenant("Other")
    assert other.get(f"/v1/contacts/imports/{accepted['id']}").status_code == 404
    run(app, accepted["id"])
    assert contacts_of(other) == {}


def test_the_shell_command(app, tenant, runner, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("external_id;email\r\nc1;a@example.com\r\nc2;broken\r\n", encoding="utf-8-sig")
    result = runner.invoke(args=["contacts", "import", str(path), "--workspace", tenant.id])
    assert result.exit_code == 0, result.output
    assert "completed: 2 rows, 1 created, 0 updated, 0 unchanged, 1 failed" in result.output
    assert "line 3 (row 3): email: Not a valid email address." in result.output
    assert set(contacts_of(tenant)) == {"c1"}
    accepted = upload(tenant, "external_id\nc7\n").get_json()
    result = runner.invoke(args=["contacts", "run-import", accepted["id"]])
    assert result.exit_code == 0 and "completed: 1 rows, 1 created" in result.output, result.output
    path.write_text("name\nx\n")
    refused = runner.invoke(args=["contacts", "import", str(path), "--workspace", tenant.id])
    assert refused.exit_code != 0 and "external_id column is required" in refused.output


def test_the_catalogue_shows_the_fields_the_import_event_carries(app, tenant):
    from tests.test_event_catalogue import catalogue

    imported(app, tenant, "external_id\nc1\n")
    with app.app_context():
        data = db.session.scalar(select(Event.data).where(Event.type == "contact_import.completed"))
    assert set(catalogue()["contact_import.completed"]["data"]) == {"id", *data}


def test_erasure_forgets_whom_an_import_failed_on_and_keeps_its_counts(app, tenant):
    tenant.put("/v1/contacts/c1", json={"first_name": "One"})
    text = "external_id,email\nc1,not-an-email\nc2,also-not\nc3,three@example.com\n"
    job = imported(app, tenant, text)
    assert [error["external_id"] for error in job["errors"]] == ["c1", "c2"]
    assert tenant.delete("/v1/contacts/c1").status_code == 204
    shown = tenant.get(f"/v1/contacts/imports/{job['id']}").get_json()
    assert shown["errors"] == [job["errors"][0] | {"external_id": None}, job["errors"][1]]
    counts = {"created": 1, "updated": 0, "unchanged": 0, "failed": 2}
    assert shown["counts"] == job["counts"] == counts


def test_finished_imports_are_purged_after_the_retention(app, tenant):
    job = imported(app, tenant, "external_id,email\nc1,one@example.com\n")
    now = utcnow()

    def purge(at) -> int:
        return run_periodic(app, "contact_imports.purge", at)

    assert purge(now + timedelta(days=29)) == 0
    assert tenant.get(f"/v1/contacts/imports/{job['id']}").status_code == 200
    assert purge(now + timedelta(days=31)) == 1
    assert tenant.get(f"/v1/contacts/imports/{job['id']}").status_code == 404
    assert set(contacts_of(tenant)) == {"c1"}, "the contacts it wrote stay"


def stored_file(app, import_id: str) -> tuple[bytes, list | None]:
    with app.app_context():
        content = db.session.get(ContactImportFile, import_id).content
        return content, db.session.get(ContactImport, import_id).erased_rows


# Ada is named on rows 3 (with a line break in a cell: lines 3 and 4), 5 (by her
# address alone, under another id) and 7; row 6 is blank and row 8 is bad after them.
WITH_ADA = (
    "external_id,email,first_name\r\n"
    "c1,one@example.com,One\r\n"
    'ada,Ada@Example.com,"Ada\r\nAugusta"\r\n'
    "c2,two@example.com,Two\r\n"
    "alias,ADA@example.com,\r\n"
    "\r\n"
    "ada,,Again\r\n"
    "c3,not-an-email,Three\r\n"
)


def assert_ada_was_not_imported(tenant, import_id: str) -> None:
    done = tenant.get(f"/v1/contacts/imports/{import_id}").get_json()
    assert done["status"] == "completed"
    assert done["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 4}
    assert (done["total_rows"], done["rows_done"]) == (6, 6)
    erased = {"external_id": None, "reason": "erased"}
    assert done["errors"] == [
        {"line": 3, "row": 3, **erased},
        {"line": 6, "row": 5, **erased},
        {"line": 8, "row": 7, **erased},
        {
            "line": 9,
            "row": 8,
            "external_id": "c3",
            "reason": "email: Not a valid email address.",
            "fields": {"email": ["Not a valid email address."]},
        },
    ]
    made = contacts_of(tenant)
    assert {"c1", "c2"} <= set(made) and not {"ada", "alias"} & set(made), "nor made again"
    assert "ada@example.com" not in {contact["email"] for contact in made.values()}


def test_erasure_takes_the_person_out_of_a_queued_import(app, tenant):
    tenant.put("/v1/contacts/ada", json={"email": "ada@example.com"})
    import_id = upload(tenant, WITH_ADA).get_json()["id"]
    untouched = upload(tenant, "external_id,email\nc9,nine@example.com\n").get_json()["id"]
    before = stored_file(app, untouched)

    erase(app, tenant.id, "ada")

    content, erased_rows = stored_file(app, import_id)
    assert erased_rows == [3, 5, 7]
    assert b"ada" not in content.lower() and b"Augusta" not in content
    assert content.decode().splitlines() == [
        *WITH_ADA.splitlines()[:2],
        '"erased:',
        '"',
        WITH_ADA.splitlines()[4],
        '"erased:"',
        "",
        '"erased:"',
        WITH_ADA.splitlines()[8],
    ]
    assert stored_file(app, untouched) == before, "an import not naming her is left as it was"
    assert len(Worker(app).run_once().jobs) == 2
    assert_ada_was_not_imported(tenant, import_id)
    assert "c9" in contacts_of(tenant), "the other import is imported as it was"


def test_erasure_between_two_chunks_of_a_running_import_reaches_the_next(app, tenant, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)  # she is in the second chunk and third
    tenant.put("/v1/contacts/ada", json={"email": "ada@example.com"})
    text = WITH_ADA.replace("c1,one", "c0,zero@example.com,Zero\r\nc1,one", 1)
    import_id = upload(tenant, text).get_json()["id"]
    chunks = []

    def erase_after_the_first_chunk(**progress):
        db.session.commit()
        chunks.append(progress["rows_done"])
        if len(chunks) == 1:  # the run holds the whole file by now, her rows included
            erase(app, tenant.id, "ada")

    with app.app_context():
        service.run_import(import_id, checkpoint=erase_after_the_first_chunk)
    assert chunks == [2, 4, 6, 7]
    done = tenant.get(f"/v1/contacts/imports/{import_id}").get_json()
    assert done["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 4}
    assert [(error["row"], error["reason"]) for error in done["errors"]] == [
        (4, "erased"),
        (6, "erased"),
        (8, "erased"),
        (9, "email: Not a valid email address."),
    ]
    assert set(contacts_of(tenant)) == {"c0", "c1", "c2"}, "neither she nor her alias made again"


def test_an_erasure_under_way_when_a_chunk_is_claimed_is_seen_by_that_chunk(
    app, tenant, monkeypatch
):
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    tenant.put("/v1/contacts/ada", json={"email": "ada@example.com"})
    text = WITH_ADA.replace("c1,one", "c0,zero@example.com,Zero\r\nc1,one", 1)
    import_id = upload(tenant, text).get_json()["id"]

    with app.app_context(), pytest.raises(Stopped):
        service.run_import(
            import_id, checkpoint=commit_then_stop
        )  # the first chunk, then a restart
    # The run starts with the file as it was, her rows in it: the erasure has not
    # committed yet; its first claim waits for it.
    with erasure_under_way(app, tenant.id, "ada"), app.app_context():
        service.run_import(import_id)
    done = tenant.get(f"/v1/contacts/imports/{import_id}").get_json()
    assert done["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 4}
    assert [error["reason"] for error in done["errors"]][:3] == ["erased"] * 3
    assert set(contacts_of(tenant)) == {"c0", "c1", "c2"}, "neither she nor her alias made again"
