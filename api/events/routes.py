from flask.views import MethodView

from api.events import service
from api.events.models import Event
from api.events.schemas import EventFeedArgs, EventSchema
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint

# _encode: the cursor format is paginate()'s own; a feed needs one on its last page too.
from api.http.pagination import _encode, page_of, paginate

bp = ApiBlueprint(
    "events",
    __name__,
    url_prefix="/v1/events",
    description="The event feed: every state change, in order.",
)


@bp.route("")
class Events(MethodView):
    @bp.arguments(EventFeedArgs, location="query")
    @bp.response(200, page_of(EventSchema))
    def get(self, args):
        """Read the feed in order, oldest first.

        Pass the page's `next_cursor` as `after` to read on. A page without `has_more`
        still ends with a cursor to poll from: keep it and ask again later.
        """
        statement = service.feed(current_workspace_id(), args.get("type"))
        page = paginate(statement, args, order=[(Event.id, False)])
        if page["next_cursor"] is None:
            # A feed is polled: its last page still says where to resume, or an empty
            # page hands back the cursor it was given, so no event is read twice or missed.
            page["next_cursor"] = (
                _encode([page["data"][-1].id]) if page["data"] else args.get("after")
            )
        return page
