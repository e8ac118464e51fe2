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
