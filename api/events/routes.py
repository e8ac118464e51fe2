from flask.views import MethodView

from api.events import service
from api.events.models import Event
from api.events.schemas import EventFeedArgs, EventSchema
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.errors import ApiError

# _encode, _decode: the cursor format is paginate()'s own; a feed needs one on its last
# page too, and reads the one-value cursors it handed out before it was ordered by tx.
from api.http.pagination import _decode, _encode, page_of, paginate

bp = ApiBlueprint(
    "events",
    __name__,
    url_prefix="/v1/events",
    description="The event feed: every state change, in order.",
)


def _current_cursor(after: str | None, order) -> str | None:
    """A cursor of the (tx, id) feed; an older one-value (id) cursor becomes one.

    Every event written before the feed was ordered by transaction has tx 0, and
    those are the only ids an older cursor can hold, so (0, id) is the same place.
    (SQLite's feed is ordered by id alone: its cursors hold one value still.)
    """
    if after is None or len(order) == 1:
        return after
    try:
        (event_id,) = _decode(after, [Event.id])
    except ApiError:
        return after  # a current cursor, or garbage that paginate() refuses
    return _encode([0, event_id])


@bp.route("")
class Events(MethodView):
    @bp.arguments(EventFeedArgs, location="query")
    @bp.response(200, page_of(EventSchema))
    def get(self, args):
        """Read the feed in order, oldest first.

        Pass the page's `next_cursor` as `after` to read on. A page without `has_more`
        still ends with a cursor to poll from: keep it and ask again later. An event
        shows up once every transaction that began before it has ended, which is
        usually at once and never out of order.
        """
        order = service.order()
        args["after"] = _current_cursor(args.get("after"), order)
        statement = service.feed(current_workspace_id(), args.get("type"))
        page = paginate(statement, args, order=order)
        if page["next_cursor"] is None:
            # A feed is polled: its last page still says where to resume, or an empty
            # page hands back the cursor it was given, so no event is read twice or missed.
            last = page["data"][-1] if page["data"] else None
            page["next_cursor"] = (
                _encode([getattr(last, column.key) for column, _ in order])
                if last
                else args.get("after")
            )
        return page
