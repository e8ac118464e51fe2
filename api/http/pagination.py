"""Cursor pagination, the one way every list pages.

Ids are time-ordered and unique, so a page is `WHERE id > cursor ORDER BY id`:
stable while rows are added, and as fast on page 1,000 as on page 1. The
cursor is opaque to clients; today it is the last id of the page.
"""

from flask import current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import Select

from api.extensions import db


class PageArgs(Schema):
    limit = fields.Integer(
        validate=validate.Range(min=1, max=500),
        metadata={"description": "Items per page (default 50, at most 500)."},
    )
    after = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "The `next_cursor` of the previous page."},
    )


class PageSchema(Schema):
    next_cursor = fields.String(allow_none=True)
    has_more = fields.Boolean()


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The response schema of a page of `item_schema` items."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (PageSchema,), {"data": fields.List(fields.Nested(item_schema))})


def paginate(statement: Select, id_column, args: dict) -> dict:
    config = current_app.config
    limit = min(args.get("limit") or config["PAGE_SIZE_DEFAULT"], config["PAGE_SIZE_MAX"])
    if args.get("after"):
        statement = statement.where(id_column > args["after"])
    rows = list(db.session.scalars(statement.order_by(id_column).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {
        "data": rows,
        "has_more": has_more,
        "next_cursor": rows[-1].id if has_more else None,
    }
