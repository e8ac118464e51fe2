"""The preference page's rules: which contact a link names, and what they can change.

Unsubscribing from surveys, withdrawing consent to a testimonial and choosing
the acts of advocacy one would do. Every change is idempotent: a second
unsubscribe (a double click, a mail client retrying its one-click POST) changes
nothing and records no event.
"""

from dataclasses import dataclass

from flask import url_for

from api import signing
from api.advocacy import advocates, testimonials
from api.advocacy.models import ACTS
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.extensions import db
from api.i18n.catalogs import UI
from api.i18n.placeholders import fill
from api.i18n.templates import choose_page_locale
from api.pages import errors
from api.surveys import tokens
from api.workspaces.models import Workspace

ONE_CLICK = "one_click"
PREFERENCE_PAGE = "preference_page"
# ?done= after a change, and the notice each shows.
NOTICES = {"resubscribed": "resubscribed_body", "withdrawn": "withdrawn_notice", "saved": "saved"}


@dataclass
class PreferencePage:
    token: str
    contact: Contact
    product: str
    locale: str

    def context(self, done: str | None = None) -> dict:
        words = UI[self.locale]
        values = {"product": self.product}
        # "Subscribed again" only while it is true (a later unsubscribe wins).
        if done == "resubscribed" and self.contact.unsubscribed:
            done = None
        agreed = advocates.opted_in(self.contact.id)
        return {
            "lang": self.locale,
            "ui": words,
            "unsubscribed": self.contact.unsubscribed,
            "title": words[
                "unsubscribed_title" if self.contact.unsubscribed else "unsubscribe_title"
            ],
            "unsubscribe_body": fill(words["unsubscribe_body"], values),
            "unsubscribed_body": fill(words["unsubscribed_body"], values),
            "notice": fill(words[NOTICES[done]], values) if done in NOTICES else None,
            "unsubscribe_url": url_for("pages.preference_page", token=self.token),
            "resubscribe_url": url_for("pages.resubscribe", token=self.token),
            "testimonials": [
                {
                    "text": testimonial.text,
                    "name": testimonial.display_name,
                    "withdraw_url": url_for(
                        "pages.withdraw_testimonial",
                        token=self.token,
                        testimonial_id=testimonial.id,
                    ),
                }
                for testimonial in testimonials.of_contact(self.contact)
            ],
            "advocacy_title": fill(words["advocate_title"], values),
            "acts": [
                {"act": act, "label": words[f"act_{act}"], "checked": act in agreed} for act in ACTS
            ],
            "advocacy_url": url_for("pages.preferences_advocacy", token=self.token),
        }


def open_page(token: str) -> PreferencePage:
    """The page a preference token opens; a bad, expired or erased one is a 404 page.

    Expired is a 404 here too: there is nothing the reader could do about it,
    and the link in their newest email works.
    """
    try:
        contact_id = tokens.contact_id_for(token)
    except (signing.TokenInvalid, signing.TokenExpired):
        raise errors.link_not_found() from None
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.erased_at is not None:
        raise errors.link_not_found()
    workspace = db.session.get(Workspace, contact.workspace_id)
    locale = choose_page_locale(contact.locale)
    return PreferencePage(token, contact, workspace.name if workspace else "", locale)


def unsubscribe(contact: Contact, source: str) -> bool:
    """Unsubscribe from every survey; True if this call changed anything."""
    return contacts.set_unsubscribed(contact, True, source=source)


def resubscribe(contact: Contact) -> bool:
    """Undo an unsubscribe; True if this call changed anything."""
    return contacts.set_unsubscribed(contact, False, source=PREFERENCE_PAGE)


def withdraw(contact: Contact, testimonial_id: str) -> None:
    """Withdraw consent to one of the contact's own testimonials (another's is a 404)."""
    found = testimonials.get_testimonial(contact.workspace_id, testimonial_id)
    if found.contact_id != contact.id:
        raise errors.link_not_found()
    testimonials.withdraw(found, PREFERENCE_PAGE)


def choose_acts(contact: Contact, acts: list[str]) -> None:
    advocates.set_opt_ins(contact, [act for act in acts if act in ACTS], PREFERENCE_PAGE)
