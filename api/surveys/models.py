from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from api.database import JSONType, UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id

KINDS = ("nps", "csat", "ces")
CHANNELS = ("email", "link", "widget", "api")


class Survey(db.Model):
    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_workspace", "workspace_id", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("srv"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    product_name: Mapped[str] = mapped_column(String(100), default="")
    default_locale: Mapped[str] = mapped_column(String(16), default="en")
    # {"en": {"question": "...", "follow_up": {"detractor": "..."}, "thank_you": {...}}, "de": ...}
    texts: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Contact attributes reports can be split by; the rollup keeps counts for each.
    segment_attributes: Mapped[list] = mapped_column(JSONType, default=list)
    resurvey_days: Mapped[int] = mapped_column(Integer, default=90)
    decline_days: Mapped[int] = mapped_column(Integer, default=30)
    link_ttl_days: Mapped[int] = mapped_column(Integer, default=30)
    # In-app widget: off until enabled; who is asked, where, and how many.
    widget_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    sampling_percent: Mapped[int] = mapped_column(Integer, default=100)
    first_seen_delay_days: Mapped[int] = mapped_column(Integer, default=0)
    # [{"match": "contains"|"starts_with"|"exact", "value": "/checkout", "exclude": false}]
    url_rules: Mapped[list] = mapped_column(JSONType, default=list)
    # Lifecycle stages asked (none: every contact) and never asked, in the widget and
    # in batch invitations alike (api/surveys/invitations.py `stage_reason`).
    # The server default fills surveys made before these columns (SQLite cannot drop a
    # column's default without rebuilding the table, which would cascade to its rows).
    target_stages: Mapped[list] = mapped_column(JSONType, default=list, server_default="[]")
    excluded_stages: Mapped[list] = mapped_column(JSONType, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(db.Model):
    """One contact asked one survey once; its signed token is the survey link."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_contact_survey", "contact_id", "survey_id", "created_at"),
        Index("ix_invitations_workspace", "workspace_id", "id"),
        # A batch's invitations, page by page.
        Index("ix_invitations_batch", "batch_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("inv"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The batch that made it (api/surveys/batches.py), if any. No foreign key: both
    # live and go with their workspace, and SQLite cannot add one to a table in place.
    batch_id: Mapped[str | None] = mapped_column(String(32))


BATCH_STATUSES = ("queued", "running", "done", "failed")


class InvitationBatch(db.Model):
    """Contacts invited by one call, by the worker; `refs_done` is where a stopped run resumes."""

    __tablename__ = "invitation_batches"
    __table_args__ = (
        Index("ix_invitation_batches_workspace", "workspace_id", "id"),
        # The purge of finished batches (`batches.purge`).
        Index("ix_invitation_batches_finished_at", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ib"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    size: Mapped[int] = mapped_column(Integer)
    refs_done: Mapped[int] = mapped_column(Integer, default=0)
    invited: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # {"code", "message"} of a batch that stopped (its survey deactivated meanwhile).
    error: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvitationBatchRefs(db.Model):
    """The references as the request gave them, until the batch is done.

    In the database, beside the batch, for the reasons a contacts import keeps its
    file there (api/contacts/imports/models.py); deleted when the batch finishes.
    """

    __tablename__ = "invitation_batch_refs"

    batch_id: Mapped[str] = mapped_column(
        ForeignKey("invitation_batches.id", ondelete="CASCADE"), primary_key=True
    )
    # zlib-compressed JSON; deferred, so loading the row never reads it by accident.
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))


class InvitationBatchSkip(db.Model):
    """One contact a batch did not invite, and why; `position` keeps the request's order."""

    __tablename__ = "invitation_batch_skips"

    batch_id: Mapped[str] = mapped_column(
        ForeignKey("invitation_batches.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact: Mapped[dict] = mapped_column(JSONType)
    reason: Mapped[str] = mapped_column(String(32))
