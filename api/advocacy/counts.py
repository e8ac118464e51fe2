"""Acts of advocacy done, counted per contact: for advocate profiles and the leaderboard."""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select

from api.advocacy.models import AdvocacyAct
from api.extensions import db


def acts_done(
    workspace_id: str, since: datetime | None, contact_id: str | None = None
) -> dict[str, dict[str, int]]:
    """{contact_id: {act: count}} of acts done since `since` (None: ever)."""
    statement = (
        select(AdvocacyAct.contact_id, AdvocacyAct.act, func.count())
        .where(AdvocacyAct.workspace_id == workspace_id)
        .group_by(AdvocacyAct.contact_id, AdvocacyAct.act)
    )
    if since is not None:
        statement = statement.where(AdvocacyAct.occurred_at >= since)
    if contact_id is not None:
        statement = statement.where(AdvocacyAct.contact_id == contact_id)
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for cid, act, count in db.session.execute(statement):
        found[cid][act] = count
    return found
