"""Databases the tests may wipe: only those whose name says they are for tests.

A test run drops every table of the database it is given. A slip of an exported
variable must not aim that at a real database, so the name is checked first,
and a missing test database is created rather than borrowed from elsewhere.
"""

import re

from sqlalchemy import create_engine, make_url, text

import config

# `test`, `flipfunnel_test`, `test_ci`, `app-test-2`: "test" as a whole word of the name.
_TEST_NAME = re.compile(r"(^|[_-])tests?([_-]|$)", re.IGNORECASE)


class NotATestDatabase(RuntimeError):
    pass


def is_test_name(name: str | None) -> bool:
    return bool(name) and _TEST_NAME.search(name) is not None


def test_database(url: str) -> str:
    """The SQLAlchemy URI of `url`'s database, created if missing; refused unless
    its name says it is for tests."""
    uri = make_url(config.database_uri(url, ""))
    if not is_test_name(uri.database):
        raise NotATestDatabase(
            f"refusing to use database {uri.database!r} for tests: its name must contain "
            "'test' as a word (test, flipfunnel_test, ...), because the suite wipes it"
        )
    maintenance = create_engine(uri.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": uri.database}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{uri.database}"'))
    finally:
        maintenance.dispose()
    return uri.render_as_string(hide_password=False)
