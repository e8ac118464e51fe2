"""Log lines that hold no personal data, whatever failed.

An exception's message can quote what a request carried: PostgreSQL's DETAIL
("Failing row contains (...)") and CONTEXT (the JSON being written) hold email
addresses and phone numbers in spite of `hide_parameters`, a KeyError names the
key it missed, a ValueError the text it could not read. So an error is logged by
what it is, never by what it says: its class and, for a database error, its
SQLSTATE and the constraint and table it concerns. A traceback keeps its frames
(file, line, function, the line of code) and drops every message.

`SafeFormatter` applies this to every record it formats, ours and other
libraries' (SQLAlchemy's pool, psycopg) alike; `init_app` gives the process's
root logger a handler with it, and gunicorn.conf.py puts it on gunicorn's log.
"""

import logging
import sys
import traceback

from flask.logging import default_handler

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def describe(error: BaseException) -> str:
    """`IntegrityError(CheckViolation) sqlstate=23514 constraint=ck_x table=contacts`.

    A DBAPI error wrapped by SQLAlchemy is named with the driver's class; the
    driver's diagnostics give the SQLSTATE (psycopg) or the error name (sqlite3).
    """
    name = type(error).__name__
    driver_error = getattr(error, "orig", None)
    if isinstance(driver_error, BaseException):
        name = f"{name}({type(driver_error).__name__})"
    else:
        driver_error = error
    parts = [name]
    sqlstate = getattr(driver_error, "sqlstate", None) or getattr(
        driver_error, "sqlite_errorname", None
    )
    if sqlstate:
        parts.append(f"sqlstate={sqlstate}")
    diag = getattr(driver_error, "diag", None)
    for field in ("constraint_name", "table_name"):
        value = getattr(diag, field, None)
        if value:
            parts.append(f"{field.removesuffix('_name')}={value}")
    return " ".join(parts)


def _chain(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it was raised from or during, oldest first."""
    found: list[BaseException] = []
    while error is not None and all(error is not seen for seen in found):
        found.append(error)
        cause = error.__cause__
        error = cause if cause is not None or error.__suppress_context__ else error.__context__
    return found[::-1]


def traceback_text(error: BaseException) -> str:
    """The traceback of `error` (and of what it was raised from), without messages."""
    blocks = []
    for link in _chain(error):
        frames = traceback.StackSummary.extract(traceback.walk_tb(link.__traceback__))
        blocks.append(
            "Traceback (most recent call last):\n" + "".join(frames.format()) + describe(link)
        )
    return "\n\nwhich led to\n\n".join(blocks)


class SafeFormatter(logging.Formatter):
    """A Formatter whose records name exceptions by class, never by message."""

    def formatException(self, ei) -> str:
        return traceback_text(ei[1]) if ei[1] is not None else ""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, BaseException) for arg in record.args
        ):
            record.args = tuple(
                describe(arg) if isinstance(arg, BaseException) else arg for arg in record.args
            )
        # exc_text is a cache another handler's formatter may have filled with messages.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached


def protect(logger: logging.Logger) -> None:
    """Give each of `logger`'s handlers a SafeFormatter with the same layout."""
    for handler in logger.handlers:
        if not isinstance(handler.formatter, SafeFormatter):
            current = handler.formatter or logging.Formatter()
            handler.setFormatter(SafeFormatter(current._fmt, current.datefmt))


def init_app(app) -> None:
    """Every log record of this process goes through a SafeFormatter.

    The app's logger and other libraries' propagate to the root logger, which
    gets one stderr handler unless something (a test runner) configured it.
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(SafeFormatter(FORMAT))
        root.addHandler(handler)
    app.logger.removeHandler(default_handler)
    if app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)
