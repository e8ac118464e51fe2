"""Thousands of rows at once: INSERT without SQLAlchemy's per-row work, look-ups by
thousands of values without thousands of placeholders.

Given a list of rows, SQLAlchemy sends "insertmanyvalues": statements of 1,000 rows
each. On psycopg every one of them is a new query string with 10,000 placeholders,
which the driver parses in Python each time (1.6 s of the 2.9 s that 10,000 contacts
took on PostgreSQL); on both engines the parameters are also built row by row through
the compiled statement (~15 µs a row on our machines). Here every value goes through
its column type's own bind processor (once for a value that all rows share), and:

* PostgreSQL gets one statement, `INSERT ... SELECT ... FROM json_to_recordset(:rows)`,
  every row in one JSON parameter (an `unnest` of one text array per column took half
  the time of a pipelined executemany, and this half of that again);
* SQLite gets the one-row statement, compiled once, in sqlite3's `executemany`,
  which loops in C.

Only for plain INSERTs (ON CONFLICT DO NOTHING allowed) of rows that name every
column the statement binds: column defaults are not evaluated here, and no rows come
back (no RETURNING). Anything else goes through `session.execute` as usual.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from itertools import repeat

from sqlalchemy import (
    ColumnElement,
    Insert,
    Text,
    any_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import CursorResult

from api.extensions import db

FEW_ROWS = 50


def insert_many(statement: Insert, rows: list[dict], shared: dict | None = None) -> int | None:
    """Execute `statement` for each row; `shared` holds the values every row has.

    Returns how many rows were written (fewer than given where ON CONFLICT DO
    NOTHING skipped some), so a caller needs no read-back to learn that all were;
    None where SQLAlchemy does not say: a few rows of an INSERT on a mapped class
    go through the ORM's bulk insert, whose result has no row count.
    """
    if not rows:
        return 0
    shared = shared or {}
    if len(rows) < FEW_ROWS:
        # SQLAlchemy's own executemany, whose compiled form it keeps: the path below
        # compiles the statement on each call, which pays only over many rows (a
        # click's one event took 0.6 ms more that way).
        return _written(db.session.execute(statement, [row | shared for row in rows], **_COUNTED))
    keys = [*rows[0], *shared]
    connection = db.session.connection()
    dialect = connection.dialect
    # As for an executemany: no implicit RETURNING of the primary key.
    compiled = statement.compile(dialect=dialect, column_keys=keys, for_executemany=True)
    names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
    columns = statement.table.c
    if (
        not rows[0]  # nothing of their own: no column to unpack or gather
        or compiled.effective_returning
        or set(names) != set(keys)
        or any(name not in columns or not compiled.binds[name].required for name in names)
    ):
        return _written(db.session.execute(statement, [row | shared for row in rows], **_COUNTED))
    if dialect.name == "postgresql":
        return _insert_json(statement, rows, shared)
    return _executemany(connection, compiled, names, rows, shared)


# Without it psycopg's rowcount of an INSERT is -1 through SQLAlchemy.
_COUNTED = {"execution_options": {"preserve_rowcount": True}}


def _written(result) -> int | None:
    # An executemany's rowcount is the sum over its rows on both of our drivers.
    return result.rowcount if isinstance(result, CursorResult) else None


def _insert_json(statement: Insert, rows: list[dict], shared: dict) -> int:
    """PostgreSQL: every varying value in one JSON document, unpacked by the server.

    `json_to_recordset` reads each row's fields with their column types. Text arrays
    (`unnest`) had psycopg escape every element with a regex in Python (0.4 s of
    a batch of 10,000 invitations); `json.dumps` is C.
    """
    columns = statement.table.c
    dialect = db.session.get_bind().dialect
    varying = [name for name in rows[0] if name not in shared]
    processors = {}
    for name in varying:
        processor = columns[name].type.bind_processor(dialect)
        if processor is not None and not isinstance(
            columns[name].type.dialect_impl(dialect), JSONB
        ):
            processors[name] = processor
    if processors:
        rows = [
            {
                name: processors[name](row[name]) if name in processors else row[name]
                for name in varying
            }
            for row in rows
        ]
    # Rows without a value to convert go as they are: a field the recordset does not
    # name is ignored by it.
    document = json.dumps(rows, default=_json_value, separators=(",", ":"))
    # Names and types come from our own table definitions, never from input.
    fields = ", ".join(
        f'"{name}" {columns[name].type.dialect_impl(dialect).compile(dialect=dialect)}'
        for name in varying
    )
    source = text(f"json_to_recordset(CAST(:rows AS json)) AS r({fields})").bindparams(
        rows=document
    )
    values = [literal_column(f'r."{name}"') for name in varying]
    values += [literal(value, columns[name].type) for name, value in shared.items()]
    return _written(
        db.session.execute(
            statement.from_select([*varying, *shared], select(*values).select_from(source)),
            **_COUNTED,
        )
    )


def _json_value(value):
    """Datetimes and dates as ISO 8601, which PostgreSQL reads for their columns."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot go into a JSON row")


def _executemany(connection, compiled, names: list[str], rows: list[dict], shared: dict) -> int:
    dialect = connection.dialect
    columns = compiled.statement.table.c
    processors = {}
    for name in names:
        processor = columns[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    # Column by column: each column's values are gathered, and converted, in one pass
    # (`map` calls a processor from C's loop), and `zip` makes the rows: for 10,000
    # invitation rows, 3 ms where a Python loop over rows and slots took 8 ms.
    columns_in_order = []
    for name in names:
        processor = processors.get(name)
        if name in shared:
            value = shared[name]
            columns_in_order.append(repeat(value if processor is None else processor(value)))
        else:
            values = [row[name] for row in rows]
            columns_in_order.append(values if processor is None else map(processor, values))
    # Ends with the rows' own columns (there is one: see `insert_many`), not the repeats.
    parameters = list(zip(*columns_in_order, strict=False))
    if not compiled.positional:  # the driver's own form: a tuple (qmark), else a mapping
        parameters = [dict(zip(names, values, strict=True)) for values in parameters]
    return _written(connection.exec_driver_sql(compiled.string, parameters))


def matching(column, values: list) -> Iterator[ColumnElement[bool]]:
    """The condition that picks the rows whose `column` (text) is one of `values`.

    One parameter on either engine: `column = ANY(:array)` on PostgreSQL, and
    `column IN (SELECT value FROM json_each(:json))` on SQLite. An IN list of
    thousands is thousands of placeholders for SQLAlchemy to render one by one (2.5 s
    of a batch of 100,000 invitations on SQLite) and psycopg to parse (a quarter of
    a second for 10,000 ids). A generator, so callers loop over it as they would
    over slices.
    """
    if not values:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        return
    listed = func.json_each(bindparam(None, json.dumps(list(values)), type_=Text))
    yield column.in_(select(literal_column("value")).select_from(listed))


@contextmanager
def each_statement_planned() -> Iterator[None]:
    """On PostgreSQL, psycopg prepares none of the statements run inside: each is
    planned for its own parameters.

    psycopg prepares a statement run five times, and PostgreSQL then plans it once for
    any parameters: `external_id = ANY($1)` is no longer hashed and compares every
    contact of the workspace with every id given (16 s per 2,000 rows at 100,000
    contacts). Work that runs the same look-ups chunk after chunk (an import, a batch
    of invitations) runs each chunk inside this. `SET LOCAL plan_cache_mode =
    force_custom_plan` did it for the whole transaction, foreign key checks
    included: each of the three per invitation was planned again, and a batch of
    30,000 invitations took 24 s in the worker instead of 5.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    # psycopg's own switch (None: never prepare), on this transaction's connection.
    driver = db.session.connection().connection.driver_connection
    threshold, driver.prepare_threshold = driver.prepare_threshold, None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold
