"""Rate limits: which limits a request counts against, checked once, before its view.

Built directly on the `limits` library (the one Flask-Limiter wraps): its
storage (process memory, see ProcessMemory, or Redis through REDIS_URL so every
worker shares one count) and its fixed-window strategy. Flask-Limiter re-resolved
every limit, exemption and decorator on each request, which cost a third of a
bare route's time; here a request looks up its blueprint's rules in a dict and
makes one storage call per rule.

Routes are limited per client IP unless their blueprint declares other rules
with `limit_blueprint` (the APIs count per key; the referral redirect has its own,
more generous, IP limit).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from math import ceil
from time import time

from flask import Blueprint, current_app, g, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests


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


class ProcessMemory(MemoryStorage):
    """`limits`' in-process storage, swept as it is used rather than by a timer thread.

    MemoryStorage starts a new 10 ms timer thread whenever the last one has ended,
    which under load is every few requests, and each start waits until the new
    thread runs: with five workers on two cores that was 9% of a widget request.
    Counters already expire when read (`get`); the sweep only frees memory, so
    once a second is plenty.
    """

    SWEEP_SECONDS = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.next_sweep = 0.0

    # Replaces MemoryStorage's private `__schedule_expiry`, which incr() calls.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time()
        if now >= self.next_sweep:
            self.next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


class RateLimiter:
    def __init__(self, storage_uri: str):
        self.storage = (
            ProcessMemory() if storage_uri == "memory://" else storage_from_string(storage_uri)
        )
        self.strategy = FixedWindowRateLimiter(self.storage)

    def hit(self, rule: Rule, route: str, caller: str) -> None:
        """Count this request against `rule` for `caller`; RateLimited when it is over."""
        limit = _parsed(current_app.config[rule.setting])
        if not self.strategy.hit(limit, rule.setting, route, caller):
            reset_at, _ = self.strategy.get_window_stats(limit, rule.setting, route, caller)
            raise RateLimited(limit, reset_at)

    def check(self, blueprint: str | None, route: str, api_key, address: str | None) -> None:
        """Count a request to `route` against every rule of its blueprint.

        Each route has its own budget: a visitor's page view does not use up the POST
        that answers it, and a partner's bulk import does not starve its reads."""
        for rule in _rules.get(blueprint, PUBLIC):
            self.hit(rule, route, rule.counted_by(api_key, address))


def check_request() -> None:
    limiter().check(
        request.blueprint, request.endpoint or "<unmatched>", g.get("api_key"), request.remote_addr
    )


def limiter() -> RateLimiter:
    return current_app.extensions["flipfunnel_ratelimit"]


def init_app(app) -> None:
    app.extensions["flipfunnel_ratelimit"] = RateLimiter(app.config["RATELIMIT_STORAGE_URI"])
    app.before_request(check_request)
