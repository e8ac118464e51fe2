from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api import counters
from api.database import UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id

QUEUES = ("follow_up", "advocacy")
STATUSES = ("open", "claimed", "done", "dismissed")


class QueueItem(db.Model):
    """An action for a person: one per response, moved between queues, never duplicated."""

    __tablename__ = "queue_items"
    __table_args__ = (
        Index("ix_queue_items_listing", "workspace_id", "queue", "status", "priority"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("qi"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), unique=True
    )
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    queue: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    assignee: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueueCount(db.Model):
    """Items per survey, queue and status, moved with every change; what reports read
    (the sum over a key's shards, see api.counters)."""

    __tablename__ = "queue_counts"

    survey_id: Mapped[str] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    queue: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = counters.shard_column()
    count: Mapped[int] = mapped_column(Integer, default=0)


RESURVEY_STATUSES = ("scheduled", "sent", "cancelled")


class Resurvey(db.Model):
    """An unhappy customer asked the same survey again, some days after their follow-up
    item was resolved, on the channel they first answered on (api/queues/resurveys.py)."""

    __tablename__ = "resurveys"
    __table_args__ = (
        Index("ix_resurveys_due", "status", "due_at"),
        # The widget's throttle looks up a contact's sent widget re-survey of a survey on
        # every page view (invitations.throttle_checks): every column it tests, so the
        # look-up is one probe of this index (SQLite chose ix_resurveys_due without them).
        Index(
            "ix_resurveys_contact_survey", "contact_id", "survey_id", "channel", "status", "sent_at"
        ),
        Index("ix_resurveys_workspace_created", "workspace_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rsv"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    queue_item_id: Mapped[str] = mapped_column(
        ForeignKey("queue_items.id", ondelete="CASCADE"), index=True
    )
    # The unhappy response the item was about.
    response_id: Mapped[str] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The invitation it became (email, link and api); a widget re-survey has none.
    invitation_id: Mapped[str | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL")
    )
    cancelled_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
