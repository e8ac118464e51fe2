"""The survey widget in a real browser, embedded in a page of another origin."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from api.contacts.service import upsert_contact
from api.extensions import db
from api.surveys.models import Survey
from tests.browser.conftest import (
    SHADOW_JS,
    assert_whole_link_shown,
    is_touch_target,
    wait_for,
    with_referral,
)

QUESTION = re.compile("recommend Acme")
ANSWERED = "flipfunnel('on', 'answered', function (d) { window.answered = d; });"


def radio(page, score: int, of: int = 10):
    return page.get_by_role("radio", name=f"{score} out of {of}", exact=True)


def eligibility(response) -> bool:
    return "/w/v1/eligibility" in response.url


def test_an_answer_from_an_allowed_origin_reaches_the_api(embed, page):
    embed.survey()
    page.emulate_media(reduced_motion="reduce")
    page.goto(embed.page("/home", after=ANSWERED))
    dialog = page.get_by_role("dialog", name=QUESTION)
    expect(dialog).to_be_visible()
    assert dialog.evaluate("(d) => getComputedStyle(d).animationName") == "none"
    radio(page, 9).click()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("textbox", name="What do you love most about Acme?")).to_be_focused()
    assert page.evaluate("window.answered")["category"] == "promoter"

    answers = embed.tenant.get("/v1/responses").get_json()
    items = answers.get("items", answers.get("data", answers))
    assert [(a["score"], a["channel"]) for a in items] == [(9, "widget")]
    assert embed.responses()[0].meta["page"] == embed.site.url + "/home"


def test_an_origin_not_allowed_sees_nothing_and_is_refused(embed, page):
    embed.survey()
    embed.tenant.patch("/v1/widget", json={"allowed_origins": ["https://elsewhere.example"]})
    # The browser hides a response without CORS headers from the page (and from
    # page.on("response")): the route asks the API itself, notes what it said, then lets
    # the page's own request go on (fulfilling it would add CORS headers).
    refused = []

    def relay(route):
        answer = route.fetch()
        refused.append((answer.status, json.loads(answer.text())["error"]["code"]))
        route.continue_()

    page.route("**/w/v1/**", relay)
    blocked = []
    page.on("console", lambda m: "CORS policy" in m.text and blocked.append(m.text))
    page.goto(embed.page())
    wait_for(page, lambda: blocked)
    assert refused == [(403, "origin_not_allowed")]
    assert "/w/v1/eligibility" in blocked[0]
    assert page.evaluate(f"{SHADOW_JS} === null")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_keyboard_only_with_names_in_the_accessibility_tree(embed, page):
    embed.survey()
    page.goto(
        embed.page(
            init=embed.init(auto=False),
            body='<h1>Shop</h1><button id="ask">Ask me</button>',
            after="document.getElementById('ask').onclick = function () { flipfunnel('survey'); };",
        )
    )
    page.keyboard.press("Tab")
    expect(page.locator("#ask")).to_be_focused()
    page.keyboard.press("Enter")

    dialog = page.get_by_role("dialog", name=QUESTION)
    expect(dialog).to_be_visible()
    group = page.get_by_role("radiogroup", name=QUESTION)
    expect(group.get_by_role("radio")).to_have_count(11)
    expect(radio(page, 0)).to_be_focused()
    checked = group.locator("[aria-checked=true]")
    expect(checked).to_have_count(0)

    page.keyboard.press("ArrowRight")
    expect(radio(page, 1)).to_have_attribute("aria-checked", "true")
    page.keyboard.press("End")
    expect(radio(page, 10)).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    seven = radio(page, 7)
    expect(seven).to_be_focused()
    expect(seven).to_have_attribute("aria-checked", "true")
    expect(checked).to_have_count(1)
    # One tab stop for the whole group: Tab leaves it for the submit button.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Submit")).to_be_focused()
    page.keyboard.press("Space")

    comment = page.get_by_role("textbox", name="What would make Acme a 10 for you?")
    expect(comment).to_be_focused()
    page.keyboard.type("Faster checkout")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send comment")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()

    # The focus trap: Tab keeps cycling inside the dialog.
    for _ in range(4):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "FLIPFUNNEL-SURVEY"
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator("#ask")).to_be_focused()

    row = wait_for(page, lambda: [r for r in embed.responses() if r.comment])[0]
    assert (row.score, row.category, row.comment) == (7, "passive", "Faster checkout")


HOSTILE_CSS = """<style>
* { all: unset !important; }
html, body { font-size: 64px !important; line-height: 3 !important; }
div { display: none !important; font-size: 40px !important; }
dialog, button, textarea, [role] { display: none !important; visibility: hidden !important; }
flipfunnel-survey { display: none !important; opacity: 0 !important; font-size: 80px !important; }
p { color: rgb(200, 0, 0) !important; font: italic 30px serif !important; }
.wall { display: block !important; position: fixed !important; inset: 0 !important;
        z-index: 2147483647 !important; background: rgba(200, 0, 0, .2) !important; }
</style>"""
STYLE_OF = """(selector) => {
  const style = getComputedStyle(document.querySelector(selector));
  return Object.fromEntries(Array.from(style).map((name) => [name, style.getPropertyValue(name)]));
}"""


def test_a_hostile_host_page_neither_breaks_the_widget_nor_is_changed_by_it(embed, page):
    embed.survey()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(
        embed.page(
            init=embed.init(auto=False),
            head=HOSTILE_CSS,
            body='<p id="probe">Host text</p><section class="wall"></section>',
        )
    )
    before = {s: page.evaluate(STYLE_OF, s) for s in ("#probe", "body", "html", ".wall")}
    page.evaluate("flipfunnel('survey')")

    dialog = page.get_by_role("dialog", name=QUESTION)
    expect(dialog).to_be_visible()
    assert dialog.evaluate("(d) => getComputedStyle(d).animationName") == "ff"  # motion is ok
    box = dialog.bounding_box()
    assert 300 <= box["width"] <= 400 and 150 <= box["height"] <= 400, box
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 800
    question_font = page.evaluate(
        f"getComputedStyle({SHADOW_JS}.shadowRoot.getElementById('title'))"
    )
    assert question_font["fontSize"] == "15px"
    # Clickable above a max-z-index wall: Playwright checks the click lands on the radio.
    eight = radio(page, 8)
    eight.click()
    expect(eight).to_have_attribute("aria-checked", "true")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("textbox")).to_be_visible()
    assert wait_for(page, embed.responses)[0].score == 8

    after = {s: page.evaluate(STYLE_OF, s) for s in before}
    for selector, style in before.items():
        changed = {k: (v, after[selector][k]) for k, v in style.items() if after[selector][k] != v}
        assert not changed, (selector, changed)


STRICT_NONCE = "abc"


@pytest.mark.parametrize("styles", ["constructable", "style-nonce-fallback"])
def test_a_strict_csp_page_with_a_nonce(embed, page, styles):
    embed.survey()
    csp = (
        f"default-src 'none'; script-src 'nonce-{STRICT_NONCE}' {embed.api}; "
        f"style-src 'nonce-{STRICT_NONCE}'; connect-src {embed.api}"
    )
    if styles == "style-nonce-fallback":
        # A browser without constructable stylesheets: the widget falls back to <style nonce>.
        page.add_init_script("delete CSSStyleSheet.prototype.replaceSync;")
    console = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(
        embed.page(
            init=embed.init(locale="de"),
            csp=csp,
            nonce=STRICT_NONCE,
            before="window.violations = []; document.addEventListener("
            "'securitypolicyviolation', function (e) { violations.push(e.violatedDirective); });",
        )
    )
    dialog = page.get_by_role("dialog", name=re.compile("Acme einem Freund"))
    expect(dialog).to_be_visible()
    # Our stylesheet applied (a blocked one would leave the browser's dialog style).
    assert dialog.evaluate("(d) => getComputedStyle(d).borderTopLeftRadius") == "12px"
    fallback = page.evaluate(f"{SHADOW_JS}.shadowRoot.querySelectorAll('style').length")
    assert fallback == (1 if styles == "style-nonce-fallback" else 0)
    page.get_by_role("radio", name="10 von 10", exact=True).press("Enter")
    expect(page.get_by_role("textbox", name=re.compile("am besten"))).to_be_focused()
    assert wait_for(page, embed.responses)[0].score == 10

    assert page.evaluate("window.violations") == []
    assert not [m for m in console if "Content Security Policy" in m]
    # The listener does see a violation when there is one.
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    wait_for(page, lambda: page.evaluate("window.violations.length"))
    assert page.evaluate("window.violations") == ["style-src-attr"]


MARKUP = {
    "question": "<img src=x onerror=window.pwned=1> {first_name}, how likely?",
    "follow_up": {"promoter": "<b onmouseover=window.pwned=2>Why?</b>"},
    "thank_you": {"promoter": "<script>window.pwned=3</script>Thanks"},
}
NAME = "<img src=y onerror=window.pwned=4>"
COMMENT = "<img src=z onerror=window.pwned=5>"


def test_markup_in_texts_names_and_comments_is_shown_as_text(embed, page):
    embed.survey(texts={"en": MARKUP})
    with embed.app.app_context():
        upsert_contact(embed.tenant.id, "u1", {"first_name": NAME})
        db.session.commit()
    page.goto(embed.page())
    question = f"<img src=x onerror=window.pwned=1> {NAME}, how likely?"
    expect(page.get_by_role("dialog", name=question)).to_be_visible()
    expect(page.get_by_text(question)).to_be_visible()
    radio(page, 10).click()
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("textbox", name=MARKUP["follow_up"]["promoter"]).fill(COMMENT)
    page.get_by_role("button", name="Send comment").click()
    expect(page.get_by_text(MARKUP["thank_you"]["promoter"])).to_be_visible()

    assert wait_for(page, lambda: [r.comment for r in embed.responses() if r.comment]) == [COMMENT]
    tags = page.evaluate(f"{SHADOW_JS}.shadowRoot.querySelectorAll('img,script,b').length")
    assert tags == 0
    assert page.evaluate("window.pwned") is None


def test_a_forged_user_hash_is_refused_and_nothing_is_shown(embed, page):
    embed.survey()
    with page.expect_response(eligibility) as answer:
        page.goto(embed.page(init=embed.init(forged=True)))
    assert answer.value.status == 403
    assert answer.value.json()["error"]["code"] == "invalid_user_hash"
    assert page.evaluate(f"{SHADOW_JS} === null")
    assert embed.responses() == []


def test_the_throttle_holds_after_clearing_storage_and_cookies(embed, page, context):
    embed.survey()
    url = embed.page()
    page.goto(url)
    radio(page, 5).click()
    page.get_by_role("button", name="Submit").click()
    wait_for(page, embed.responses)

    context.clear_cookies()
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    with page.expect_response(eligibility) as answer:
        page.reload()
    assert answer.value.json()["show"] is False
    assert page.evaluate(f"{SHADOW_JS} === null")
    assert len(embed.responses()) == 1


def test_an_anonymous_visitor_is_drawn_once_not_on_every_page_view(embed, page):
    embed.survey(allow_anonymous=True, sampling_percent=50)
    url = embed.page(init={"key": embed.tenant.publishable_key})
    draws = set()
    for _page_view in range(3):
        with page.expect_response(eligibility) as answer:
            page.goto(url)
        (anonymous_id,) = parse_qs(urlsplit(answer.value.url).query)["anonymous_id"]
        draws.add((anonymous_id, answer.value.json()["show"]))
    ((anonymous_id, _show),) = draws  # one id and one draw for the three page views
    assert re.fullmatch(r"[0-9a-f]{32}", anonymous_id)
    assert page.evaluate("localStorage.getItem('flipfunnel:anonymous')") == anonymous_id


def test_an_identified_user_sends_no_anonymous_id(embed, page):
    embed.survey()
    with page.expect_response(eligibility) as answer:
        page.goto(embed.page())
    assert "anonymous_id" not in parse_qs(urlsplit(answer.value.url).query)
    assert page.evaluate("localStorage.getItem('flipfunnel:anonymous')") is None


def test_a_failed_submit_is_delivered_once_on_the_next_page_load(embed, page):
    embed.survey()

    def offline(route):
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/w/v1/responses?*", offline)
    with page.expect_response(lambda r: "/w/v1/displays" in r.url) as displayed:
        page.goto(embed.page())
    display_id = displayed.value.json()["display_id"]
    radio(page, 6).click()
    page.get_by_role("button", name="Submit").click()
    # Offline, the widget goes on (it knows the category) and keeps the answer.
    page.get_by_role("textbox", name=re.compile("do better")).fill("Too slow")
    page.get_by_role("button", name="Send comment").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    kept = page.evaluate("JSON.parse(localStorage.getItem('flipfunnel:retry'))")
    assert [(k["score"], k["comment"]) for k in kept] == [(6, "Too slow")]
    assert embed.responses() == []

    page.unroute("**/w/v1/responses?*")
    with page.expect_response(eligibility) as answer:
        page.reload()
    assert answer.value.json()["show"] is False  # delivered first, so now throttled
    rows = wait_for(page, lambda: [r for r in embed.responses() if r.comment])
    assert [(r.invitation_id, r.score, r.comment) for r in rows] == [(display_id, 6, "Too slow")]
    wait_for(page, lambda: page.evaluate("localStorage.getItem('flipfunnel:retry') === null"))

    posted = []
    page.on("request", lambda r: "/w/v1/responses" in r.url and posted.append(r))
    with page.expect_response(eligibility):
        page.reload()
    assert posted == [] and len(embed.responses()) == 1


def test_url_rules_are_checked_again_after_push_state(embed, page):
    embed.survey(url_rules=[{"match": "starts_with", "value": "/checkout"}])
    with page.expect_response(eligibility) as answer:
        page.goto(embed.page("/home"))
    assert answer.value.json() == {"show": False, "reason": "no_survey"}
    assert page.evaluate(f"{SHADOW_JS} === null")

    with page.expect_response(eligibility) as answer:
        page.evaluate("history.pushState({}, '', '/checkout/payment')")
    assert "checkout%2Fpayment" in answer.value.url
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()


def test_a_promoter_sees_the_referral_link_from_the_answer(embed, page, context):
    """The answer to POST /w/v1/responses may carry `referral: {url, code}`."""
    embed.survey()
    link = "https://acme.example/r/K7WQ3MZB"
    referral = {"url": link, "code": "K7WQ3MZB", "title": "Share Acme with a friend"}
    page.route("**/w/v1/responses?*", with_referral(referral))
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=embed.site.url)
    page.goto(embed.page())
    radio(page, 9).click()
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("button", name="Skip").click()

    region = page.get_by_role("region", name="Share Acme with a friend")
    expect(region.get_by_text(link, exact=True)).to_be_visible()
    expect(region.get_by_text("Or tell them your code: K7WQ3MZB")).to_be_visible()
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link


def test_closing_an_unanswered_survey_is_a_decline(embed, page):
    embed.survey()
    closed = "flipfunnel('on', 'closed', function (d) { window.closedWith = d; });"
    with page.expect_response(lambda r: "/w/v1/displays" in r.url) as displayed:
        page.goto(embed.page(after=closed))
    display_id = displayed.value.json()["display_id"]
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()
    with page.expect_response(lambda r: "/w/v1/declines" in r.url) as declined:
        page.keyboard.press("Escape")
    assert declined.value.json() == {"display_id": display_id, "declined": True}
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.evaluate("window.closedWith.answered") is False
    with page.expect_response(eligibility) as answer:
        page.reload()
    assert answer.value.json()["show"] is False


def test_a_promoter_gets_a_real_referral_link_when_a_program_runs(embed, page):
    embed.survey()
    program = {"enabled": True, "landing_url": embed.site.url + "/welcome"}
    assert embed.tenant.put("/v1/referral-program", json=program).status_code == 200
    page.goto(embed.page())
    radio(page, 10).click()
    with page.expect_response(lambda r: "/w/v1/responses" in r.url) as answered:
        page.get_by_role("button", name="Submit").click()
    referral = answered.value.json()["referral"]
    page.get_by_role("button", name="Skip").click()
    region = page.get_by_role("region", name="Share Acme with a friend")
    expect(region.get_by_text(referral["url"], exact=True)).to_be_visible()
    assert f"/r/{referral['code']}" in referral["url"]


# --- single-page apps: route changes ------------------------------------------------------

# Records every eligibility request as the page makes it, so a test can tell "not asked".
COUNT_ASKS = """window.asked = [];
const realFetch = window.fetch;
window.fetch = function (url, options) {
  if (String(url).includes('/w/v1/eligibility')) window.asked.push(String(url));
  return realFetch.apply(this, arguments);
};"""
WITHOUT_NAVIGATION_API = "Object.defineProperty(window, 'navigation', {value: undefined});"


def asked(page) -> list[str]:
    return page.evaluate("window.asked")


def test_auto_false_holds_on_route_changes(embed, page):
    embed.survey(url_rules=[{"match": "starts_with", "value": "/checkout"}])
    page.add_init_script(COUNT_ASKS)
    page.goto(embed.page("/home", init=embed.init(auto=False)))
    page.wait_for_function("Boolean(window.flipfunnel.hub?.handlers.page)")
    page.clock.install()  # from here on the test moves the page's time
    for path in ("/checkout/cart", "/checkout/payment"):
        page.evaluate(f"history.pushState({{}}, '', '{path}')")
        page.clock.run_for(2000)  # well past the settling time of a route change
    page.evaluate("flipfunnel('page')")
    page.clock.run_for(2000)
    assert asked(page) == []
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.evaluate("flipfunnel('survey')")  # asking when told still works
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()
    assert len(asked(page)) == 1


def test_later_route_changes_ask_again_and_the_server_decides(embed, page):
    # Declining holds the survey back for 0 days, answering for the default 90.
    embed.survey(decline_days=0)
    page.goto(embed.page("/a"))
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()
    # The decline and the answer are sent as the person goes on: wait for each to land
    # before the next route change asks, as a person's next click would.
    with page.expect_response(lambda r: "/w/v1/declines" in r.url):
        page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)

    with page.expect_response(eligibility) as answer:
        page.evaluate("history.pushState({}, '', '/b')")
    assert answer.value.json()["show"] is True
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()
    radio(page, 8).click()
    with page.expect_response(lambda r: "/w/v1/responses" in r.url):
        page.get_by_role("button", name="Submit").click()
    page.get_by_role("button", name="Skip").click()
    page.get_by_role("button", name="Close").last.click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    with page.expect_response(eligibility) as answer:
        page.evaluate("history.pushState({}, '', '/c')")
    assert answer.value.json()["show"] is False
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert [r.score for r in embed.responses()] == [8]


@pytest.mark.parametrize("navigation_api", [True, False], ids=["navigation-api", "history"])
def test_route_changes_are_seen_without_touching_history_where_it_can(embed, page, navigation_api):
    embed.survey(url_rules=[{"match": "starts_with", "value": "/checkout"}])
    if not navigation_api:
        page.add_init_script(WITHOUT_NAVIGATION_API)
    with page.expect_response(eligibility) as answer:
        page.goto(embed.page("/home"))
    assert answer.value.json()["show"] is False
    native = page.evaluate("String(history.pushState).includes('[native code]')")
    assert native is navigation_api  # wrapped only where the Navigation API is missing

    with page.expect_response(eligibility) as answer:
        page.evaluate("history.pushState({}, '', '/checkout/payment')")
    assert "checkout%2Fpayment" in answer.value.url
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()


def test_flipfunnel_page_asks_again_on_the_same_url(embed, page):
    embed.survey(decline_days=0)
    page.goto(embed.page())
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    with page.expect_response(eligibility):
        page.evaluate("flipfunnel('page')")
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()


# --- phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [390, 320])
def test_every_score_and_button_is_a_44_px_target_on_a_phone(embed, page, width):
    page.emulate_media(reduced_motion="reduce")  # measured as it rests, not as it slides in
    page.set_viewport_size({"width": width, "height": 740})
    for kind, scores in (("nps", 11), ("ces", 7), ("csat", 5)):
        survey_id = embed.survey(kind=kind)
        page.goto(embed.page())
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        targets = dialog.get_by_role("radio").all() + dialog.get_by_role("button").all()
        assert len(targets) == scores + 2  # and Submit, Close
        for target in targets:
            box = target.bounding_box()
            where = (kind, target.text_content(), box)
            assert is_touch_target(box), where
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, where
        with embed.app.app_context():
            db.session.get(Survey, survey_id).widget_enabled = False  # the next kind's turn
            db.session.commit()


def test_submit_without_a_score_says_so(embed, page):
    embed.survey()
    page.goto(embed.page())
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_have_text("Please choose a score.")
    expect(radio(page, 0)).to_be_focused()
    radio(page, 4).click()
    expect(page.get_by_role("alert")).to_have_text("")
    assert embed.responses() == []


LONG_LINK = "https://shop.acme.example/r/K7WQ3MZB?utm_source=referral&utm_medium=widget&ref=spring"


@pytest.mark.parametrize("width", [390, 320])
def test_a_promoter_sees_the_whole_link_and_the_code_on_a_phone(embed, page, width):
    embed.survey()
    referral = {"url": LONG_LINK, "code": "K7WQ3MZB", "title": "Share Acme"}
    page.route("**/w/v1/responses?*", with_referral(referral))
    page.set_viewport_size({"width": width, "height": 740})
    page.goto(embed.page())
    radio(page, 10).click()
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("button", name="Skip").click()

    assert_whole_link_shown(
        page.get_by_role("region", name="Share Acme"), LONG_LINK, "K7WQ3MZB", width
    )
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert page.get_by_role("dialog").inner_text().count("Thank you") == 1
