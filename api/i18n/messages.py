"""The built-in strings, in English: the source the gettext catalogs are extracted from.

Each is marked with ``N_(key, english)``: ``pybabel extract`` (``make messages``, see
babel.cfg) reads the key as the message's context and the English as its msgid, and
``api.i18n.catalogs`` looks each one up by that pair in a locale's catalog. The key is
what code and the widgets address a string by; the context also lets two strings that
read the same in English ("Unsubscribe" as a title and as a button) differ elsewhere.

A string with a count in it has a form per count instead: ``NP_(key, singular, plural)``,
extracted as a plural entry (``msgid_plural``, one ``msgstr[i]`` per form of the locale's
``Plural-Forms``), and ``catalogs.counted`` picks the form for a number.

Templates use ``{name}`` placeholders (``api.i18n.placeholders``); a translation keeps
the English one's (tests/test_i18n_catalogs.py checks).
"""

from __future__ import annotations


def N_(key: str, english: str) -> tuple[str, str]:
    """Mark a string for extraction; it stays English until a catalog is asked."""
    return key, english


def NP_(key: str, singular: str, plural: str) -> tuple[str, tuple[str, str]]:
    """Mark a string with a count in it; the catalogs choose its form per number."""
    return key, (singular, plural)


# Page, widget and e-mail chrome, by key.
UI: dict[str, str] = dict(
    (
        N_("submit", "Submit"),
        N_("next", "Next"),
        N_("skip", "Skip"),
        N_("send_comment", "Send comment"),
        N_("comment_label", "Your comment (optional)"),
        N_("comment_placeholder", "Tell us a bit more…"),
        N_("thank_you_title", "Thank you!"),
        N_("score_label", "{score} out of {max}"),
        N_("chosen_score", "Your score: {score}"),
        N_("change_score", "Change score"),
        N_("not_found_title", "Survey not found"),
        N_("not_found_body", "This survey link is invalid or no longer available."),
        N_("expired_title", "This survey has closed"),
        N_(
            "expired_body",
            "Thank you for your interest, but this survey is no longer accepting responses.",
        ),
        N_("unsubscribe_title", "Unsubscribe"),
        N_("unsubscribe_body", "Do you want to stop receiving survey emails from {product}?"),
        N_("unsubscribe_button", "Unsubscribe"),
        N_("unsubscribed_title", "You're unsubscribed"),
        N_("unsubscribed_body", "You won't receive any more survey emails from {product}."),
        N_("resubscribe_button", "Subscribe again"),
        N_("email_footer_unsubscribe", "Don't want these emails? Unsubscribe"),
        N_("email_intro", "Hi {first_name}, we'd love your feedback. Just click a number below."),
        N_("referral_title", "Share {product} with a friend"),
        N_("referral_body", "Know someone who would love {product}? Send them your personal link."),
        N_("copy_link", "Copy link"),
        N_("referral_link_label", "Your personal link"),
        N_("referral_code_label", "Or tell them your code:"),
        N_("status_clicks", "Clicks"),
        N_("status_signups", "Sign-ups"),
        N_("status_conversions", "Purchases"),
        N_("status_rewards_pending", "Rewards pending"),
        N_("status_rewards_approved", "Rewards approved"),
        N_("link_expired_title", "This link has expired"),
        N_(
            "link_expired_body",
            "Survey links only work for a limited time. If you would still like to answer, "
            "please ask for a new link.",
        ),
        N_("forbidden_title", "This form could not be sent"),
        N_(
            "forbidden_body",
            "For your security, this form can only be sent from its own page. Please open "
            "your link again and retry.",
        ),
        N_("rate_limited_title", "Too many requests"),
        N_("rate_limited_body", "Please wait a minute, then try again."),
        N_("error_title", "Something went wrong"),
        N_("reference", "Reference: {request_id}"),
        N_("score_required", "Please choose a score."),
        N_("your_answer", "Your answer"),
        N_("your_comment", "Your comment"),
        N_(
            "resubscribed_body",
            "You're subscribed again. You may receive survey emails from {product}.",
        ),
        N_("one_click_done", "You have been unsubscribed."),
        N_("copied", "Copied!"),
        N_("share_email", "Share by email"),
        N_("share_x", "Share on X"),
        N_("share_linkedin", "Share on LinkedIn"),
        N_("share_whatsapp", "Share on WhatsApp"),
        N_("powered_by", "Powered by Flipfunnel"),
        N_("close", "Close"),
        N_("error_retry", "Something went wrong. Please try again."),
        # The report page's referral funnel (api/reports/pages.py).
        N_("funnel_advocates", "Advocates"),
        N_("funnel_clicks", "Clicks"),
        N_("funnel_signups", "Sign-ups"),
        N_("funnel_conversions", "Conversions"),
        N_("funnel_step", "Step"),
        N_("funnel_count", "Number"),
        N_("funnel_rate", "Of the step before"),
        N_("funnel_viral", "Viral coefficient: {value} new customers per advocate"),
        # Advocacy (api/advocacy): the asks after an answer, the preference page and the wall.
        N_("testimonial_title", "May we quote you?"),
        N_("testimonial_text_label", "Your words"),
        N_("testimonial_name_label", "Name to show"),
        N_("testimonial_role_label", "Role (optional)"),
        N_("testimonial_company_label", "Company (optional)"),
        N_(
            "testimonial_consent",
            "I agree that {product} may publish these words, with the name, role and "
            "company above, on its website and in its marketing. I can withdraw my consent "
            "at any time.",
        ),
        N_("testimonial_submit", "Share my words"),
        N_(
            "testimonial_thanks",
            "Thank you! We will publish your words once we have read them. You can withdraw "
            "your consent at any time.",
        ),
        N_("testimonial_incomplete", "Please give your words and the name to show."),
        N_("consent_required", "Please tick the box to agree, or skip this step."),
        N_("withdraw_link", "Manage or withdraw your consent"),
        N_("review_title", "Would you review {product}?"),
        N_(
            "review_body",
            "An honest review, whatever you think, helps others decide. It takes a minute.",
        ),
        N_("review_done_button", "I left a review"),
        N_("review_thanks", "Thank you for your review!"),
        N_("review_email_done", "Already left a review? Tell us"),
        N_("advocate_title", "Would you do more for {product}?"),
        N_(
            "advocate_body",
            "Tick what you would be happy to do; we will only ask you for each now and then.",
        ),
        N_("act_testimonial", "Be quoted"),
        N_("act_review", "Write a review"),
        N_("act_referral", "Recommend us to friends"),
        N_("act_case_study", "Take part in a case study"),
        N_("act_reference_call", "Talk to a prospective customer"),
        N_("act_advisory_board", "Join our customer advisory board"),
        N_("advocate_submit", "Count me in"),
        N_("advocate_thanks", "Thank you! We'll be in touch."),
        N_("save", "Save"),
        N_("saved", "Your choices are saved."),
        N_("testimonials_heading", "Your testimonials"),
        N_("withdraw_button", "Withdraw consent"),
        N_(
            "withdrawn_notice",
            "Your consent is withdrawn: these words will not be published any more.",
        ),
        N_("wall_title", "What our customers say about {product}"),
        N_("wall_empty", "No testimonials yet."),
    )
)

# Chrome with a count in it, by key: English singular and plural. The count's own
# placeholder is in every form, so a translation can put it where its language does.
UI_COUNTED: dict[str, tuple[str, str]] = dict(
    (
        NP_(
            "comment_too_long",
            "Your comment is too long: at most {max} character, please.",
            "Your comment is too long: at most {max} characters, please.",
        ),
        # The report page's referral funnel (api/reports/pages.py).
        NP_(
            "funnel_heading",
            "Referral program, last {days} day",
            "Referral program, last {days} days",
        ),
    )
)

# The survey wording a workspace may override, keyed "<kind>.<text>" or
# "<kind>.<text>.<category>" (follow-up and thank-you depend on the answer's category).
SURVEY: dict[str, str] = dict(
    (
        N_("nps.question", "How likely are you to recommend {product} to a friend or colleague?"),
        N_("nps.follow_up.promoter", "What do you love most about {product}?"),
        N_("nps.follow_up.passive", "What would make {product} a 10 for you?"),
        N_("nps.follow_up.detractor", "We're sorry to hear that. What could we do better?"),
        N_(
            "nps.thank_you.promoter",
            "If you enjoy {product}, we'd love you to share it with a friend or colleague.",
        ),
        N_("nps.thank_you.passive", "Your feedback helps us make {product} better."),
        N_("nps.thank_you.detractor", "We'll use your honest feedback to improve {product}."),
        N_("nps.low_label", "Not at all likely"),
        N_("nps.high_label", "Extremely likely"),
        N_("csat.question", "How satisfied are you with {product}?"),
        N_("csat.follow_up.satisfied", "Great to hear! What did you like most?"),
        N_("csat.follow_up.neutral", "What could we do to improve your experience?"),
        N_("csat.follow_up.unsatisfied", "We're sorry to hear that. What went wrong?"),
        N_("csat.thank_you.satisfied", "We're glad you're happy with {product}."),
        N_("csat.thank_you.neutral", "Your feedback helps us improve."),
        N_("csat.thank_you.unsatisfied", "We'll use your feedback to do better."),
        N_("csat.low_label", "Very unsatisfied"),
        N_("csat.high_label", "Very satisfied"),
        N_("ces.question", "How easy was it to get what you needed from {product}?"),
        N_("ces.follow_up.easy", "Glad it was easy! What worked well for you?"),
        N_("ces.follow_up.neutral", "What would have made it easier?"),
        N_("ces.follow_up.hard", "We're sorry it was difficult. What got in your way?"),
        N_("ces.thank_you.easy", "We're glad everything went smoothly."),
        N_("ces.thank_you.neutral", "Your feedback helps us make things simpler."),
        N_("ces.thank_you.hard", "We'll work on making this easier."),
        N_("ces.low_label", "Very difficult"),
        N_("ces.high_label", "Very easy"),
    )
)
