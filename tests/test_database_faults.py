"""A database that is down, hangs or is slow: a 503 in our format, soon, and recovery.

PostgreSQL is reached through a TCP proxy the test controls (tests/tcp_proxy.py),
so it can go down and come back, or stop answering while keeping its connections
open, under a running app that is never restarted. The outage is logged once, by
class and SQLSTATE, never as a traceback per request.
"""

import logging
import time

import pytest
from flask import Blueprint
from sqlalchemy import make_url, text

from api.extensions import db
from tests.conftest import create_tenant, on_postgres
from tests.tcp_proxy import TcpProxy
from tests.test_errors import assert_error

CONNECT_TIMEOUT = 2  # libpq's least
STATEMENT_TIMEOUT = 1.0
# A hung server costs the pool's ping (statement timeout + 1 s), then one reconnect.
HUNG_ANSWER_WITHIN = (STATEMENT_TIMEOUT + 1) + CONNECT_TIMEOUT + 1.5


def assert_unavailable(response):
    assert_error(response, 503, "unavailable")
    assert response.headers["Retry-After"] == "5"


def outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "api.outages"]


@pytest.fixture
def proxy(database_uri):
    url = make_url(database_uri)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_app(proxy, database_uri, app_factory):
    uri = make_url(database_uri).set(host="127.0.0.1", port=proxy.port)
    app = app_factory(
        SQLALCHEMY_DATABASE_URI=uri.render_as_string(hide_password=False),
        DATABASE_CONNECT_TIMEOUT_SECONDS=CONNECT_TIMEOUT,
        DATABASE_STATEMENT_TIMEOUT_SECONDS=STATEMENT_TIMEOUT,
    )
    yield app
    proxy.forward()  # so the fixture can empty the database through it


@on_postgres
def test_postgresql_down_then_hung_then_back_without_a_restart(proxy, proxied_app, caplog):
    tenant = create_tenant(proxied_app)
    auth = tenant.headers
    assert tenant.get("/v1/contacts").status_code == 200

    caplog.set_level(logging.INFO)
    proxy.down()
    for path, headers in (("/v1/contacts", auth), ("/readyz", auth), ("/readyz", {})):
        assert_unavailable(tenant.client.get(path, headers=headers))
    assert len(outage_lines(caplog)) == 1, outage_lines(caplog)
    assert outage_lines(caplog)[0].startswith("database unavailable: OperationalError")
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]

    proxy.forward()
    assert tenant.get("/v1/contacts").status_code == 200
    assert tenant.client.get("/readyz").get_json() == {"status": "ok", "database": "ok"}
    assert "database available again" in outage_lines(caplog)[-1]
    assert "3 failed calls" in outage_lines(caplog)[-1]

    proxy.hang()
    for path, headers in (("/v1/contacts", auth), ("/readyz", {})):
        started = time.monotonic()
        response = tenant.client.get(path, headers=headers)
        elapsed = time.monotonic() - started
        assert_unavailable(response)
        assert elapsed < HUNG_ANSWER_WITHIN, (path, elapsed)
    assert outage_lines(caplog)[-1].startswith("database unavailable: OperationalError")

    proxy.forward()
    assert tenant.get("/v1/contacts").status_code == 200
    assert "database available again" in outage_lines(caplog)[-1]
    assert len(outage_lines(caplog)) == 4


@on_postgres
def test_a_statement_past_the_statement_timeout_is_a_503(app_factory):
    app = app_factory(DATABASE_STATEMENT_TIMEOUT_SECONDS=STATEMENT_TIMEOUT)
    slow = Blueprint("slow", __name__)

    @slow.get("/slow")
    def sleep():
        db.session.execute(text("SELECT pg_sleep(10)"))
        return {}

    app.register_blueprint(slow)
    started = time.monotonic()
    assert_unavailable(app.test_client().get("/slow", headers={"Accept": "application/json"}))
    assert time.monotonic() - started < STATEMENT_TIMEOUT + 1


@on_postgres
def test_migrations_run_without_the_statement_timeout(app_factory):
    from api.database import without_timeouts

    app = app_factory(DATABASE_STATEMENT_TIMEOUT_SECONDS=STATEMENT_TIMEOUT)
    with app.app_context(), db.engine.connect() as connection:
        with without_timeouts(connection):
            assert connection.scalar(text("SHOW statement_timeout")) == "0"
            connection.execute(text("SELECT pg_sleep(1.5)"))  # past the request timeout
        assert connection.invalidated  # never handed to a request afterwards


def test_sqlite_that_cannot_be_opened_is_a_503_on_every_route(tmp_path, caplog):
    from tests.conftest import make_app

    broken = make_app(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite")
    client = broken.test_client()
    auth = {"Authorization": "Bearer sk_anything_at_all_0000000000", "Accept": "application/json"}
    caplog.set_level(logging.INFO)
    for path in ("/v1/contacts", "/readyz", "/w/v1/eligibility", "/s/some-token"):
        assert_unavailable(client.get(path, headers=auth))
    assert client.get("/healthz").status_code == 200
    assert len(outage_lines(caplog)) == 1
    assert "sqlstate=SQLITE_CANTOPEN" in outage_lines(caplog)[0]
