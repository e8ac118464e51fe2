"""Hosted pages: /s/<token> (survey) and /p/<token> (preferences).

No GET here changes anything: mail scanners and link previewers open every
link. Every POST answers with a 303 to a GET page (Post/Redirect/Get), so a
reload never resubmits, and the request still commits (303 < 400).
"""

import functools

from flask import Response, redirect, render_template, request, url_for

from api import domain_errors
from api.advocacy import advocates, offers, reviews, testimonials
from api.http import errors as http_errors
from api.http.openapi import Blueprint
from api.i18n.catalogs import UI
from api.pages import errors, preferences, review_page, security, survey_page
from api.responses import service as responses

bp = Blueprint("pages", __name__, public=True, description="Hosted pages for people.")
bp.after_request(security.add_security_headers)
http_errors.html_renderers[bp.name] = errors.render_error_page

USER_AGENT_MAX = 255
PAGE = "page"  # the channel of asks made on these pages


@bp.context_processor
def _page_context() -> dict:
    return {"csp_nonce": security.csp_nonce()}


def _form_post(rule: str):
    """A page's form: refused when posted from another site, then Post/Redirect/Get.

    One place for the cross-site check, so that no form can forget it; the one-click
    unsubscribe (`preferences_post`), which must skip it, is declared by hand.
    """

    def decorator(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            security.refuse_cross_site()
            return view(*args, **kwargs)

        checked = bp.errors(403, 410)(checked)  # a form posted from another site; an expired link
        checked = bp.redirect(303, "Done: on to the page (Post/Redirect/Get).")(checked)
        return bp.post(rule)(checked)

    return decorator


@bp.get("/s/<token>")
@bp.page()
@bp.errors(410)  # an expired link
def survey(token: str):
    page = survey_page.open_page(token)
    response = responses.response_for_invitation(page.invitation.id)
    step = request.args.get("step")
    if response is not None and step == survey_page.COMMENT_STEP:
        return render_template("survey.html", **page.comment_step(response))
    if response is not None and step == survey_page.THANKS_STEP:
        done = request.args.get("done")
        return render_template("survey.html", **page.thanks_step(response, done=done))
    # ?score=N only preselects; the inline script (or the reader) POSTs it.
    chosen = page.parse_score(request.args.get("score"))
    return render_template(
        "survey.html", **page.score_step(response, chosen, autosubmit=chosen is not None)
    )


@_form_post("/s/<token>")
def submit_score(token: str):
    page = survey_page.open_page(token)
    score = page.parse_score(request.form.get("score"))
    if score is None:
        response = responses.response_for_invitation(page.invitation.id)
        context = page.score_step(response, error=page.words["score_required"])
        return render_template("survey.html", **context), 422
    response, _created = responses.submit(
        page.invitation,
        score,
        channel=page.invitation.channel,
        locale=page.locale,
        meta={"user_agent": request.user_agent.string[:USER_AGENT_MAX]},
    )
    # The asks the thank-you step shows are made here: that GET may change nothing.
    offers.make(response, page.contact, page.survey.kind, PAGE)
    return redirect(url_for(".survey", token=token, step=survey_page.COMMENT_STEP), 303)


@_form_post("/s/<token>/comment")
def comment(token: str):
    page = survey_page.open_page(token)
    response = responses.response_for_invitation(page.invitation.id)
    if response is None:  # a comment form without a score: ask for the score first
        return redirect(url_for(".survey", token=token), 303)
    text = request.form.get("comment", "")
    try:
        responses.set_comment(response, text)
    except domain_errors.Invalid:
        message = page.too_long(responses.MAX_COMMENT)
        context = page.comment_step(response, error=message, comment=text)
        return render_template("survey.html", **context), 422
    offers.make(response, page.contact, page.survey.kind, PAGE)
    return _thanks(token)


def _thanks(token: str, done: str | None = None):
    return redirect(url_for(".survey", token=token, step=survey_page.THANKS_STEP, done=done), 303)


def _answered(token: str):
    """The page and its response for a thank-you form; None when there is no answer yet."""
    page = survey_page.open_page(token)
    response = responses.response_for_invitation(page.invitation.id)
    return page, response


@_form_post("/s/<token>/testimonial")
def give_testimonial(token: str):
    """A promoter agrees to be quoted: their words, their name, the consent checkbox."""
    page, response = _answered(token)
    if response is None or page.contact is None:
        return redirect(url_for(".survey", token=token), 303)
    form = {
        name: request.form.get(name, "") for name in ("text", "display_name", "role", "company")
    }
    data = form | {
        "consent": request.form.get("consent") == "yes",
        "consent_hash": request.form.get("consent_hash"),
    }
    try:
        testimonials.give(
            response,
            page.contact,
            data,
            channel=PAGE,
            locale=page.locale,
            product=page.survey.product_name,
        )
    except domain_errors.Invalid as error:
        context = page.thanks_step(
            response, testimonial_error=page.testimonial_error(error.code), testimonial_form=form
        )
        return render_template("survey.html", **context), 422
    return _thanks(token)


@_form_post("/s/<token>/review")
def reviewed(token: str):
    """Says "I left a review", under the review ask of the thank-you step."""
    _page, response = _answered(token)
    found = reviews.request_for_response(response.id) if response is not None else None
    if found is not None:
        reviews.mark_reviewed(found, request.form.get("destination_id"), PAGE)
    return _thanks(token)


@_form_post("/s/<token>/advocate")
def opt_in(token: str):
    """A promoter ticks the acts of advocacy they would do."""
    page, response = _answered(token)
    acts = request.form.getlist("acts")
    if response is None or page.contact is None or not acts:
        return _thanks(token)
    advocates.opt_in(page.contact, acts, PAGE)
    return _thanks(token, done="advocate")


@bp.get("/rv/<token>")
@bp.page()
@bp.errors(410)  # an expired link
def review_request_page(token: str):
    page = review_page.open_page(token)
    return render_template("review.html", **page.context())


@_form_post("/rv/<token>")
def review_request_done(token: str):
    """ "I left a review", from the page a review request email links to."""
    page = review_page.open_page(token)
    reviews.mark_reviewed(page.review, request.form.get("destination_id"), page.review.channel)
    return redirect(url_for(".review_request_page", token=token), 303)


@bp.get("/rv/<token>/<destination_id>")
@bp.redirect(302, "To the review site (or back to the page).")
@bp.errors(410)  # an expired link
def review_click(token: str, destination_id: str):
    """A tracked link to one review site: counts the click, then redirects there.

    A GET that writes, as a referral link does: the link must lead straight to the
    site. Mail scanners that open it count as clicks too, never as reviews.
    """
    page = review_page.open_page(token)
    target = reviews.click(page.review, destination_id)
    return redirect(target or url_for(".review_request_page", token=token), 302)


@bp.get("/p/<token>")
@bp.page()
@bp.errors(410)  # an expired link
def preference_page(token: str):
    page = preferences.open_page(token)
    return render_template("preferences.html", **page.context(request.args.get("done")))


@bp.post("/p/<token>")
@bp.redirect(303, "Done: on to the page (Post/Redirect/Get).")
@bp.content(200, "text/plain", "Unsubscribed by an RFC 8058 one-click POST.")
@bp.errors(403, 410)  # a form posted from another site; an expired link
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
        text = UI[page.locale]["one_click_done"]
        return Response(text + "\n", 200, mimetype="text/plain")
    return redirect(url_for(".preference_page", token=token), 303)


@_form_post("/p/<token>/testimonials/<testimonial_id>/withdraw")
def withdraw_testimonial(token: str, testimonial_id: str):
    """Withdraw consent to be quoted: the testimonial is never published again."""
    page = preferences.open_page(token)
    preferences.withdraw(page.contact, testimonial_id)
    return redirect(url_for(".preference_page", token=token, done="withdrawn"), 303)


@_form_post("/p/<token>/advocacy")
def preferences_advocacy(token: str):
    """The acts of advocacy the contact would do: exactly the boxes ticked."""
    page = preferences.open_page(token)
    preferences.choose_acts(page.contact, request.form.getlist("acts"))
    return redirect(url_for(".preference_page", token=token, done="saved"), 303)


@_form_post("/p/<token>/resubscribe")
def resubscribe(token: str):
    page = preferences.open_page(token)
    preferences.resubscribe(page.contact)
    return redirect(url_for(".preference_page", token=token, done="resubscribed"), 303)
