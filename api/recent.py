"""Look-ups remembered per process for a few seconds: for the hottest public routes.

A shared referral link is clicked in bursts and a widget asks about the same site
on every page view, so the rows they start from (a code, a publishable key and its
workspace, the workspace's widget surveys) are read once per interval rather than
once per request. The price is that a change to them reaches every worker within
the interval; each caller names its setting and documents that.

One mechanism: a cachetools `TTLCache` per memory and app. What it holds is
immutable (a `frozen` snapshot of a row, a tuple, a string, bytes, a bool), never an
ORM object: a value is shared by every request and thread of the worker, so none of
them may change it, and an ORM object would also drag its session along.
"""

import threading
from collections import namedtuple
from collections.abc import Callable, Hashable
from functools import lru_cache
from time import monotonic
from types import MappingProxyType
from typing import Any, TypeVar

from cachetools import TTLCache
from flask import current_app
from sqlalchemy import inspect

T = TypeVar("T")

# Entries per memory; past this the least recently used go (a scan of made-up codes
# should cost memory no more than it costs queries).
MAX_ENTRIES = 10_000
_MISSING = object()


def _now() -> float:
    return monotonic()  # looked up per call, so a test can move the clock


class Memory:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._cache: TTLCache = TTLCache(MAX_ENTRIES, seconds, timer=_now)
        # TTLCache is not thread-safe; the load runs outside the lock.
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The remembered value for `key`, or `load()`, remembered for the interval."""
        with self._lock:
            value = self._cache.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        value = load()
        with self._lock:
            self._cache[key] = value
        return value


class _Forgetful:
    """A memory of 0 seconds: every look-up loads."""

    @staticmethod
    def get(key: Hashable, load: Callable[[], T]) -> T:
        return load()


def memory(name: str, seconds: float) -> Memory | _Forgetful:
    """The current app's memory called `name`, keeping values `seconds` (0: none is kept).

    Each app has its own (tests make many); one made with other seconds is made anew."""
    if not seconds:
        return _Forgetful
    extensions = current_app.extensions
    key = f"recent:{name}"
    found = extensions.get(key)
    if found is None or found.seconds != seconds:
        found = extensions[key] = Memory(seconds)
    return found


def frozen(row: Any) -> Any:
    """An immutable snapshot of an ORM object's columns (None for None): a named tuple
    with the model's column names, JSON arrays as tuples and objects as read-only
    mappings, so a remembered row reads as the object did and cannot be changed."""
    if row is None:
        return None
    snapshot = _snapshot_type(type(row))
    return snapshot(*(freeze(getattr(row, name)) for name in snapshot._fields))


@lru_cache(maxsize=64)
def _snapshot_type(model: type) -> type:
    names = [attribute.key for attribute in inspect(model).column_attrs]
    return namedtuple(f"Frozen{model.__name__}", names)


def freeze(value: Any) -> Any:
    """`value` (plain data) with its lists as tuples and dicts as read-only mappings."""
    if isinstance(value, dict):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value
