"""What a delivery sends: the Standard Webhooks JSON body, or a Slack message.

Standard: `{"type", "timestamp", "data"}`, `data` being the event's object (its
`id` and the fields the feed shows). The JSON is ASCII-only and compact, so the
text that is signed is byte for byte the body that is sent.

Slack: an incoming-webhook message in Block Kit, written for people: a new
detractor shows the score, the comment, who it is, the survey, and where to act.
It reads the response, contact and survey as they are when it is sent.
"""

import json

from flask import current_app
from sqlalchemy import select

from api import scoring
from api.contacts.models import Contact
from api.events.models import Event
from api.extensions import db
from api.queues.models import QueueItem
from api.responses.models import Response
from api.surveys.models import Survey
from api.webhooks.models import SLACK, WebhookEndpoint


def payload(event: Event) -> dict:
    return {
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": {"id": event.subject_id, **(event.data or {})},
    }


def encode(document: dict) -> str:
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"), sort_keys=False)


def body(endpoint: WebhookEndpoint, event: Event) -> str:
    return encode(slack_message(event) if endpoint.format == SLACK else payload(event))


# --- Slack ---------------------------------------------------------------------------------

_CATEGORY_MARK = {
    "promoter": ":large_green_circle:",
    "satisfied": ":large_green_circle:",
    "easy": ":large_green_circle:",
    "passive": ":large_yellow_circle:",
    "neutral": ":large_yellow_circle:",
    "detractor": ":red_circle:",
    "unsatisfied": ":red_circle:",
    "hard": ":red_circle:",
}
_QUEUE_NAMES = {"follow_up": "follow-up", "advocacy": "advocacy"}
_TITLES = {
    "contact.unsubscribed": "A contact unsubscribed",
    "contact.resubscribed": "A contact subscribed again",
    "invitation.created": "Survey invitation created",
    "queue_item.opened": "Queue item opened",
    "queue_item.moved": "Queue item moved",
    "queue_item.claimed": "Queue item claimed",
    "queue_item.resolved": "Queue item resolved",
    "queue_item.dismissed": "Queue item dismissed",
    "referral_program.updated": "Referral program updated",
    "referral_code.issued": "Referral code issued",
    "referral_code.disabled": "Referral code disabled",
    "referral_code.enabled": "Referral code enabled",
    "referral.click": "Referral link clicked",
    "referral.created": "New referral",
    "referral.rejected": "Referral rejected",
    "referral.approved": "Referral approved",
    "referral.purchase": "Referred purchase (not qualifying)",
    "referral.converted": "Referral converted",
    "referral.refunded": "Referred purchase refunded",
    "reward.created": "Reward created",
    "reward.approved": "Reward approved",
    "reward.paid": "Reward paid",
    "reward.voided": "Reward voided",
    "reward.clawed_back": "Reward clawed back",
    "webhook.ping": "Flipfunnel is connected",
    "webhook_endpoint.disabled": "A webhook endpoint was disabled",
    "webhook_delivery.exhausted": "A webhook delivery ran out of attempts",
}


def escape(text) -> str:
    """Slack's mrkdwn reserves &, < and >."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(event: Event) -> dict:
    if event.type in ("response.created", "response.updated"):
        return _response_message(event)
    title = _TITLES.get(event.type, event.type)
    facts = [
        {"type": "mrkdwn", "text": f"*{escape(name)}*\n{escape(value)}"}
        for name, value in (event.data or {}).items()
        if value not in (None, "", [], {})
    ][:10]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(title)}*"}}]
    if facts:
        blocks.append({"type": "section", "fields": facts})
    blocks.append(_context(f"`{event.type}` · `{event.subject_id}`"))
    return {"text": title, "blocks": blocks}


def _person(contact: Contact | None) -> tuple[str, str, str | None]:
    """(mrkdwn label, plain name, email) of the person who answered."""
    if contact is None or contact.erased_at is not None:
        return "anonymous", "anonymous", None
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    name = name or contact.external_id
    if contact.email:
        email = escape(contact.email)
        return f"{escape(name)} <mailto:{email}|{email}>", name, contact.email
    return escape(name), name, None


def _response_message(event: Event) -> dict:
    response = db.session.get(Response, event.subject_id)
    if response is None:  # erased since
        return {"text": "A response", "blocks": [_context(f"`{event.type}` · gone since")]}
    survey = db.session.get(Survey, response.survey_id)
    contact = db.session.get(Contact, response.contact_id) if response.contact_id else None
    item = db.session.scalar(select(QueueItem).where(QueueItem.response_id == response.id))
    kind = survey.kind if survey else "nps"
    top = scoring.score_range(kind)[-1]
    category = response.category
    fresh = "New" if event.type == "response.created" else "Changed"
    headline = f"{fresh} {category}: {response.score}/{top}"
    person, name, email = _person(contact)
    survey_name = escape(survey.name) if survey else response.survey_id
    mark = _CATEGORY_MARK.get(category, "")
    blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"{mark} *{escape(headline)}* on *{survey_name}*",
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Score*\n{response.score} of {top} ({category})"},
                {"type": "mrkdwn", "text": f"*Contact*\n{person}"},
                {"type": "mrkdwn", "text": f"*Survey*\n{survey_name}"},
                {"type": "mrkdwn", "text": f"*Channel*\n{escape(response.channel)}"},
            ],
        },
    ]
    if response.comment:
        quoted = "\n".join(f"> {escape(line)}" for line in response.comment.splitlines()[:20])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": quoted}})
    if email:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": f"Email {name}"[:75]},
                        "url": f"mailto:{email}",
                    }
                ],
            }
        )
    if item is not None:
        queue = _QUEUE_NAMES.get(item.queue, item.queue)
        base = current_app.config["BASE_URL"].rstrip("/")
        blocks.append(
            _context(
                f"Act on it: {queue} queue item `{item.id}` ({item.status}) · "
                f"`POST {base}/v1/queues/{queue}/items/{item.id}/claim`"
            )
        )
    return {"text": f"{headline} on {survey.name if survey else 'a survey'}", "blocks": blocks}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
