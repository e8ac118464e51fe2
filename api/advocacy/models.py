"""Advocacy settings, testimonials and their consent, review requests, opt-ins, asks and acts.

The rules that must hold under concurrency are constraints, settled with
`ON CONFLICT` rather than a read-then-write:

* one review request per response, and one testimonial per response;
* one ask record per contact and act (`advocacy_asks`), moved forward only when
  the cooldown has passed, so two channels asking at once cannot both ask;
* one opt-in per contact and act;
* an act that names what it was (a review request, a testimonial) is recorded once.

A testimonial cannot exist without its consent record: the wording the person
agreed to, when and through which channel are NOT NULL columns of the row.
"""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.database import JSONType, UTCDateTime, utcnow
from api.extensions import db
from api.ids import new_id

# Acts of advocacy a contact can agree to, be asked for and be credited with.
ACTS = ("testimonial", "review", "referral", "case_study", "reference_call", "advisory_board")
# Where an ask or a consent happened.
CHANNELS = ("page", "widget", "email", "api")
TESTIMONIAL_STATUSES = ("pending", "approved", "rejected")
REVIEW_ASK_VALUES = ("everyone", "off")


class AdvocacySettings(db.Model):
    """A workspace's advocacy settings; no row means the defaults."""

    __tablename__ = "advocacy_settings"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # "everyone" or "off": never a subset by score (see api/advocacy/settings.py).
    review_ask: Mapped[str] = mapped_column(String(16), default="everyone")
    # [{"id": "rd_...", "name": "G2", "url": "https://..."}], in the order shown.
    review_destinations: Mapped[list] = mapped_column(JSONType, default=list)
    ask_cooldown_days: Mapped[int] = mapped_column(Integer, default=90)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Testimonial(db.Model):
    __tablename__ = "testimonials"
    __table_args__ = (
        Index("ix_testimonials_workspace_status", "workspace_id", "status", "id"),
        Index("ix_testimonials_contact", "contact_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("tst"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    response_id: Mapped[str | None] = mapped_column(
        ForeignKey("responses.id", ondelete="SET NULL"), unique=True
    )
    survey_id: Mapped[str | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    # The response's score and survey kind when it was given, shown on the wall.
    score: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(8))
    # The person's own words and how they want to be named: never edited by moderation.
    text: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    # The consent record: the exact wording the person agreed to, when, and where.
    consent_text: Mapped[str] = mapped_column(Text)
    consent_channel: Mapped[str] = mapped_column(String(8))
    consent_locale: Mapped[str | None] = mapped_column(String(16))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TestimonialTag(db.Model):
    """A moderation tag, a row each so lists filter by tag in SQL on both engines."""

    __tablename__ = "testimonial_tags"

    testimonial_id: Mapped[str] = mapped_column(
        ForeignKey("testimonials.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class ReviewRequest(db.Model):
    """One ask for a public review, through one channel, with what came of it."""

    __tablename__ = "review_requests"
    __table_args__ = (
        Index("ix_review_requests_workspace_created", "workspace_id", "created_at"),
        Index("ix_review_requests_contact", "contact_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rr"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    response_id: Mapped[str | None] = mapped_column(
        ForeignKey("responses.id", ondelete="SET NULL"), unique=True
    )
    survey_id: Mapped[str | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    # The response's category when asked: the report shows that every category is asked.
    category: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_destination_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewClick(db.Model):
    __tablename__ = "review_clicks"
    __table_args__ = (Index("ix_review_clicks_request", "review_request_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rvc"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    review_request_id: Mapped[str] = mapped_column(
        ForeignKey("review_requests.id", ondelete="CASCADE")
    )
    destination_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdvocacyAsk(db.Model):
    """When a contact was last asked for an act, by any channel: the ask cap."""

    __tablename__ = "advocacy_asks"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    act: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(8))
    # The response the ask followed, so the page that asked can show it again.
    response_id: Mapped[str | None] = mapped_column(String(32))


class AdvocateOptIn(db.Model):
    """A contact agreed to be asked for an act of advocacy."""

    __tablename__ = "advocate_opt_ins"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    act: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))
    opted_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdvocacyAct(db.Model):
    """An act of advocacy done: a review left, a testimonial published, a reference call."""

    __tablename__ = "advocacy_acts"
    __table_args__ = (
        UniqueConstraint("act", "subject_id"),
        Index("ix_advocacy_acts_workspace_occurred", "workspace_id", "occurred_at"),
        Index("ix_advocacy_acts_contact", "contact_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("act"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    act: Mapped[str] = mapped_column(String(16))
    # What the act was, when we know it (a review request, a testimonial): counted once.
    subject_id: Mapped[str | None] = mapped_column(String(32))
    destination: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
