from flask.views import MethodView

from api.contacts import references
from api.domain_errors import found
from api.extensions import db
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.errors import ApiError
from api.http.pagination import page_of, paginate
from api.referrals import attribution, links, rewards, stats
from api.referrals import program as programs
from api.referrals.models import ReferralCode
from api.referrals.schemas import (
    CodeCreateSchema,
    CodeFilterArgs,
    CodeSchema,
    CodeStatsSchema,
    CodeUpdateSchema,
    ConversionCreateSchema,
    ConversionSchema,
    FunnelSchema,
    LeaderboardArgs,
    LeaderboardSchema,
    PayoutSchema,
    PeriodArgs,
    ProgramSchema,
    ReferralCreateSchema,
    ReferralFilterArgs,
    ReferralSchema,
    RefundCreateSchema,
    ReviewSchema,
    RewardFilterArgs,
    RewardSchema,
    RewardTotalsArgs,
    RewardTotalsListSchema,
)
from api.worker import periodic

bp = ApiBlueprint(
    "referrals",
    __name__,
    url_prefix="/v1",
    description="Referrals: program settings, codes, attribution, conversions, rewards.",
)


# `flask referrals approve-due`: the worker does it every minute (api/worker/periodic.py).
@periodic.command(bp.cli, "approve-due", rewards.approve_due, per="Rewards")
def _approve_due(total: int) -> str:
    """Approve pending rewards whose hold has passed (held ones wait for a review)."""
    return f"rewards approved: {total}"


# --- program ----------------------------------------------------------------------------


@bp.route("/referral-program")
class Program(MethodView):
    @bp.response(200, ProgramSchema)
    def get(self):
        """The program settings (the defaults, disabled, until first saved)."""
        return programs.program_or_defaults(current_workspace_id())

    @bp.arguments(ProgramSchema)
    @bp.response(200, ProgramSchema)
    def put(self, data):
        """Replace the settings; fields left out take their defaults."""
        return programs.put_program(current_workspace_id(), data)


@bp.route("/referral-program/funnel")
class Funnel(MethodView):
    @bp.arguments(PeriodArgs, location="query")
    @bp.response(200, FunnelSchema)
    def get(self, args):
        """Advocates -> clicks -> sign-ups -> conversions, and the viral coefficient."""
        return stats.funnel(current_workspace_id(), args["period"])


# --- codes ------------------------------------------------------------------------------


def _code(id_or_code: str) -> ReferralCode:
    return found(links.get_code(current_workspace_id(), id_or_code), "referral code")


@bp.route("/referral-codes")
class Codes(MethodView):
    @bp.arguments(CodeFilterArgs, location="query")
    @bp.response(200, page_of(CodeSchema))
    def get(self, args):
        """List codes, oldest first, by contact or state."""
        return paginate(links.filter_codes(current_workspace_id(), args), args)

    @bp.arguments(CodeCreateSchema)
    @bp.response(200, CodeSchema)
    @bp.alt_response(201, schema=CodeSchema, description="Issued now")
    @bp.errors(404)  # the contact it names
    def post(self, data):
        """The contact's code: issued on the first call (201), the same one after (200)."""
        workspace_id = current_workspace_id()
        contact = references.resolve(workspace_id, data["contact"])
        code, created = links.issue_for_contact(workspace_id, contact, data.get("vanity"))
        return code, (201 if created else 200)


@bp.route("/referral-codes/<id_or_code>")
class CodeById(MethodView):
    @bp.response(200, CodeSchema)
    def get(self, id_or_code):
        """A code by its id (`rc_...`) or the code itself, in any case."""
        return _code(id_or_code)

    @bp.arguments(CodeUpdateSchema)
    @bp.response(200, CodeSchema)
    def patch(self, data, id_or_code):
        """Disable a code (its link still lands, without attribution) or enable it again."""
        return links.set_disabled(_code(id_or_code), data["disabled"])


@bp.route("/referral-codes/<id_or_code>/stats")
class CodeStats(MethodView):
    @bp.arguments(PeriodArgs, location="query")
    @bp.response(200, CodeStatsSchema)
    def get(self, args, id_or_code):
        """An advocate's clicks, sign-ups, conversions, revenue and rewards."""
        return stats.code_stats(_code(id_or_code), args["period"])


@bp.route("/leaderboard")
class Leaderboard(MethodView):
    @bp.arguments(LeaderboardArgs, location="query")
    @bp.response(200, LeaderboardSchema)
    def get(self, args):
        """Advocates ranked by acts done in the period (conversions, reviews and
        testimonials), then sign-ups, then clicks."""
        return stats.leaderboard(current_workspace_id(), args["period"], args["limit"])


# --- referrals --------------------------------------------------------------------------


@bp.route("/referrals")
class Referrals(MethodView):
    @bp.arguments(ReferralFilterArgs, location="query")
    @bp.response(200, page_of(ReferralSchema))
    def get(self, args):
        """List referrals, oldest first; `status=flagged` is the review queue."""
        return paginate(attribution.filter_referrals(current_workspace_id(), args), args)

    @bp.arguments(ReferralCreateSchema)
    @bp.response(201, ReferralSchema)
    @bp.alt_response(200, schema=ReferralSchema, description="Reported before")
    def post(self, data):
        """Report a sign-up: attributed by click id or typed code, then checked.

        A rejected sign-up answers 422 with the rule as the error code
        (`self_referral`, `already_referred`, `already_customer`, `cap_reached`)
        and is kept, listed with status `rejected`.
        """
        referral, created = attribution.report_signup(
            current_workspace_id(), data, ip=str(data["ip"]) if data.get("ip") else None
        )
        if referral.status == "rejected":
            # The rejection is a fact to keep, yet the answer is a 422, which the request's
            # end would roll back: committed here, with its event.
            db.session.commit()
            raise ApiError(
                422,
                referral.reason,
                f"The sign-up was rejected: {referral.reason.replace('_', ' ')}.",
                {"referral_id": [referral.id]},
            )
        return referral, (201 if created else 200)


@bp.route("/referrals/<referral_id>")
class ReferralById(MethodView):
    @bp.response(200, ReferralSchema)
    def get(self, referral_id):
        return attribution.get_referral(current_workspace_id(), referral_id)


@bp.route("/referrals/<referral_id>/review")
class ReferralReview(MethodView):
    @bp.arguments(ReviewSchema)
    @bp.response(200, ReferralSchema)
    def post(self, data, referral_id):
        """Approve (releases its held rewards) or reject (voids them) a flagged referral."""
        referral = attribution.get_referral(current_workspace_id(), referral_id, for_update=True)
        return attribution.review(referral, data["decision"], data.get("note"))


@bp.route("/referrals/<referral_id>/conversions")
class Conversions(MethodView):
    @bp.arguments(ConversionCreateSchema)
    @bp.response(201, ConversionSchema)
    @bp.alt_response(200, schema=ConversionSchema, description="Reported before")
    def post(self, data, referral_id):
        """Report a purchase; the order id makes it idempotent."""
        referral = attribution.get_referral(current_workspace_id(), referral_id)
        conversion, created = rewards.record_conversion(referral, data)
        return conversion, (201 if created else 200)


@bp.route("/referrals/<referral_id>/refunds")
class Refunds(MethodView):
    @bp.arguments(RefundCreateSchema)
    @bp.response(200, ConversionSchema)
    def post(self, data, referral_id):
        """Report a refund: unpaid rewards of the order are voided, paid ones clawed back."""
        referral = attribution.get_referral(current_workspace_id(), referral_id)
        return rewards.record_refund(referral, data["order_id"])


# --- rewards ----------------------------------------------------------------------------


@bp.route("/rewards")
class Rewards(MethodView):
    @bp.arguments(RewardFilterArgs, location="query")
    @bp.response(200, page_of(RewardSchema))
    def get(self, args):
        """The rewards ledger, oldest first."""
        return paginate(rewards.filter_rewards(current_workspace_id(), args), args)


@bp.route("/rewards/totals")
class RewardTotals(MethodView):
    @bp.arguments(RewardTotalsArgs, location="query")
    @bp.response(200, RewardTotalsListSchema)
    def get(self, args):
        """Totals per advocate (and friend): sums by kind, currency and status."""
        return {"data": stats.contacts_totals(current_workspace_id(), args.get("contact_id"))}


@bp.route("/rewards/<reward_id>")
class RewardById(MethodView):
    @bp.response(200, RewardSchema)
    def get(self, reward_id):
        return rewards.get_reward(current_workspace_id(), reward_id)


@bp.route("/rewards/<reward_id>/approve")
class RewardApprove(MethodView):
    @bp.response(200, RewardSchema)
    def post(self, reward_id):
        """Approve before the hold ends."""
        reward = rewards.get_reward(current_workspace_id(), reward_id, for_update=True)
        return rewards.approve(reward)


@bp.route("/rewards/<reward_id>/paid")
class RewardPaid(MethodView):
    @bp.arguments(PayoutSchema)
    @bp.response(200, RewardSchema)
    def post(self, data, reward_id):
        """Record the payout with your own reference."""
        reward = rewards.get_reward(current_workspace_id(), reward_id, for_update=True)
        return rewards.mark_paid(reward, data["reference"])
