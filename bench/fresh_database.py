"""Databases for the benchmarks: scratch ones, and a fresh migrated one for a scaling
benchmark with clean-up of what it made.

`sqlite_database` and `postgres_database` make an empty scratch database and drop it
afterwards; `on_each_engine` runs a benchmark on one of each (PostgreSQL when asked).

`fresh_database` is a temporary SQLite file, or with `postgres` the database of
DATABASE_URL, which outlives the run: the workspaces the benchmark made (listed in
`made`) are deleted at the end, their rows with them.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url

import config
from api import create_app
from api.extensions import db
from api.workspaces.models import Workspace


@contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory(prefix="flipfunnel-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_database(prefix: str = "flipfunnel_bench"):
    """A scratch database next to DATABASE_URL's, named `<prefix>_<random>`, dropped afterwards."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("--postgres needs DATABASE_URL, e.g. postgresql://postgres@127.0.0.1:5432/test")
    server = make_url(config.database_uri(url, ""))
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def engine_options(doc: str) -> argparse.ArgumentParser:
    """The options of a benchmark run on SQLite and, with --postgres, on PostgreSQL too;
    its description is the first paragraph of `doc` (the module's docstring)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="also run on DATABASE_URL")
    return parser


def on_each_engine(
    postgres: bool, run: Callable[[str, str], bool], prefix: str = "flipfunnel_bench"
) -> int:
    """`run(uri, engine)` on a scratch SQLite database, then with `postgres` on a scratch
    PostgreSQL one named after `prefix`; the exit code: 0 when every run passed."""
    ok = True
    with sqlite_database() as uri:
        ok = run(uri, "sqlite") and ok
    if postgres:
        with postgres_database(prefix) as uri:
            ok = run(uri, "postgresql") and ok
    return 0 if ok else 1


@contextmanager
def fresh_database(postgres: bool, prefix: str, **settings) -> Iterator[list[str]]:
    """Inside an app context on a migrated database; yields the list to add made
    workspace ids to."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        overrides = {"ENV_NAME": "testing", **settings}
        if not postgres:
            overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app(overrides)
        with app.app_context():
            print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
            flask_migrate.upgrade()
            made: list[str] = []
            try:
                yield made
            finally:
                db.session.rollback()
                if made:
                    db.session.execute(delete(Workspace).where(Workspace.id.in_(made)))
                    db.session.commit()
