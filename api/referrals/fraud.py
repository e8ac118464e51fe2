"""Fraud and rule checks on a reported sign-up, each with a machine reason.

Hard rules reject the referral; soft signals flag it for review and hold its
rewards. The decisions are plain functions over facts; the queries that
gather the facts are below them.
"""

from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update

from api.contacts.models import Contact
from api.extensions import db
from api.referrals import emails
from api.referrals.models import Referral, ReferralCode

# In the order they are checked: the first that holds is the reason.
HARD_RULES = ("self_referral", "already_referred", "already_customer", "cap_reached")
BURST_WINDOW = timedelta(hours=1)


def email_key(email: str | None) -> str | None:
    """The comparison key of an address (no +tag, Gmail dots), None when unusable."""
    if not email:
        return None
    try:
        return emails.normalize_email(email)
    except ValueError:
        return None


def is_self_referral(referrer: Contact, friend: Contact) -> bool:
    """The same contact, or the same mailbox under another spelling."""
    if referrer.id == friend.id:
        return True
    key = email_key(friend.email)
    return key is not None and key == email_key(referrer.email)


def hard_reason(
    *, self_referral: bool, already_referred: bool, already_customer: bool, cap_reached: bool
) -> str | None:
    facts = {
        "self_referral": self_referral,
        "already_referred": already_referred,
        "already_customer": already_customer,
        "cap_reached": cap_reached,
    }
    return next((rule for rule in HARD_RULES if facts[rule]), None)


def soft_flags(
    *,
    email: str | None,
    signups_from_ip: int,
    ip_burst_limit: int,
    signups_of_code: int,
    code_burst_limit: int,
    ad_click_param: str | None,
    allow_paid_traffic: bool,
) -> list[str]:
    """The signals that hold; `signups_*` count the sign-ups before this one in the window."""
    flags = []
    if email and email_key(email) and emails.is_disposable(email):
        flags.append("disposable_email")
    if signups_from_ip >= ip_burst_limit:
        flags.append("ip_burst")
    if signups_of_code >= code_burst_limit:
        flags.append("code_burst")
    if ad_click_param and not allow_paid_traffic:
        flags.append("paid_traffic")
    return flags


# --- facts from the database ------------------------------------------------------------


def _in_burst_window(now: datetime):
    """Signed up in the window that ends at `now`: after its start, up to `now` included."""
    return and_(Referral.signed_up_at > now - BURST_WINDOW, Referral.signed_up_at <= now)


def signups_from_ip(workspace_id: str, ip_hash: str | None, now: datetime) -> int:
    """Sign-ups (any outcome) from one address hash in the last hour."""
    if ip_hash is None:
        return 0
    return db.session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(
            Referral.workspace_id == workspace_id,
            Referral.ip_hash == ip_hash,
            _in_burst_window(now),
        )
    )


def signups_of_code(code_id: str, now: datetime) -> int:
    """Sign-ups (any outcome) through one code in the last hour."""
    return db.session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(
            Referral.code_id == code_id,
            _in_burst_window(now),
        )
    )


def lock_referrer(code: ReferralCode, now: datetime) -> None:
    """Serialise sign-ups of one referrer until this transaction ends.

    The cap is a count, and two sign-ups counting at once would both see room
    for one more. Writing the referrer's code row takes its row lock on
    PostgreSQL (and the database's write lock on SQLite), so the next one
    counts after this one has committed.
    """
    db.session.execute(
        update(ReferralCode)
        .where(ReferralCode.id == code.id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )


def cap_reached(code: ReferralCode, cap: int | None, period_days: int | None, now) -> bool:
    """The referrer has `cap` accepted referrals within the period already."""
    if cap is None or period_days is None:
        return False
    lock_referrer(code, now)
    count = db.session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(
            Referral.referrer_contact_id == code.contact_id,
            Referral.workspace_id == code.workspace_id,
            Referral.status != "rejected",
            Referral.signed_up_at > now - timedelta(days=period_days),
        )
    )
    return count >= cap
