"""Database set-up shared by every area: engine pragmas, UTC times, one commit per request.

A request is one unit of work: services add and flush, and the request commits
once at its end when it succeeded (status < 400) or rolls back otherwise. So an
event row, an idempotency record and the change they describe land together.
"""

import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache

import psycopg
from sqlalchemy import JSON, DateTime, bindparam, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.types import TypeDecorator

from api.extensions import db
from api.sqlite_writers import QueuedConnection


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
    uri = settings["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options["connect_args"] = {
            # The driver's timeout is SQLite's busy timeout: wait for a writer, don't fail.
            "timeout": settings["SQLITE_BUSY_TIMEOUT_MS"] / 1000,
            # The BEGIN the driver sends before a transaction's first write takes the
            # write lock at once (or waits for it): a transaction that read first and
            # then found another writer's commit in between would fail instead, at once.
            # Reads before it run outside, so a read-only request never takes the lock.
            "isolation_level": "IMMEDIATE",
            # ... and queues for that lock on a file lock, not in SQLite's busy handler.
            "factory": QueuedConnection,
        }
        # A file on this machine cannot drop a connection: no ping before each use.
        options["pool_pre_ping"] = False
    elif uri.startswith("postgresql+psycopg"):
        connect_args = options.get("connect_args", {})
        options["connect_args"] = {**connect_args, **_postgres_timeouts(settings)}
    return options


def _postgres_timeouts(settings: dict) -> dict:
    """No request waits on a database that does not answer, whichever way it fails.

    connect_timeout bounds connecting (psycopg's default is 130 s); statement_timeout
    makes a live server give up on a statement (SQLSTATE 57014); a server that
    stops answering altogether (a hung host, a stuck proxy) never sends that, so
    the client gives up too, a second later (`read_timeout`, see BoundedConnection).
    Both are 503s to the caller and below gunicorn's 30 s worker timeout.
    """
    statement = settings["DATABASE_STATEMENT_TIMEOUT_SECONDS"]
    arguments = {"connect_timeout": settings["DATABASE_CONNECT_TIMEOUT_SECONDS"]}
    if statement > 0:
        arguments["options"] = f"-c statement_timeout={round(statement * 1000)}"
        arguments[READ_TIMEOUT] = statement + 1
    return arguments


# A connect argument for us, not for libpq: taken out by _connect_bounded.
READ_TIMEOUT = "flipfunnel_read_timeout"


class BoundedConnection(psycopg.Connection):
    """psycopg's connection, giving up on a server silent for `read_timeout` seconds.

    Every wait of psycopg for the server (a statement, a fetch, a commit, the
    pool's ping) goes through `wait`, so its deadline bounds them all. The
    connection is closed when it passes: its state mid-protocol is unknown, and
    a closed connection is what SQLAlchemy recognises as a disconnect (the pool
    drops it and its siblings, and reconnects when the server is back).
    """

    read_timeout: float | None = None

    def wait(self, gen, interval=0.1, timeout=None):
        timeout = self.read_timeout if timeout is None else timeout
        try:
            return super().wait(gen, interval, timeout)
        except psycopg.errors._WaitTimeout:  # psycopg's own exception for its timeout
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"the database did not answer within {timeout:g} s"
            ) from None


def _connect_bounded(dialect, _record, cargs, cparams):
    read_timeout = cparams.pop(READ_TIMEOUT, None)
    if dialect.driver != "psycopg" or read_timeout is None:
        return None  # SQLAlchemy connects as usual
    connection = BoundedConnection.connect(*cargs, **cparams)
    connection.read_timeout = read_timeout
    return connection


@contextmanager
def without_timeouts(connection):
    """No statement timeout or read deadline on `connection` (a migration building an
    index on a large table may rightly take minutes). The connection is discarded
    afterwards, so no request ever gets it."""
    dbapi_connection = connection.connection.dbapi_connection
    if not isinstance(dbapi_connection, psycopg.Connection):
        yield
        return
    connection.exec_driver_sql("SET statement_timeout = 0")
    connection.commit()  # the SET began a transaction the work must not run inside
    dbapi_connection.read_timeout = None
    try:
        yield
    finally:
        connection.invalidate()


def _configure_sqlite(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
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


def plain_read(statement, params: dict):
    """The first row of a read that need not see this request's writes, or None.

    On a pooled connection of its own in autocommit, outside the request's session:
    on most widget page views this read is all the database work there is, and a
    session transaction around it (its begin, its commit, and on PostgreSQL BEGIN and
    ROLLBACK sent to the server) cost more than the read."""
    with _autocommit(db.engine).connect() as connection:
        return connection.execute(statement, params).first()


@lru_cache(maxsize=8)
def _autocommit(engine: Engine) -> Engine:
    """PostgreSQL: an Engine sharing `engine`'s pool, each checkout in autocommit (reset at
    checkin), so the read is one round trip, without BEGIN and ROLLBACK. SQLite's driver
    begins no transaction for a SELECT anyway, and its isolation level is a PRAGMA sent
    at each checkout and checkin: two more statements than the read itself."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


# PostgreSQL's "try the transaction again" errors: a serialisation failure, a deadlock.
RETRYABLE_SQLSTATES = ("40001", "40P01")


def retryable(error: BaseException) -> bool:
    """Whether `error` says the unit of work lost a race and would succeed run again."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def commit_request(response):
    end_work(response.status_code < 400)
    return response


def init_app(app) -> None:
    if not event.contains(Engine, "connect", _configure_sqlite):
        event.listen(Engine, "connect", _configure_sqlite)
    if not event.contains(Engine, "do_connect", _connect_bounded):
        event.listen(Engine, "do_connect", _connect_bounded)
    # Registered before the other after_request hooks, so it runs after them (Flask runs
    # them in reverse): everything a request adds to the session is in by now.
    app.after_request(commit_request)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def dialect_insert(model):
    """The INSERT of the engine in use, which knows `ON CONFLICT` on both of ours."""
    return _insert_of(_dialect())(model)


def insert_ignore(model, values: dict, conflict_columns: list[str] | None = None) -> bool:
    """INSERT unless it would break a unique constraint; True if inserted.

    `conflict_columns` names the one constraint to yield to; None yields to any.
    Both engines speak `ON CONFLICT DO NOTHING`, which settles races in the
    database instead of in a read-then-write window.
    """
    statement = _insert_ignore(_dialect(), model, tuple(conflict_columns or ()))
    # Without preserve_rowcount an INSERT's rowcount is -1 on psycopg: never "inserted".
    result = db.session.execute(statement, _columns(model, values), execution_options=_ROWCOUNT)
    return result.rowcount == 1


_ROWCOUNT = {"preserve_rowcount": True}


def inserted(model, values: dict):
    """The instance of a row this transaction has just inserted, without reading it back.

    `values` must name every column: one left out would be loaded on first use.
    """
    instance = model(**values)
    make_transient_to_detached(instance)
    db.session.add(instance)
    return instance


def upsert_add(model, keys: dict, column: str, delta: int) -> None:
    """Add `delta` to a counter row, creating it at `delta` if missing, in one statement."""
    statement = _upsert_add(_dialect(), model, tuple(keys), column)
    db.session.execute(statement, _columns(model, {**keys, column: delta}))


def upsert_if_older(
    model, values: dict, key_columns: list[str], column: str, at_or_before: datetime
) -> bool:
    """INSERT the row, or overwrite the one with the same `key_columns` with `values` only
    if its `column` is at or before `at_or_before`; True if written.

    One statement, so two writers racing for a stale row get one write between them.
    """
    statement = _upsert_if_older(_dialect(), model, tuple(key_columns), tuple(values), column)
    parameters = {**_columns(model, values), _AT_OR_BEFORE: at_or_before}
    result = db.session.execute(statement, parameters, execution_options=_ROWCOUNT)
    return result.rowcount == 1


# The statements above are built once per table and shape, and their values bound at
# execution: SQLAlchemy then finds the compiled form by the statement's remembered
# cache key, where a statement built per call with its values had to be walked whole
# to make that key (about a third of a widget answer's time, which makes three
# counter upserts and two such inserts).


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _insert_of(dialect: str):
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


@lru_cache(maxsize=256)
def _insert_ignore(dialect: str, model, conflict_columns: tuple[str, ...]):
    statement = _insert_of(dialect)(model.__table__)
    keys = _column_keys(model)
    return statement.on_conflict_do_nothing(
        index_elements=[keys[name] for name in conflict_columns] or None
    )


@lru_cache(maxsize=256)
def _upsert_add(dialect: str, model, key_columns: tuple[str, ...], column: str):
    statement = _insert_of(dialect)(model.__table__)
    keys = _column_keys(model)
    counted = keys[column]
    return statement.on_conflict_do_update(
        index_elements=[keys[name] for name in key_columns],
        set_={counted: model.__table__.c[counted] + statement.excluded[counted]},
    )


_AT_OR_BEFORE = "upsert_at_or_before"


@lru_cache(maxsize=256)
def _upsert_if_older(
    dialect: str, model, key_columns: tuple[str, ...], value_columns: tuple[str, ...], column: str
):
    statement = _insert_of(dialect)(model.__table__)
    keys = _column_keys(model)
    overwritten = [keys[name] for name in value_columns if name not in key_columns]
    return statement.on_conflict_do_update(
        index_elements=[keys[name] for name in key_columns],
        set_={name: statement.excluded[name] for name in overwritten},
        where=model.__table__.c[keys[column]] <= bindparam(_AT_OR_BEFORE),
    )


@lru_cache(maxsize=256)
def _column_keys(model) -> dict[str, str]:
    """Attribute name -> table column key (`Response.meta` is the column "metadata")."""
    return {attribute.key: attribute.columns[0].key for attribute in model.__mapper__.column_attrs}


def _columns(model, values: dict) -> dict:
    keys = _column_keys(model)
    return {keys[name]: value for name, value in values.items()}


def chunked(items: list, size: int = 2000):
    """Slices small enough for an IN (...) list on every engine."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
