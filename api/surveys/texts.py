"""Built-in survey wording in every supported locale, locale choice and placeholder filling.

Every string a respondent can see comes from here, so adding a locale means adding one
entry to ``DEFAULTS`` and one to ``UI`` (the tests check that no key is missing).

Templates use ``{name}`` placeholders, filled by ``fill``; ``{name|text}`` gives a
fallback for when the value is missing. Filling is plain-text: nothing here escapes
HTML, because the same text goes into HTML pages, e-mail HTML and plain-text e-mail,
each of which escapes (or not) at render time.

French strings put a no-break space (U+00A0) before ``? ! : ;`` as French typography
requires; it also keeps the mark from wrapping onto a line of its own.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import TypedDict

from api.scoring import CATEGORIES

__all__ = [
    "DEFAULTS",
    "DEFAULT_LOCALE",
    "LOCALES",
    "UI",
    "SurveyTexts",
    "fill",
    "pick_locale",
    "survey_texts",
]

LOCALES: tuple[str, ...] = ("en", "de", "fr", "es")
DEFAULT_LOCALE = "en"


class SurveyTexts(TypedDict):
    """The wording of one survey kind in one locale.

    ``follow_up`` and ``thank_you`` are keyed by the kind's categories
    (``api.scoring.CATEGORIES``), because what we ask next depends on the answer.
    """

    question: str
    follow_up: dict[str, str]
    thank_you: dict[str, str]
    low_label: str
    high_label: str


# DEFAULTS[locale][kind]. Treat as read-only; ``survey_texts`` hands out copies.
DEFAULTS: dict[str, dict[str, SurveyTexts]] = {
    "en": {
        "nps": {
            "question": "How likely are you to recommend {product} to a friend or colleague?",
            "follow_up": {
                "promoter": "What do you love most about {product}?",
                "passive": "What would make {product} a 10 for you?",
                "detractor": "We're sorry to hear that. What could we do better?",
            },
            "thank_you": {
                "promoter": "If you enjoy {product}, we'd love you to share it with a friend "
                "or colleague.",
                "passive": "Your feedback helps us make {product} better.",
                "detractor": "We'll use your honest feedback to improve {product}.",
            },
            "low_label": "Not at all likely",
            "high_label": "Extremely likely",
        },
        "csat": {
            "question": "How satisfied are you with {product}?",
            "follow_up": {
                "satisfied": "Great to hear! What did you like most?",
                "neutral": "What could we do to improve your experience?",
                "unsatisfied": "We're sorry to hear that. What went wrong?",
            },
            "thank_you": {
                "satisfied": "We're glad you're happy with {product}.",
                "neutral": "Your feedback helps us improve.",
                "unsatisfied": "We'll use your feedback to do better.",
            },
            "low_label": "Very unsatisfied",
            "high_label": "Very satisfied",
        },
        "ces": {
            "question": "How easy was it to get what you needed from {product}?",
            "follow_up": {
                "easy": "Glad it was easy! What worked well for you?",
                "neutral": "What would have made it easier?",
                "hard": "We're sorry it was difficult. What got in your way?",
            },
            "thank_you": {
                "easy": "We're glad everything went smoothly.",
                "neutral": "Your feedback helps us make things simpler.",
                "hard": "We'll work on making this easier.",
            },
            "low_label": "Very difficult",
            "high_label": "Very easy",
        },
    },
    "de": {
        "nps": {
            "question": "Wie wahrscheinlich ist es, dass Sie {product} einem Freund "
            "oder Kollegen empfehlen?",
            "follow_up": {
                "promoter": "Was gefällt Ihnen an {product} am besten?",
                "passive": "Was würde {product} für Sie zu einer 10 machen?",
                "detractor": "Das tut uns leid. Was könnten wir besser machen?",
            },
            "thank_you": {
                "promoter": "Wenn Ihnen {product} gefällt, teilen Sie es gern mit Freunden "
                "oder Kollegen.",
                "passive": "Ihr Feedback hilft uns, {product} zu verbessern.",
                "detractor": "Wir nutzen Ihr ehrliches Feedback, um {product} zu verbessern.",
            },
            "low_label": "Überhaupt nicht wahrscheinlich",
            "high_label": "Äußerst wahrscheinlich",
        },
        "csat": {
            "question": "Wie zufrieden sind Sie mit {product}?",
            "follow_up": {
                "satisfied": "Das freut uns! Was hat Ihnen am besten gefallen?",
                "neutral": "Was könnten wir tun, um Ihre Erfahrung zu verbessern?",
                "unsatisfied": "Das tut uns leid. Was ist schiefgelaufen?",
            },
            "thank_you": {
                "satisfied": "Schön, dass Sie mit {product} zufrieden sind.",
                "neutral": "Ihr Feedback hilft uns, besser zu werden.",
                "unsatisfied": "Wir nutzen Ihr Feedback, um besser zu werden.",
            },
            "low_label": "Sehr unzufrieden",
            "high_label": "Sehr zufrieden",
        },
        "ces": {
            "question": "Wie einfach war es, bei {product} das zu bekommen, was Sie brauchten?",
            "follow_up": {
                "easy": "Schön, dass es einfach war! Was hat gut funktioniert?",
                "neutral": "Was hätte es einfacher gemacht?",
                "hard": "Das tut uns leid. Was hat es Ihnen schwer gemacht?",
            },
            "thank_you": {
                "easy": "Schön, dass alles reibungslos geklappt hat.",
                "neutral": "Ihr Feedback hilft uns, vieles einfacher zu gestalten.",
                "hard": "Wir arbeiten daran, es einfacher zu machen.",
            },
            "low_label": "Sehr schwierig",
            "high_label": "Sehr einfach",
        },
    },
    "fr": {
        "nps": {
            "question": "Quelle est la probabilité que vous recommandiez {product} à un ami "
            "ou à un collègue\u00a0?",
            "follow_up": {
                "promoter": "Qu'est-ce que vous appréciez le plus dans {product}\u00a0?",
                "passive": "Qu'est-ce qui ferait de {product} un 10 pour vous\u00a0?",
                "detractor": "Nous sommes désolés de l'apprendre. "
                "Que pourrions-nous améliorer\u00a0?",
            },
            "thank_you": {
                "promoter": "Si vous aimez {product}, n'hésitez pas à le partager avec vos proches "
                "ou vos collègues.",
                "passive": "Votre avis nous aide à améliorer {product}.",
                "detractor": "Votre avis sincère nous aidera à améliorer {product}.",
            },
            "low_label": "Pas du tout probable",
            "high_label": "Extrêmement probable",
        },
        "csat": {
            "question": "Quel est votre niveau de satisfaction concernant {product}\u00a0?",
            "follow_up": {
                "satisfied": "Ravis de l'apprendre\u00a0! Qu'avez-vous le plus apprécié\u00a0?",
                "neutral": "Que pourrions-nous faire pour améliorer votre expérience\u00a0?",
                "unsatisfied": "Nous sommes désolés de l'apprendre. "
                "Qu'est-ce qui n'a pas fonctionné\u00a0?",
            },
            "thank_you": {
                "satisfied": "Nous sommes ravis que {product} vous plaise.",
                "neutral": "Votre avis nous aide à nous améliorer.",
                "unsatisfied": "Votre avis nous aidera à faire mieux.",
            },
            "low_label": "Très insatisfait",
            "high_label": "Très satisfait",
        },
        "ces": {
            "question": "Dans quelle mesure a-t-il été facile d'obtenir ce dont vous aviez "
            "besoin auprès de {product}\u00a0?",
            "follow_up": {
                "easy": "Tant mieux\u00a0! Qu'est-ce qui a bien fonctionné pour vous\u00a0?",
                "neutral": "Qu'est-ce qui aurait rendu les choses plus faciles\u00a0?",
                "hard": "Nous sommes désolés que cela ait été difficile. "
                "Qu'est-ce qui vous a posé problème\u00a0?",
            },
            "thank_you": {
                "easy": "Nous sommes ravis que tout se soit bien passé.",
                "neutral": "Votre avis nous aide à simplifier les choses.",
                "hard": "Nous allons tout faire pour simplifier les choses.",
            },
            "low_label": "Très difficile",
            "high_label": "Très facile",
        },
    },
    "es": {
        "nps": {
            "question": "¿Qué probabilidad hay de que recomiende {product} a un amigo o colega?",
            "follow_up": {
                "promoter": "¿Qué es lo que más le gusta de {product}?",
                "passive": "¿Qué haría que {product} fuera un 10 para usted?",
                "detractor": "Lamentamos oír eso. ¿Qué podríamos mejorar?",
            },
            "thank_you": {
                "promoter": "Si le gusta {product}, nos encantaría que lo compartiera con sus "
                "amigos o colegas.",
                "passive": "Su opinión nos ayuda a mejorar {product}.",
                "detractor": "Usaremos su opinión sincera para mejorar {product}.",
            },
            "low_label": "Nada probable",
            "high_label": "Extremadamente probable",
        },
        "csat": {
            "question": "¿Cuál es su grado de satisfacción con {product}?",
            "follow_up": {
                "satisfied": "¡Nos alegra saberlo! ¿Qué es lo que más le gustó?",
                "neutral": "¿Qué podríamos hacer para mejorar su experiencia?",
                "unsatisfied": "Lamentamos oír eso. ¿Qué salió mal?",
            },
            "thank_you": {
                "satisfied": "Nos alegra que {product} le guste.",
                "neutral": "Su opinión nos ayuda a mejorar.",
                "unsatisfied": "Usaremos su opinión para mejorar.",
            },
            "low_label": "Muy insatisfecho",
            "high_label": "Muy satisfecho",
        },
        "ces": {
            "question": "¿En qué medida le resultó fácil obtener lo que necesitaba de {product}?",
            "follow_up": {
                "easy": "¡Nos alegra que fuera fácil! ¿Qué funcionó bien?",
                "neutral": "¿Qué lo habría hecho más fácil?",
                "hard": "Lamentamos que haya sido difícil. ¿Cuál fue el principal obstáculo?",
            },
            "thank_you": {
                "easy": "Nos alegra que todo haya ido bien.",
                "neutral": "Su opinión nos ayuda a simplificar las cosas.",
                "hard": "Trabajaremos para que resulte más fácil.",
            },
            "low_label": "Muy difícil",
            "high_label": "Muy fácil",
        },
    },
}

# UI[locale][key]: page, widget and e-mail chrome. Treat as read-only.
UI: dict[str, dict[str, str]] = {
    "en": {
        "submit": "Submit",
        "next": "Next",
        "skip": "Skip",
        "send_comment": "Send comment",
        "comment_label": "Your comment (optional)",
        "comment_placeholder": "Tell us a bit more…",
        "thank_you_title": "Thank you!",
        "score_label": "{score} out of {max}",
        "chosen_score": "Your score: {score}",
        "change_score": "Change score",
        "not_found_title": "Survey not found",
        "not_found_body": "This survey link is invalid or no longer available.",
        "expired_title": "This survey has closed",
        "expired_body": "Thank you for your interest, but this survey is no longer "
        "accepting responses.",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_body": "Do you want to stop receiving survey emails from {product}?",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed_title": "You're unsubscribed",
        "unsubscribed_body": "You won't receive any more survey emails from {product}.",
        "resubscribe_button": "Subscribe again",
        "email_footer_unsubscribe": "Don't want these emails? Unsubscribe",
        "email_intro": "Hi {first_name}, we'd love your feedback. Just click a number below.",
        "referral_title": "Share {product} with a friend",
        "referral_body": "Know someone who would love {product}? Send them your personal link.",
        "copy_link": "Copy link",
        "referral_link_label": "Your personal link",
        "referral_code_label": "Or tell them your code:",
        "status_clicks": "Clicks",
        "status_signups": "Sign-ups",
        "status_conversions": "Purchases",
        "status_rewards_pending": "Rewards pending",
        "status_rewards_approved": "Rewards approved",
        "link_expired_title": "This link has expired",
        "link_expired_body": "Survey links only work for a limited time. If you would still like "
        "to answer, please ask for a new link.",
        "forbidden_title": "This form could not be sent",
        "forbidden_body": "For your security, this form can only be sent from its own page. "
        "Please open your link again and retry.",
        "rate_limited_title": "Too many requests",
        "rate_limited_body": "Please wait a minute, then try again.",
        "error_title": "Something went wrong",
        "reference": "Reference: {request_id}",
        "score_required": "Please choose a score.",
        "comment_too_long": "Your comment is too long: at most {max} characters, please.",
        "your_answer": "Your answer",
        "your_comment": "Your comment",
        "resubscribed_body": "You're subscribed again. You may receive survey emails from "
        "{product}.",
        "one_click_done": "You have been unsubscribed.",
        "copied": "Copied!",
        "share_email": "Share by email",
        "share_x": "Share on X",
        "share_linkedin": "Share on LinkedIn",
        "share_whatsapp": "Share on WhatsApp",
        "powered_by": "Powered by Flipfunnel",
        "close": "Close",
        "error_retry": "Something went wrong. Please try again.",
        # The report page's referral funnel (api/reports/pages.py). Other locales put a
        # no-break space before "%", so a number never wraps apart from its sign.
        "funnel_heading": "Referral program, last {days} days",
        "funnel_advocates": "Advocates",
        "funnel_clicks": "Clicks",
        "funnel_signups": "Sign-ups",
        "funnel_conversions": "Conversions",
        "funnel_step": "Step",
        "funnel_count": "Number",
        "funnel_rate": "Of the step before",
        "funnel_percent": "{value}%",
        "funnel_viral": "Viral coefficient: {value} new customers per advocate",
        # Advocacy (api/advocacy): the asks after an answer, the preference page and the wall.
        "testimonial_title": "May we quote you?",
        "testimonial_text_label": "Your words",
        "testimonial_name_label": "Name to show",
        "testimonial_role_label": "Role (optional)",
        "testimonial_company_label": "Company (optional)",
        "testimonial_consent": "I agree that {product} may publish these words, with the name, "
        "role and company above, on its website and in its marketing. I can withdraw my consent "
        "at any time.",
        "testimonial_submit": "Share my words",
        "testimonial_thanks": "Thank you! We will publish your words once we have read them. You "
        "can withdraw your consent at any time.",
        "testimonial_incomplete": "Please give your words and the name to show.",
        "consent_required": "Please tick the box to agree, or skip this step.",
        "withdraw_link": "Manage or withdraw your consent",
        "review_title": "Would you review {product}?",
        "review_body": "An honest review, whatever you think, helps others decide. It takes a "
        "minute.",
        "review_done_button": "I left a review",
        "review_thanks": "Thank you for your review!",
        "review_email_done": "Already left a review? Tell us",
        "advocate_title": "Would you do more for {product}?",
        "advocate_body": "Tick what you would be happy to do; we will only ask you for each now "
        "and then.",
        "act_testimonial": "Be quoted",
        "act_review": "Write a review",
        "act_referral": "Recommend us to friends",
        "act_case_study": "Take part in a case study",
        "act_reference_call": "Talk to a prospective customer",
        "act_advisory_board": "Join our customer advisory board",
        "advocate_submit": "Count me in",
        "advocate_thanks": "Thank you! We'll be in touch.",
        "save": "Save",
        "saved": "Your choices are saved.",
        "testimonials_heading": "Your testimonials",
        "withdraw_button": "Withdraw consent",
        "withdrawn_notice": "Your consent is withdrawn: these words will not be published any "
        "more.",
        "wall_title": "What our customers say about {product}",
        "wall_empty": "No testimonials yet.",
        "decimal_mark": ".",
    },
    "de": {
        "submit": "Absenden",
        "next": "Weiter",
        "skip": "Überspringen",
        "send_comment": "Kommentar senden",
        "comment_label": "Ihr Kommentar (optional)",
        "comment_placeholder": "Erzählen Sie uns mehr …",
        "thank_you_title": "Vielen Dank!",
        "score_label": "{score} von {max}",
        "chosen_score": "Ihre Bewertung: {score}",
        "change_score": "Bewertung ändern",
        "not_found_title": "Umfrage nicht gefunden",
        "not_found_body": "Dieser Umfragelink ist ungültig oder nicht mehr verfügbar.",
        "expired_title": "Diese Umfrage ist beendet",
        "expired_body": "Vielen Dank für Ihr Interesse, aber diese Umfrage nimmt keine "
        "Antworten mehr an.",
        "unsubscribe_title": "Abmelden",
        "unsubscribe_body": "Möchten Sie keine Umfrage-E-Mails mehr von {product} erhalten?",
        "unsubscribe_button": "Abmelden",
        "unsubscribed_title": "Sie wurden abgemeldet",
        "unsubscribed_body": "Sie erhalten keine Umfrage-E-Mails mehr von {product}.",
        "resubscribe_button": "Wieder anmelden",
        "email_footer_unsubscribe": "Sie möchten diese E-Mails nicht mehr erhalten? Abmelden",
        "email_intro": "Guten Tag {first_name}, Ihre Meinung ist uns wichtig. "
        "Ein Klick auf eine Zahl genügt.",
        "referral_title": "Teilen Sie {product} mit Freunden",
        "referral_body": "Kennen Sie jemanden, dem {product} gefallen würde? "
        "Teilen Sie einfach Ihren persönlichen Link.",
        "copy_link": "Link kopieren",
        "referral_link_label": "Ihr persönlicher Link",
        "referral_code_label": "Oder nennen Sie Ihren Code:",
        "status_clicks": "Klicks",
        "status_signups": "Anmeldungen",
        "status_conversions": "Käufe",
        "status_rewards_pending": "Prämien ausstehend",
        "status_rewards_approved": "Prämien bestätigt",
        "link_expired_title": "Dieser Link ist abgelaufen",
        "link_expired_body": "Umfragelinks gelten nur für eine begrenzte Zeit. Wenn Sie noch "
        "antworten möchten, bitten Sie um einen neuen Link.",
        "forbidden_title": "Dieses Formular konnte nicht gesendet werden",
        "forbidden_body": "Zu Ihrer Sicherheit kann dieses Formular nur von seiner eigenen Seite "
        "aus gesendet werden. Bitte öffnen Sie Ihren Link erneut.",
        "rate_limited_title": "Zu viele Anfragen",
        "rate_limited_body": "Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
        "error_title": "Etwas ist schiefgelaufen",
        "reference": "Referenz: {request_id}",
        "score_required": "Bitte wählen Sie eine Bewertung.",
        "comment_too_long": "Ihr Kommentar ist zu lang: höchstens {max} Zeichen, bitte.",
        "your_answer": "Ihre Antwort",
        "your_comment": "Ihr Kommentar",
        "resubscribed_body": "Sie sind wieder angemeldet und erhalten eventuell Umfrage-E-Mails "
        "von {product}.",
        "one_click_done": "Sie wurden abgemeldet.",
        "copied": "Kopiert!",
        "share_email": "Per E-Mail teilen",
        "share_x": "Auf X teilen",
        "share_linkedin": "Auf LinkedIn teilen",
        "share_whatsapp": "Über WhatsApp teilen",
        "powered_by": "Bereitgestellt von Flipfunnel",
        "close": "Schließen",
        "error_retry": "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
        "funnel_heading": "Empfehlungsprogramm, letzte {days} Tage",
        "funnel_advocates": "Botschafter",
        "funnel_clicks": "Klicks",
        "funnel_signups": "Anmeldungen",
        "funnel_conversions": "Konversionen",
        "funnel_step": "Schritt",
        "funnel_count": "Anzahl",
        "funnel_rate": "Vom vorigen Schritt",
        "funnel_percent": "{value}\u00a0%",
        "funnel_viral": "Viraler Koeffizient: {value} Neukunden pro Botschafter",
        "testimonial_title": "Dürfen wir Sie zitieren?",
        "testimonial_text_label": "Ihre Worte",
        "testimonial_name_label": "Angezeigter Name",
        "testimonial_role_label": "Position (optional)",
        "testimonial_company_label": "Unternehmen (optional)",
        "testimonial_consent": "Ich bin einverstanden, dass {product} diese Worte mit dem oben "
        "angegebenen Namen, der Position und dem Unternehmen auf seiner Website und in seinem "
        "Marketing veröffentlicht. Ich kann meine Einwilligung jederzeit widerrufen.",
        "testimonial_submit": "Meine Worte teilen",
        "testimonial_thanks": "Vielen Dank! Wir veröffentlichen Ihre Worte, sobald wir sie "
        "gelesen haben. Sie können Ihre Einwilligung jederzeit widerrufen.",
        "testimonial_incomplete": "Bitte geben Sie Ihre Worte und den anzuzeigenden Namen an.",
        "consent_required": "Bitte setzen Sie das Häkchen, um zuzustimmen, oder überspringen Sie "
        "diesen Schritt.",
        "withdraw_link": "Einwilligung verwalten oder widerrufen",
        "review_title": "Würden Sie {product} bewerten?",
        "review_body": "Eine ehrliche Bewertung, wie auch immer sie ausfällt, hilft anderen bei "
        "der Entscheidung. Es dauert nur eine Minute.",
        "review_done_button": "Ich habe eine Bewertung abgegeben",
        "review_thanks": "Vielen Dank für Ihre Bewertung!",
        "review_email_done": "Schon bewertet? Sagen Sie es uns",
        "advocate_title": "Möchten Sie {product} noch mehr unterstützen?",
        "advocate_body": "Kreuzen Sie an, was Sie gern tun würden; wir fragen Sie nach jedem nur "
        "ab und zu.",
        "act_testimonial": "Zitiert werden",
        "act_review": "Eine Bewertung schreiben",
        "act_referral": "Uns Freunden empfehlen",
        "act_case_study": "An einer Fallstudie mitwirken",
        "act_reference_call": "Mit Interessenten sprechen",
        "act_advisory_board": "Unserem Kundenbeirat beitreten",
        "advocate_submit": "Ich bin dabei",
        "advocate_thanks": "Vielen Dank! Wir melden uns bei Ihnen.",
        "save": "Speichern",
        "saved": "Ihre Auswahl ist gespeichert.",
        "testimonials_heading": "Ihre Kundenstimmen",
        "withdraw_button": "Einwilligung widerrufen",
        "withdrawn_notice": "Ihre Einwilligung ist widerrufen: Diese Worte werden nicht mehr "
        "veröffentlicht.",
        "wall_title": "Was unsere Kunden über {product} sagen",
        "wall_empty": "Noch keine Kundenstimmen.",
        "decimal_mark": ",",
    },
    "fr": {
        "submit": "Envoyer",
        "next": "Suivant",
        "skip": "Passer",
        "send_comment": "Envoyer le commentaire",
        "comment_label": "Votre commentaire (facultatif)",
        "comment_placeholder": "Dites-nous-en un peu plus…",
        "thank_you_title": "Merci\u00a0!",
        "score_label": "{score} sur {max}",
        "chosen_score": "Votre note\u00a0: {score}",
        "change_score": "Modifier la note",
        "not_found_title": "Enquête introuvable",
        "not_found_body": "Ce lien d'enquête n'est pas valide ou n'est plus disponible.",
        "expired_title": "Cette enquête est terminée",
        "expired_body": "Merci de votre intérêt, mais cette enquête n'accepte plus de réponses.",
        "unsubscribe_title": "Se désabonner",
        "unsubscribe_body": "Vous ne souhaitez plus recevoir les e-mails d'enquête "
        "de {product}\u00a0?",
        "unsubscribe_button": "Se désabonner",
        "unsubscribed_title": "Désabonnement confirmé",
        "unsubscribed_body": "Vous ne recevrez plus d'e-mails d'enquête de {product}.",
        "resubscribe_button": "Se réabonner",
        "email_footer_unsubscribe": "Vous ne souhaitez plus recevoir ces e-mails\u00a0? "
        "Se désabonner",
        "email_intro": "Bonjour {first_name}, votre avis compte pour nous. "
        "Il suffit de cliquer sur une note ci-dessous.",
        "referral_title": "Partagez {product} avec un ami",
        "referral_body": "Vous connaissez quelqu'un qui aimerait {product}\u00a0? "
        "Envoyez-lui votre lien personnel.",
        "copy_link": "Copier le lien",
        "referral_link_label": "Votre lien personnel",
        "referral_code_label": "Ou donnez-leur votre code :",
        "status_clicks": "Clics",
        "status_signups": "Inscriptions",
        "status_conversions": "Achats",
        "status_rewards_pending": "Récompenses en attente",
        "status_rewards_approved": "Récompenses validées",
        "link_expired_title": "Ce lien a expiré",
        "link_expired_body": "Les liens d'enquête ne sont valables que pendant une durée limitée. "
        "Si vous souhaitez encore répondre, demandez un nouveau lien.",
        "forbidden_title": "Ce formulaire n'a pas pu être envoyé",
        "forbidden_body": "Pour votre sécurité, ce formulaire ne peut être envoyé que depuis sa "
        "propre page. Veuillez rouvrir votre lien et réessayer.",
        "rate_limited_title": "Trop de requêtes",
        "rate_limited_body": "Veuillez patienter une minute, puis réessayer.",
        "error_title": "Une erreur s'est produite",
        "reference": "Référence\u00a0: {request_id}",
        "score_required": "Veuillez choisir une note.",
        "comment_too_long": "Votre commentaire est trop long\u00a0: {max} caractères au maximum.",
        "your_answer": "Votre réponse",
        "your_comment": "Votre commentaire",
        "resubscribed_body": "Vous êtes de nouveau abonné. Vous pourrez recevoir des e-mails "
        "d'enquête de {product}.",
        "one_click_done": "Vous avez été désabonné.",
        "copied": "Copié\u00a0!",
        "share_email": "Partager par e-mail",
        "share_x": "Partager sur X",
        "share_linkedin": "Partager sur LinkedIn",
        "share_whatsapp": "Partager sur WhatsApp",
        "powered_by": "Propulsé par Flipfunnel",
        "close": "Fermer",
        "error_retry": "Une erreur s'est produite. Veuillez réessayer.",
        "funnel_heading": "Programme de parrainage, {days} derniers jours",
        "funnel_advocates": "Ambassadeurs",
        "funnel_clicks": "Clics",
        "funnel_signups": "Inscriptions",
        "funnel_conversions": "Conversions",
        "funnel_step": "Étape",
        "funnel_count": "Nombre",
        "funnel_rate": "Par rapport à l'étape précédente",
        "funnel_percent": "{value}\u00a0%",
        "funnel_viral": "Coefficient viral\u00a0: {value} nouveaux clients par ambassadeur",
        "testimonial_title": "Pouvons-nous vous citer\u00a0?",
        "testimonial_text_label": "Vos mots",
        "testimonial_name_label": "Nom à afficher",
        "testimonial_role_label": "Fonction (facultatif)",
        "testimonial_company_label": "Entreprise (facultatif)",
        "testimonial_consent": "J'accepte que {product} publie ces mots, avec le nom, la fonction "
        "et l'entreprise indiqués ci-dessus, sur son site web et dans sa communication. Je peux "
        "retirer mon consentement à tout moment.",
        "testimonial_submit": "Partager mes mots",
        "testimonial_thanks": "Merci\u00a0! Nous publierons vos mots après les avoir lus. Vous "
        "pouvez retirer votre consentement à tout moment.",
        "testimonial_incomplete": "Veuillez indiquer vos mots et le nom à afficher.",
        "consent_required": "Veuillez cocher la case pour donner votre accord, ou passer cette "
        "étape.",
        "withdraw_link": "Gérer ou retirer votre consentement",
        "review_title": "Accepteriez-vous de donner votre avis sur {product}\u00a0?",
        "review_body": "Un avis sincère, quel qu'il soit, aide les autres à choisir. Cela prend "
        "une minute.",
        "review_done_button": "J'ai laissé un avis",
        "review_thanks": "Merci pour votre avis\u00a0!",
        "review_email_done": "Vous avez déjà laissé un avis\u00a0? Dites-le-nous",
        "advocate_title": "Aimeriez-vous soutenir {product} davantage\u00a0?",
        "advocate_body": "Cochez ce que vous seriez prêt à faire\u00a0; nous ne vous le "
        "demanderons que de temps en temps.",
        "act_testimonial": "Être cité",
        "act_review": "Écrire un avis",
        "act_referral": "Nous recommander à vos proches",
        "act_case_study": "Participer à une étude de cas",
        "act_reference_call": "Échanger avec un futur client",
        "act_advisory_board": "Rejoindre notre comité clients",
        "advocate_submit": "Je participe",
        "advocate_thanks": "Merci\u00a0! Nous vous contacterons.",
        "save": "Enregistrer",
        "saved": "Vos choix sont enregistrés.",
        "testimonials_heading": "Vos témoignages",
        "withdraw_button": "Retirer mon consentement",
        "withdrawn_notice": "Votre consentement est retiré\u00a0: ces mots ne seront plus publiés.",
        "wall_title": "Ce que nos clients disent de {product}",
        "wall_empty": "Pas encore de témoignages.",
        "decimal_mark": ",",
    },
    "es": {
        "submit": "Enviar",
        "next": "Siguiente",
        "skip": "Omitir",
        "send_comment": "Enviar comentario",
        "comment_label": "Su comentario (opcional)",
        "comment_placeholder": "Cuéntenos un poco más…",
        "thank_you_title": "¡Gracias!",
        "score_label": "{score} de {max}",
        "chosen_score": "Su puntuación: {score}",
        "change_score": "Cambiar puntuación",
        "not_found_title": "Encuesta no encontrada",
        "not_found_body": "Este enlace de encuesta no es válido o ya no está disponible.",
        "expired_title": "Esta encuesta ha finalizado",
        "expired_body": "Gracias por su interés, pero esta encuesta ya no acepta respuestas.",
        "unsubscribe_title": "Darse de baja",
        "unsubscribe_body": "¿Desea dejar de recibir correos de encuestas de {product}?",
        "unsubscribe_button": "Darse de baja",
        "unsubscribed_title": "Se ha dado de baja",
        "unsubscribed_body": "Ya no recibirá más correos de encuestas de {product}.",
        "resubscribe_button": "Volver a suscribirse",
        "email_footer_unsubscribe": "¿No desea recibir estos correos? Darse de baja",
        "email_intro": "Hola {first_name}, nos encantaría conocer su opinión. "
        "Solo tiene que hacer clic en un número.",
        "referral_title": "Comparta {product} con un amigo",
        "referral_body": "¿Conoce a alguien a quien le encantaría {product}? "
        "Envíele su enlace personal.",
        "copy_link": "Copiar enlace",
        "referral_link_label": "Su enlace personal",
        "referral_code_label": "O dígales su código:",
        "status_clicks": "Clics",
        "status_signups": "Registros",
        "status_conversions": "Compras",
        "status_rewards_pending": "Recompensas pendientes",
        "status_rewards_approved": "Recompensas aprobadas",
        "link_expired_title": "Este enlace ha caducado",
        "link_expired_body": "Los enlaces de encuesta solo son válidos durante un tiempo "
        "limitado. Si aún desea responder, solicite un enlace nuevo.",
        "forbidden_title": "No se pudo enviar este formulario",
        "forbidden_body": "Por su seguridad, este formulario solo puede enviarse desde su propia "
        "página. Abra de nuevo su enlace e inténtelo otra vez.",
        "rate_limited_title": "Demasiadas solicitudes",
        "rate_limited_body": "Espere un minuto y vuelva a intentarlo.",
        "error_title": "Algo salió mal",
        "reference": "Referencia: {request_id}",
        "score_required": "Elija una puntuación.",
        "comment_too_long": "Su comentario es demasiado largo: {max} caracteres como máximo.",
        "your_answer": "Su respuesta",
        "your_comment": "Su comentario",
        "resubscribed_body": "Se ha vuelto a suscribir. Puede recibir correos de encuestas de "
        "{product}.",
        "one_click_done": "Se ha dado de baja.",
        "copied": "¡Copiado!",
        "share_email": "Compartir por correo",
        "share_x": "Compartir en X",
        "share_linkedin": "Compartir en LinkedIn",
        "share_whatsapp": "Compartir en WhatsApp",
        "powered_by": "Con la tecnología de Flipfunnel",
        "close": "Cerrar",
        "error_retry": "Algo salió mal. Inténtelo de nuevo.",
        "funnel_heading": "Programa de recomendación, últimos {days} días",
        "funnel_advocates": "Embajadores",
        "funnel_clicks": "Clics",
        "funnel_signups": "Registros",
        "funnel_conversions": "Conversiones",
        "funnel_step": "Paso",
        "funnel_count": "Cantidad",
        "funnel_rate": "Respecto al paso anterior",
        "funnel_percent": "{value}\u00a0%",
        "funnel_viral": "Coeficiente viral: {value} clientes nuevos por embajador",
        "testimonial_title": "¿Podemos citarle?",
        "testimonial_text_label": "Sus palabras",
        "testimonial_name_label": "Nombre que se mostrará",
        "testimonial_role_label": "Cargo (opcional)",
        "testimonial_company_label": "Empresa (opcional)",
        "testimonial_consent": "Acepto que {product} publique estas palabras, con el nombre, el "
        "cargo y la empresa indicados arriba, en su sitio web y en su marketing. Puedo retirar mi "
        "consentimiento en cualquier momento.",
        "testimonial_submit": "Compartir mis palabras",
        "testimonial_thanks": "¡Gracias! Publicaremos sus palabras cuando las hayamos leído. "
        "Puede retirar su consentimiento en cualquier momento.",
        "testimonial_incomplete": "Indique sus palabras y el nombre que se mostrará.",
        "consent_required": "Marque la casilla para aceptar, u omita este paso.",
        "withdraw_link": "Gestionar o retirar su consentimiento",
        "review_title": "¿Le gustaría valorar {product}?",
        "review_body": "Una opinión sincera, sea cual sea, ayuda a otros a decidir. Solo le "
        "llevará un minuto.",
        "review_done_button": "Ya he dejado una opinión",
        "review_thanks": "¡Gracias por su opinión!",
        "review_email_done": "¿Ya ha dejado una opinión? Díganoslo",
        "advocate_title": "¿Le gustaría apoyar más a {product}?",
        "advocate_body": "Marque lo que estaría dispuesto a hacer; solo se lo pediremos de vez en "
        "cuando.",
        "act_testimonial": "Ser citado",
        "act_review": "Escribir una opinión",
        "act_referral": "Recomendarnos a sus amigos",
        "act_case_study": "Participar en un caso de estudio",
        "act_reference_call": "Hablar con un posible cliente",
        "act_advisory_board": "Unirse a nuestro consejo de clientes",
        "advocate_submit": "Cuenten conmigo",
        "advocate_thanks": "¡Gracias! Nos pondremos en contacto con usted.",
        "save": "Guardar",
        "saved": "Sus preferencias se han guardado.",
        "testimonials_heading": "Sus testimonios",
        "withdraw_button": "Retirar el consentimiento",
        "withdrawn_notice": "Su consentimiento está retirado: estas palabras ya no se publicarán.",
        "wall_title": "Lo que nuestros clientes dicen de {product}",
        "wall_empty": "Todavía no hay testimonios.",
        "decimal_mark": ",",
    },
}


# --- locale choice ----------------------------------------------------------------------

# RFC 9110 language-range and weight; anything else in Accept-Language is ignored.
_LANGUAGE_RANGE = re.compile(r"\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_WEIGHT = re.compile(r"[qQ]=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")


def pick_locale(
    *candidates: str | None, accept_language: str | None = None, fallback: str | None = None
) -> str:
    """The locale to talk to someone in.

    What we know of the person wins: pass it in priority order (e.g. the
    invitation's, then the contact's locale). Then the best supported language
    of the browser (``accept_language``), then ``fallback`` (e.g. the survey's
    default), finally ``DEFAULT_LOCALE``. Only the language part counts
    (``"de-AT"``, ``"de_at"`` -> ``"de"``), since we have one text per language.
    """
    for tag in (*candidates, *_accepted_languages(accept_language or ""), fallback):
        language = _supported_language(tag)
        if language:
            return language
    return DEFAULT_LOCALE


def _supported_language(tag: str | None) -> str | None:
    if not tag:
        return None
    language = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return language if language in LOCALES else None


def _accepted_languages(header: str) -> list[str]:
    """Language ranges from an Accept-Language header, most preferred first.

    Ties keep header order; ``q=0`` means "not acceptable" and is dropped, as is any
    malformed part (a bad tag or weight), so one broken entry cannot hide the rest.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, *params = (piece.strip() for piece in part.split(";"))
        if not _LANGUAGE_RANGE.fullmatch(tag) or len(params) > 1:
            continue
        weight = _WEIGHT.fullmatch(params[0]) if params else None
        if params and weight is None:
            continue
        q = float(weight.group(1)) if weight else 1.0
        if q > 0:
            ranked.append((-q, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


# --- placeholder filling ------------------------------------------------------------------

# {name} or {name|fallback}. Names are plain identifiers (hyphens allowed for attribute
# keys); anything else in braces, like {0}, {a.b} or {__class__}, is left as literal text.
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z][A-Za-z0-9_-]*)\s*(?:\|([^{}]*))?\}")
# Marks where a placeholder became empty so that only the text around it gets tidied.
_GAP = "\x00"
_GAP_RUN = re.compile(r"[ \t]*(?:\x00[ \t]*)+")
_NO_SPACE_BEFORE = frozenset(",.;:!?)]…")
_NO_SPACE_AFTER = frozenset("([¿¡")


def _first_text(*candidates: object) -> str | None:
    """The first candidate that is not blank, as stripped text; None if all are."""
    for candidate in candidates:
        text = "" if candidate is None else str(candidate).replace(_GAP, "").strip()
        if text:
            return text
    return None


def fill(
    template: str,
    values: Mapping[str, object],
    fallbacks: Mapping[str, str] | None = None,
    *,
    only_given: bool = False,
) -> str:
    """Fill ``{name}`` placeholders in a (possibly user-written) template.

    For each placeholder the first non-blank of these wins: ``values[name]``, the
    inline fallback in ``{name|fallback}``, ``fallbacks[name]``. Values go through
    ``str()`` and are stripped. If none is set the placeholder disappears and the
    spacing it leaves is tidied: ``"Hi {first_name}, how"`` -> ``"Hi, how"``.
    With `only_given`, placeholders whose name is not in `values` stay as written
    (a survey's preview fills what the survey knows and shows the rest).

    This never raises on a template and never evaluates it (unlike ``str.format``,
    which would follow ``{a.b}`` or ``{0[x]}``): unknown syntax stays literal text.
    The result is NOT HTML-escaped; escape it where it is rendered.
    NUL characters are dropped (they serve as the internal gap marker and are never
    valid in HTML or e-mail text anyway).
    """
    fallbacks = fallbacks or {}

    def resolve(match: re.Match[str]) -> str:
        name, inline = match.group(1), match.group(2)
        if only_given and name not in values:
            return match.group(0)
        return _first_text(values.get(name), inline, fallbacks.get(name)) or _GAP

    filled = _PLACEHOLDER.sub(resolve, template.replace(_GAP, ""))
    return _GAP_RUN.sub(_close_gap, filled)


def placeholder_names(template: str) -> set[str]:
    """The names ``fill`` would look up in `template`."""
    return {match.group(1) for match in _PLACEHOLDER.finditer(template.replace(_GAP, ""))}


def filler(template: str) -> Callable[[Mapping[str, object]], str]:
    """``fill`` for one template and many value sets, the template parsed once.

    A batch of 10,000 invitations fills one question 10,000 times. Where every
    placeholder has a text, ``fill`` is the literals and those texts in turn, and
    that is what this joins; where one would disappear, the tidy-up is ``fill``'s
    own, so it calls ``fill``.
    """
    cleaned = template.replace(_GAP, "")
    literals, names, position = [], [], 0
    for match in _PLACEHOLDER.finditer(cleaned):
        literals.append(cleaned[position : match.start()])
        names.append((match.group(1), match.group(2)))
        position = match.end()
    tail = cleaned[position:]

    def fill_one(values: Mapping[str, object]) -> str:
        parts = []
        for literal, (name, inline) in zip(literals, names, strict=True):
            text = _first_text(values.get(name), inline)
            if text is None:
                return fill(template, values)
            parts += (literal, text)
        parts.append(tail)
        return "".join(parts)

    return fill_one


def _close_gap(match: re.Match[str]) -> str:
    """Replace an emptied placeholder and the blanks around it with what reads naturally.

    Nothing at the start or end of a line, next to other whitespace (such as the French
    no-break space before "?"), before closing punctuation or after an opening mark;
    one space between two words; nothing if there was no space to begin with.
    """
    text = match.string
    before = text[match.start() - 1] if match.start() > 0 else ""
    after = text[match.end()] if match.end() < len(text) else ""
    if not before or before.isspace() or before in _NO_SPACE_AFTER:
        return ""
    if not after or after.isspace() or after in _NO_SPACE_BEFORE:
        return ""
    return " " if match.group().replace(_GAP, "") else ""


# --- per-survey texts ---------------------------------------------------------------------

_SINGLE_KEYS = ("question", "low_label", "high_label")
_PER_CATEGORY_KEYS = ("follow_up", "thank_you")


def survey_texts(
    kind: str, locale: str | None, overrides: Mapping[str, object] | None = None
) -> SurveyTexts:
    """The wording one survey shows in one locale: built-in defaults plus its overrides.

    ``overrides`` is the survey's stored JSON, keyed by locale code, e.g.
    ``{"en": {"question": "...", "follow_up": {"detractor": "..."}}, "de": {...}}``.
    Only the requested locale's overrides apply, so an English rewording never shows
    up in a German survey. Blank, non-string or unknown entries are ignored (the
    default stays), so a half-filled settings form cannot blank out a question.
    ``locale`` is normalised with ``pick_locale`` (unsupported -> ``DEFAULT_LOCALE``).
    Raises ValueError for an unknown kind. Placeholders are left for ``fill``.
    """
    if kind not in CATEGORIES:
        raise ValueError(f"unknown survey kind: {kind!r}")
    locale = pick_locale(locale)
    texts = copy.deepcopy(DEFAULTS[locale][kind])
    own = (overrides or {}).get(locale)
    if not isinstance(own, Mapping):
        return texts
    for key in _SINGLE_KEYS:
        if _is_text(own.get(key)):
            texts[key] = own[key]
    for key in _PER_CATEGORY_KEYS:
        by_category = own.get(key)
        if not isinstance(by_category, Mapping):
            continue
        for category in CATEGORIES[kind]:
            if _is_text(by_category.get(category)):
                texts[key][category] = by_category[category]
    return texts


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
