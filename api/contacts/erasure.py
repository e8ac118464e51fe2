"""Erasing a contact: every area that holds something of the person forgets it.

One function names each area's part, called in the request's transaction, so
what erasure covers is read here and does not depend on which modules happen
to have been imported (it was a registry that modules joined as a side effect
of their import). An area that starts keeping personal data adds its call here.
"""

from api.advocacy import advocates, testimonials
from api.contacts import service as contacts
from api.contacts.imports import service as imports
from api.contacts.models import Contact
from api.referrals import attribution
from api.responses import service as responses
from api.surveys import batches


def erase(contact: Contact) -> None:
    """Scores, acts and counts stay, anonymous; what names or describes the person goes."""
    # First: these wait for a chunk of a batch or an import being applied to commit (which
    # may write the person: a skip, a row error, the contact itself), so the parts
    # below see what it wrote; and they wait holding no lock such a chunk could need.
    batches.forget_pending(contact)
    imports.forget_pending(contact)
    responses.forget_comments(contact)
    attribution.forget_email(contact)
    testimonials.forget_testimonials(contact)
    advocates.forget_advocacy(contact)
    # Before the identity goes: these match the contact by its external id.
    batches.forget_skipped(contact)
    imports.forget_errors(contact)
    contacts.forget_identity(contact)
