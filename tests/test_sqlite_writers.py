"""SQLite writers queue on the kernel lock beside the database, not in the busy handler."""

import sqlite3
import threading
import time

import pytest

from api.sqlite_writers import QueuedConnection, lock_path


def connect(path, busy_timeout: float = 5.0) -> sqlite3.Connection:
    # As the app connects: the driver begins a write transaction with BEGIN IMMEDIATE.
    connection = sqlite3.connect(
        path,
        timeout=busy_timeout,
        isolation_level="IMMEDIATE",
        factory=QueuedConnection,
        check_same_thread=False,
    )
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "queue.db"
    setup = connect(path)
    setup.execute("CREATE TABLE t (x INTEGER)")
    setup.commit()
    setup.close()
    return path


def test_a_writer_waits_for_the_one_writing_longer_than_its_busy_timeout(database):
    """With a busy timeout of 50 ms a writer would fail after 50 ms behind one that
    writes for 400 ms; queued on the kernel lock, it waits its turn and writes."""
    first, second = connect(database), connect(database, busy_timeout=0.05)
    first.execute("INSERT INTO t VALUES (1)")  # holds the write lock until its commit
    outcome = {}

    def write():
        try:
            second.execute("INSERT INTO t VALUES (2)")
            second.commit()
            outcome["committed_at"] = time.monotonic()
        except sqlite3.OperationalError as error:
            outcome["error"] = str(error)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.4)
    released_at = time.monotonic()
    first.commit()
    writer.join(5)
    assert "error" not in outcome
    assert outcome["committed_at"] >= released_at
    assert [row[0] for row in first.execute("SELECT x FROM t ORDER BY x")] == [1, 2]


def test_readers_do_not_queue_behind_a_writer(database):
    writer, reader = connect(database), connect(database, busy_timeout=0.05)
    writer.execute("INSERT INTO t VALUES (1)")
    started = time.monotonic()
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)  # WAL: last commit
    assert time.monotonic() - started < 1
    writer.rollback()


def test_the_lock_is_released_by_rollback_and_by_a_failed_statement(database):
    first, second = connect(database), connect(database, busy_timeout=0.05)
    first.execute("INSERT INTO t VALUES (1)")
    first.rollback()
    with pytest.raises(sqlite3.OperationalError):
        first.execute("INSERT INTO missing VALUES (1)")  # fails before any transaction
    second.execute("INSERT INTO t VALUES (2)")  # would block forever if either kept it
    second.commit()
    assert second.execute("SELECT x FROM t").fetchall() == [(2,)]


def test_a_thread_holding_the_lock_does_not_wait_for_itself(database):
    """A second connection of the same thread gets SQLite's own answer (busy after its
    timeout), not a wait on a lock its own thread holds."""
    first, second = connect(database), connect(database, busy_timeout=0.05)
    first.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("INSERT INTO t VALUES (2)")
    first.commit()
    second.execute("INSERT INTO t VALUES (3)")
    second.commit()


def test_the_lock_file_sits_beside_the_database_and_memory_has_none(tmp_path):
    assert lock_path(str(tmp_path / "a.db")) == f"{tmp_path / 'a.db'}-writers"
    assert lock_path(f"file:{tmp_path / 'a.db'}?mode=rwc") == f"{tmp_path / 'a.db'}-writers"
    assert lock_path(":memory:") is None
    connect(":memory:").execute("CREATE TABLE t (x)")  # no lock file, no error


def test_the_app_connects_through_the_queue(app):
    from api.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert isinstance(connection.connection.dbapi_connection, QueuedConnection)
