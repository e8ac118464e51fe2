"""A contacts import and the file it reads.

The file's bytes are kept in the database beside the import, not on a disk: every
app process and every worker, on any machine, reads the same copy, it is written
in the same transaction as the import that needs it (an accepted import always
has its file), and it is deleted when the import finishes, so the personal data
it holds is not kept longer than the import takes.
"""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from api.database import JSONType, UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id

STATUSES = ("queued", "running", "completed", "failed")
MODES = ("upsert", "create_only")


class ContactImport(db.Model):
    """Progress and results; `rows_done` is where a stopped import resumes."""

    __tablename__ = "contact_imports"
    __table_args__ = (
        Index("ix_contact_imports_workspace", "workspace_id", "id"),
        # The purge of finished imports (`service.purge`).
        Index("ix_contact_imports_finished_at", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("imp"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    mode: Mapped[str] = mapped_column(String(16), default="upsert")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    delimiter: Mapped[str] = mapped_column(String(1))
    total_rows: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # The first row errors: [{"line", "row", "external_id", "reason", "fields"}].
    errors: Mapped[list] = mapped_column(JSONType, default=list)
    failure: Mapped[str | None] = mapped_column(Text)
    # The rows (numbered as `Record.row`) an erasure took out of the file while it was
    # pending: each is a row error `erased` when the import reaches it. None: no such row.
    erased_rows: Mapped[list | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactImportFile(db.Model):
    __tablename__ = "contact_import_files"

    import_id: Mapped[str] = mapped_column(
        ForeignKey("contact_imports.id", ondelete="CASCADE"), primary_key=True
    )
    # Deferred: loading the row for its key never reads up to 20 MB by accident.
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
