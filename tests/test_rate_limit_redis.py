"""With REDIS_URL set, rate limits live in Redis, so every process shares them."""

import os

import pytest
import redis

from tests.conftest import create_tenant

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    client.flushdb()
    yield client
    client.flushdb()


def test_two_app_processes_share_one_limit_through_redis(app_factory, redis_db):
    # Two apps stand for two gunicorn workers: separate memory, one Redis.
    first = app_factory(REDIS_URL=REDIS_URL, RATELIMIT_API="3 per minute")
    second = app_factory(REDIS_URL=REDIS_URL, RATELIMIT_API="3 per minute")
    tenant = create_tenant(first)
    headers = {"Authorization": f"Bearer {tenant.secret_key}"}
    statuses = [
        app.test_client().get("/v1/contacts", headers=headers).status_code
        for app in (first, second, first, second)
    ]
    assert statuses == [200, 200, 200, 429]
    assert any(b"LIMITER" in key for key in redis_db.keys("*"))


def test_while_redis_is_down_the_machine_counts_and_says_so_once(
    app_factory, redis_db, caplog, monkeypatch, tmp_path
):
    from urllib.parse import urlparse

    from api.http import ratelimit
    from tests.tcp_proxy import TcpProxy

    monkeypatch.setattr(ratelimit, "RETRY_PRIMARY_SECONDS", 0)  # try Redis on every call
    parts = urlparse(REDIS_URL)
    proxy = TcpProxy((parts.hostname, parts.port or 6379))
    try:
        app = app_factory(
            REDIS_URL=f"redis://127.0.0.1:{proxy.port}{parts.path}",
            RATELIMIT_STORAGE_URI=f"file://{tmp_path}/ratelimits",
            RATELIMIT_API="2 per minute",
        )
        tenant = create_tenant(app)
        assert tenant.get("/v1/contacts").status_code == 200  # counted in Redis: 1

        caplog.set_level("INFO", logger="api.outages")
        proxy.down()
        # The machine's file counts from zero meanwhile: limited, not unlimited, not 500.
        assert [tenant.get("/v1/contacts").status_code for _ in range(3)] == [200, 200, 429]
        lines = [r.getMessage() for r in caplog.records if r.name == "api.outages"]
        assert len(lines) == 1 and lines[0].startswith("rate limit storage unavailable: ")

        proxy.forward()
        assert [tenant.get("/v1/contacts").status_code for _ in range(2)] == [200, 429]
        lines = [r.getMessage() for r in caplog.records if r.name == "api.outages"]
        assert "rate limit storage available again" in lines[-1]
    finally:
        proxy.close()
