"""Every model, imported in one place so migrations see the whole schema."""

from api.advocacy.models import (
    AdvocacyAct,
    AdvocacyAsk,
    AdvocacySettings,
    AdvocateOptIn,
    ReviewClick,
    ReviewRequest,
    Testimonial,
    TestimonialTag,
)
from api.contacts.imports.models import ContactImport, ContactImportFile
from api.contacts.models import Contact, StageChange, StageRollup
from api.events.models import Event
from api.http.idempotency import IdempotencyRecord
from api.integrations.models import StripeEvent, StripeIntegration
from api.jobs.models import Job
from api.queues.models import QueueCount, QueueItem, Resurvey
from api.referrals.models import (
    Referral,
    ReferralClick,
    ReferralCode,
    ReferralConversion,
    ReferralProgram,
    ReferralReward,
)
from api.reports.models import ScoreChurnProgress, ScoreChurnRollup
from api.responses.models import InvitationRollup, Response, ResponseRollup
from api.surveys.models import Invitation, Survey
from api.webhooks.models import FanoutCursor, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from api.worker.periodic import PeriodicRun
from api.workspaces.models import ApiKey, Workspace

__all__ = [
    "AdvocacyAct",
    "AdvocacyAsk",
    "AdvocacySettings",
    "AdvocateOptIn",
    "ApiKey",
    "Contact",
    "ContactImport",
    "ContactImportFile",
    "Event",
    "FanoutCursor",
    "IdempotencyRecord",
    "Invitation",
    "InvitationRollup",
    "Job",
    "PeriodicRun",
    "QueueCount",
    "QueueItem",
    "Referral",
    "ReferralClick",
    "ReferralCode",
    "ReferralConversion",
    "ReferralProgram",
    "ReferralReward",
    "Response",
    "ResponseRollup",
    "Resurvey",
    "ReviewClick",
    "ReviewRequest",
    "ScoreChurnProgress",
    "ScoreChurnRollup",
    "StageChange",
    "StageRollup",
    "StripeEvent",
    "StripeIntegration",
    "Survey",
    "Testimonial",
    "TestimonialTag",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workspace",
]
