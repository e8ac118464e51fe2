"""The survey page's view model: which invitation a token opens, and the words of each step.

Handlers stay thin: they open a page here, call the response service, and
render `survey.html` with one of the `*_step` contexts. Texts are filled as
plain text; the template escapes them.
"""

from dataclasses import dataclass

from flask import url_for

from api import scoring
from api.advocacy import offers, testimonials
from api.contacts.models import Contact
from api.extensions import db
from api.i18n.catalogs import UI, counted
from api.i18n.placeholders import fill
from api.i18n.templates import choose_page_locale
from api.pages import errors
from api.referrals import moment as referral_moment
from api.responses.models import Response
from api.responses.service import MAX_COMMENT
from api.surveys import tokens
from api.surveys.invitations import placeholder_values
from api.surveys.models import Invitation, Survey
from api.surveys.wording import SurveyTexts, survey_texts

SCORE_STEP, COMMENT_STEP, THANKS_STEP = "score", "comment", "thanks"


@dataclass
class SurveyPage:
    token: str
    invitation: Invitation
    survey: Survey
    contact: Contact | None
    locale: str

    @property
    def words(self) -> dict[str, str]:
        return UI[self.locale]

    @property
    def texts(self) -> SurveyTexts:
        return survey_texts(self.survey.kind, self.locale, self.survey.texts)

    @property
    def scale(self) -> range:
        return scoring.score_range(self.survey.kind)

    def fill(self, template: str) -> str:
        return fill(template, placeholder_values(self.survey, self.contact))

    def parse_score(self, raw: str | None) -> int | None:
        """A score on this survey's scale from a form or query value, else None."""
        raw = (raw or "").strip()
        if not raw.isascii() or not raw.isdigit() or len(raw) > 2:
            return None
        score = int(raw)
        return score if score in self.scale else None

    def too_long(self, limit: int) -> str:
        """Why a text was refused: longer than `limit` characters."""
        return fill(counted(self.locale, "comment_too_long", limit), {"max": limit})

    def score_label(self, score: int) -> str:
        return fill(self.words["score_label"], {"score": score, "max": self.scale[-1]})

    def _base(self, step: str, title: str) -> dict:
        return {
            "lang": self.locale,
            "step": step,
            "title": title,
            "ui": self.words,
            "kind": self.survey.kind,
            "score_url": url_for("pages.survey", token=self.token),
        }

    def _answer(self, response: Response | None) -> dict:
        if response is None:
            return {"answer": None}
        chosen = fill(self.words["chosen_score"], {"score": self.score_label(response.score)})
        return {"answer": {"score": chosen, "comment": response.comment}}

    def score_step(
        self,
        response: Response | None,
        chosen: int | None = None,
        *,
        autosubmit: bool = False,
        error: str | None = None,
    ) -> dict:
        words = self.texts
        question = self.fill(words["question"])
        if chosen is None and response is not None:
            chosen = response.score
        return (
            self._base(SCORE_STEP, question)
            | self._answer(response)
            | {
                "question": question,
                "scores": list(self.scale),
                "chosen": chosen,
                "low_label": words["low_label"],
                "high_label": words["high_label"],
                "autosubmit": autosubmit and chosen is not None and error is None,
                "error": error,
            }
        )

    def comment_step(self, response: Response, error: str | None = None, comment=None) -> dict:
        follow_up = self.fill(self.texts["follow_up"][response.category])
        return (
            self._base(COMMENT_STEP, follow_up)
            | self._answer(response)
            | {
                "follow_up": follow_up,
                "comment": response.comment if comment is None else comment,
                "max_comment": MAX_COMMENT,
                "comment_url": url_for("pages.comment", token=self.token),
                "thanks_url": url_for("pages.survey", token=self.token, step=THANKS_STEP),
                "error": error,
            }
        )

    def thanks_step(
        self,
        response: Response,
        *,
        done: str | None = None,
        testimonial_error: str | None = None,
        testimonial_form: dict | None = None,
    ) -> dict:
        referral = (
            referral_moment.shown_to(self.contact, self.locale, self.survey.product_name)
            if response.category == "promoter"
            else None
        )
        asks = offers.presented(
            response, self.contact, self.survey.kind, self.locale, self.survey.product_name
        )
        form = testimonial_form or asks["testimonial"] or {}
        return (
            self._base(THANKS_STEP, self.words["thank_you_title"])
            | self._answer(response)
            | {
                "thank_you": self.fill(self.texts["thank_you"][response.category]),
                "category": response.category,
                "referral": referral,
                "product": self.survey.product_name,
                "asks": asks,
                "done": done,
                "testimonial_error": testimonial_error,
                "testimonial_form": form,
                "max_testimonial": testimonials.MAX_TEXT,
                "testimonial_url": url_for("pages.give_testimonial", token=self.token),
                "reviewed_url": url_for("pages.reviewed", token=self.token),
                "advocate_url": url_for("pages.opt_in", token=self.token),
            }
        )

    def testimonial_error(self, code: str) -> str:
        """The reader's words for why a testimonial was not taken (a domain error's code)."""
        if code == "text_too_long":
            return self.too_long(testimonials.MAX_TEXT)
        if code in ("consent_required", "consent_changed"):
            return self.words["consent_required"]
        return self.words["testimonial_incomplete"]


def open_page(token: str) -> SurveyPage:
    """The page a survey token opens, or the ApiError its error page shows.

    Forged, damaged, other-purpose, unknown and erased all look the same (404);
    expired (by signature age or by the invitation's own expiry) is 410.
    """
    with errors.token_checked():
        invitation = tokens.invitation_for(token)
    survey = db.session.get(Survey, invitation.survey_id)
    contact = db.session.get(Contact, invitation.contact_id) if invitation.contact_id else None
    if survey is None or (contact is not None and contact.erased_at is not None):
        raise errors.link_not_found()
    # Error pages from here on speak the reader's language.
    locale = choose_page_locale(
        invitation.locale, contact.locale if contact else None, fallback=survey.default_locale
    )
    if not survey.active:
        raise errors.survey_closed()
    return SurveyPage(token, invitation, survey, contact, locale)
