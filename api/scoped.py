"""Rows of one workspace, as an API key sees them: another workspace's row is as absent
as a missing one (404 either way, so ids of other workspaces cannot be probed)."""

from sqlalchemy import select

from api.domain_errors import not_found
from api.extensions import db


def get_or_404(model, workspace_id: str, row_id: str, what: str):
    """The workspace's `model` row with this id; NotFound ("No such {what}.") otherwise."""
    found = db.session.scalar(
        select(model).where(model.workspace_id == workspace_id, model.id == row_id)
    )
    if found is None:
        raise not_found(what)
    return found
