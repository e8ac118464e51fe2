"""Fixtures: a migrated database per test session, emptied after every test.

The suite runs on a scratch SQLite file by default and on PostgreSQL when
TEST_DATABASE_URL names one (as `make test-postgres` does). It never reads
DATABASE_URL or REDIS_URL, which may name production services, and it refuses
to wipe a database whose name does not say it is for tests. The schema always
comes from the Alembic migrations.
"""

import functools
import os
from dataclasses import dataclass

import flask_migrate
import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, exists, literal, select, text, union_all

from api import create_app
from api.extensions import db
from api.workspaces import keys
from tests import scratch, statuses

# Settings a developer may have exported for a real deployment: none of them may
# reach the apps, CLI commands or processes the tests start.
for _name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "FLIPFUNNEL_ENV"):
    os.environ.pop(_name, None)

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
on_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory) -> str:
    if POSTGRES_URL:
        uri = scratch.test_database(POSTGRES_URL)
        engine = create_engine(uri)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        uri = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = make_app(uri)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return uri


# TEST_CACHES=1: the per-worker memories on, as in production (.ci/run runs the widget and
# referral tests so once). Tests that change a remembered row and expect the change at once
# are marked `fresh_reads` and run with them off.
CACHES_ON = os.environ.get("TEST_CACHES") == "1"
CACHE_SETTINGS = {
    "WIDGET_CACHE_SECONDS": 5,
    "REFERRAL_CODE_CACHE_SECONDS": 5,
    "TESTIMONIAL_CACHE_SECONDS": 60,
}


def make_app(database_uri: str, **overrides):
    caches = CACHE_SETTINGS if CACHES_ON else {}
    return create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_uri, **caches, **overrides}
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fresh_reads: expects a changed row at once: runs with the memories off"
    )


@pytest.fixture(autouse=True)
def _fresh_reads(request, monkeypatch, default_app):
    """A `fresh_reads` test runs with the memories off, whatever TEST_CACHES says."""
    if CACHES_ON and request.node.get_closest_marker("fresh_reads"):
        for name in CACHE_SETTINGS:
            monkeypatch.setitem(default_app.config, name, 0)


def empty_database() -> None:
    """Delete every row the test wrote, in one transaction.

    Only the tables that hold rows are touched, child tables first: a test writes
    to a handful of the schema's tables, and on PostgreSQL a TRUNCATE of all of
    them took 300 ms per test where these DELETEs take 4 ms.
    """
    tables, probe, deletes = _emptying_statements()
    with db.engine.begin() as connection:
        holding = set(connection.scalars(probe))
        for table in tables:
            if table.name in holding:
                connection.execute(deletes[table.name])


@functools.cache
def _emptying_statements():
    """The tables child first, the probe for those holding rows, and a DELETE for each.

    Made once: building the 44-table probe and compiling it again took 12 ms of CPU
    per test on SQLite, against 1 ms to run the same statement objects, whose compiled
    form SQLAlchemy keeps. Every model is imported first, so no table is left out."""
    import api.models  # noqa: F401

    tables = tuple(reversed(db.metadata.sorted_tables))
    probe = union_all(
        *(select(literal(table.name)).where(exists().select_from(table)) for table in tables)
    )
    return tables, probe, {table.name: table.delete() for table in tables}


@pytest.fixture(scope="session")
def default_app(database_uri):
    """The app with the test settings, made once per run: making one (its OpenAPI
    document above all) took most of a small test's time. Tests that need other
    settings, or several processes' worth of apps, get their own from app_factory.

    Every status it answers an operation of the OpenAPI document with must be one that
    the document gives for it: the run ends in an error listing those that are not."""
    app = make_app(database_uri)
    with statuses.recorded(app) as seen:
        yield app
    with app.app_context():
        db.engine.dispose()
    undocumented = statuses.undocumented(app, seen)
    assert not undocumented, f"answered but not in /openapi.json: {undocumented}"


@pytest.fixture
def app_factory(database_uri, default_app):
    """Make apps with setting overrides; each is cleaned up after the test."""
    made = []

    def factory(**overrides):
        app = make_app(database_uri, **overrides)
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    with default_app.app_context():
        db.session.remove()
        empty_database()


@pytest.fixture
def app(app_factory, default_app):
    return default_app


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Tenant:
    """A workspace with its keys and a client that calls the API as it."""

    id: str
    secret_key: str
    publishable_key: str
    client: FlaskClient

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret_key}"}

    def get(self, path, **kwargs):
        return self.client.get(
            path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
        )

    def post(self, path, json=None, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.client.put(path, json=json, headers=self.headers, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.client.patch(path, json=json, headers=self.headers, **kwargs)

    def delete(self, path, **kwargs):
        return self.client.delete(path, headers=self.headers, **kwargs)


def create_tenant(app, name: str = "Acme", client: FlaskClient | None = None) -> Tenant:
    with app.app_context():
        workspace, secret, publishable = keys.create_workspace(name)
        db.session.commit()
        return Tenant(workspace.id, secret, publishable, client or app.test_client())


@pytest.fixture
def make_tenant(app, client):
    def make(name="Acme") -> Tenant:
        return create_tenant(app, name, client)

    return make


@pytest.fixture
def tenant(make_tenant) -> Tenant:
    return make_tenant()


@pytest.fixture
def receiver():
    """A real webhook receiver on a free loopback port (tests/receiver.py)."""
    from tests.receiver import Receiver

    receiver = Receiver()
    yield receiver
    receiver.close()
