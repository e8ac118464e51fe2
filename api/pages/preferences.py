"""The preference page's rules: which contact a link names, and (un)subscribing them.

Both changes are idempotent: a second unsubscribe (a double click, a mail
client retrying its one-click POST) changes nothing and records no event.
"""

from dataclasses import dataclass

from flask import g, request, url_for

from api import signing
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.extensions import db
from api.pages import errors
from api.surveys import texts, tokens
from api.workspaces.models import Workspace

ONE_CLICK = "one_click"
PREFERENCE_PAGE = "preference_page"


@dataclass
class PreferencePage:
    token: str
    contact: Contact
    product: str
    locale: str

    def context(self, notice: str | None = None) -> dict:
        words = texts.UI[self.locale]
        values = {"product": self.product}
        return {
            "lang": self.locale,
            "ui": words,
            "unsubscribed": self.contact.unsubscribed,
            "title": words[
                "unsubscribed_title" if self.contact.unsubscribed else "unsubscribe_title"
            ],
            "unsubscribe_body": texts.fill(words["unsubscribe_body"], values),
            "unsubscribed_body": texts.fill(words["unsubscribed_body"], values),
            "notice": texts.fill(words["resubscribed_body"], values) if notice else None,
            "unsubscribe_url": url_for("pages.preference_page", token=self.token),
            "resubscribe_url": url_for("pages.resubscribe", token=self.token),
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
    locale = texts.pick_locale(
        contact.locale, accept_language=request.headers.get("Accept-Language")
    )
    g.page_locale = locale
    return PreferencePage(token, contact, workspace.name if workspace else "", locale)


def unsubscribe(contact: Contact, source: str) -> bool:
    """Unsubscribe from every survey; True if this call changed anything."""
    return contacts.set_unsubscribed(contact, True, source=source)


def resubscribe(contact: Contact) -> bool:
    """Undo an unsubscribe; True if this call changed anything."""
    return contacts.set_unsubscribed(contact, False, source=PREFERENCE_PAGE)
