"""The hosted survey page /s/<token>: no-JS flow, scanner safety, tokens, locale, XSS, a11y.

Surveys, contacts and invitations are made through the models and the invitation
service directly, so these tests do not depend on the /v1/surveys API.
"""

import re
import time
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

import itsdangerous.timed
from sqlalchemy import select

from api import scoring, signing
from api.contacts.models import Contact
from api.database import utcnow
from api.events.models import Event
from api.extensions import db
from api.i18n.catalogs import UI
from api.responses.models import Response
from api.surveys import invitations, tokens
from api.surveys.models import Invitation, Survey
from api.surveys.wording import survey_texts
from api.workspaces import keys
from tests.db import count

# What a browser sends; without it the one error format answers in JSON.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SAME_ORIGIN = {**BROWSER, "Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


@dataclass
class Case:
    workspace_id: str
    survey_id: str
    contact_id: str
    invitation_id: str
    token: str
    preferences_token: str

    @property
    def url(self) -> str:
        return f"/s/{self.token}"


def make_case(
    app,
    *,
    workspace_id: str | None = None,
    kind: str = "nps",
    contact: dict | None = None,
    **survey_fields,
) -> Case:
    """A workspace (unless given), a survey, a contact and one invitation by email."""
    with app.app_context():
        if workspace_id is None:
            workspace_id = keys.create_workspace("Acme")[0].id
        survey = Survey(
            workspace_id=workspace_id,
            name="Quarterly",
            kind=kind,
            product_name=survey_fields.pop("product_name", "Acme"),
            **survey_fields,
        )
        person = Contact(
            workspace_id=workspace_id,
            external_id=f"u-{time.perf_counter_ns()}",
            **({"email": "ann@example.com", "first_name": "Ann"} | (contact or {})),
        )
        db.session.add_all([survey, person])
        db.session.flush()
        [(invitation, _)], skipped = invitations.invite(
            survey, [{"contact_id": person.id}], "email"
        )
        assert not skipped
        case = Case(
            workspace_id,
            survey.id,
            person.id,
            invitation.id,
            tokens.survey_token(invitation.id),
            tokens.preferences_token(person.id),
        )
        db.session.commit()
        return case


def response_of(app, invitation_id: str) -> Response | None:
    with app.app_context():
        response = db.session.scalar(
            select(Response).where(Response.invitation_id == invitation_id)
        )
        if response is not None:
            db.session.expunge(response)
        return response


class Elements(HTMLParser):
    """Every start tag as (tag, attrs), plus the text inside each <label for=...>."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.label_text: dict[str, str] = {}
        self._label: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "label" and "for" in attrs:
            self._label = attrs["for"]
            self.label_text[self._label] = ""

    def handle_endtag(self, tag):
        if tag == "label":
            self._label = None

    def handle_data(self, data):
        if self._label:
            self.label_text[self._label] += data

    def find(self, tag: str, **attrs) -> list[dict]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


def radios(html: str) -> list[dict]:
    return Elements(html).find("input", type="radio", name="score")


def checked_scores(html: str) -> list[str]:
    return [r["value"] for r in radios(html) if "checked" in r]


def flip_a_character(token: str) -> str:
    # Inside the signature, away from its last character (whose low bits are padding).
    index = len(token) - 6
    return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]


# --- the flow -----------------------------------------------------------------------------


def test_no_js_flow_score_comment_thanks(app, client):
    case = make_case(app)
    page = client.get(case.url, headers=BROWSER)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How likely are you to recommend Acme" in html
    assert checked_scores(html) == []
    assert "<script" not in html  # no auto-submit without ?score
    assert Elements(html).find("button", type="submit")

    posted = client.post(case.url, data={"score": "10"}, headers=SAME_ORIGIN)
    assert posted.status_code == 303
    assert posted.location == f"{case.url}?step=comment"
    response = response_of(app, case.invitation_id)
    assert (response.score, response.category, response.channel) == (10, "promoter", "email")
    assert response.locale == "en"
    assert response.meta["user_agent"].startswith("Werkzeug")

    comment_page = client.get(posted.location, headers=BROWSER).get_data(as_text=True)
    assert "What do you love most about Acme?" in comment_page
    assert Elements(comment_page).find("form", action=f"{case.url}/comment", method="post")
    assert Elements(comment_page).find("textarea", name="comment", id="comment")

    sent = client.post(
        f"{case.url}/comment", data={"comment": "Fast and friendly."}, headers=SAME_ORIGIN
    )
    assert sent.status_code == 303
    assert sent.location == f"{case.url}?step=thanks"
    assert response_of(app, case.invitation_id).comment == "Fast and friendly."

    thanks = client.get(sent.location, headers=BROWSER)
    html = thanks.get_data(as_text=True)
    assert thanks.status_code == 200
    assert "we&#39;d love you to share it" in html  # the promoter's thank-you
    assert "Fast and friendly." in html
    assert 'class="referral"' not in html  # the referral block shows nothing while None


def test_thank_you_is_per_category(app, client):
    case = make_case(app)
    client.post(case.url, data={"score": "3"}, headers=SAME_ORIGIN)
    comment = client.get(f"{case.url}?step=comment", headers=BROWSER).get_data(as_text=True)
    assert "What could we do better?" in comment
    thanks = client.get(f"{case.url}?step=thanks", headers=BROWSER).get_data(as_text=True)
    assert "use your honest feedback to improve Acme." in thanks


# The thanks step's heading says it; the text under it must not say it again.
THANKS = {"en": "thank", "de": "dank", "fr": "merci", "es": "gracias"}


def test_the_built_in_thank_you_texts_leave_the_thanks_to_the_heading():
    for locale, word in THANKS.items():
        assert word in UI[locale]["thank_you_title"].lower()
        for kind, categories in scoring.CATEGORIES.items():
            for category in categories:
                text = survey_texts(kind, locale)["thank_you"][category]
                assert word not in text.lower(), (locale, kind, category, text)


def test_resending_the_same_comment_records_no_second_event(app, client):
    case = make_case(app)
    client.post(case.url, data={"score": "8"}, headers=SAME_ORIGIN)
    for _ in range(2):
        client.post(f"{case.url}/comment", data={"comment": "Fine."}, headers=SAME_ORIGIN)
    updated = count(
        app, Event, Event.type == "response.updated", Event.workspace_id == case.workspace_id
    )
    assert updated == 1


def test_steps_without_a_response_show_the_score_form(app, client):
    case = make_case(app)
    for step in ("comment", "thanks"):
        html = client.get(f"{case.url}?step={step}", headers=BROWSER).get_data(as_text=True)
        assert len(radios(html)) == 11
    posted = client.post(f"{case.url}/comment", data={"comment": "hi"}, headers=SAME_ORIGIN)
    assert posted.status_code == 303 and posted.location == case.url
    assert response_of(app, case.invitation_id) is None


# --- scanner safety and the score link ------------------------------------------------------


def test_score_link_get_records_nothing_and_preselects_with_a_nonced_script(app, client):
    case = make_case(app)
    for _ in range(3):  # a scanner, a previewer, the person
        page = client.get(f"{case.url}?score=3", headers=BROWSER)
        assert page.status_code == 200
    assert count(app, Response) == 0
    assert count(app, Event, Event.type.like("response.%")) == 0

    html = page.get_data(as_text=True)
    assert checked_scores(html) == ["3"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", page.headers["Content-Security-Policy"])[1]
    scripts = Elements(html).find("script")
    assert len(scripts) == 1 and scripts[0]["nonce"] == nonce
    assert Elements(html).find("style", nonce=nonce)
    assert "form.submit()" in html
    assert Elements(html).find("form", id="score-form", method="post", action=case.url)
    # Without JS the same form has a visible submit button.
    assert Elements(html).find("button", type="submit")


def test_nonce_is_new_for_every_response(app, client):
    case = make_case(app)
    policies = {
        client.get(f"{case.url}?score=3", headers=BROWSER).headers["Content-Security-Policy"]
        for _ in range(3)
    }
    assert len(policies) == 3


def test_score_off_the_scale_in_the_link_is_ignored(app, client):
    case = make_case(app)
    for value in ("11", "-1", "abc", "3.5", "٣"):
        html = client.get(f"{case.url}?score={value}", headers=BROWSER).get_data(as_text=True)
        assert checked_scores(html) == []
        assert "<script" not in html


def test_changed_mind_updates_the_one_response(app, client):
    case = make_case(app)
    client.post(case.url, data={"score": "9"}, headers=SAME_ORIGIN)
    first = response_of(app, case.invitation_id)
    # A second tab, opened from the email, sends another score.
    client.post(case.url, data={"score": "4"}, headers=SAME_ORIGIN)
    second = response_of(app, case.invitation_id)
    assert second.id == first.id
    assert second.created_at == first.created_at
    assert (second.score, second.category) == (4, "detractor")
    assert count(app, Response) == 1


def test_existing_response_is_shown_chosen_and_can_be_changed(app, client):
    case = make_case(app)
    client.post(case.url, data={"score": "7"}, headers=SAME_ORIGIN)
    html = client.get(case.url, headers=BROWSER).get_data(as_text=True)
    assert checked_scores(html) == ["7"]
    assert "Your score: 7 out of 10" in html
    # A newer score link wins over the saved score, but still only preselects.
    html = client.get(f"{case.url}?score=2", headers=BROWSER).get_data(as_text=True)
    assert checked_scores(html) == ["2"]
    assert response_of(app, case.invitation_id).score == 7


def test_bad_score_shows_the_page_again_and_records_nothing(app, client):
    case = make_case(app)
    for data in ({"score": "11"}, {"score": "x"}, {"score": ""}, {}):
        page = client.post(case.url, data=data, headers=SAME_ORIGIN)
        assert page.status_code == 422
        html = page.get_data(as_text=True)
        assert "Please choose a score." in html
        assert Elements(html).find("p", id="score-error", role="alert")
        assert Elements(html).find("fieldset", **{"aria-describedby": "score-error"})
    assert count(app, Response) == 0


def test_too_long_comment_shows_the_step_again(app, client):
    case = make_case(app)
    client.post(case.url, data={"score": "6"}, headers=SAME_ORIGIN)
    page = client.post(f"{case.url}/comment", data={"comment": "x" * 5001}, headers=SAME_ORIGIN)
    assert page.status_code == 422
    assert "at most 5000 characters" in page.get_data(as_text=True)
    assert response_of(app, case.invitation_id).comment is None


def test_csat_and_ces_scales(app, client):
    for kind, scores in (("csat", range(1, 6)), ("ces", range(1, 8))):
        case = make_case(app, kind=kind)
        html = client.get(case.url, headers=BROWSER).get_data(as_text=True)
        assert [r["value"] for r in radios(html)] == [str(s) for s in scores]
        assert client.post(case.url, data={"score": "0"}, headers=SAME_ORIGIN).status_code == 422


# --- tokens -------------------------------------------------------------------------------


def assert_page(response, status: int, *texts: str):
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    if status >= 400:  # error pages quote the request id for support
        assert response.headers["X-Request-ID"] in html
    assert "Traceback" not in html
    for text in texts:
        assert text in html
    return html


def test_flipped_character_is_a_friendly_404(app, client):
    case = make_case(app)
    forged = client.get(f"/s/{flip_a_character(case.token)}?score=9", headers=BROWSER)
    assert_page(forged, 404, "Survey not found")
    post = client.post(
        f"/s/{flip_a_character(case.token)}", data={"score": "9"}, headers=SAME_ORIGIN
    )
    assert_page(post, 404)
    assert count(app, Response) == 0


def test_token_for_another_purpose_or_invitation_is_the_same_404(app, client):
    case = make_case(app)
    with app.app_context():
        other_purpose = signing.sign(signing.PREFERENCES, case.invitation_id)
        unknown = tokens.survey_token("inv_doesnotexist")
        not_a_string = signing.sign(signing.SURVEY_LINK, ["inv"])
    bodies = set()
    for token in (
        other_purpose,
        case.preferences_token,
        unknown,
        not_a_string,
        "garbage",
        flip_a_character(case.token),
    ):
        html = assert_page(client.get(f"/s/{token}", headers=BROWSER), 404)
        # Drop what differs per response anyway: the request id and the CSP nonce.
        bodies.add(re.sub(r'[0-9a-f]{32}|nonce="[^"]+"', "", html))
    assert len(bodies) == 1  # no page says which part failed


def test_expired_signature_is_a_410(app, client, monkeypatch):
    case = make_case(app)
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    with app.app_context():
        old = int(time.time()) - (app.config["SURVEY_LINK_MAX_AGE_DAYS"] + 1) * 86400
        monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda _: old)
        token = tokens.survey_token(case.invitation_id)
        monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", real)
    assert_page(client.get(f"/s/{token}", headers=BROWSER), 410, "This link has expired")
    posted = client.post(f"/s/{token}", data={"score": "9"}, headers=SAME_ORIGIN)
    assert_page(posted, 410)
    assert count(app, Response) == 0


def test_expired_invitation_is_a_410_in_the_browsers_language(app, client):
    case = make_case(app)
    with app.app_context():
        db.session.get(Invitation, case.invitation_id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    german = {**BROWSER, "Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    html = assert_page(client.get(case.url, headers=german), 410, "Dieser Link ist abgelaufen")
    assert '<html lang="de">' in html
    posted = client.post(case.url, data={"score": "9"}, headers=SAME_ORIGIN)
    assert_page(posted, 410)
    assert count(app, Response) == 0


def test_not_found_in_the_browsers_language(client):
    html = client.get("/s/garbage", headers={**BROWSER, "Accept-Language": "fr"})
    assert_page(html, 404, "Enquête introuvable", '<html lang="fr">')


def test_api_clients_get_the_one_error_format(client):
    response = client.get("/s/garbage", headers={"Accept": "application/json"})
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_a_token_touches_only_its_own_invitation(app, client):
    mine = make_case(app)
    theirs = make_case(app)  # another workspace
    assert mine.workspace_id != theirs.workspace_id
    client.post(mine.url, data={"score": "9"}, headers=SAME_ORIGIN)
    client.post(theirs.url, data={"score": "2"}, headers=SAME_ORIGIN)
    client.post(f"{theirs.url}/comment", data={"comment": "theirs"}, headers=SAME_ORIGIN)
    assert (
        response_of(app, mine.invitation_id).score,
        response_of(app, mine.invitation_id).comment,
    ) == (9, None)
    theirs_response = response_of(app, theirs.invitation_id)
    assert (theirs_response.score, theirs_response.workspace_id) == (2, theirs.workspace_id)
    assert count(app, Response) == 2


def test_closed_survey_says_so(app, client):
    case = make_case(app, contact={"locale": "es"})
    with app.app_context():
        db.session.get(Survey, case.survey_id).active = False
        db.session.commit()
    html = assert_page(client.get(case.url, headers=BROWSER), 410, "Esta encuesta ha finalizado")
    assert '<html lang="es">' in html
    assert_page(client.post(case.url, data={"score": "9"}, headers=SAME_ORIGIN), 410)
    assert count(app, Response) == 0


def test_erased_contact_link_is_not_found(app, client):
    case = make_case(app)
    with app.app_context():
        from api.contacts.erasure import erase

        erase(db.session.get(Contact, case.contact_id))
        db.session.commit()
    assert_page(client.get(case.url, headers=BROWSER), 404)


# --- locale -------------------------------------------------------------------------------


def test_german_contact_gets_a_german_page(app, client):
    case = make_case(app, contact={"locale": "de-AT"})
    html = client.get(case.url, headers={**BROWSER, "Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="de">' in html
    assert "Wie wahrscheinlich ist es, dass Sie Acme" in html
    assert "Absenden" in html and "Äußerst wahrscheinlich" in html
    client.post(case.url, data={"score": "9"}, headers=SAME_ORIGIN)
    assert response_of(app, case.invitation_id).locale == "de"


def test_the_browser_language_then_the_survey_default(app, client):
    french_survey = make_case(app, default_locale="fr")
    html = client.get(french_survey.url, headers={**BROWSER, "Accept-Language": "es"})
    assert '<html lang="es">' in html.get_data(as_text=True)
    # A browser language we have no texts for falls through to the survey's default.
    html = client.get(french_survey.url, headers={**BROWSER, "Accept-Language": "it"})
    assert '<html lang="fr">' in html.get_data(as_text=True)
    unsupported = make_case(app, default_locale="it")
    plain = client.get(unsupported.url, headers=BROWSER).get_data(as_text=True)
    assert '<html lang="en">' in plain


# --- XSS ----------------------------------------------------------------------------------

NAME = "<img src=x onerror=alert(1)>"
NAME_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
COMMENT = "<script>alert(1)</script>"
COMMENT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_markup_from_contacts_and_comments_is_escaped_on_every_page(app, client):
    case = make_case(
        app,
        contact={"first_name": NAME},
        texts={
            "en": {
                "question": "{first_name}, would you recommend {product}?",
                "follow_up": {"passive": "Why, {first_name}?"},
                "thank_you": {"passive": "Thanks, {first_name}!"},
            }
        },
        product_name='"Acme" & <Co>',
    )
    pages = [client.get(f"{case.url}?score=8", headers=BROWSER)]
    client.post(case.url, data={"score": "8"}, headers=SAME_ORIGIN)
    client.post(f"{case.url}/comment", data={"comment": COMMENT}, headers=SAME_ORIGIN)
    pages += [
        client.get(case.url, headers=BROWSER),
        client.get(f"{case.url}?step=comment", headers=BROWSER),
        client.get(f"{case.url}?step=thanks", headers=BROWSER),
    ]
    for number, page in enumerate(pages):
        html = page.get_data(as_text=True)
        assert NAME not in html and NAME_ESCAPED in html, number
        assert "<Co>" not in html
        if number:  # the comment exists from the second page on
            assert COMMENT not in html and COMMENT_ESCAPED in html, number
    assert "&#34;Acme&#34; &amp; &lt;Co&gt;" in pages[0].get_data(as_text=True)


# --- accessibility structure ----------------------------------------------------------------


def test_a_real_radio_group_with_labels(app, client):
    case = make_case(app)
    html = client.get(case.url, headers=BROWSER).get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert '<html lang="en">' in html
    assert re.search(r"<fieldset[^>]*>\s*<legend><h1>How likely", html)
    elements = Elements(html)
    buttons = radios(html)
    assert [b["value"] for b in buttons] == [str(s) for s in range(11)]
    ids = [b["id"] for b in buttons]
    assert len(set(ids)) == 11
    for score, radio_id in zip(range(11), ids, strict=True):
        assert elements.label_text[radio_id].startswith(str(score))
    # The ends of the scale are named for screen readers and visible for everyone.
    assert elements.label_text[ids[0]] == "0, Not at all likely"
    assert elements.label_text[ids[-1]] == "10, Extremely likely"
    assert re.search(
        r'class="ends"[^>]*><span>Not at all likely</span><span>Extremely likely', html
    )
    # Focus order follows the document: question, 0..10, then the button.
    assert html.index('id="score-0"') < html.index('id="score-10"') < html.index('type="submit"')
    assert ":focus-visible" in html
    assert Elements(html).find("meta", name="viewport")


def test_comment_field_is_labelled_by_the_follow_up_question(app, client):
    case = make_case(app)
    client.post(case.url, data={"score": "5"}, headers=SAME_ORIGIN)
    html = client.get(f"{case.url}?step=comment", headers=BROWSER).get_data(as_text=True)
    assert (
        Elements(html).label_text["comment"] == "We're sorry to hear that. What could we do better?"
    )


# --- cross-site POSTs -------------------------------------------------------------------------


def test_cross_site_posts_are_refused(app, client):
    case = make_case(app)
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    ):
        refused = client.post(case.url, data={"score": "0"}, headers={**BROWSER, **headers})
        assert_page(refused, 403, "This form could not be sent")
        refused = client.post(
            f"{case.url}/comment", data={"comment": "x"}, headers={**BROWSER, **headers}
        )
        assert refused.status_code == 403
    assert count(app, Response) == 0


def test_same_origin_and_headerless_posts_are_accepted(app, client):
    case = make_case(app)
    for headers in (
        {"Sec-Fetch-Site": "same-origin", "Origin": "null"},  # what no-referrer makes browsers send
        {"Origin": "http://localhost"},
        {"Origin": "null"},
        {},  # an old client or a script holding the token
    ):
        assert client.post(case.url, data={"score": "9"}, headers=headers).status_code == 303
