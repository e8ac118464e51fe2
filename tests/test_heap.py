"""Start-up objects are frozen out of the collector's walks, garbage is not."""

import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from api import heap

ROOT = Path(__file__).resolve().parent.parent


class _Node:
    pass


def test_freezing_collects_the_garbage_first_and_freezes_what_is_alive():
    alive = [_Node() for _ in range(100)]
    cycle = _Node()
    cycle.me = cycle  # garbage that only the collector can free
    dead = weakref.ref(cycle)
    del cycle
    try:
        heap.freeze_startup()
        assert dead() is None  # collected, not frozen for ever
        assert gc.get_freeze_count() >= len(alive)
    finally:
        gc.unfreeze()


def test_the_web_workers_app_module_freezes_the_app(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"FLIPFUNNEL_ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    frozen = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # The app's routes, schemas and mappers: far more than a bare interpreter's.
    assert int(frozen) > 50_000


def test_the_collector_is_paused_for_a_chunk_and_resumes_after_it():
    with heap.collector_paused():
        assert not gc.isenabled()
        cycle = _Node()
        cycle.me = cycle
        dead = weakref.ref(cycle)
        del cycle
    assert gc.isenabled()
    gc.collect()
    assert dead() is None  # a cycle made in the pause is freed once it ends


def test_a_chunk_that_fails_resumes_the_collector():
    with pytest.raises(RuntimeError), heap.collector_paused():
        raise RuntimeError("the chunk failed")
    assert gc.isenabled()


def test_a_pause_made_elsewhere_outlasts_a_chunk_inside_it():
    gc.disable()
    try:
        with heap.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
