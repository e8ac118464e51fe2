"""What a respondent is asked after answering, on the thank-you page and in the widget.

* The review ask goes to every identified respondent, whatever the score, when
  the workspace asks for reviews at all (api/advocacy/settings.py says why).
* Promoters (the respondents the advocacy queue is for) who left a comment are
  also asked whether we may quote it, and whether they would do more (opt-in).
* Each ask of an act is claimed in the ask cap first (api/advocacy/asks.py), so
  nobody is asked for the same act twice within the cooldown, whatever channel.

`make` runs in the POST that records the answer or the comment; `shown` only
reads, for the GET that shows the thank-you (mail scanners open every link).
"""

from dataclasses import dataclass, field
from datetime import datetime

from api.advocacy import advocates, asks, reviews, testimonials
from api.advocacy.models import ACTS, ReviewRequest, Testimonial
from api.advocacy.settings import asks_for_reviews, settings_of
from api.contacts.models import Contact
from api.database import utcnow
from api.i18n.catalogs import UI
from api.i18n.placeholders import fill
from api.responses.models import Response
from api.surveys.tokens import preferences_url


@dataclass
class Shown:
    """The asks that followed one response, as they stand now."""

    review: ReviewRequest | None = None
    testimonial_asked: bool = False  # the consent form is offered
    testimonial: Testimonial | None = None  # given after this response
    advocate_asked: bool = False  # the opt-in form is offered
    agreed: list[str] = field(default_factory=list)  # acts the contact opted in to


def _identified(contact: Contact | None) -> bool:
    return contact is not None and contact.erased_at is None


def make(response: Response, contact: Contact | None, kind: str, channel: str, now=None) -> None:
    """Make the asks that follow this response, within the ask cap; safe to repeat."""
    if not _identified(contact):
        return
    now: datetime = now or utcnow()
    reviews.offer_after(response, contact, channel, now)
    if (
        response.comment
        and testimonials.is_asked_of(kind, response.category)
        and testimonials.for_response(response.id) is None
        and not asks.asked_after(contact.id, testimonials.ACT, response.id)
    ):
        cooldown = settings_of(response.workspace_id).ask_cooldown_days
        ask = asks.Ask(response.workspace_id, contact.id, testimonials.ACT, channel, response.id)
        asks.claim(ask, cooldown, now)


def shown(response: Response, contact: Contact | None, kind: str) -> Shown:
    if not _identified(contact):
        return Shown()
    settings = settings_of(response.workspace_id)
    review = reviews.request_for_response(response.id) if asks_for_reviews(settings) else None
    given = testimonials.for_response(response.id)
    happy = testimonials.is_asked_of(kind, response.category)
    return Shown(
        review=review,
        testimonial_asked=bool(
            happy
            and response.comment
            and given is None
            and asks.asked_after(contact.id, testimonials.ACT, response.id)
        ),
        testimonial=given,
        advocate_asked=happy,
        agreed=sorted(advocates.opted_in(contact.id), key=ACTS.index),
    )


def presented(
    response: Response, contact: Contact | None, kind: str, locale: str, product: str
) -> dict:
    """The asks that followed a response, in the reader's words, as the thank-you page
    and the widget show them (the same dict for both)."""
    found = shown(response, contact, kind)
    ui = UI[locale]
    values = {"product": product, "first_name": contact.first_name if contact else None}
    review = None
    if found.review is not None:
        review = {
            "id": found.review.id,
            "title": fill(ui["review_title"], values),
            "body": fill(ui["review_body"], values),
            "destinations": reviews.links(found.review)["destinations"],
            "reviewed": found.review.reviewed_at is not None,
        }
    testimonial = None
    if found.testimonial_asked:
        wording = testimonials.consent_wording(locale, product)
        testimonial = {
            "title": ui["testimonial_title"],
            "text": response.comment,
            "display_name": testimonials.suggested_name(contact),
            "consent": wording,
            "consent_hash": testimonials.wording_hash(wording),
        }
    given = found.testimonial
    advocate = None
    if found.advocate_asked and not found.agreed:
        advocate = {
            "title": fill(ui["advocate_title"], values),
            "body": ui["advocate_body"],
            "acts": [{"act": act, "label": ui[f"act_{act}"]} for act in ACTS],
        }
    return {
        "review": review,
        "testimonial": testimonial,
        "testimonial_given": {"id": given.id, "status": given.status} if given else None,
        "advocate": advocate,
        "agreed": found.agreed,
        "preferences_url": preferences_url(contact.id) if _identified(contact) else None,
    }
