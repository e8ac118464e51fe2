from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api import counters
from api.database import JSONType, UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id


class Response(db.Model):
    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_survey_created", "survey_id", "created_at"),
        Index("ix_responses_workspace", "workspace_id", "id"),
        # The widget's "answered recently?" per contact and survey; erasure by contact.
        Index("ix_responses_contact_survey", "contact_id", "survey_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rsp"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    # One response per invitation: the unique index settles double clicks and races.
    invitation_id: Mapped[str] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), unique=True
    )
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(8))
    locale: Mapped[str | None] = mapped_column(String(16))
    meta: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    # The segment values counted in the rollup, so a changed score moves the same counts.
    segments: Mapped[dict] = mapped_column(JSONType, default=dict)
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResponseRollup(db.Model):
    """Responses counted per survey, day, score and segment; what reports read.

    `segment` is "" for the totals, else "<attribute>=<value>". A key may have a row
    per `shard` (api.counters): a count is the sum over them.
    """

    __tablename__ = "response_rollups"

    survey_id: Mapped[str] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    segment: Mapped[str] = mapped_column(String(200), primary_key=True)
    score: Mapped[int] = mapped_column(Integer, primary_key=True)
    shard: Mapped[int] = counters.shard_column()
    count: Mapped[int] = mapped_column(Integer, default=0)


class InvitationRollup(db.Model):
    """Invitations counted per survey and day, for response rates; summed over shards."""

    __tablename__ = "invitation_rollups"

    survey_id: Mapped[str] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = counters.shard_column()
    count: Mapped[int] = mapped_column(Integer, default=0)
