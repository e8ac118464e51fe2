from api.http.blueprint import ApiBlueprint

bp = ApiBlueprint(
    "referrals",
    __name__,
    url_prefix="/v1",
    description="Referrals: program settings, codes, attribution, conversions, rewards.",
)
