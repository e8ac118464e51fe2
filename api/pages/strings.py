"""Words the hosted pages need that `api.surveys.texts.UI` does not have (yet).

`words(locale)` merges these under `texts.UI`, so a key that later moves into
`texts.UI` (where every respondent-facing string belongs) simply takes over
from here. French puts a no-break space (U+00A0) before ``? ! : ;``.
"""

from api.surveys import texts

PAGE_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "link_expired_title": "This link has expired",
        "link_expired_body": "Survey links only work for a limited time. If you would still "
        "like to answer, please ask for a new link.",
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
        "resubscribed_body": "You're subscribed again. You may receive survey emails "
        "from {product}.",
        "one_click_done": "You have been unsubscribed.",
    },
    "de": {
        "link_expired_title": "Dieser Link ist abgelaufen",
        "link_expired_body": "Umfragelinks gelten nur für eine begrenzte Zeit. Wenn Sie noch "
        "antworten möchten, bitten Sie um einen neuen Link.",
        "forbidden_title": "Dieses Formular konnte nicht gesendet werden",
        "forbidden_body": "Zu Ihrer Sicherheit kann dieses Formular nur von seiner eigenen "
        "Seite aus gesendet werden. Bitte öffnen Sie Ihren Link erneut.",
        "rate_limited_title": "Zu viele Anfragen",
        "rate_limited_body": "Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
        "error_title": "Etwas ist schiefgelaufen",
        "reference": "Referenz: {request_id}",
        "score_required": "Bitte wählen Sie eine Bewertung.",
        "comment_too_long": "Ihr Kommentar ist zu lang: höchstens {max} Zeichen, bitte.",
        "your_answer": "Ihre Antwort",
        "your_comment": "Ihr Kommentar",
        "resubscribed_body": "Sie sind wieder angemeldet und erhalten eventuell "
        "Umfrage-E-Mails von {product}.",
        "one_click_done": "Sie wurden abgemeldet.",
    },
    "fr": {
        "link_expired_title": "Ce lien a expiré",
        "link_expired_body": "Les liens d'enquête ne sont valables que pendant une durée "
        "limitée. Si vous souhaitez encore répondre, demandez un nouveau lien.",
        "forbidden_title": "Ce formulaire n'a pas pu être envoyé",
        "forbidden_body": "Pour votre sécurité, ce formulaire ne peut être envoyé que depuis "
        "sa propre page. Veuillez rouvrir votre lien et réessayer.",
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
    },
    "es": {
        "link_expired_title": "Este enlace ha caducado",
        "link_expired_body": "Los enlaces de encuesta solo son válidos durante un tiempo "
        "limitado. Si aún desea responder, solicite un enlace nuevo.",
        "forbidden_title": "No se pudo enviar este formulario",
        "forbidden_body": "Por su seguridad, este formulario solo puede enviarse desde su "
        "propia página. Abra de nuevo su enlace e inténtelo otra vez.",
        "rate_limited_title": "Demasiadas solicitudes",
        "rate_limited_body": "Espere un minuto y vuelva a intentarlo.",
        "error_title": "Algo salió mal",
        "reference": "Referencia: {request_id}",
        "score_required": "Elija una puntuación.",
        "comment_too_long": "Su comentario es demasiado largo: {max} caracteres como máximo.",
        "your_answer": "Su respuesta",
        "your_comment": "Su comentario",
        "resubscribed_body": "Se ha vuelto a suscribir. Puede recibir correos de encuestas "
        "de {product}.",
        "one_click_done": "Se ha dado de baja.",
    },
}


def words(locale: str) -> dict[str, str]:
    """Every UI string for one locale: ours, overridden by `texts.UI` where it has the key."""
    locale = texts.pick_locale(locale)
    return {**PAGE_WORDS[locale], **texts.UI[locale]}
