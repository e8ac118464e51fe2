"""Reads of the test database that many test modules make, and the statements sent to it."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, func, select

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


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """The SQL the app's engine sends while the block runs, in order (an executemany
    is one statement): what a test of "how many round trips" counts."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
