"""May we ask this widget user now, and which survey? Decided here, on the server.

For an identified user, clearing the browser's storage changes nothing: every
input is server state (responses, declines, the contact's first-seen time) or the
signed identity. An anonymous visitor has no identity to sign: the sampling draw
follows the random id the widget keeps in that browser (`anonymous_key`).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from api.contacts.service import ContactRow
from api.surveys import invitations
from api.surveys.models import Survey

NO_SURVEY = "no_survey"
ANONYMOUS_NOT_ALLOWED = "anonymous_not_allowed"
TOO_NEW = "too_new"
NOT_SAMPLED = "not_sampled"


@dataclass(frozen=True)
class Decision:
    survey: Survey | None
    reason: str | None = None

    @property
    def show(self) -> bool:
        return self.survey is not None


def url_matches(rules: list[dict], url: str | None) -> bool:
    """No rules: everywhere. Include rules: at least one matches. Exclude rules: none does."""
    parts = urlsplit(url or "")
    path = parts.path or "/"
    target = path + (f"?{parts.query}" if parts.query else "")

    def hit(rule: dict) -> bool:
        value = rule.get("value", "")
        match rule.get("match"):
            case "exact":
                return path == value
            case "starts_with":
                return path.startswith(value)
            case _:
                return value in target

    includes = [r for r in rules if not r.get("exclude")]
    excludes = [r for r in rules if r.get("exclude")]
    if includes and not any(hit(r) for r in includes):
        return False
    return not any(hit(r) for r in excludes)


def sampled(survey: Survey, subject: str, now: datetime) -> bool:
    """A stable draw per person and resurvey period, so reloading never re-rolls it."""
    if survey.sampling_percent >= 100:
        return True
    period = int(now.timestamp() // (max(survey.resurvey_days, 1) * 86400))
    digest = hashlib.sha256(f"{survey.id}:{subject}:{period}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < survey.sampling_percent


def decide(
    surveys: list[Survey],
    contact: ContactRow | None,
    throttles: dict[str, str],
    url: str | None,
    now: datetime,
    anonymous_key: str,
) -> Decision:
    """The first survey (oldest first) that may be shown, or why none may.

    `contact` is None for an anonymous user; `throttles` says why a survey must wait
    for this contact, by survey id (see `standing.read`)."""
    reason = NO_SURVEY
    for survey in surveys:
        if not (survey.active and survey.widget_enabled and url_matches(survey.url_rules, url)):
            continue
        if contact is None:
            if not survey.allow_anonymous:
                reason = ANONYMOUS_NOT_ALLOWED
                continue
            if why := invitations.stage_reason(survey, None):
                reason = why
                continue
            subject = anonymous_key
        else:
            why = _contact_reason(survey, contact, now) or throttles.get(survey.id)
            if why:
                reason = why
                continue
            subject = contact.id
        if not sampled(survey, subject, now):
            reason = NOT_SAMPLED
            continue
        return Decision(survey)
    return Decision(None, reason)


def _contact_reason(survey: Survey, contact: ContactRow, now: datetime) -> str | None:
    if contact.unsubscribed:
        return invitations.UNSUBSCRIBED
    if why := invitations.stage_reason(survey, contact.stage):
        return why
    delay = timedelta(days=survey.first_seen_delay_days)
    if delay and contact.created_at > now - delay:
        return TOO_NEW
    return None
