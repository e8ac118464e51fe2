"""A fresh migrated database for a scaling benchmark, and clean-up of what it made.

A temporary SQLite file, or with `postgres` the database of DATABASE_URL, which
outlives the run: the workspaces the benchmark made (listed in `made`) are deleted
at the end, their rows with them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
from sqlalchemy import delete

from api import create_app
from api.extensions import db
from api.workspaces.models import Workspace


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
