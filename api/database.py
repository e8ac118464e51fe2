"""Database set-up shared by every area: engine pragmas, UTC times, one commit per request.

A request is one unit of work: services add and flush, and the request commits
once at its end when it succeeded (status < 400) or rolls back otherwise. So an
event row, an idempotency record and the change they describe land together.
"""

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from api.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both engines (SQLite stores no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def engine_options(settings: dict) -> dict:
    options = dict(settings["SQLALCHEMY_ENGINE_OPTIONS"])
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The driver's timeout is SQLite's busy timeout: wait for a writer, don't fail.
        options["connect_args"] = {"timeout": settings["SQLITE_BUSY_TIMEOUT_MS"] / 1000}
        # A file on this machine cannot drop a connection: no ping before each use.
        options["pool_pre_ping"] = False
    return options


def _configure_sqlite(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def end_work(succeeded: bool) -> None:
    """Commit what this unit of work did, or roll it back.

    Work that never touched the database has nothing to end (and the hottest
    routes should not pay for it).
    """
    if not db.session.registry.has() or not db.session().in_transaction():
        return
    if succeeded:
        db.session.commit()
    else:
        db.session.rollback()


def commit_request(response):
    end_work(response.status_code < 400)
    return response


def init_app(app) -> None:
    if not event.contains(Engine, "connect", _configure_sqlite):
        event.listen(Engine, "connect", _configure_sqlite)
    # Registered before the other after_request hooks, so it runs after them (Flask runs
    # them in reverse): everything a request adds to the session is in by now.
    app.after_request(commit_request)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def dialect_insert(model):
    """The INSERT of the engine in use, which knows `ON CONFLICT` on both of ours."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(model)


def insert_ignore(model, values: dict, conflict_columns: list[str] | None = None) -> bool:
    """INSERT unless it would break a unique constraint; True if inserted.

    `conflict_columns` names the one constraint to yield to; None yields to any.
    Both engines speak `ON CONFLICT DO NOTHING`, which settles races in the
    database instead of in a read-then-write window.
    """
    statement = dialect_insert(model).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=conflict_columns)
    # Without preserve_rowcount an INSERT's rowcount is -1 on psycopg: never "inserted".
    options = {"preserve_rowcount": True}
    return db.session.execute(statement, execution_options=options).rowcount == 1


def upsert_add(model, keys: dict, column: str, delta: int) -> None:
    """Add `delta` to a counter row, creating it at `delta` if missing, in one statement."""
    statement = dialect_insert(model).values(**keys, **{column: delta})
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: getattr(model.__table__.c, column) + statement.excluded[column]},
    )
    db.session.execute(statement)


def chunked(items: list, size: int = 2000):
    """Slices small enough for an IN (...) list on every engine."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
