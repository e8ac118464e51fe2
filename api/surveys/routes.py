from api.http.blueprint import ApiBlueprint

bp = ApiBlueprint(
    "surveys",
    __name__,
    url_prefix="/v1/surveys",
    description="Surveys and invitations: what you ask, and signed links to ask it.",
)
