"""Cursor (keyset) pagination, the one way every list pages.

A list is ordered by one or more columns ending in a unique one (the id), and
a page starts strictly after the last row of the previous page. That is stable
while rows are added and as fast on page 1,000 as on page 1. The cursor is an
opaque token holding the last row's sort values.
"""

import base64
import binascii
import json
from collections.abc import Sequence

from flask import current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, and_, or_

from api.extensions import db
from api.http import intake
from api.http.errors import ApiError


class PageArgs(Schema):
    limit = fields.Integer(
        validate=validate.Range(min=1, max=500),
        metadata={"description": "Items per page (default 50, at most 500)."},
    )
    after = fields.String(
        validate=validate.Length(max=500),
        metadata={"description": "The `next_cursor` of the previous page."},
    )


class PageSchema(Schema):
    next_cursor = fields.String(allow_none=True)
    has_more = fields.Boolean()


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The response schema of a page of `item_schema` items."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (PageSchema,), {"data": fields.List(fields.Nested(item_schema))})


def paginate(statement: Select, args: dict, order: Sequence[tuple] = ()) -> dict:
    """One page of `statement`, ordered by `order`: (column, descending) pairs.

    The default order is the entity's id, ascending (ids are time-ordered).
    The last pair must be unique per row.
    """
    entity = statement.column_descriptions[0]["entity"]
    order = list(order) or [(entity.id, False)]
    config = current_app.config
    limit = min(args.get("limit") or config["PAGE_SIZE_DEFAULT"], config["PAGE_SIZE_MAX"])
    if args.get("after"):
        values = _decode(args["after"], [column for column, _ in order])
        statement = statement.where(_after(order, values))
    ordering = [column.desc() if descending else column.asc() for column, descending in order]
    rows = list(db.session.scalars(statement.order_by(*ordering).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    cursor = _encode([getattr(rows[-1], column.key) for column, _ in order]) if has_more else None
    return {"data": rows, "has_more": has_more, "next_cursor": cursor}


def _after(order, values):
    """Rows strictly after `values` in `order`: a lexicographic comparison, term by term.

    It is led by a bound on the first column alone, which an index can seek to: the
    OR of the terms alone had PostgreSQL filter every row before the cursor (36 ms
    instead of 0.05 ms for a page 267,000 rows into the event feed).
    """
    clauses = []
    for index, (column, descending) in enumerate(order):
        equal_before = [order[i][0] == values[i] for i in range(index)]
        beyond = column < values[index] if descending else column > values[index]
        clauses.append(and_(*equal_before, beyond))
    first, descending = order[0]
    return and_(first <= values[0] if descending else first >= values[0], or_(*clauses))


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str, columns: list) -> list:
    """The cursor's values, refused unless there is one of each column's type.

    A forged value of another type would otherwise reach the database (PostgreSQL
    refuses to compare text with a bigint: a 500 instead of a 422).
    """
    raw = cursor + "=" * (-len(cursor) % 4)
    try:  # intake.Refused (a NUL in a string, say) is a ValueError too
        values = intake.loads(base64.urlsafe_b64decode(raw), current_app.config["JSON_MAX_DEPTH"])
    except (ValueError, binascii.Error):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != len(columns)
        or not all(_fits(value, column) for value, column in zip(values, columns, strict=False))
    ):
        raise ApiError(422, "validation_error", "The cursor is not valid.", {"after": ["Invalid."]})
    return values


def _fits(value, column) -> bool:
    expected = column.type.python_type
    return not isinstance(value, bool) and isinstance(value, expected)
