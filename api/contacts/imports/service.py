"""Contacts imports: accept a file, then apply it in chunks, each its own transaction.

`create_import` checks the whole file (size, encoding, header, row count) and
stores it with a queued import, or refuses it. `run_import` is the one entry
point that applies it: the job runs it, `flask contacts import` runs it in the
shell, tests call it. Each chunk first claims its rows with a conditional
UPDATE of `rows_done`, then writes its contacts and its counts, and commits: a
run stopped anywhere (a worker restarted, a deploy) resumes after the last
committed chunk when run again, and two runs at once cannot both apply a chunk.
An erasure takes the person's rows out of a pending import's file (`forget_pending`);
each chunk learns which rows from its claim.

Rows are validated by the contact schemas the API uses and written by
`contacts.upsert_many`, so an imported contact is what the API would have made,
with the same events (an unsubscribe is `contact.unsubscribed`). A bad row is
counted and reported with its line; it never stops the others.
"""

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice

from marshmallow import ValidationError
from sqlalchemy import delete, select, update

from api.bulk import each_statement_planned
from api.contacts import references
from api.contacts import service as contacts
from api.contacts.imports import csv_file
from api.contacts.imports.models import ContactImport, ContactImportFile
from api.contacts.models import Contact
from api.contacts.schemas import ContactUpsertSchema, attributes_fit
from api.database import utcnow
from api.events import service as events
from api.extensions import db

CHUNK_ROWS = 2000
MAX_ERRORS = 100
PENDING = ("queued", "running")
# A row error's reason when the row's contact was erased before the import reached it.
ERASED = "erased"
_schema = ContactUpsertSchema()


def create_import(
    workspace_id: str,
    content: bytes,
    *,
    filename: str | None = None,
    mode: str = "upsert",
    dry_run: bool = False,
) -> ContactImport:
    """A queued import of `content`, stored with it; csv_file.CsvProblem when the file
    cannot be imported (TooLarge past the size limit)."""
    layout = csv_file.inspect(content)
    now = utcnow()
    job = ContactImport(
        workspace_id=workspace_id,
        status="queued",
        mode=mode,
        dry_run=dry_run,
        filename=(filename or None) and filename[:255],
        size_bytes=len(content),
        delimiter=layout.delimiter,
        total_rows=layout.rows,
        rows_done=0,
        errors=[],
        created_at=now,
        updated_at=now,
    )
    db.session.add(job)
    db.session.flush()
    db.session.add(ContactImportFile(import_id=job.id, content=content))
    db.session.flush()
    return job


def get_import(workspace_id: str, import_id: str) -> ContactImport | None:
    return db.session.scalar(
        select(ContactImport).where(
            ContactImport.workspace_id == workspace_id, ContactImport.id == import_id
        )
    )


def run_import(import_id: str, checkpoint: Callable[..., None] | None = None) -> ContactImport:
    """Apply the import's remaining rows, committing chunk by chunk; safe to call again.

    `checkpoint(rows_done=, total_rows=)` commits each chunk in place of a plain commit
    (a job's checkpoint: the chunk, its counts and the job's progress land together).
    """
    commit = checkpoint or (lambda **_progress: db.session.commit())
    job = db.session.get(ContactImport, import_id, populate_existing=True)
    if job.status in ("completed", "failed"):
        return job
    if job.status == "queued":
        job.status, job.started_at = "running", utcnow()
        job.updated_at = job.started_at
        db.session.commit()
    # One statement: the file and the rows an erasure took out of it agree.
    content, erased = db.session.execute(
        select(ContactImportFile.content, ContactImport.erased_rows)
        .join(ContactImport, ContactImport.id == ContactImportFile.import_id)
        .where(ContactImportFile.import_id == import_id)
    ).one()
    erased = set(erased or ())  # looked up once per row skipped below
    try:
        text = csv_file.decode(content)
        reading = csv_file.records(text, job.delimiter)
        header = csv_file.columns(next(reading))
        rows = (record for record in reading if not csv_file.is_blank(record))
        seen: dict[str, int] = {}
        for record in islice(rows, job.rows_done):  # applied by an earlier run
            if record.row in erased:
                continue
            data, _ = csv_file.fields_of(header, record)
            if data.get("external_id"):
                seen.setdefault(data["external_id"], record.row)
        for chunk in _chunks(rows):
            with each_statement_planned():
                if not _apply(job, header, chunk, seen, commit):
                    break  # another run applied this chunk: it will finish the import
            job = db.session.get(ContactImport, import_id, populate_existing=True)
    except csv_file.CsvProblem as problem:  # the file was checked on upload: not expected
        db.session.rollback()
        return _finish(
            db.session.get(ContactImport, import_id, populate_existing=True),
            failure=problem.message,
        )
    job = db.session.get(ContactImport, import_id, populate_existing=True)
    if job.status == "running" and job.rows_done >= job.total_rows:
        job = _finish(job)
    return job


def _chunks(rows: Iterator) -> Iterator[list]:
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield chunk


def _apply(job: ContactImport, header, chunk: list, seen: dict[str, int], commit) -> bool:
    """One chunk in one transaction; False when another run had claimed it first."""
    done = job.rows_done + len(chunk)
    claimed = db.session.execute(
        update(ContactImport)
        .where(ContactImport.id == job.id, ContactImport.rows_done == job.rows_done)
        .values(rows_done=done, updated_at=utcnow())
        .returning(ContactImport.erased_rows)
    ).first()
    if claimed is None:
        db.session.rollback()
        return False
    # The rows erased are those the claim returns, not those of the file this run read
    # at its start: an erasure writes the import row (`forget_pending`), so the claim
    # waits for one under way and returns the row as it committed it (PostgreSQL
    # evaluates an UPDATE that waited on the row's newest version; SQLite's claim
    # begins a write transaction after the erasure's ended). One that comes later
    # waits for this chunk's commit, and the next claim returns what it erased.
    erased = set(claimed.erased_rows or ())
    valid: dict[str, tuple[csv_file.Record, dict]] = {}
    problems: list[dict] = []
    for record in chunk:
        if record.row in erased:
            problems.append(_problem(record, "", ERASED))
            continue
        data, shape = csv_file.fields_of(header, record)
        external_id = str(data.get("external_id", ""))
        first = seen.setdefault(external_id, record.row) if external_id else record.row
        if shape is not None:
            problems.append(_problem(record, external_id, shape))
        elif first != record.row:
            problems.append(_problem(record, external_id, f"The external_id repeats row {first}."))
        else:
            try:
                valid[external_id] = (record, _schema.load(data))
            except ValidationError as error:
                problems.append(_problem(record, external_id, fields=error.messages))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    writes = []
    existing = contacts.contacts_by_external_id(job.workspace_id, list(valid))
    for external_id, (record, data) in valid.items():
        contact = existing.get(external_id)
        if contact is None:
            counts["created"] += 1
            writes.append(data)
            continue
        if job.mode == "create_only" or not contacts.would_change(contact, data):
            counts["unchanged"] += 1
            continue
        if "attributes" in data:
            try:  # the merged attributes must fit, as for a PATCH
                attributes_fit(contacts.merged_attributes(contact, data["attributes"]))
            except ValidationError as error:
                fields = {"attributes": error.messages}
                problems.append(_problem(record, external_id, fields=fields))
                continue
        counts["updated"] += 1
        writes.append(data)
    if writes and not job.dry_run:
        contacts.upsert_many(job.workspace_id, writes, source="import", loaded=existing)
    values = {name: getattr(ContactImport, name) + count for name, count in counts.items()}
    values["failed"] = ContactImport.failed + len(problems)
    room = MAX_ERRORS - len(job.errors)
    if problems and room > 0:
        values["errors"] = [*job.errors, *problems[:room]]
    db.session.execute(update(ContactImport).where(ContactImport.id == job.id).values(**values))
    commit(rows_done=done, total_rows=job.total_rows)
    return True


def _problem(record, external_id: str, reason: str | None = None, fields: dict | None = None):
    if reason is None:
        name, messages = next(iter(fields.items()))
        reason = f"{name}: {_first(messages)}"
    problem = {"line": record.line, "row": record.row, "external_id": external_id or None}
    problem["reason"] = reason
    if fields:
        problem["fields"] = fields
    return problem


def _first(messages) -> str:
    """The first message of marshmallow's nested {field: [...]} or [...] shapes."""
    while isinstance(messages, dict | list):
        messages = next(iter(messages.values() if isinstance(messages, dict) else messages))
    return str(messages)


def _finish(job: ContactImport, failure: str | None = None) -> ContactImport:
    now = utcnow()
    job.status = "failed" if failure else "completed"
    job.failure = failure
    job.finished_at = job.updated_at = now
    # The file holds personal data and is not needed any more.
    db.session.execute(delete(ContactImportFile).where(ContactImportFile.import_id == job.id))
    if not job.dry_run:
        events.record(
            job.workspace_id,
            f"contact_import.{job.status}",
            job.id,
            {name: getattr(job, name) for name in ("created", "updated", "unchanged", "failed")},
        )
    db.session.commit()
    return job


def forget_pending(contact: Contact) -> None:
    """The imports' part of erasure for rows not imported yet: each row of a queued or
    running import's file that names the person (`references.names`) is replaced by
    one with no data (`csv_file.erased`) and listed in `erased_rows`; the import
    reports it as a row error `erased` when it gets there, so it is counted `failed`
    and every row keeps its number. Left as it was, the file would keep the person's
    data until the import finishes, and the import would write them again.

    Run before the other parts of erasure (`api.contacts.erasure.erase`): writing the
    import row waits for a chunk being applied to commit, so what the later parts read
    includes what that chunk wrote (a row error naming the person, say).
    """
    pending = db.session.execute(
        select(ContactImport.id, ContactImport.delimiter, ContactImportFile.content)
        .join(ContactImportFile, ContactImportFile.import_id == ContactImport.id)
        .where(
            ContactImport.workspace_id == contact.workspace_id, ContactImport.status.in_(PENDING)
        )
        .order_by(ContactImport.id)  # two erasures lock in the same order
    )

    def naming(row: dict) -> bool:
        return references.names(row, contact)

    for import_id, delimiter, content in pending.all():
        if not csv_file.erased(content, delimiter, naming)[1]:
            continue  # left as it is, byte for byte
        # The import row orders this erasure with the job's claims (see `_apply`); the
        # file is read again after it, so another erasure's rewrite that committed
        # meanwhile is kept, not overwritten with the copy read above.
        locked = db.session.execute(
            update(ContactImport)
            .where(ContactImport.id == import_id, ContactImport.status.in_(PENDING))
            .values(updated_at=utcnow())
            .returning(ContactImport.erased_rows)
        ).first()
        if locked is None:
            continue  # it finished meanwhile, and its file went with it
        content = db.session.scalar(
            select(ContactImportFile.content).where(ContactImportFile.import_id == import_id)
        )
        content, rows = csv_file.erased(content, delimiter, naming)
        db.session.execute(
            update(ContactImportFile)
            .where(ContactImportFile.import_id == import_id)
            .values(content=content)
        )
        db.session.execute(
            update(ContactImport)
            .where(ContactImport.id == import_id)
            .values(erased_rows=sorted({*(locked.erased_rows or ()), *rows}))
        )


def forget_errors(contact: Contact) -> None:
    """The imports' part of erasure (`api.contacts.erasure.erase`): a kept row error
    that names the contact loses its external id and keeps its line and reason, so
    `failed` still adds up.

    The external id is the one personal value an error keeps (its reasons and field
    messages name columns, never values). An import keeps at most `MAX_ERRORS`, and
    only imports with failed rows, kept `CONTACT_IMPORT_RETENTION_DAYS` at most, are
    read: they are filtered here rather than inside the JSON, which SQLite and
    PostgreSQL would each need their own way.
    """
    kept = db.session.execute(
        select(ContactImport.id, ContactImport.errors).where(
            ContactImport.workspace_id == contact.workspace_id, ContactImport.failed > 0
        )
    )
    for import_id, errors in kept.all():
        if not any(error.get("external_id") == contact.external_id for error in errors):
            continue
        forgotten = [
            error | {"external_id": None}
            if error.get("external_id") == contact.external_id
            else error
            for error in errors
        ]
        db.session.execute(
            update(ContactImport).where(ContactImport.id == import_id).values(errors=forgotten)
        )


def purge(before: datetime, batch: int) -> int:
    """Delete up to `batch` imports that finished (completed or failed: only they have a
    `finished_at`) before `before`; run by the worker. A purged import is not found, as
    an unknown one; the contacts it wrote stay."""
    old = select(ContactImport.id).where(ContactImport.finished_at < before).limit(batch)
    return db.session.execute(delete(ContactImport).where(ContactImport.id.in_(old))).rowcount
