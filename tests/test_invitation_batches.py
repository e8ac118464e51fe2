"""Invitation batches: 202 and the worker for large ones, pages of links, retries.

The 100,000-contact batch is one test: it runs the real job in the real worker pass,
so it takes some seconds; it reads one page, and a batch of 2,500 in chunks of 1,000
is paged through to the end.
"""

import gc
import json
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from api.contacts import references
from api.contacts import service as contacts
from api.database import utcnow
from api.extensions import db
from api.jobs.models import Job
from api.surveys import batches
from api.surveys.models import Invitation, InvitationBatchRefs, InvitationBatchSkip
from api.worker.loop import Worker
from tests.conftest import create_tenant
from tests.factories import Stopped, commit_then_stop, erase, erasure_under_way, run_periodic


def make_survey(tenant, **fields) -> dict:
    body = {"name": "NPS", "kind": "nps", "product_name": "Acme", **fields}
    return tenant.post("/v1/surveys", json=body).get_json()


def post_batch(tenant, survey_id: str, refs: list[dict], **kwargs):
    return tenant.post(f"/v1/surveys/{survey_id}/invitations", json={"contacts": refs}, **kwargs)


def all_pages(tenant, batch_id: str, limit: int = 500) -> list[list[dict]]:
    pages, after = [], None
    while True:
        query = f"limit={limit}" + (f"&after={after}" if after else "")
        page = tenant.get(f"/v1/invitation-batches/{batch_id}/invitations?{query}").get_json()
        pages.append(page["data"])
        if not page["has_more"]:
            return pages
        after = page["next_cursor"]


def count(app, statement) -> int:
    with app.app_context():
        return db.session.scalar(statement)


def test_a_batch_of_100000_is_accepted_and_completed_by_the_worker(app, tenant):
    survey = make_survey(tenant, texts={"en": {"question": "{first_name}, would you?"}})
    tenant.post("/v1/contacts", json={"external_id": "gone", "unsubscribed": True})
    refs = [{"external_id": f"u-{i}", "first_name": f"N{i}"} for i in range(99_996)]
    odd = [{"external_id": "gone"}, {"contact_id": "con_nobody"}, {"external_id": "nobody"}]
    refs += [*odd, {"external_id": "u-0"}]  # u-0 again, in the last chunk: invited once
    assert len(refs) == 100_000

    answer = post_batch(tenant, survey["id"], refs)
    assert answer.status_code == 202, answer.get_data(as_text=True)[:500]
    queued = answer.get_json()
    assert answer.headers["Location"] == f"/v1/invitation-batches/{queued['id']}"
    assert queued["status"] == "queued" and queued["size"] == 100_000
    assert "invitations" not in queued

    Worker(app).run_once()

    done = tenant.get(f"/v1/invitation-batches/{queued['id']}").get_json()
    assert done["status"] == "done", done["error"]
    assert done["counts"] == {"invited": 99_996, "skipped": 3}
    gone_id = tenant.get("/v1/contacts/gone").get_json()["id"]
    assert done["skipped"] == [
        {"contact": {"contact_id": "con_nobody"}, "reason": "contact_not_found"},
        {"contact": {"external_id": "nobody"}, "reason": "contact_not_found"},
        {"contact": {"contact_id": gone_id, "external_id": "gone"}, "reason": "unsubscribed"},
    ]
    # Paging all 100,000 is the next test's, on a batch that crosses chunks as well;
    # here the first page, and the rest counted where it is stored.
    page = tenant.get(f"/v1/invitation-batches/{queued['id']}/invitations?limit=500").get_json()
    assert len(page["data"]) == 500 and page["has_more"]
    assert page["data"][0]["external_id"] == "u-0" and "N0" in page["data"][0]["email_html"]
    of_batch = select(func.count(Invitation.contact_id.distinct())).where(
        Invitation.batch_id == queued["id"]
    )
    assert count(app, of_batch) == count(app, select(func.count()).select_from(Invitation))
    assert count(app, of_batch) == 99_996
    # The references held personal data: gone with the job.
    assert count(app, select(func.count()).select_from(InvitationBatchRefs)) == 0
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # The suite's cleanup deletes row by row, and 100,000 contacts' foreign key
            # checks take longer than its statement timeout.
            db.session.execute(text("TRUNCATE contacts, events CASCADE"))
            db.session.commit()


def test_the_pages_of_a_batch_run_in_chunks_add_up_to_its_counts(app, tenant, monkeypatch):
    # Chunks of 1,000: the 2,500 references are three chunks, a page of 500 two
    # chunks' invitations, and the repeated u-0 comes in the last chunk.
    monkeypatch.setattr(batches, "CHUNK", 1_000)
    survey = make_survey(tenant, texts={"en": {"question": "{first_name}, would you?"}})
    tenant.post("/v1/contacts", json={"external_id": "gone", "unsubscribed": True})
    refs = [{"external_id": f"u-{i}", "first_name": f"N{i}"} for i in range(2_496)]
    odd = [{"external_id": "gone"}, {"contact_id": "con_nobody"}, {"external_id": "nobody"}]
    refs += [*odd, {"external_id": "u-0"}]
    assert len(refs) > app.config["INVITATION_BATCH_AT_ONCE"]

    batch_id = post_batch(tenant, survey["id"], refs).get_json()["id"]
    Worker(app).run_once()

    done = tenant.get(f"/v1/invitation-batches/{batch_id}").get_json()
    assert done["status"] == "done", done["error"]
    assert done["counts"] == {"invited": 2_496, "skipped": 3}
    assert [skip["reason"] for skip in done["skipped"]] == [
        "contact_not_found",
        "contact_not_found",
        "unsubscribed",
    ]
    pages = all_pages(tenant, batch_id)
    links = [link for page in pages for link in page]
    assert [len(page) for page in pages] == [500] * 4 + [496]
    assert len(links) == done["counts"]["invited"]
    assert len({link["id"] for link in links}) == len(links)
    assert [link["external_id"] for link in links] == [f"u-{i}" for i in range(2_496)]
    assert len(links[-1]["score_urls"]) == 11 and "N2495" in links[-1]["email_html"]


def test_a_small_batch_answers_at_once_in_the_shape_of_its_pages(tenant):
    survey = make_survey(tenant)
    refs = [{"external_id": f"u-{i}", "email": f"u{i}@example.com"} for i in range(3)]
    answer = post_batch(tenant, survey["id"], refs)
    assert answer.status_code == 201
    batch = answer.get_json()
    assert batch["status"] == "done" and batch["counts"] == {"invited": 3, "skipped": 0}
    assert answer.headers["Location"] == f"/v1/invitation-batches/{batch['id']}"
    pages = all_pages(tenant, batch["id"], limit=2)
    assert [len(page) for page in pages] == [2, 1]
    assert [link["id"] for page in pages for link in page] == [
        link["id"] for link in batch["invitations"]
    ]
    assert [link["external_id"] for link in batch["invitations"]] == ["u-0", "u-1", "u-2"]
    status = tenant.get(f"/v1/invitation-batches/{batch['id']}").get_json()
    assert "invitations" not in status
    assert status | {"invitations": batch["invitations"]} == batch


def test_a_retried_post_answers_the_same_batch_and_invites_no_one_twice(app_factory):
    app = app_factory(INVITATION_BATCH_AT_ONCE=2)
    tenant = create_tenant(app)
    survey = make_survey(tenant)
    refs = [{"external_id": f"u-{i}", "first_name": "A"} for i in range(5)]
    headers = {"Idempotency-Key": "batch-1"}
    first = post_batch(tenant, survey["id"], refs, headers=headers)
    again = post_batch(tenant, survey["id"], refs, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(app, select(func.count()).select_from(Job)) == 1
    Worker(app).run_once()
    post_batch(tenant, survey["id"], refs, headers=headers)  # after it ran, too
    batch_id = first.get_json()["id"]
    done = tenant.get(f"/v1/invitation-batches/{batch_id}").get_json()
    assert done["status"] == "done" and done["counts"] == {"invited": 5, "skipped": 0}
    assert count(app, select(func.count()).select_from(Invitation)) == 5


def test_a_batch_whose_survey_is_deactivated_before_it_runs_fails_saying_why(app_factory):
    app = app_factory(INVITATION_BATCH_AT_ONCE=0)
    tenant = create_tenant(app)
    survey = make_survey(tenant)
    batch = post_batch(tenant, survey["id"], [{"external_id": "u-1", "first_name": "A"}])
    tenant.patch(f"/v1/surveys/{survey['id']}", json={"active": False})
    Worker(app).run_once()
    failed = tenant.get(f"/v1/invitation-batches/{batch.get_json()['id']}").get_json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "survey_inactive"
    assert count(app, select(func.count()).select_from(Invitation)) == 0


def test_a_stopped_run_resumes_after_its_last_chunk(app, tenant, monkeypatch):
    monkeypatch.setattr(batches, "CHUNK", 2)
    monkeypatch.setitem(app.config, "INVITATION_BATCH_AT_ONCE", 0)
    survey = make_survey(tenant)
    refs = [{"external_id": f"u-{i}", "first_name": "A"} for i in range(5)] + [
        {"external_id": "u-0"}
    ]
    batch_id = post_batch(tenant, survey["id"], refs).get_json()["id"]
    commits = []

    def stop_after_two(**progress):
        commits.append(progress)
        db.session.commit()
        if len(commits) == 2:
            raise RuntimeError("the worker stopped")

    with app.app_context():
        try:
            batches.run_batch(batch_id, checkpoint=stop_after_two)
        except RuntimeError:
            db.session.rollback()
        assert batches.run_batch(batch_id).status == "done"
    done = tenant.get(f"/v1/invitation-batches/{batch_id}").get_json()
    assert done["counts"] == {"invited": 5, "skipped": 0}  # u-0 named twice, invited once
    links = [link for page in all_pages(tenant, batch_id) for link in page]
    assert [link["external_id"] for link in links] == [f"u-{i}" for i in range(5)]


def test_each_chunk_is_invited_with_the_collector_paused(app, tenant, monkeypatch):
    monkeypatch.setattr(batches, "CHUNK", 2)
    monkeypatch.setitem(app.config, "INVITATION_BATCH_AT_ONCE", 0)
    survey = make_survey(tenant)
    refs = [{"external_id": f"u-{i}", "first_name": "A"} for i in range(5)]
    batch_id = post_batch(tenant, survey["id"], refs).get_json()["id"]
    collecting = []

    def checkpoint(**progress):
        collecting.append(gc.isenabled())
        db.session.commit()

    with app.app_context():
        assert batches.run_batch(batch_id, checkpoint=checkpoint).status == "done"
    assert collecting == [False, False, False]  # three chunks, each commit in its pause
    assert gc.isenabled()


def test_another_workspaces_batch_is_not_found(tenant, make_tenant):
    survey = make_survey(tenant)
    batch_id = post_batch(tenant, survey["id"], [{"external_id": "u", "first_name": "A"}])
    other = make_tenant("Other")
    for path in ("", "/invitations"):
        url = f"/v1/invitation-batches/{batch_id.get_json()['id']}{path}"
        assert other.get(url).status_code == 404
        assert tenant.get(url).status_code == 200


def test_erasure_forgets_whom_a_batch_skipped_and_keeps_its_counts(tenant, make_tenant):
    survey = make_survey(tenant)
    for external_id in ("gone", "stays"):
        tenant.put(f"/v1/contacts/{external_id}", json={"unsubscribed": True})
    refs = [
        {"external_id": "gone"},  # found, unsubscribed: kept as both its ids
        {"external_id": "stays"},
        {"external_id": "later"},  # not found now, created and erased afterwards
        {"contact_id": "con_nobody"},
        {"external_id": "new", "first_name": "A"},
    ]
    batch = post_batch(tenant, survey["id"], refs).get_json()
    other = make_tenant("Other")
    theirs = post_batch(other, make_survey(other)["id"], [{"external_id": "gone"}]).get_json()
    tenant.put("/v1/contacts/later", json={"first_name": "Late"})
    assert tenant.delete("/v1/contacts/gone").status_code == 204
    assert tenant.delete("/v1/contacts/later").status_code == 204

    shown = tenant.get(f"/v1/invitation-batches/{batch['id']}").get_json()
    forgotten = {"gone", "later"}
    assert shown["skipped"] == [
        {"contact": {} if skip["contact"].get("external_id") in forgotten else skip["contact"]}
        | {"reason": skip["reason"]}
        for skip in batch["skipped"]
    ]
    assert sorted(skip["reason"] for skip in shown["skipped"]) == [
        "contact_not_found",
        "contact_not_found",
        "unsubscribed",
        "unsubscribed",
    ]
    assert shown["counts"] == batch["counts"] == {"invited": 1, "skipped": 4}
    assert {"contact": {"external_id": "gone"}, "reason": "contact_not_found"} in other.get(
        f"/v1/invitation-batches/{theirs['id']}"
    ).get_json()["skipped"], "another workspace's `gone` is someone else"


def test_finished_batches_are_purged_after_their_retention(app_factory):
    app = app_factory(INVITATION_BATCH_AT_ONCE=1, INVITATION_BATCH_RETENTION_DAYS=7)
    tenant = create_tenant(app)
    survey = make_survey(tenant)
    refs = [{"external_id": "u-1", "first_name": "A"}, {"external_id": "nobody"}]
    finished = post_batch(tenant, survey["id"], refs).get_json()["id"]
    Worker(app).run_once()
    now = utcnow()
    assert tenant.get(f"/v1/invitation-batches/{finished}").get_json()["status"] == "done"
    waiting = post_batch(tenant, survey["id"], refs).get_json()["id"]  # its job is not run

    def purge(at) -> int:
        return run_periodic(app, "invitation_batches.purge", at)

    assert purge(now + timedelta(days=6)) == 0
    assert tenant.get(f"/v1/invitation-batches/{finished}").status_code == 200
    assert purge(now + timedelta(days=8)) == 1
    for path in ("", "/invitations"):
        assert tenant.get(f"/v1/invitation-batches/{finished}{path}").status_code == 404
    assert tenant.get(f"/v1/invitation-batches/{waiting}").get_json()["status"] == "queued"
    skips = select(func.count()).select_from(InvitationBatchSkip)
    assert count(app, skips.where(InvitationBatchSkip.batch_id == finished)) == 0
    assert count(app, select(func.count()).select_from(Invitation)) == 1, "invitations stay"


def stored_refs(app, batch_id: str) -> bytes:
    with app.app_context():
        return db.session.get(InvitationBatchRefs, batch_id).content


def of_ada(tenant) -> list[dict]:
    """References naming Ada every way one can, and what stays of her in a skip."""
    ada = tenant.put("/v1/contacts/ada", json={"email": "ada@example.com"}).get_json()
    return [
        {"external_id": "ada", "email": "Ada@Example.com", "first_name": "Ada"},
        {"contact_id": ada["id"]},
        {"external_id": "ada"},
        {"external_id": "alias", "email": "ADA@example.com "},  # another id, her address
    ]


def assert_ada_is_gone(app, tenant, batch_id: str, invited: int) -> None:
    done = tenant.get(f"/v1/invitation-batches/{batch_id}").get_json()
    assert done["status"] == "done", done["error"]
    assert done["skipped"] == [{"contact": {}, "reason": "erased"}] * 4
    assert done["counts"] == {"invited": invited, "skipped": 4}
    assert done["counts"]["invited"] + done["counts"]["skipped"] == done["size"]
    links = [link for page in all_pages(tenant, batch_id) for link in page]
    assert "ada" not in {link["external_id"] for link in links}
    for external_id in ("ada", "alias"):  # not made again, from her inline references
        assert tenant.get(f"/v1/contacts/{external_id}").status_code == 404
    assert tenant.get("/v1/contacts?email=ada@example.com").get_json()["data"] == []


def test_erasure_takes_the_person_out_of_a_queued_batch(app_factory):
    app = app_factory(INVITATION_BATCH_AT_ONCE=0)
    tenant = create_tenant(app)
    survey = make_survey(tenant)
    others = [{"external_id": f"u-{i}", "first_name": f"N{i}"} for i in range(3)]
    refs = [others[0], *of_ada(tenant), *others[1:]]
    batch_id = post_batch(tenant, survey["id"], refs).get_json()["id"]
    untouched = post_batch(tenant, survey["id"], others).get_json()["id"]
    before = stored_refs(app, untouched)

    erase(app, tenant.id, "ada")

    # Nothing of her is kept in the batch, and every other reference keeps its place.
    kept = stored_refs(app, batch_id)
    assert b"ada@example.com" not in zlib.decompress(kept).lower()
    assert json.loads(zlib.decompress(kept)) == [others[0], {}, {}, {}, {}, *others[1:]]
    assert stored_refs(app, untouched) == before, "a batch not naming her is left as it was"
    Worker(app).run_once()
    assert_ada_is_gone(app, tenant, batch_id, invited=3)
    untouched_done = tenant.get(f"/v1/invitation-batches/{untouched}").get_json()
    assert untouched_done["counts"] == {"invited": 3, "skipped": 0}


def test_erasure_between_two_chunks_of_a_running_batch_reaches_the_next(app, tenant, monkeypatch):
    monkeypatch.setattr(batches, "CHUNK", 2)
    monkeypatch.setitem(app.config, "INVITATION_BATCH_AT_ONCE", 0)
    survey = make_survey(tenant)
    others = [{"external_id": f"u-{i}", "first_name": f"N{i}"} for i in range(3)]
    refs = [*others[:2], *of_ada(tenant), others[2]]  # she is in the second and third chunks
    batch_id = post_batch(tenant, survey["id"], refs).get_json()["id"]
    chunks = []

    def erase_after_the_first_chunk(**progress):
        db.session.commit()
        chunks.append(progress["refs_done"])
        if len(chunks) == 1:  # the run holds every reference by now, hers included
            erase(app, tenant.id, "ada")

    with app.app_context():
        assert batches.run_batch(batch_id, checkpoint=erase_after_the_first_chunk).status == "done"
    assert chunks == [2, 4, 6, 7]
    assert_ada_is_gone(app, tenant, batch_id, invited=3)


def test_a_reference_names_a_contact_by_either_id_or_its_email(app, tenant):
    ada = tenant.put("/v1/contacts/ada", json={"email": "ada@example.com"}).get_json()
    with app.app_context():
        contact = contacts.get_contact(tenant.id, "ada")
        assert references.names({"contact_id": ada["id"]}, contact)
        assert references.names({"external_id": "ada"}, contact)
        assert references.names({"external_id": "x", "email": " ADA@example.COM"}, contact)
        assert not references.names({"external_id": "x", "email": "bob@example.com"}, contact)
        assert not references.names({"contact_id": "con_other"}, contact)
        contact.email = None  # no address: none of the references without one is hers
        assert not references.names({"external_id": "x", "email": None}, contact)


def test_an_erasure_under_way_when_a_chunk_is_claimed_is_seen_by_that_chunk(
    app, tenant, monkeypatch
):
    monkeypatch.setattr(batches, "CHUNK", 2)
    monkeypatch.setitem(app.config, "INVITATION_BATCH_AT_ONCE", 0)
    survey = make_survey(tenant)
    others = [{"external_id": f"u-{i}", "first_name": f"N{i}"} for i in range(3)]
    batch_id = post_batch(tenant, survey["id"], [*others[:2], *of_ada(tenant), others[2]])
    batch_id = batch_id.get_json()["id"]

    with app.app_context(), pytest.raises(Stopped):
        batches.run_batch(batch_id, checkpoint=commit_then_stop)  # the first chunk, then a restart
    # The erasure has not committed when the run claims its next chunk: the claim
    # waits for it, and the chunk is read as the erasure left it.
    with erasure_under_way(app, tenant.id, "ada"), app.app_context():
        assert batches.run_batch(batch_id).status == "done"
    assert_ada_is_gone(app, tenant, batch_id, invited=3)
