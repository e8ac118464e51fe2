"""What a promoter is shown at the moment they are happiest: their link and how to share it.

One place for it, used by the hosted thank-you page, the survey widget's answer
and the referral widget. Codes are issued when a promoter's score is recorded
(a POST); showing them never writes.
"""

from urllib.parse import quote, urlencode

from api.contacts.models import Contact
from api.i18n.catalogs import UI
from api.i18n.placeholders import fill
from api.referrals import links, program, stats


def issue_for_promoter(workspace_id: str, contact_id: str | None) -> None:
    """Give a promoter their code, if the workspace runs a referral program."""
    if contact_id:
        links.promoter_link(workspace_id, contact_id)


def share_links(url: str, message: str, subject: str) -> dict:
    mail = urlencode({"subject": subject, "body": f"{message} {url}"}, quote_via=quote)
    return {
        "email": f"mailto:?{mail}",
        "x": f"https://twitter.com/intent/tweet?{urlencode({'text': message, 'url': url})}",
        "linkedin": f"https://www.linkedin.com/sharing/share-offsite/?{urlencode({'url': url})}",
        "whatsapp": f"https://wa.me/?{urlencode({'text': f'{message} {url}'})}",
    }


def shown_to(contact: Contact | None, locale: str, product: str) -> dict | None:
    """The promoter's code, link, share links and words, or None (no program, no code)."""
    if contact is None or program.enabled_program(contact.workspace_id) is None:
        return None
    code = links.code_of_contact(contact.workspace_id, contact.id)
    if code is None or code.disabled:
        return None
    ui = UI[locale]
    values = {"product": product, "first_name": contact.first_name}
    title = fill(ui["referral_title"], values)
    body = fill(ui["referral_body"], values)
    url = links.link_for(code.code)
    return {
        "code": code.code,
        "url": url,
        "title": title,
        "body": body,
        "share": share_links(url, body, title),
    }


def with_status(contact: Contact, shown: dict) -> dict:
    """The referral widget also shows how the advocate is doing."""
    code = links.code_of_contact(contact.workspace_id, contact.id)
    figures = stats.code_stats(code)
    return shown | {
        "status": {
            "clicks": figures["clicks"],
            "signups": figures["signups"],
            "conversions": figures["conversions"],
            "rewards": figures["rewards"],
        }
    }
