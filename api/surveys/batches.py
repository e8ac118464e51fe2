"""Invitation batches: up to 100,000 contacts in one call, invited by the worker.

`start` checks the survey, stores the references with a queued batch and enqueues
its job, all in the request's transaction: the batch exists exactly when its job
does, and an `Idempotency-Key` retry replays the same batch. The job runs `run`,
which invites chunk by chunk; each chunk first claims its references with a
conditional UPDATE of `refs_done`, then invites them (the rules of
`invitations.invite`), records whom it skipped and why, and commits with the job's
checkpoint. A run stopped anywhere resumes after the last committed chunk, and two
runs at once cannot both invite a chunk. Each chunk reads the references after its
claim, so an erasure that emptied some of them meanwhile (`forget_pending`) is seen.

A batch of at most `INVITATION_BATCH_AT_ONCE` contacts is invited in the request
itself and answered at once, with its invitations. Links, per-score links and email
blocks are made when read (`links_page`), a page at a time, by the one signing
mechanism: nothing of the sort is stored, and a batch costs no 100 MB answer.
"""

import json
import zlib
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, or_, select, update

from api import heap
from api.bulk import each_statement_planned, insert_many
from api.contacts import references
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.database import utcnow
from api.domain_errors import Conflict, DomainError, NotFound
from api.extensions import db
from api.http.pagination import paginate
from api.jobs import queue as jobs
from api.surveys import invitations
from api.surveys.models import (
    Invitation,
    InvitationBatch,
    InvitationBatchRefs,
    InvitationBatchSkip,
    Survey,
)

KIND = "invitations.batch"
CHUNK = 10_000
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
PENDING = (QUEUED, RUNNING)  # what an erasure still reaches (`forget_pending`)


def start(
    survey: Survey, refs: list[dict], channel: str, now: datetime | None = None
) -> InvitationBatch:
    """A batch inviting `refs` to `survey`: done now when small, else queued for the worker."""
    if not survey.active:
        raise Conflict("This survey is not active; activate it first.", code="survey_inactive")
    now = now or utcnow()
    batch = InvitationBatch(
        workspace_id=survey.workspace_id,
        survey_id=survey.id,
        channel=channel,
        status=QUEUED,
        size=len(refs),
        refs_done=0,
        invited=0,
        skipped=0,
        created_at=now,
        updated_at=now,
    )
    db.session.add(batch)
    db.session.flush()
    if len(refs) <= current_app.config["INVITATION_BATCH_AT_ONCE"]:
        # In the request's transaction, committed with the answer.
        batch.status, batch.started_at = RUNNING, now
        _invite_chunk(
            batch, survey, len(refs), lambda: refs, lambda **_progress: db.session.flush(), now
        )
        return _finish(db.session.get(InvitationBatch, batch.id, populate_existing=True))
    db.session.add(InvitationBatchRefs(batch_id=batch.id, content=_stored(refs)))
    jobs.enqueue(KIND, survey.workspace_id, {"batch_id": batch.id}, now)
    return batch


@jobs.handler(KIND)
def run_batch_job(run: jobs.JobRun) -> dict:
    batch = run_batch(run.payload["batch_id"], checkpoint=run.checkpoint)
    return {"batch_id": batch.id, "status": batch.status} | counts(batch)


def run_batch(batch_id: str, checkpoint=None) -> InvitationBatch:
    """Invite the batch's remaining contacts, committing chunk by chunk; safe to call again.

    `checkpoint(refs_done=, size=)` commits each chunk in place of a plain commit (a
    job's checkpoint: the chunk, its counts and the job's progress land together).
    """
    commit = checkpoint or (lambda **_progress: db.session.commit())
    batch = db.session.get(InvitationBatch, batch_id, populate_existing=True)
    if batch.status in (DONE, FAILED):
        return batch
    if batch.status == QUEUED:
        batch.status = RUNNING
        batch.started_at = batch.updated_at = utcnow()
        db.session.commit()
    refs = _StoredRefs(batch_id)
    survey = db.session.get(Survey, batch.survey_id)
    try:
        while batch.status == RUNNING and batch.refs_done < batch.size:
            end = min(batch.refs_done + CHUNK, batch.size)
            with each_statement_planned(), heap.collector_paused():
                if not _invite_chunk(batch, survey, end, refs, commit):
                    break  # another run invited this chunk: it will finish the batch
            batch = db.session.get(InvitationBatch, batch_id, populate_existing=True)
    except DomainError as refusal:  # the survey was deactivated meanwhile, say
        db.session.rollback()
        batch = _finish(
            db.session.get(InvitationBatch, batch_id, populate_existing=True),
            {"code": refusal.code, "message": refusal.message},
        )
        db.session.commit()
        return batch
    batch = db.session.get(InvitationBatch, batch_id, populate_existing=True)
    if batch.status == RUNNING and batch.refs_done >= batch.size:
        batch = _finish(batch)
        db.session.commit()
    return batch


class _StoredRefs:
    """A running batch's references, read again after each chunk's claim: an erasure may
    have rewritten them since the last one (`forget_pending`)."""

    def __init__(self, batch_id: str):
        self.batch_id = batch_id
        self.content: bytes | None = None
        self.refs: list[dict] = []

    def __call__(self) -> list[dict]:
        content = _stored_content(self.batch_id)
        # Comparing the bytes costs far less than decompressing and parsing 100,000
        # references again for each chunk, and they differ only after an erasure.
        if content != self.content:
            self.content, self.refs = content, _parsed(content)
        return self.refs


def _stored(refs: list[dict]) -> bytes:
    return zlib.compress(json.dumps(refs, separators=(",", ":")).encode(), 1)


def _parsed(content: bytes) -> list[dict]:
    return json.loads(zlib.decompress(content))


def _stored_content(batch_id: str) -> bytes:
    return db.session.scalar(
        select(InvitationBatchRefs.content).where(InvitationBatchRefs.batch_id == batch_id)
    )


def _invite_chunk(
    batch: InvitationBatch,
    survey: Survey,
    end: int,
    refs: Callable[[], list[dict]],
    commit,
    now: datetime | None = None,
) -> bool:
    """References `batch.refs_done` to `end` in one transaction; False when another run
    had claimed them first. `refs()` gives all the batch's references."""
    now = now or utcnow()
    start = batch.refs_done  # the claim updates `batch` as it updates the row
    claimed = db.session.execute(
        update(InvitationBatch)
        .where(
            InvitationBatch.id == batch.id,
            InvitationBatch.status == RUNNING,
            InvitationBatch.refs_done == start,
        )
        .values(refs_done=end, updated_at=now)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    # Read after the claim, in its transaction, and not once per run: an erasure may have
    # emptied some of them since (`forget_pending`), and this is the first point where
    # one under way is sure to have committed. The erasure writes the batch row before
    # it reads the references, so on PostgreSQL the claim waits for its commit, and the
    # statements after the claim read what had committed when each began (READ
    # COMMITTED); on SQLite the claim is the write before which the driver begins the
    # transaction (BEGIN IMMEDIATE), which waits for the erasure's to end and then reads
    # the database as it was left. An erasure that starts later waits for this chunk's
    # commit, and the next chunk's claim sees what it did.
    chunk = refs()[start:end]
    named = [ref for ref in chunk if ref]  # an erased reference is left empty
    # A first chunk is the first to invite for the batch: each chunk's invitations
    # commit with its claim, so none of the batch's exist before refs_done moves.
    invited, skipped = invitations.invite(
        survey, named, batch.channel, now, batch_id=batch.id, later_chunk=start > 0
    )
    if len(named) < len(chunk):
        skipped += [invitations.Skipped({}, invitations.ERASED)] * (len(chunk) - len(named))
    insert_many(
        InvitationBatchSkip.__table__.insert(),
        [
            {"position": batch.skipped + index, "contact": item.ref, "reason": item.reason}
            for index, item in enumerate(skipped)
        ],
        {"batch_id": batch.id},
    )
    db.session.execute(
        update(InvitationBatch)
        .where(InvitationBatch.id == batch.id)
        .values(
            invited=InvitationBatch.invited + len(invited),
            skipped=InvitationBatch.skipped + len(skipped),
        )
    )
    commit(refs_done=end, size=batch.size)
    return True


def _finish(batch: InvitationBatch, error: dict | None = None) -> InvitationBatch:
    now = utcnow()
    batch.status = FAILED if error else DONE
    batch.error = error
    batch.finished_at = batch.updated_at = now
    # The references may hold personal data, and are not needed any more.
    db.session.execute(delete(InvitationBatchRefs).where(InvitationBatchRefs.batch_id == batch.id))
    db.session.flush()
    return batch


def get_batch(workspace_id: str, batch_id: str) -> InvitationBatch:
    batch = db.session.scalar(
        select(InvitationBatch).where(
            InvitationBatch.workspace_id == workspace_id, InvitationBatch.id == batch_id
        )
    )
    if batch is None:
        raise NotFound("No such invitation batch.")
    return batch


def counts(batch: InvitationBatch) -> dict:
    return {"invited": batch.invited, "skipped": batch.skipped}


def described(batch: InvitationBatch, with_invitations: bool = False) -> dict:
    """The batch as `InvitationBatchSchema` shows it; its invitations too when asked."""
    skips = db.session.execute(
        select(InvitationBatchSkip.contact, InvitationBatchSkip.reason)
        .where(InvitationBatchSkip.batch_id == batch.id)
        .order_by(InvitationBatchSkip.position)
    )
    body = {
        "id": batch.id,
        "survey_id": batch.survey_id,
        "channel": batch.channel,
        "status": batch.status,
        "size": batch.size,
        "counts": counts(batch),
        "skipped": [{"contact": contact, "reason": reason} for contact, reason in skips],
        "error": batch.error,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
    }
    if with_invitations:
        made = db.session.scalars(_invitations_of(batch).order_by(Invitation.id))
        body["invitations"] = _links(batch, list(made))
    return body


def links_page(batch: InvitationBatch, args: dict) -> dict:
    """A page of the batch's invitations, each with its links and email block."""
    page = paginate(_invitations_of(batch), args)
    return page | {"data": _links(batch, page["data"])}


def _invitations_of(batch: InvitationBatch):
    return select(Invitation).where(
        Invitation.workspace_id == batch.workspace_id, Invitation.batch_id == batch.id
    )


def _links(batch: InvitationBatch, made: list[Invitation]) -> list[dict]:
    survey = db.session.get(Survey, batch.survey_id)
    # An erased contact is not found: its invitation keeps its links, without an email.
    people = contacts.rows_by_id(batch.workspace_id, [i.contact_id for i in made if i.contact_id])
    return [
        invitations.links(survey, invitation, people.get(invitation.contact_id))
        for invitation in made
    ]


def is_done(batch: InvitationBatch) -> bool:
    return batch.status == DONE


def forget_pending(contact: Contact) -> None:
    """The batches' part of erasure for what they have not done yet: each reference of a
    queued or running batch that names the person (`references.names`) is emptied, in
    its place, and the job skips it as `erased` when it gets there. Left as given, it
    would keep the email given inline until the batch finishes, and resolving it would
    write the person again, or invite them.

    Run before the other parts of erasure (`api.contacts.erasure.erase`): writing the
    batch row waits for a chunk the job is inviting to commit, so what the later parts
    read includes what that chunk did (a skip naming the person, say).
    """
    pending = db.session.execute(
        select(InvitationBatchRefs.batch_id, InvitationBatchRefs.content)
        .join(InvitationBatch, InvitationBatch.id == InvitationBatchRefs.batch_id)
        .where(
            InvitationBatch.workspace_id == contact.workspace_id,
            InvitationBatch.status.in_(PENDING),
        )
        .order_by(InvitationBatchRefs.batch_id)  # two erasures lock in the same order
    )
    for batch_id, content in pending.all():
        if not any(references.names(ref, contact) for ref in _parsed(content)):
            continue  # left as it is, byte for byte
        # The batch row orders this erasure with the job's claims (see `_invite_chunk`);
        # the references are read again after it, so another erasure's rewrite that
        # committed meanwhile is kept, not overwritten with the copy read above.
        locked = db.session.execute(
            update(InvitationBatch)
            .where(InvitationBatch.id == batch_id, InvitationBatch.status.in_(PENDING))
            .values(updated_at=utcnow())
        )
        if locked.rowcount != 1:
            continue  # it finished meanwhile, and its references went with it
        refs = _parsed(_stored_content(batch_id))
        kept = [{} if references.names(ref, contact) else ref for ref in refs]
        db.session.execute(
            update(InvitationBatchRefs)
            .where(InvitationBatchRefs.batch_id == batch_id)
            .values(content=_stored(kept))
        )


def forget_skipped(contact: Contact) -> None:
    """The batches' part of erasure (`api.contacts.erasure.erase`): a skipped row that
    names the contact loses its reference and keeps its position and reason, so the
    batch's counts still add up.

    A skip holds `{"contact_id", "external_id"}` of a contact that was found, or the
    bare id of one that was not (who may exist by now): either id names the person.
    Inline fields never reach a skip (an inline contact always resolves). Only this
    workspace's batches are read, through their primary key, and they are kept
    `INVITATION_BATCH_RETENTION_DAYS` at most.
    """
    of_workspace = select(InvitationBatch.id).where(
        InvitationBatch.workspace_id == contact.workspace_id
    )
    named = or_(
        InvitationBatchSkip.contact["contact_id"].as_string() == contact.id,
        InvitationBatchSkip.contact["external_id"].as_string() == contact.external_id,
    )
    db.session.execute(
        update(InvitationBatchSkip)
        .where(InvitationBatchSkip.batch_id.in_(of_workspace), named)
        .values(contact={})
        .execution_options(synchronize_session=False)
    )


def purge(before: datetime, batch: int) -> int:
    """Delete up to `batch` batches that finished (done or failed: only they have a
    `finished_at`) before `before`, their skipped rows with them (the foreign key
    cascades); run by the worker. A purged batch is not found, as an unknown one;
    its invitations stay."""
    old = select(InvitationBatch.id).where(InvitationBatch.finished_at < before).limit(batch)
    return db.session.execute(delete(InvitationBatch).where(InvitationBatch.id.in_(old))).rowcount
