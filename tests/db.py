"""Reads of the test database that many test modules make."""

from sqlalchemy import func, select

from api.events.models import Event
from api.extensions import db


def count(app, model, *where, **equal) -> int:
    """Rows of `model` matching the `where` clauses and `column=value` pairs, in a fresh context."""
    with app.app_context():
        statement = select(func.count()).select_from(model).where(*where).filter_by(**equal)
        return db.session.scalar(statement)


def event_types(app, *where, **equal) -> list[str]:
    """The types of the events matching, in the order they were written."""
    with app.app_context():
        statement = select(Event.type).where(*where).filter_by(**equal).order_by(Event.id)
        return list(db.session.scalars(statement))
