"""The import as a job of the worker's queue, enqueued by POST /v1/contacts/imports.

Each chunk commits through the job's checkpoint (its rows, counts and the job's
progress together, the lease renewed); a worker that stops hands the job back at
its last chunk, and the next run resumes there.
"""

from api.contacts.imports import service
from api.jobs import queue as jobs

KIND = "contacts.import"


@jobs.handler(KIND)
def run_import_job(run: jobs.JobRun) -> dict:
    imported = service.run_import(run.payload["import_id"], checkpoint=run.checkpoint)
    counts = ("created", "updated", "unchanged", "failed")
    return {"import_id": imported.id, "status": imported.status} | {
        name: getattr(imported, name) for name in counts
    }
