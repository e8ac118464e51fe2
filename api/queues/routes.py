from api.http.blueprint import ApiBlueprint

bp = ApiBlueprint(
    "queues",
    __name__,
    url_prefix="/v1/queues",
    description="Follow-up and advocacy queues: claim, resolve, dismiss.",
)
