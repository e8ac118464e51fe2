"""Rows of one workspace, as an API key sees them: another workspace's row is as absent
as a missing one (404 either way, so ids of other workspaces cannot be probed)."""

from sqlalchemy import select

from api.domain_errors import found
from api.extensions import db


def get_or_404(model, workspace_id: str, row_id: str, what: str):
    """The workspace's `model` row with this id; NotFound ("No such {what}.") otherwise."""
    row = select(model).where(model.workspace_id == workspace_id, model.id == row_id)
    return found(db.session.scalar(row), what)
