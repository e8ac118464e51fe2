"""SQLite writers wait their turn on a file lock, not in SQLite's busy handler.

SQLite lets one connection write at a time. A connection that finds the write
lock taken calls its busy handler, which sleeps and tries again, sleeping
longer each time (1, 2, 5, 10, 15, 20, 25 ... 100 ms): it cannot know when the
lock is released. With several gunicorn workers writing at once, most of the
waiting was those sleeps, taken while the lock was already free: first widget
answers ran at about 90 a second, p50 over 300 ms, some past 2 s. Python's
sqlite3 module offers no way to set another busy handler.

So a connection takes an exclusive `flock` on a file beside the database
(`<database>-writers`) just before the statement that makes the driver begin a
write transaction, and drops it once that transaction has committed or rolled
back. Asking for it is one system call; a writer that finds it taken asks again
after 0.2 ms, then every 2 ms at most, so it starts within 2 ms of its turn.
SQLite's own lock still decides who writes; this one only orders the queue, so
a process that does not take it (the sqlite3 shell) is handled by the busy
handler, as before.

A wait is bounded (`flock` itself cannot time out): after the busy timeout the
connection was given (5 s by default) it stops queueing and leaves the wait to
SQLite, whose busy handler then waits as long again before "database is
locked", a 503. A holder that stopped (a worker paused in a debugger) delays
writers by twice the busy timeout at most; one that died released the lock with
its files.

The lock is per connection (each has its own open file), so the threads of a
threaded worker queue too. A thread already holding it through one connection
does not wait for it on another: that would wait on itself.
"""

import fcntl
import os
import sqlite3
import threading
import time

# The statements before which Python's sqlite3 module begins a transaction itself
# (with `isolation_level` set), and the explicit BEGIN.
_BEGINS_WRITE = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN")

# The threads holding a queue lock: a thread never waits for the lock it holds.
_holding_threads: set[int] = set()


def lock_path(database: str) -> str | None:
    """The queue's file for `database`, or None for a database only in memory."""
    if database.startswith("file:"):
        database = database[5:].partition("?")[0]
    if database in ("", ":memory:"):
        return None
    return f"{database}-writers"


class _Cursor(sqlite3.Cursor):
    def execute(self, sql, parameters=()):
        self.connection._before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection._after()

    def executemany(self, sql, seq_of_parameters):
        self.connection._before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection._after()


class QueuedConnection(sqlite3.Connection):
    """The driver's connection, queueing for the write lock (`connect(factory=...)`)."""

    def __init__(self, database, timeout=5.0, *args, **kwargs):
        super().__init__(database, timeout, *args, **kwargs)
        self._patience = timeout
        path = lock_path(os.fspath(database))
        self._queue = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path else None
        self._queued: int | None = None  # the thread that holds the queue lock

    def cursor(self, factory=_Cursor):
        return super().cursor(factory)

    # The shortcuts make their cursor in C, past `cursor` above.
    def execute(self, sql, parameters=()):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters):
        return self.cursor().executemany(sql, seq_of_parameters)

    def _before(self, sql: str) -> None:
        if self._queue is None or self._queued is not None or self.in_transaction:
            return
        if not sql.lstrip()[:7].upper().startswith(_BEGINS_WRITE):
            return
        thread = threading.get_ident()
        if thread in _holding_threads:
            return  # this thread holds it through another connection
        if not self._wait_turn():
            return  # waited long enough: SQLite's busy handler decides from here
        self._queued = thread
        _holding_threads.add(thread)

    def _wait_turn(self) -> bool:
        pause, deadline = 0.0002, None
        while True:
            try:
                fcntl.flock(self._queue, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                now = time.monotonic()
                deadline = deadline or now + self._patience
                if now >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def _after(self) -> None:
        # A transaction ended, or a statement that failed or ran in autocommit left none:
        # nothing for the others to wait for.
        if self._queued is not None and not self.in_transaction:
            self._release()

    def _release(self) -> None:
        _holding_threads.discard(self._queued)
        self._queued = None
        fcntl.flock(self._queue, fcntl.LOCK_UN)

    def commit(self):
        try:
            super().commit()
        finally:
            self._after()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._after()

    def __del__(self):
        # A connection dropped without close() must not keep the queue waiting, nor
        # leave its thread marked as holding the lock.
        if getattr(self, "_queued", None) is not None:
            _holding_threads.discard(self._queued)
        if getattr(self, "_queue", None) is not None:
            os.close(self._queue)
            self._queue = None

    def close(self):
        try:
            super().close()
        finally:
            if self._queued is not None:
                self._release()
            if self._queue is not None:
                os.close(self._queue)
                self._queue = None
