"""A workspace's referral program settings: read with defaults, replace as a whole."""

from decimal import Decimal

from sqlalchemy import select

from api.database import insert_ignore, utcnow
from api.events import service as events
from api.extensions import db
from api.referrals.models import ReferralProgram

DEFAULTS = {
    "enabled": False,
    "landing_url": None,
    "attribution_window_days": 30,
    "attribution_model": "last_click",
    "qualification_window_days": None,
    "referrer_reward": None,
    "friend_reward": None,
    "reward_event": "purchase",
    "min_purchase_amount": None,
    "min_purchase_currency": None,
    "hold_days": 14,
    "cap_per_referrer": None,
    "cap_period_days": None,
    "allow_paid_traffic": True,
    "ip_burst_limit": 3,
    "code_burst_limit": 10,
}


def get_program(workspace_id: str) -> ReferralProgram | None:
    return db.session.scalar(
        select(ReferralProgram).where(ReferralProgram.workspace_id == workspace_id)
    )


def program_or_defaults(workspace_id: str) -> ReferralProgram:
    """The stored program, or an unsaved one holding the defaults (disabled)."""
    return get_program(workspace_id) or ReferralProgram(workspace_id=workspace_id, **DEFAULTS)


def enabled_program(workspace_id: str) -> ReferralProgram | None:
    program = get_program(workspace_id)
    return program if program is not None and program.enabled else None


def _stored_reward(rule: dict | None) -> dict | None:
    # JSON holds no Decimal; a string keeps the amount exact.
    if rule is None:
        return None
    return {
        "kind": rule["kind"],
        "amount": str(Decimal(rule["amount"])),
        "currency": rule.get("currency"),
    }


def put_program(workspace_id: str, data: dict) -> ReferralProgram:
    """Replace the settings; fields left out take their defaults."""
    now = utcnow()
    # Insert-or-nothing first, so two first PUTs racing do not both try to create the row.
    insert_ignore(
        ReferralProgram,
        {"workspace_id": workspace_id, **DEFAULTS, "created_at": now, "updated_at": now},
        ["workspace_id"],
    )
    program = db.session.scalar(
        select(ReferralProgram)
        .where(ReferralProgram.workspace_id == workspace_id)
        .execution_options(populate_existing=True)
    )
    values = {**DEFAULTS, **{k: v for k, v in data.items() if k in DEFAULTS}}
    values["referrer_reward"] = _stored_reward(values["referrer_reward"])
    values["friend_reward"] = _stored_reward(values["friend_reward"])
    for name, value in values.items():
        setattr(program, name, value)
    program.updated_at = now
    db.session.flush()
    events.record(
        workspace_id, "referral_program.updated", workspace_id, {"enabled": program.enabled}
    )
    return program
