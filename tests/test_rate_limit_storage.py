"""The machine's rate limit storage: `limits`' counters in a file every process maps.

Each test gets its own file. The counting is the library's (FixedWindowRateLimiter);
what is checked here is that the storage keeps it: shared between processes,
windows that end, a full table that forgets the counters about to reset anyway.
"""

import multiprocessing
import os

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api.http import ratelimit
from api.http.ratelimit import MachineFile


@pytest.fixture
def uri(tmp_path):
    return f"file://{tmp_path}/counters/ratelimits"


class Clock:
    def __init__(self, monkeypatch):
        self.now = 1_000_000.0
        monkeypatch.setattr(ratelimit, "time", lambda: self.now)


def test_the_uri_names_the_storage(uri):
    assert isinstance(storage_from_string(uri), MachineFile)


def test_counts_and_refuses_like_the_library(uri):
    limiter = FixedWindowRateLimiter(storage_from_string(uri))
    limit = parse("2 per minute")
    assert [limiter.hit(limit, "k") for _ in range(3)] == [True, True, False]
    assert limiter.hit(limit, "other")
    assert limiter.get_window_stats(limit, "k").remaining == 0


def test_a_window_ends(uri, monkeypatch):
    clock = Clock(monkeypatch)
    storage = storage_from_string(uri)
    assert [storage.incr("k", 60) for _ in range(2)] == [1, 2]
    assert storage.get_expiry("k") == clock.now + 60
    clock.now += 60
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1
    assert storage.get_expiry("k") == clock.now + 60


def test_clear_and_reset(uri):
    storage = storage_from_string(uri)
    storage.incr("a", 60)
    storage.incr("b", 60, amount=3)
    storage.clear("a")
    assert (storage.get("a"), storage.get("b")) == (0, 3)
    assert storage.reset() == 1
    assert storage.get("b") == 0


def _hit_many(uri: str, times: int) -> None:
    storage = storage_from_string(uri)
    for _ in range(times):
        storage.incr("shared", 60)
    os._exit(0)  # a forked child: no test-runner teardown


def test_processes_share_one_count(uri):
    """Opened in each process (as each gunicorn worker does) or inherited across fork."""
    inherited = storage_from_string(uri)
    inherited.incr("shared", 60)
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_hit_many, args=(uri, 200)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    assert inherited.get("shared") == 601
    assert storage_from_string(uri).get("shared") == 601


class TinyTable(MachineFile):
    SLOTS = 4
    PROBES = 4  # every key may take any slot
    STORAGE_SCHEME = ["tinyfile"]


def test_a_full_table_forgets_the_counter_whose_window_ends_first(uri, monkeypatch):
    Clock(monkeypatch)
    storage = TinyTable(uri.replace("file:", "tinyfile:"))
    for key, seconds in (("a", 300), ("b", 100), ("c", 400), ("d", 200)):
        storage.incr(key, seconds)
    storage.incr("e", 60)
    assert {key: storage.get(key) for key in "abcde"} == {"a": 1, "b": 0, "c": 1, "d": 1, "e": 1}


def test_a_file_of_another_layout_starts_empty(tmp_path):
    path = tmp_path / "ratelimits"
    path.write_bytes(b"\xff" * 100)
    storage = storage_from_string(f"file://{path}")
    assert storage.get("anything") == 0
    assert path.stat().st_size == MachineFile.SLOTS * MachineFile.SLOT.size


def test_the_machine_file_in_the_instance_folder_is_the_default(app_factory, uri):
    config = {"RATELIMIT_STORAGE_URI": "", "REDIS_URL": ""}
    assert (
        ratelimit.local_storage_uri(config, "/srv/ff/instance")
        == "file:///srv/ff/instance/ratelimits"
    )
    app = app_factory(RATELIMIT_STORAGE_URI=uri)
    assert isinstance(app.extensions["flipfunnel_ratelimit"].storage, MachineFile)
