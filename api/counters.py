"""Counter rows reports read, moved last in their transaction and in one order.

A response, a widget display and a queue item each move counters (`response_rollups`,
`invitation_rollups`, `queue_counts`). Two transactions that move the same two rows
in opposite orders deadlock on PostgreSQL: a score changed from 9 to 3 takes the
row of 9 and then that of 3, while another changed from 3 to 9 takes them the other
way round. So a change only notes its deltas here (`add`); they are summed per row
and written just before the commit (`_write_pending`), sorted by table and key.
Every transaction then takes these row locks in the same order, and holds them for
the shortest time, since nothing but the commit follows.

On PostgreSQL a table with a `shard` column has `SHARDS` rows per key, and a
transaction writes to one of them, drawn at random: concurrent answers to one
survey, which would all queue for the one row of today's total, mostly lock
different rows. Readers sum the shards. SQLite lets one writer in at a time, so
a second row per key would only be more to read: there every delta goes to shard 0.

A transaction that reads a counter after moving it does not see its own deltas
until it commits. A savepoint rolled back does not take back the deltas noted
inside it; nothing that moves counters runs in one.
"""

import random

from sqlalchemy import SmallInteger, event
from sqlalchemy.orm import Session, mapped_column

from api.database import upsert_add
from api.extensions import db

SHARDS = 8
_PENDING = "flipfunnel_counter_deltas"


def shard_column():
    """A counter table's `shard`, the last column of its primary key."""
    return mapped_column(SmallInteger, primary_key=True, default=0, server_default="0")


def add(model, keys: dict, delta: int, column: str = "count") -> None:
    """Move `model`'s `column` for `keys` by `delta` when this transaction commits."""
    pending = db.session.info.setdefault(_PENDING, {})
    row = (model.__tablename__, column, *keys.values())
    noted = pending.get(row)
    pending[row] = (model, keys, column, delta + (noted[3] if noted else 0))


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    shard = random.randrange(SHARDS) if postgres else 0
    for _, (model, keys, column, delta) in sorted(pending.items(), key=lambda item: item[0]):
        if delta:
            sharded = {**keys, "shard": shard} if "shard" in model.__table__.c else keys
            upsert_add(model, sharded, column, delta)


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def init_app(_app) -> None:
    if not event.contains(Session, "before_commit", _write_pending):
        event.listen(Session, "before_commit", _write_pending)
        event.listen(Session, "after_rollback", _forget_pending)
