"""The in-process rate limit storage: counts like `limits`' own, without a timer thread."""

import threading
import time

from limits import parse
from limits.strategies import FixedWindowRateLimiter

from api.http.ratelimit import ProcessMemory, RateLimiter


def test_memory_uri_gets_the_swept_storage():
    assert isinstance(RateLimiter("memory://").storage, ProcessMemory)


def test_hits_start_no_threads(monkeypatch):
    storage = ProcessMemory()
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda thread: started.append(thread))
    limiter = FixedWindowRateLimiter(storage)
    for _ in range(3):
        limiter.hit(parse("100 per minute"), "widget", "ip:1")
        # limits' MemoryStorage starts a new expiry timer once its 10 ms one has ended.
        time.sleep(0.02)
    assert started == []


def test_counts_and_refuses_like_the_library():
    limiter = FixedWindowRateLimiter(ProcessMemory())
    limit = parse("2 per minute")
    assert [limiter.hit(limit, "k") for _ in range(3)] == [True, True, False]
    assert limiter.hit(limit, "other")


def test_expired_counters_are_swept_on_use(monkeypatch):
    storage = ProcessMemory()
    monkeypatch.setattr(ProcessMemory, "SWEEP_SECONDS", 0)
    limiter = FixedWindowRateLimiter(storage)
    limiter.hit(parse("1 per second"), "old")
    expiring = [key for key in storage.storage if "old" in key]
    assert expiring
    time.sleep(1.05)
    limiter.hit(parse("1 per minute"), "new")
    assert not any(key in storage.storage for key in expiring)
