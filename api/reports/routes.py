from api.http.blueprint import ApiBlueprint

bp = ApiBlueprint(
    "reports",
    __name__,
    url_prefix="/v1/surveys",
    description="Reports: NPS, CSAT and CES with margins of error, trends and segments.",
)
