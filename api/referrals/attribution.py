"""Attribution of a reported sign-up to a referral code, and the rules it must pass.

The partner reports a sign-up with the signed click ids it saw (`ffclick`) and
or a code the person typed. Valid clicks inside the attribution window are
candidates and the program's model picks one: the latest (last click) or the
earliest (first click). A typed code is used when no click qualifies, so codes
handed out by voice or on paper count too. Forged, foreign or expired click ids
are ignored, never an error.

A referred person is bound to one referrer once: the binding is a unique
constraint (`bound_contact_id`), so concurrent reports cannot both win.
Rejected sign-ups are stored too, unbound, with their reason.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select

from api import lifecycle
from api.contacts import service as contacts
from api.contacts.models import Contact
from api.contacts.schemas import normal_email
from api.database import insert_ignore, utcnow
from api.domain_errors import Conflict, Invalid, found
from api.events import service as events
from api.extensions import db
from api.ids import new_id
from api.referrals import clicks, fraud, links, rewards
from api.referrals import program as programs
from api.referrals.models import Referral, ReferralClick, ReferralCode, ReferralProgram

# Longer than any attribution window: the window itself is checked on the click's time.
CLICK_TOKEN_MAX_AGE = 366 * 86400


@dataclass
class Touch:
    code: ReferralCode
    click: clicks.SignedClick | None

    @property
    def source(self) -> str:
        return "click" if self.click is not None else "code"


def signed_clicks(tokens: list[str]) -> list[clicks.SignedClick]:
    """The clicks the genuine tokens name; forged or damaged ones are dropped.

    What a token says is enough: a sign-up right after the click is attributed
    whichever worker served it, and whether its row is written yet or not. Tokens
    minted before they carried the code and time name a stored click instead.
    """
    found, stored_ids = [], []
    for token in tokens:
        click = clicks.read_click(token, CLICK_TOKEN_MAX_AGE)
        if isinstance(click, clicks.SignedClick):
            found.append(click)
        elif isinstance(click, str):
            stored_ids.append(click)
    if stored_ids:
        rows = db.session.scalars(select(ReferralClick).where(ReferralClick.id.in_(stored_ids)))
        found += [
            clicks.SignedClick(row.id, row.code_id, row.created_at, row.ad_click_param)
            for row in rows
        ]
    return found


def in_window(clicked_at: datetime, now: datetime, window_days: int) -> bool:
    """Inclusive at both ends: a click exactly `window_days` old still counts."""
    return now - timedelta(days=window_days) <= clicked_at <= now


def pick(candidates: list[clicks.SignedClick], model: str) -> clicks.SignedClick | None:
    if not candidates:
        return None
    ordered = sorted(candidates, key=lambda click: (click.at, click.id))
    return ordered[0] if model == "first_click" else ordered[-1]


def choose_touch(
    program: ReferralProgram, tokens: list[str], code_text: str | None, now: datetime
) -> Touch | None:
    workspace_id = program.workspace_id
    window = program.attribution_window_days
    candidates = [click for click in signed_clicks(tokens) if in_window(click.at, now, window)]
    if candidates:
        live = {
            code.id: code
            for code in db.session.scalars(
                select(ReferralCode).where(
                    ReferralCode.id.in_({click.code_id for click in candidates}),
                    # A genuine click of another workspace is as good as none here.
                    ReferralCode.workspace_id == workspace_id,
                    ReferralCode.disabled_at.is_(None),
                )
            )
        }
        valid = [click for click in candidates if click.code_id in live]
        chosen = pick(valid, program.attribution_model)
        if chosen is not None:
            return Touch(live[chosen.code_id], chosen)
    if code_text:
        code = links.find_code(workspace_id, code_text)
        if code is not None and not code.disabled:
            return Touch(code, None)
    return None


def stored_click(click: clicks.SignedClick | None) -> ReferralClick | None:
    """The click's row, for what only it knows (the visitor's address); None when the
    click came without one or its row was lost (see clicks: commits that do not wait)."""
    return db.session.get(ReferralClick, click.id) if click is not None else None


def live_referral_of(workspace_id: str, contact_id: str) -> Referral | None:
    return db.session.scalar(
        select(Referral)
        .where(Referral.workspace_id == workspace_id, Referral.bound_contact_id == contact_id)
        .execution_options(populate_existing=True)
    )


def live_referral_by_email(workspace_id: str, email: str) -> Referral | None:
    """The live referral of a contact with this address (the latest, should several share it)."""
    return db.session.scalar(
        referrals_of(workspace_id)
        .join(Contact, Contact.id == Referral.bound_contact_id)
        .where(
            Contact.workspace_id == workspace_id,
            Contact.email == normal_email(email),
            Contact.erased_at.is_(None),
        )
        .order_by(Referral.signed_up_at.desc(), Referral.id.desc())
        .limit(1)
    )


def report_signup(
    workspace_id: str, data: dict, *, ip: str | None = None, now: datetime | None = None
) -> tuple[Referral, bool]:
    """Attribute a sign-up; (referral, True) when stored now, (existing, False) on a repeat.

    The referral may come back `rejected` (with its reason) or `flagged`; the
    caller decides how to answer. A repeat is the same person reported again
    through the same code: the referral already made is the answer.
    """
    now = now or utcnow()
    program = programs.enabled_program(workspace_id)
    if program is None:
        raise Invalid(
            "The referral program is not enabled for this workspace.", code="program_disabled"
        )
    tokens = [t for t in [data.get("click_id"), *(data.get("click_ids") or [])] if t]
    touch = choose_touch(program, tokens, data.get("code"), now)
    if touch is None:
        raise Invalid(
            "No valid click inside the attribution window and no known code.",
            code="no_attribution",
            fields={"click_id": ["no_attribution"]},
        )
    customer = dict(data["customer"])
    external_id = customer.pop("external_id")
    before = contacts.get_contact(workspace_id, external_id)
    was_customer = before is not None and lifecycle.is_customer(before.stage)
    friend, _ = contacts.upsert_contact(workspace_id, external_id, customer)

    existing = live_referral_of(workspace_id, friend.id)
    if existing is not None and existing.code_id == touch.code.id:
        return existing, False
    row = stored_click(touch.click)
    ip_hash = clicks.hash_ip(ip) if ip else (row.ip_hash if row is not None else None)
    values = {
        "workspace_id": workspace_id,
        "code_id": touch.code.id,
        "referrer_contact_id": touch.code.contact_id,
        "referred_contact_id": friend.id,
        # The click named where its row exists (the column references it).
        "click_id": row.id if row is not None else None,
        "source": touch.source,
        "ip_hash": ip_hash,
        "email_key": fraud.email_key(friend.email),
        "clicked_at": touch.click.at if touch.click else None,
        "signed_up_at": now,
        "created_at": now,
        "updated_at": now,
    }
    reason = fraud.hard_reason(
        self_referral=fraud.is_self_referral(touch.code.contact, friend),
        already_referred=existing is not None,
        already_customer=was_customer,
        cap_reached=fraud.cap_reached(
            touch.code, program.cap_per_referrer, program.cap_period_days, now
        ),
    )
    if reason is not None:
        return _rejected(values, reason), True

    flags = fraud.soft_flags(
        email=friend.email,
        signups_from_ip=fraud.signups_from_ip(workspace_id, ip_hash, now),
        ip_burst_limit=program.ip_burst_limit,
        signups_of_code=fraud.signups_of_code(touch.code.id, now),
        code_burst_limit=program.code_burst_limit,
        ad_click_param=touch.click.ad_click_param if touch.click else None,
        allow_paid_traffic=program.allow_paid_traffic,
    )
    referral_id = new_id("ref")
    qualifies_until = (
        now + timedelta(days=program.qualification_window_days)
        if program.qualification_window_days
        else None
    )
    bound = insert_ignore(
        Referral,
        {
            **values,
            "id": referral_id,
            "bound_contact_id": friend.id,
            "status": "flagged" if flags else "signed_up",
            "flags": flags,
            "qualifies_until": qualifies_until,
        },
        ["workspace_id", "bound_contact_id"],
    )
    if not bound:
        # A concurrent report bound this person first; same code: that one is the answer.
        existing = live_referral_of(workspace_id, friend.id)
        if existing is not None and existing.code_id == touch.code.id:
            return existing, False
        return _rejected(values, "already_referred"), True
    referral = db.session.get(Referral, referral_id)
    events.record(workspace_id, "referral.created", referral.id, _event_data(referral))
    if program.reward_event == "signup":
        rewards.grant(referral, program, now=now)
    return referral, True


def _rejected(values: dict, reason: str) -> Referral:
    referral = Referral(**values, id=new_id("ref"), status="rejected", reason=reason, flags=[])
    db.session.add(referral)
    db.session.flush()
    events.record(referral.workspace_id, "referral.rejected", referral.id, _event_data(referral))
    return referral


def _event_data(referral: Referral) -> dict:
    return {
        "status": referral.status,
        "reason": referral.reason,
        "flags": referral.flags,
        "source": referral.source,
        "code_id": referral.code_id,
        "referrer_contact_id": referral.referrer_contact_id,
        "referred_contact_id": referral.referred_contact_id,
    }


# --- reading and reviewing --------------------------------------------------------------


def referrals_of(workspace_id: str) -> Select:
    return select(Referral).where(Referral.workspace_id == workspace_id)


def filter_referrals(workspace_id: str, filters: dict) -> Select:
    statement = referrals_of(workspace_id)
    for name in ("status", "code_id", "referrer_contact_id"):
        if filters.get(name):
            statement = statement.where(getattr(Referral, name) == filters[name])
    return statement


def get_referral(workspace_id: str, referral_id: str, *, for_update: bool = False) -> Referral:
    statement = referrals_of(workspace_id).where(Referral.id == referral_id)
    if for_update:
        statement = statement.with_for_update(of=Referral)
    return found(db.session.scalar(statement), "referral")


def review(referral: Referral, decision: str, note: str | None, now=None) -> Referral:
    """A person's verdict on a flagged referral: approve releases its rewards, reject voids them."""
    now = now or utcnow()
    if referral.status != "flagged":
        raise Conflict("Only flagged referrals are reviewed.", code="not_flagged")
    referral.review_note = note
    referral.reviewed_at = now
    referral.updated_at = now
    if decision == "approve":
        referral.status = "converted" if referral.converted_at else "signed_up"
        rewards.release(referral, now)
        event = "referral.approved"
    else:
        referral.status = "rejected"
        referral.reason = "review_rejected"
        # Unbound: a rejected referral does not keep the person from a genuine one.
        referral.bound_contact_id = None
        rewards.void_all(referral, "referral_rejected", now)
        event = "referral.rejected"
    db.session.flush()
    events.record(referral.workspace_id, event, referral.id, _event_data(referral))
    return referral


def flag_for_review(referral: Referral, flag: str, now: datetime | None = None) -> bool:
    """Send a live referral to review after the fact (a payment dispute); True if it changed.

    Its pending rewards are held until the review, as a referral flagged at sign-up;
    approving it restores its status, rejecting it voids or claws back its rewards.
    """
    if referral.status not in ("signed_up", "converted", "flagged"):
        return False
    if referral.status == "flagged" and flag in referral.flags:
        return False
    now = now or utcnow()
    referral.flags = [*referral.flags, flag] if flag not in referral.flags else referral.flags
    referral.status = "flagged"
    referral.updated_at = now
    rewards.hold(referral, now)
    db.session.flush()
    events.record(referral.workspace_id, "referral.flagged", referral.id, _event_data(referral))
    return True


def forget_email(contact: Contact) -> None:
    """An erased contact's mailbox key goes with its address."""
    for referral in db.session.scalars(
        select(Referral).where(Referral.referred_contact_id == contact.id)
    ):
        referral.email_key = None
