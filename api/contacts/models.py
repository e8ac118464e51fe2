from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.database import JSONType, UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id

STAGES = ("lead", "trial", "customer", "churned")

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
    attributes: Mapped[dict] = mapped_column(JSONType, default=dict)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None
