"""Rate limits: which limits a request counts against, checked once, before its view.

Built directly on the `limits` library (the one Flask-Limiter wraps): its
fixed-window strategy over one of its storages, which decides who shares a count:

- by default `MachineFile`, counters in a file in the instance folder that
  every process of the machine maps into memory, so all gunicorn workers share
  one count (per-process memory would make five workers' limits five times looser);
- with REDIS_URL, Redis, so every machine shares one count. If Redis stops
  answering, requests are counted on the machine's file until it answers again
  (limits per machine for a while, rather than none, or an outage of our own);
- RATELIMIT_STORAGE_URI names another storage for the machine (the tests use
  `memory://`).

Flask-Limiter re-resolved every limit, exemption and decorator on each request,
which cost a third of a bare route's time; here a request looks up its
blueprint's rules in a dict and makes one storage call per rule.

Routes are limited per client IP unless their blueprint declares other rules
with `limit_blueprint` (the APIs count per key; the referral redirect has its own,
more generous, IP limit).
"""

import fcntl
import hashlib
import mmap
import os
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from math import ceil
from pathlib import Path
from time import time
from urllib.parse import urlparse

from flask import Blueprint, current_app, g, request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from api.http.openapi import answers
from api.http.outages import Outage


def per_caller(api_key, address: str | None) -> str:
    """The API key when the request named a valid one, else the client IP."""
    if api_key is not None:
        return f"key:{api_key.id}"
    return ip_key(address)


def per_ip(api_key, address: str | None) -> str:
    return ip_key(address)


def ip_key(address: str | None) -> str:
    return f"ip:{address}"


@dataclass(frozen=True)
class Rule:
    setting: str  # the config name holding the limit, e.g. "120 per minute"
    # Whom a request counts against, from its valid API key (or None) and client IP.
    counted_by: Callable[[object, str | None], str] = per_ip


PUBLIC = (Rule("RATELIMIT_PUBLIC"),)
_rules: dict[str, tuple[Rule, ...]] = {}


def limit_blueprint(blueprint: Blueprint, *rules: Rule) -> None:
    """`rules` replace the public per-IP limit on every route of `blueprint`."""
    _rules[blueprint.name] = rules


class RateLimited(TooManyRequests):
    def __init__(self, limit: RateLimitItem, reset_at: float):
        super().__init__(description=str(limit))
        self.retry_after_seconds = max(1, ceil(reset_at - time()))


@lru_cache(maxsize=64)
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


class MachineFile(Storage):
    """`limits` counters in a file that every process of the machine maps into memory.

    `file:///path/to/counters`. The file is a fixed table of slots (hash of the
    counter's key, end of its window, count): a counter lives in one of `PROBES`
    slots from its hash's, and takes the first free or expired one, else the one
    whose window ends soonest, so a full table forgets the counters about to
    reset anyway. A call takes a thread lock and a POSIX record lock on the file
    (released by the kernel should a worker die holding it) for a few reads and
    writes of shared memory: no system call but the lock's, no thread, no I/O.
    Only the fixed-window calls are offered: that is the strategy we use.
    """

    STORAGE_SCHEME = ["file"]
    SLOT = struct.Struct("<QdQ")  # key hash, window end (time()), count
    SLOTS = 1 << 17  # 3 MiB; each live counter takes one
    PROBES = 8

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        path = Path(urlparse(uri).path)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.SLOTS * self.SLOT.size
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.thread_lock = threading.Lock()
        self._lock()
        try:
            if os.fstat(self.fd).st_size != size:  # new, or another layout: start empty
                os.ftruncate(self.fd, 0)
                os.ftruncate(self.fd, size)
        finally:
            self._unlock()
        self.map = mmap.mmap(self.fd, size)
        # A lock some thread held at fork would stay held in the child.
        os.register_at_fork(after_in_child=self._new_thread_lock)
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _new_thread_lock(self) -> None:
        self.thread_lock = threading.Lock()

    @property
    def base_exceptions(self):
        return OSError

    def _lock(self) -> None:
        self.thread_lock.acquire()
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX)  # between processes (a lock per process)
        except BaseException:
            self.thread_lock.release()
            raise

    def _unlock(self) -> None:
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)
        finally:
            self.thread_lock.release()

    def _slot(self, key: str, now: float) -> tuple[int, int, float, int]:
        """(offset, hash, window end, count) of `key`'s slot; count 0 if it has none live."""
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest()) or 1
        first = digest % self.SLOTS
        victim, victim_end = None, float("inf")
        for probe in range(self.PROBES):
            offset = ((first + probe) % self.SLOTS) * self.SLOT.size
            found, end, count = self.SLOT.unpack_from(self.map, offset)
            if found == digest and end > now:
                return offset, digest, end, count
            if found == digest or end <= now:
                end = 0.0  # free, expired, or this key's expired window: the best choice
            if end < victim_end:
                victim, victim_end = offset, end
        return victim, digest, 0.0, 0

    # Each call holds the locks only around its reads and writes of the map (no
    # context manager: on the hottest routes it cost a third of the call).
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time()
        self._lock()
        try:
            offset, digest, end, count = self._slot(key, now)
            if not count:
                end = now + expiry
            count += amount
            self.SLOT.pack_into(self.map, offset, digest, end, count)
        finally:
            self._unlock()
        return count

    def get(self, key: str) -> int:
        self._lock()
        try:
            return self._slot(key, time())[3]
        finally:
            self._unlock()

    def get_expiry(self, key: str) -> float:
        now = time()
        self._lock()
        try:
            _, _, end, count = self._slot(key, now)
        finally:
            self._unlock()
        return end if count else now

    def clear(self, key: str) -> None:
        self._lock()
        try:
            offset, _, _, count = self._slot(key, time())
            if count:
                self.SLOT.pack_into(self.map, offset, 0, 0.0, 0)
        finally:
            self._unlock()

    def reset(self) -> int | None:
        now = time()
        self._lock()
        try:
            live = sum(
                1 for _, end, count in self.SLOT.iter_unpack(self.map) if count and end > now
            )
            self.map[:] = bytes(len(self.map))
        finally:
            self._unlock()
        return live

    def check(self) -> bool:
        return not self.map.closed


# Redis that does not answer: give up on a call quickly, and try it again at most this often.
REDIS_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
RETRY_PRIMARY_SECONDS = 1.0


REMOTE = ("redis", "valkey")


def local_storage_uri(config, instance_path: str) -> str:
    """This machine's storage: RATELIMIT_STORAGE_URI, else the file in the instance folder."""
    return config["RATELIMIT_STORAGE_URI"] or f"file://{Path(instance_path) / 'ratelimits'}"


def _storage(uri: str) -> Storage:
    options = REDIS_OPTIONS if uri.startswith(REMOTE) else {}
    return storage_from_string(uri, wrap_exceptions=True, **options)


class RateLimiter:
    def __init__(self, storage_uri: str, fallback_uri: str | None = None):
        self.storage = _storage(storage_uri)
        self.strategy = FixedWindowRateLimiter(self.storage)
        # Where to count while the storage does not answer.
        self.fallback = FixedWindowRateLimiter(_storage(fallback_uri)) if fallback_uri else None
        self.outage = Outage("rate limit storage")
        self.retry_at = 0.0

    def _hit(self, limit: RateLimitItem, *identifiers: str) -> tuple[bool, FixedWindowRateLimiter]:
        """Whether `limit` allows one more hit, and the strategy (storage) that counted it."""
        if self.outage.ongoing and self.fallback is not None and time() < self.retry_at:
            return self.fallback.hit(limit, *identifiers), self.fallback
        try:
            allowed = self.strategy.hit(limit, *identifiers)
        except StorageError as error:
            self.outage.failed(error.storage_error)
            if self.fallback is None:
                return True, self.strategy  # nothing to count on: let it through
            self.retry_at = time() + RETRY_PRIMARY_SECONDS
            return self.fallback.hit(limit, *identifiers), self.fallback
        if self.outage.ongoing:
            self.outage.answered()
        return allowed, self.strategy

    def hit(self, rule: Rule, route: str, caller: str) -> None:
        """Count this request against `rule` for `caller`; RateLimited when it is over."""
        limit = _parsed(current_app.config[rule.setting])
        allowed, strategy = self._hit(limit, rule.setting, route, caller)
        if not allowed:
            try:
                reset_at, _ = strategy.get_window_stats(limit, rule.setting, route, caller)
            except StorageError:
                reset_at = time() + limit.get_expiry()
            raise RateLimited(limit, reset_at)

    def check(self, blueprint: str | None, route: str, api_key, address: str | None) -> None:
        """Count a request to `route` against every rule of its blueprint.

        Each route has its own budget: a visitor's page view does not use up the POST
        that answers it, and a partner's bulk import does not starve its reads."""
        for rule in _rules.get(blueprint, PUBLIC):
            self.hit(rule, route, rule.counted_by(api_key, address))


@answers(429)
def check_request() -> None:
    limiter().check(
        request.blueprint, request.endpoint or "<unmatched>", g.get("api_key"), request.remote_addr
    )


def limiter() -> RateLimiter:
    return current_app.extensions["flipfunnel_ratelimit"]


def init_app(app) -> None:
    local = local_storage_uri(app.config, app.instance_path)
    # With Redis, the machine's storage counts while Redis does not answer.
    limiter = RateLimiter(app.config["REDIS_URL"], local) if app.config["REDIS_URL"] else None
    app.extensions["flipfunnel_ratelimit"] = limiter or RateLimiter(local)
    app.before_request(check_request)
