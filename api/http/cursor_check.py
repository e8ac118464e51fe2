"""Refuse a cursor whose values are not of its columns' types.

paginate() checks a cursor's shape but not its values' types, and PostgreSQL
fails on a text compared with a bigint (a 500), so a forged or damaged cursor
is refused here first, with the same 422 paginate() gives a malformed one.
Fold this into paginate() when its owner can (it knows the order's columns).
"""

from api.http.errors import ApiError
from api.http.pagination import _decode


def check_cursor(args: dict, *types: type) -> None:
    if not args.get("after"):
        return
    values = _decode(args["after"], len(types))
    for value, expected in zip(values, types, strict=True):
        if isinstance(value, bool) or not isinstance(value, expected):
            raise ApiError(
                422, "validation_error", "The cursor is not valid.", {"after": ["Invalid."]}
            )
