"""Claiming rows for one worker: the one way deliveries and jobs are taken.

A claim is one UPDATE of the rows a subquery picks. On PostgreSQL the subquery
locks them `FOR UPDATE SKIP LOCKED`, so several workers claim different rows at
once and none waits for another; on SQLite (one writer) the UPDATE is atomic by
itself. The claim sets a lease: until it lapses the row is this worker's, and a
worker that dies (even by SIGKILL) leaves a lease that simply runs out.
"""

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update

from api.extensions import db


def new_token() -> str:
    """Who holds a lease: results are recorded only while the token still matches."""
    return secrets.token_hex(8)


def lapsed(lease_until, now: datetime) -> ColumnElement[bool]:
    """Not leased, or leased by a worker whose time is up."""
    return or_(lease_until.is_(None), lease_until < now)


def claim(
    model,
    conditions: Sequence[ColumnElement[bool]],
    order_by: Sequence,
    limit: int,
    values: dict,
) -> list[str]:
    """Set `values` on up to `limit` rows meeting `conditions`, first by `order_by`;
    their ids. The caller commits."""
    if limit <= 0:
        return []
    # A materialised CTE, not `id IN (subquery)`: PostgreSQL may run that subquery
    # again for every row it updates (a semi join), each run locking one more row,
    # so LIMIT 1 claimed every due row.
    picked = (
        select(model.id)
        .where(*conditions)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("picked")
        .prefix_with("MATERIALIZED")
    )
    # The conditions again outside: a row changed by another claimer after this
    # statement's snapshot is judged by what it is now.
    statement = (
        update(model)
        .where(model.id == picked.c.id, *conditions)
        .values(**values)
        .returning(model.id)
    )
    return list(db.session.scalars(statement))


def until(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
