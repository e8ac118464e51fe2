"""Hosted pages: /s/<token> (survey) and /p/<token> (preferences).

No GET here changes anything: mail scanners and link previewers open every
link. Every POST answers with a 303 to a GET page (Post/Redirect/Get), so a
reload never resubmits, and the request still commits (303 < 400).
"""

from flask import Blueprint, Response, redirect, render_template, request, url_for

from api.http import errors as http_errors
from api.http.errors import ApiError
from api.pages import errors, preferences, security, survey_page
from api.responses import service as responses
from api.surveys import texts

bp = Blueprint("pages", __name__)
bp.after_request(security.add_security_headers)
http_errors.html_renderers[bp.name] = errors.render_error_page

USER_AGENT_MAX = 255


@bp.context_processor
def _page_context() -> dict:
    return {"csp_nonce": security.csp_nonce()}


@bp.get("/s/<token>")
def survey(token: str):
    page = survey_page.open_page(token)
    response = responses.response_for_invitation(page.invitation.id)
    step = request.args.get("step")
    if response is not None and step == survey_page.COMMENT_STEP:
        return render_template("survey.html", **page.comment_step(response))
    if response is not None and step == survey_page.THANKS_STEP:
        return render_template("survey.html", **page.thanks_step(response))
    # ?score=N only preselects; the inline script (or the reader) POSTs it.
    chosen = page.parse_score(request.args.get("score"))
    return render_template(
        "survey.html", **page.score_step(response, chosen, autosubmit=chosen is not None)
    )


@bp.post("/s/<token>")
def submit_score(token: str):
    security.refuse_cross_site()
    page = survey_page.open_page(token)
    score = page.parse_score(request.form.get("score"))
    if score is None:
        response = responses.response_for_invitation(page.invitation.id)
        context = page.score_step(response, error=page.words["score_required"])
        return render_template("survey.html", **context), 422
    responses.submit(
        page.invitation,
        score,
        channel=page.invitation.channel,
        locale=page.locale,
        meta={"user_agent": request.user_agent.string[:USER_AGENT_MAX]},
    )
    return redirect(url_for(".survey", token=token, step=survey_page.COMMENT_STEP), 303)


@bp.post("/s/<token>/comment")
def comment(token: str):
    security.refuse_cross_site()
    page = survey_page.open_page(token)
    response = responses.response_for_invitation(page.invitation.id)
    if response is None:  # a comment form without a score: ask for the score first
        return redirect(url_for(".survey", token=token), 303)
    text = request.form.get("comment", "")
    try:
        responses.set_comment(response, text)
    except ApiError as error:
        if error.status != 422:
            raise
        message = texts.fill(page.words["comment_too_long"], {"max": responses.MAX_COMMENT})
        context = page.comment_step(response, error=message, comment=text)
        return render_template("survey.html", **context), 422
    return redirect(url_for(".survey", token=token, step=survey_page.THANKS_STEP), 303)


@bp.get("/p/<token>")
def preference_page(token: str):
    page = preferences.open_page(token)
    notice = request.args.get("done") == "resubscribed" and not page.contact.unsubscribed
    return render_template("preferences.html", **page.context(notice=notice))


@bp.post("/p/<token>")
def preferences_post(token: str):
    """Unsubscribe: from our page's form, or an RFC 8058 one-click POST from a mail client.

    A one-click POST carries `List-Unsubscribe=One-Click`, no cookies and often
    no Origin; it gets a 200 with a short body, never a redirect (RFC 8058).
    It skips the cross-site check: the RFC lets whoever holds the link make
    this POST (a webmail may send it from its own origin), the token already
    proves that, and unsubscribing is the only thing it can do.
    """
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    if not one_click:
        security.refuse_cross_site()
    page = preferences.open_page(token)
    source = preferences.ONE_CLICK if one_click else preferences.PREFERENCE_PAGE
    preferences.unsubscribe(page.contact, source)
    if one_click:
        text = texts.UI[page.locale]["one_click_done"]
        return Response(text + "\n", 200, mimetype="text/plain")
    return redirect(url_for(".preference_page", token=token), 303)


@bp.post("/p/<token>/resubscribe")
def resubscribe(token: str):
    security.refuse_cross_site()
    page = preferences.open_page(token)
    preferences.resubscribe(page.contact)
    return redirect(url_for(".preference_page", token=token, done="resubscribed"), 303)
