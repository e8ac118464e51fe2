from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.database import JSONType, UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id

ERASED_PREFIX = "erased:"


def external_id_problem(external_id: str) -> str | None:
    """Why an external id cannot be used, or None.

    Erased contacts keep `erased:<id>` so the partner's id is free again; a
    partner id of that form would collide with them. A `/` could never be
    addressed in /v1/contacts/{external_id}.
    """
    if not 1 <= len(external_id) <= 255:
        return "An external id has 1 to 255 characters."
    if "/" in external_id:
        return "An external id cannot contain `/`."
    if external_id.startswith(ERASED_PREFIX):
        return f"External ids starting with `{ERASED_PREFIX}` are reserved."
    return None


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_contacts_workspace_email", "workspace_id", "email"),
        Index("ix_contacts_workspace_updated", "workspace_id", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("con"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(16))
    # Kept with the stage by api/contacts/stages.py (see api/lifecycle.py).
    stage_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_customer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    customer_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attributes: Mapped[dict] = mapped_column(JSONType, default=dict)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None


class StageChange(db.Model):
    """One change of a contact's lifecycle stage: from what, to what, when, and by what."""

    __tablename__ = "stage_changes"
    __table_args__ = (Index("ix_stage_changes_contact", "contact_id", "changed_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("stg"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str | None] = mapped_column(String(16))
    # api, import, stripe, erasure, ...: what made the change.
    source: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StageRollup(db.Model):
    """Customers joining and leaving per workspace, cohort and month; what retention reads.

    Moved by every stage change in its transaction (api/lifecycle.py `Movement` says
    by how much), so the retention report reads months x cohorts rows whatever the
    number of contacts or changes. `cohort` and `month` are first days of months.
    """

    __tablename__ = "stage_rollups"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    cohort: Mapped[date] = mapped_column(Date, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    new: Mapped[int] = mapped_column(Integer, default=0)
    joined: Mapped[int] = mapped_column(Integer, default=0)
    left: Mapped[int] = mapped_column(Integer, default=0)
    churned: Mapped[int] = mapped_column(Integer, default=0)
