from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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
