"""The list endpoints' filters: a filter the request leaves out (or empty) narrows nothing."""

from sqlalchemy import Select


def narrowed(statement: Select, model, filters: dict, *names: str) -> Select:
    """`statement` kept to the rows whose column `name` is the filter's value, or one of
    its values when the filter is a list (`?status=open&status=claimed`)."""
    for name in names:
        value = filters.get(name)
        if value:
            column = getattr(model, name)
            statement = statement.where(
                column.in_(value) if isinstance(value, list) else column == value
            )
    return statement
