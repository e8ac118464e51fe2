from api.http.blueprint import ApiBlueprint

bp = ApiBlueprint(
    "events",
    __name__,
    url_prefix="/v1/events",
    description="The event feed: every state change, in order.",
)
