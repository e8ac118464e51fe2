"""What reports keep of their own: churn after a score, counted once a window has passed."""

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.extensions import db


class ScoreChurnRollup(db.Model):
    """Customers' responses per survey, month and category, and how many of those
    customers left within the churn window after answering; what the retention report
    reads.

    Each day is added once, when the window of its last response has passed
    (api/reports/score_churn.py), so the report reads months x categories rows;
    `score_churn_progress` says up to which day a month is counted.
    """

    __tablename__ = "score_churn_rollups"

    survey_id: Mapped[str] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    responses: Mapped[int] = mapped_column(Integer, default=0)
    churned: Mapped[int] = mapped_column(Integer, default=0)


class ScoreChurnProgress(db.Model):
    """The last day of a survey's responses counted in `score_churn_rollups`."""

    __tablename__ = "score_churn_progress"

    survey_id: Mapped[str] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    closed_through: Mapped[date] = mapped_column(Date)
