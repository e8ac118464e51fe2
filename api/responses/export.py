"""The CSV export of responses, streamed.

An export may cover millions of rows, so it is written chunk by chunk as the
client reads it: keyset pages of CHUNK rows by id (as fast at the end as at the
start), each turned into CSV text and yielded. Memory stays flat whatever the
size.
"""

import csv
import io
from collections.abc import Iterator

from api.extensions import db
from api.responses.models import Response
from api.responses.service import filter_responses
from api.responses.views import with_contacts

CHUNK = 1000
COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "survey_id",
    "external_id",
    "email",
    "score",
    "category",
    "comment",
    "channel",
    "locale",
)
# A spreadsheet runs a cell starting with one of these as a formula ("CSV injection"):
# a comment like `=HYPERLINK(...)` must stay text when the export is opened.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralise(v) for v in values])
    return buffer.getvalue()


def rows(workspace_id: str, filters: dict) -> Iterator[str]:
    """The header, then one block of CSV text per chunk of responses."""
    yield _line(COLUMNS)
    statement = filter_responses(workspace_id, filters)
    last_id = None
    while True:
        page = statement if last_id is None else statement.where(Response.id > last_id)
        chunk = list(db.session.scalars(page.order_by(Response.id).limit(CHUNK)))
        if not chunk:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for view in with_contacts(workspace_id, chunk):
            contact = view.contact
            writer.writerow(
                [
                    neutralise(value)
                    for value in (
                        view.id,
                        view.created_at.isoformat(),
                        view.updated_at.isoformat(),
                        view.survey_id,
                        contact.external_id if contact else None,
                        contact.email if contact else None,
                        view.score,
                        view.category,
                        view.comment,
                        view.channel,
                        view.locale,
                    )
                ]
            )
        yield buffer.getvalue()
        if len(chunk) < CHUNK:
            return
        last_id = chunk[-1].id
        # Rows already written are not needed again; keep the session small.
        db.session.expunge_all()
