"""SQLite writers queue on the kernel lock beside the database, not in the busy handler."""

import fcntl
import gc
import os
import sqlite3
import threading
import time

import pytest

from api.sqlite_writers import QueuedConnection, lock_path


def connect(path, queue_for: float = 5.0, busy_ms: int | None = None) -> sqlite3.Connection:
    """As the app connects: the driver begins a write transaction with BEGIN IMMEDIATE.

    `queue_for` is the driver's timeout (how long a writer queues, and SQLite's busy
    timeout); `busy_ms` sets SQLite's busy timeout apart, to tell the two waits apart."""
    connection = sqlite3.connect(
        path,
        timeout=queue_for,
        isolation_level="IMMEDIATE",
        factory=QueuedConnection,
        check_same_thread=False,
    )
    connection.execute("PRAGMA journal_mode=WAL")
    if busy_ms is not None:
        connection.execute(f"PRAGMA busy_timeout={busy_ms}")
    return connection


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "queue.db"
    setup = connect(path)
    setup.execute("CREATE TABLE t (x INTEGER)")
    setup.commit()
    setup.close()
    return path


def in_thread(work) -> tuple[threading.Thread, dict]:
    outcome = {}

    def run():
        try:
            work()
            outcome["done_at"] = time.monotonic()
        except sqlite3.OperationalError as error:
            outcome["error"] = str(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_writer_waits_its_turn_in_the_queue_not_in_the_busy_handler(database):
    """SQLite's busy handler would give up after 20 ms behind a writer that writes
    for 400 ms; queued on the file lock, the second writer waits its turn and writes."""
    first, second = connect(database), connect(database, busy_ms=20)
    first.execute("INSERT INTO t VALUES (1)")  # holds the write lock until its commit

    def write():
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()

    writer, outcome = in_thread(write)
    time.sleep(0.4)
    released_at = time.monotonic()
    first.commit()
    writer.join(5)
    assert "error" not in outcome
    assert outcome["done_at"] >= released_at
    assert [row[0] for row in first.execute("SELECT x FROM t ORDER BY x")] == [1, 2]


def test_a_writer_stops_queueing_after_its_timeout_and_sqlite_decides(database):
    """A queue lock held by a process that writes nothing (stopped, say) holds a
    writer back for its timeout, then SQLite lets it write."""
    holder = os.open(lock_path(str(database)), os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        writer = connect(database, queue_for=0.2)
        writer.execute("INSERT INTO t VALUES (1)")
        writer.commit()
        assert writer.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        os.close(holder)


def test_readers_do_not_queue_behind_a_writer(database):
    writer, reader = connect(database), connect(database, queue_for=0.05)
    writer.execute("INSERT INTO t VALUES (1)")
    started = time.monotonic()
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)  # WAL: last commit
    assert time.monotonic() - started < 1
    writer.rollback()


def test_the_lock_is_released_by_rollback_and_by_a_failed_statement(database):
    first, second = connect(database), connect(database, queue_for=0.05)
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
    first, second = connect(database), connect(database, queue_for=0.05)
    first.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("INSERT INTO t VALUES (2)")
    first.commit()
    second.execute("INSERT INTO t VALUES (3)")
    second.commit()


def test_a_connection_dropped_in_a_transaction_frees_the_queue_and_its_thread(database):
    dropped = connect(database)
    dropped.execute("INSERT INTO t VALUES (1)")
    del dropped  # never committed, rolled back or closed
    gc.collect()
    writer = connect(database, queue_for=0.05, busy_ms=20)
    writer.execute("INSERT INTO t VALUES (2)")
    assert writer._queued is not None  # it queued: its thread was not left marked
    writer.commit()
    assert writer.execute("SELECT x FROM t").fetchall() == [(2,)]


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
