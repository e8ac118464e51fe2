from api.http.blueprint import ApiBlueprint

bp = ApiBlueprint(
    "responses",
    __name__,
    url_prefix="/v1/responses",
    description="Responses: scores and comments, filtered, paged and exported.",
)
