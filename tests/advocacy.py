"""One person answering through each channel that can ask for advocacy: the hosted
page (score, comment, thank-you), the survey widget (answer, comment, asks) and the
API's review request for email. Tests of testimonials, reviews and advocates share it."""

import re
from dataclasses import dataclass

from api.extensions import db
from api.surveys import tokens
from api.surveys.models import Survey
from api.widget.identity import user_hash
from tests.factories import make_contact, make_invitation, make_survey
from tests.feed import wait_until_readable

BROWSER = {"Accept": "text/html", "Sec-Fetch-Site": "same-origin"}
SITE = "https://shop.example.com"


@dataclass
class PageVisit:
    token: str
    html: str
    status: int

    def consent_hash(self) -> str:
        return re.search(r'name="consent_hash" value="([^"]+)"', self.html).group(1)


class Asker:
    """A workspace with review sites, asking one contact (`external_id`) everywhere."""

    def __init__(self, app, tenant, sites=("G2", "Capterra")):
        self.app, self.tenant, self.client = app, tenant, tenant.client
        if sites:
            self.settings(
                review_destinations=[
                    {"name": name, "url": f"https://{name.lower()}.example/acme"} for name in sites
                ]
            )
        tenant.patch("/v1/widget", json={"allowed_origins": [SITE]})
        self.identity_secret = tenant.get("/v1/widget").get_json()["identity_secret"]

    def events(self, prefix: str = "") -> list[dict]:
        """The workspace's events whose type starts with `prefix`, once all are readable."""
        wait_until_readable(self.app)
        data = self.tenant.get("/v1/events?limit=500").get_json()["data"]
        return [event for event in data if event["type"].startswith(prefix)]

    def settings(self, **data) -> dict:
        answer = self.tenant.patch("/v1/advocacy-settings", json=data)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    # --- the hosted page ---------------------------------------------------------------

    def invite(self, external_id: str = "ann", kind: str = "nps", **contact) -> str:
        """A new survey and an invitation of the contact: the survey link's token."""
        with self.app.app_context():
            survey = make_survey(self.tenant.id, kind, product_name="Acme")
            person = make_contact(
                self.tenant.id, external_id, **({"first_name": "Ann", "last_name": "Lee"} | contact)
            )
            invitation = make_invitation(survey, person)
            db.session.commit()
            return tokens.survey_token(invitation.id)

    def answer_page(self, score: int, comment: str | None = None, token: str | None = None, **kw):
        """Score (and comment) on the hosted page; the thank-you page as shown after."""
        token = token or self.invite(**kw)
        posted = self.client.post(f"/s/{token}", data={"score": str(score)}, headers=BROWSER)
        assert posted.status_code == 303, posted.get_data(as_text=True)
        if comment is not None:
            posted = self.client.post(
                f"/s/{token}/comment", data={"comment": comment}, headers=BROWSER
            )
            assert posted.status_code == 303
        return self.thanks(token)

    def thanks(self, token: str) -> PageVisit:
        shown = self.client.get(f"/s/{token}?step=thanks", headers=BROWSER)
        return PageVisit(token, shown.get_data(as_text=True), shown.status_code)

    def post_page(self, token: str, path: str, data: dict):
        return self.client.post(f"/s/{token}/{path}", data=data, headers=BROWSER)

    # --- the survey widget -------------------------------------------------------------

    def widget_survey(self, kind: str = "nps") -> str:
        with self.app.app_context():
            survey = Survey(
                workspace_id=self.tenant.id,
                name="In app",
                kind=kind,
                product_name="Acme",
                widget_enabled=True,
                resurvey_days=0,
                decline_days=0,
            )
            db.session.add(survey)
            db.session.commit()
            return survey.id

    def widget_call(self, path: str, body: dict):
        return self.client.post(
            f"/w/v1/{path}?key={self.tenant.publishable_key}", json=body, headers={"Origin": SITE}
        )

    def answer_widget(self, score: int, comment: str | None = None, user_id: str = "ann"):
        """Answer (and comment) in the widget; returns (display token, POST /asks answer)."""
        shown = self.client.get(
            "/w/v1/eligibility",
            query_string={
                "key": self.tenant.publishable_key,
                "user_id": user_id,
                "user_hash": user_hash(self.identity_secret, user_id),
            },
            headers={"Origin": SITE},
        ).get_json()
        assert shown["show"], shown
        display = shown["display"]
        assert self.widget_call("responses", {"display": display, "score": score}).status_code in (
            200,
            201,
        )
        if comment is not None:
            commented = self.widget_call("comments", {"display": display, "comment": comment})
            assert commented.status_code == 200
        asks = self.widget_call("asks", {"display": display})
        assert asks.status_code == 200, asks.get_json()
        return display, asks.get_json()

    # --- email, through the API ----------------------------------------------------------

    def ask_by_email(self, external_id: str = "ann"):
        return self.tenant.post(
            "/v1/review-requests", json={"contact": {"external_id": external_id, "attributes": {}}}
        )
