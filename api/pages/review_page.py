"""The review request's own page, `/rv/<token>`: where a review request email leads.

It lists the workspace's review sites as tracked links and lets the person say
"I left a review" (a POST). The token names the request only; an expired one
is a 410, any other failure a 404, as on the survey page.
"""

from dataclasses import dataclass

from flask import url_for

from api.advocacy import reviews
from api.advocacy.models import ReviewRequest
from api.contacts.models import Contact
from api.extensions import db
from api.i18n.catalogs import UI
from api.i18n.placeholders import fill
from api.i18n.templates import choose_page_locale
from api.pages import errors


@dataclass
class ReviewPage:
    token: str
    review: ReviewRequest
    contact: Contact
    product: str
    locale: str

    def context(self) -> dict:
        words = UI[self.locale]
        values = {"product": self.product, "first_name": self.contact.first_name}
        title = fill(words["review_title"], values)
        return {
            "lang": self.locale,
            "ui": words,
            "title": title,
            "body": fill(words["review_body"], values),
            "destinations": reviews.links(self.review)["destinations"],
            "reviewed": self.review.reviewed_at is not None,
            "reviewed_url": url_for("pages.review_request_page", token=self.token),
        }


def open_page(token: str) -> ReviewPage:
    with errors.token_checked():
        found = reviews.request_for_token(token)
    contact = db.session.get(Contact, found.contact_id)
    if contact is None or contact.erased_at is not None:
        raise errors.link_not_found()
    product = reviews.product_name(found.workspace_id, found.survey_id)
    locale = choose_page_locale(contact.locale)
    return ReviewPage(token, found, contact, product, locale)
