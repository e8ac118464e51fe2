"""One-row reads for the widget's hottest calls, compiled once, run on the bare driver.

Every page view of a customer's site reads a contact and its throttles, and every
retried answer reads its response. Through SQLAlchemy's Connection each such read
cost four times the driver's own execute: checking out a Connection, building the
statement's cache key, the result machinery. A `PreparedRead` compiles its SELECT
once per database dialect and runs it on a pooled driver connection of its own,
outside the request's session. Values still pass through SQLAlchemy's own bind and
result processors for each column type (UTC datetimes, JSON), so what comes back
is what the ORM would give. Only for reads: it never sees the session's unflushed
or uncommitted writes.
"""

from sqlalchemy import Dialect, Select

from api.extensions import db


class _Compiled:
    def __init__(self, statement: Select, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positions = compiled.positiontup if compiled.positional else None
        # PostgreSQL drivers wrap a SELECT in BEGIN and the pool ends it with ROLLBACK:
        # three round trips to the server where autocommit makes one. (SQLite's driver
        # begins no transaction for a SELECT.)
        self.autocommit = dialect.name == "postgresql"
        # Each bind parameter: its name, whether the caller must give it (a bindparam()
        # without a value), its value otherwise, and what the driver needs done to a value.
        self.binds = [
            (
                name,
                bind.required,
                None if bind.required else bind.effective_value,
                bind.type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name, bind in compiled.binds.items()
        ]
        # dialect_impl: a type with variants (JSON, JSONB on PostgreSQL) reads as its variant.
        self.results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]


class PreparedRead:
    def __init__(self, statement: Select):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def first(self, params: dict) -> tuple | None:
        """The first row for `params` (every bind parameter named), or None."""
        engine = db.engine
        compiled = self._compiled.get(engine.dialect.name)
        if compiled is None:
            compiled = self._compiled[engine.dialect.name] = _Compiled(
                self.statement, engine.dialect
            )
        values = {}
        for name, required, fixed, process in compiled.binds:
            value = params[name] if required else params.get(name, fixed)
            values[name] = value if process is None else process(value)
        arguments = (
            values if compiled.positions is None else [values[n] for n in compiled.positions]
        )
        connection = engine.raw_connection()
        try:
            if compiled.autocommit:
                connection.driver_connection.autocommit = True
            cursor = connection.cursor()
            try:
                cursor.execute(compiled.sql, arguments)
                row = cursor.fetchone()
            finally:
                cursor.close()
                if compiled.autocommit:
                    connection.driver_connection.autocommit = False
        finally:
            connection.close()  # back to the pool
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(compiled.results, row, strict=True)
        )
