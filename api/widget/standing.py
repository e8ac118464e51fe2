"""A widget user's contact and where they stand with each widget survey, in one read.

Every page view of a customer's site asks whether to show a survey; this reads
the contact by external id and, for each of the workspace's widget surveys,
whether they answered or declined it recently: one statement, not one per
survey plus one for the contact.
"""

from datetime import datetime
from functools import lru_cache

from sqlalchemy import Select, bindparam, select

from api.contacts.models import Contact
from api.contacts.service import ROW_COLUMNS, ContactRow
from api.database import plain_read
from api.extensions import db
from api.surveys import invitations
from api.surveys.models import Survey

_CONTACT_COLUMNS = len(ROW_COLUMNS)


@lru_cache(maxsize=32)
def _statement(surveys: int) -> Select:
    """Built once per number of surveys; the surveys and times are bound per read, so
    SQLAlchemy's compiled cache finds the statement it compiled before."""
    checks = []
    for i in range(surveys):
        checks += invitations.throttle_checks(
            bindparam(f"survey_{i}"),
            Contact.id,
            bindparam(f"responded_since_{i}"),
            bindparam(f"declined_since_{i}"),
        )
    statement = select(*ROW_COLUMNS, *checks).where(
        Contact.workspace_id == bindparam("workspace_id"),
        Contact.erased_at.is_(None),
        Contact.external_id == bindparam("external_id"),
    )
    return statement


def read(
    workspace_id: str,
    external_id: str,
    surveys: list[Survey],
    now: datetime,
    *,
    in_session: bool = False,
) -> tuple[ContactRow | None, dict[str, str]]:
    """The live contact (None if there is none) and why each survey must wait, by survey id.

    A Core statement (no ORM objects to build), read by default as a `plain_read`;
    `in_session`: on the session's connection, to see what this request has written."""
    params = {"workspace_id": workspace_id, "external_id": external_id}
    for i, survey in enumerate(surveys):
        responded_since, declined_since = invitations.throttle_since(survey, now)
        params |= {
            f"survey_{i}": survey.id,
            f"responded_since_{i}": responded_since,
            f"declined_since_{i}": declined_since,
        }
    statement = _statement(len(surveys))
    if in_session:
        row = db.session.connection().execute(statement, params).first()
    else:
        row = plain_read(statement, params)
    if row is None:
        return None, {}
    flags = row[_CONTACT_COLUMNS:]
    reasons = {
        survey.id: invitations.throttle_reason(flags[2 * i], flags[2 * i + 1])
        for i, survey in enumerate(surveys)
    }
    return ContactRow(*row[:_CONTACT_COLUMNS]), {k: v for k, v in reasons.items() if v}
