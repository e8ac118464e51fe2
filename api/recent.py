"""Look-ups remembered per process for a few seconds: for the hottest public routes.

A shared referral link is clicked in bursts and a widget asks about the same site
on every page view, so the rows they start from (a code, a publishable key and its
workspace, the workspace's widget surveys) are read once per interval rather than
once per request. The price is that a change to them reaches every worker within
the interval; each caller names its setting and documents that.
"""

from collections.abc import Callable, Hashable
from time import monotonic
from typing import TypeVar

from flask import current_app

from api.extensions import db

T = TypeVar("T")

# Entries per memory; past this it is simply emptied (a scan of made-up codes
# should cost memory no more than it costs queries).
MAX_ENTRIES = 10_000


class Memory:
    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, object]] = {}

    def get(self, key: Hashable, seconds: float, load: Callable[[], T]) -> T:
        """The remembered value for `key`, or `load()` (remembered for `seconds`; 0: never)."""
        if not seconds:
            return load()
        now = monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[return-value]
        value = load()
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now + seconds, value)
        return value


def detached(row: T) -> T:
    """An ORM object (or None) taken out of the session with what it has loaded, so it
    can be remembered past this request (a commit would otherwise expire it)."""
    if row is not None:
        db.session.expunge(row)
    return row


def memory(name: str) -> Memory:
    """The current app's memory called `name` (each app its own, as tests make many)."""
    extensions = current_app.extensions
    key = f"recent:{name}"
    found = extensions.get(key)
    return found if found is not None else extensions.setdefault(key, Memory())
