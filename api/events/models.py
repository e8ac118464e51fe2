"""Events: every state change, appended in the transaction that made it."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import FunctionElement

from api.database import JSONType, UTCDateTime, utcnow
from api.extensions import db


class current_transaction(FunctionElement):  # a SQL function, named like one
    """The id of the writing transaction: PostgreSQL's xid8 as a bigint, 0 on SQLite."""

    type = BigInteger()
    inherit_cache = True


class feed_frontier(FunctionElement):
    """Every transaction with an id below this one has ended, committed or not.

    PostgreSQL: the xmin of the statement's snapshot. SQLite has one writer, so an
    event is visible only once committed and ids are commit order: 1, above the
    constant 0 every SQLite event gets, lets one query serve both engines.
    """

    type = BigInteger()
    inherit_cache = True


@compiles(current_transaction)
def _no_transaction_id(element, compiler, **kw):
    return "0"


@compiles(feed_frontier)
def _all_committed(element, compiler, **kw):
    return "1"


@compiles(current_transaction, "postgresql")
def _transaction_id(element, compiler, **kw):
    return "CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)"


@compiles(feed_frontier, "postgresql")
def _snapshot_xmin(element, compiler, **kw):
    return "CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)"


class Event(db.Model):
    """An append-only feed, read in (tx, id) order below the frontier (events.service)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_workspace_id_tx_id", "workspace_id", "tx", "id"),
        Index("ix_events_tx_id", "tx", "id"),
        # No id is ever reused, even after the newest rows are deleted: the
        # webhook fan-out's cursor must never meet an id it has passed already.
        {"sqlite_autoincrement": True},
    )

    # SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # Set by the INSERT itself (a SQL default), so bulk appends get it too.
    tx: Mapped[int] = mapped_column(BigInteger, default=current_transaction())
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
