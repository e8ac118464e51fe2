from dataclasses import dataclass

from flask.views import MethodView
from sqlalchemy import select

from api.advocacy.advocates import agreed_acts
from api.contacts.models import Contact
from api.database import chunked
from api.domain_errors import found
from api.extensions import db
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.pagination import page_of, paginate
from api.queues import resurveys, service
from api.queues.models import QueueItem, Resurvey
from api.queues.schemas import (
    ClaimSchema,
    DismissSchema,
    QueueItemFilterArgs,
    QueueItemSchema,
    ResolveSchema,
)
from api.responses.models import Response
from api.responses.views import contacts_of
from api.worker import periodic

bp = ApiBlueprint(
    "queues",
    __name__,
    url_prefix="/v1/queues",
    description="Follow-up and advocacy queues: claim, resolve, dismiss.",
)


# `flask queues send-resurveys`: the worker does it every minute (api/worker/periodic.py).
@periodic.command(bp.cli, "send-resurveys", resurveys.send_due, per="Re-surveys")
def _send_resurveys(total: int) -> str:
    """Ask the re-surveys that are due: invitations (and their events), or the widget."""
    return f"re-surveys due and handled: {total}"


# The path names a queue as its items, events and reports do (`follow_up`); `follow-up`,
# the spelling of the first release, still works for clients that have it.
QUEUE = "<any('follow_up', 'advocacy', 'follow-up'):queue>"
_INTERNAL = {"follow_up": "follow_up", "advocacy": "advocacy", "follow-up": "follow_up"}


@dataclass
class ItemView:
    item: QueueItem
    response: Response | None
    contact: Contact | None
    agreed_to: list[str]
    resurvey: Resurvey | None

    def __getattr__(self, name):
        return getattr(self.item, name)


def _with_details(items: list[QueueItem]) -> list[ItemView]:
    """Each item with its response and contact, loaded in two queries per page."""
    workspace_id = current_workspace_id()
    responses: dict[str, Response] = {}
    for chunk in chunked(sorted({item.response_id for item in items})):
        for response in db.session.scalars(
            select(Response).where(Response.workspace_id == workspace_id, Response.id.in_(chunk))
        ):
            responses[response.id] = response
    contacts = contacts_of(workspace_id, [item.contact_id for item in items])
    # What a promoter agreed to do (api/advocacy): the advocacy queue's work list.
    agreed = agreed_acts(workspace_id, list(contacts))
    asked_again = resurveys.latest_of([item.id for item in items])
    return [
        ItemView(
            item,
            responses.get(item.response_id),
            contacts.get(item.contact_id),
            agreed.get(item.contact_id, []),
            asked_again.get(item.id),
        )
        for item in items
    ]


def _found(queue: str, item_id: str) -> QueueItem:
    return found(service.get_item(current_workspace_id(), _INTERNAL[queue], item_id), "queue item")


@bp.route(f"/{QUEUE}/items")
class QueueItems(MethodView):
    @bp.arguments(QueueItemFilterArgs, location="query")
    @bp.response(200, page_of(QueueItemSchema))
    def get(self, args, queue):
        """List the queue's items, worst first (highest priority, then oldest).

        `queue` is `follow_up` (detractors, unhappy CSAT, hard CES) or `advocacy` (promoters).
        """
        statement = service.filter_items(current_workspace_id(), _INTERNAL[queue], args)
        page = paginate(statement, args, order=service.LISTING_ORDER)
        page["data"] = _with_details(page["data"])
        return page


@bp.route(f"/{QUEUE}/items/<item_id>")
class QueueItemById(MethodView):
    @bp.response(200, QueueItemSchema)
    def get(self, queue, item_id):
        """Get an item of the queue."""
        return _with_details([_found(queue, item_id)])[0]


@bp.route(f"/{QUEUE}/items/<item_id>/claim")
class ClaimItem(MethodView):
    @bp.arguments(ClaimSchema)
    @bp.response(200, QueueItemSchema)
    def post(self, data, queue, item_id):
        """Take an open item; when several claim at once, one wins and the others get 409."""
        item = service.claim(_found(queue, item_id), data["assignee"])
        return _with_details([item])[0]


@bp.route(f"/{QUEUE}/items/<item_id>/resolve")
class ResolveItem(MethodView):
    @bp.arguments(ResolveSchema)
    @bp.response(200, QueueItemSchema)
    def post(self, data, queue, item_id):
        """Close an open or claimed item as done, with what was done.

        With `resurvey_after_days`, a follow-up item's contact is asked the same survey
        again that many days later, on the channel they answered on.
        """
        item = service.resolve(
            _found(queue, item_id),
            data["outcome"],
            resurvey_after_days=data.get("resurvey_after_days"),
        )
        return _with_details([item])[0]


@bp.route(f"/{QUEUE}/items/<item_id>/dismiss")
class DismissItem(MethodView):
    @bp.arguments(DismissSchema)
    @bp.response(200, QueueItemSchema)
    def post(self, data, queue, item_id):
        """Close an open or claimed item as needing no action."""
        item = service.dismiss(_found(queue, item_id), data.get("note"))
        return _with_details([item])[0]
