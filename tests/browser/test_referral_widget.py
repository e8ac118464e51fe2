"""The referral widget in a real browser: my link, copy, share links, my status."""

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from api.extensions import db
from api.i18n.catalogs import UI
from api.widget.service import REFERRAL_UI_KEYS
from api.workspaces.models import Workspace
from tests.browser.conftest import assert_whole_link_shown, is_touch_target

MOUNT = "flipfunnel('referral', document.getElementById('refer'));"
BOX = '<h1>Refer a friend</h1><section id="refer"></section>'
LINK = "https://acme.example/r/K7WQ3MZB"
# The contract of GET /w/v1/referral.
ANSWER = {
    "code": "K7WQ3MZB",
    "url": LINK,
    "title": "Share Acme with a friend",
    "body": "Know someone who would love Acme?",
    "ui": {key: UI["en"][key] for key in REFERRAL_UI_KEYS},
    "share": {
        "email": "I like <b>Acme</b>, try it:",
        "x": "Try Acme <img src=x onerror=window.pwned=1>",
        "linkedin": "Try Acme",
        "whatsapp": "javascript:window.pwned=2",
    },
    "status": {"clicks": 12, "signups": 3, "rewards_pending": 1, "rewards_approved": 2},
}


def referral_host(page):
    return page.locator("flipfunnel-referral")


def test_the_referral_widget_renders_the_contract(embed, page, context):
    """Against a stand-in for GET /w/v1/referral, so the widget is tested on its own."""
    asked = []

    def stand_in(route):
        asked.append(parse_qs(urlsplit(route.request.url).query))
        route.fulfill(json=ANSWER, headers={"Access-Control-Allow-Origin": embed.site.url})

    page.route("**/w/v1/referral?*", stand_in)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=embed.site.url)
    page.goto(embed.page(init=embed.init(auto=False), body=BOX, after=MOUNT))

    region = page.get_by_role("region", name="Share Acme with a friend")
    expect(region).to_be_visible()
    assert asked[0]["user_id"] == ["u1"] and asked[0]["user_hash"] == [embed.hash("u1")]
    expect(region.get_by_text(LINK, exact=True)).to_be_visible()
    expect(region.get_by_text("Or tell them your code: K7WQ3MZB")).to_be_visible()
    region.get_by_role("button", name="Copy link").click()
    expect(region.get_by_role("button", name="Copied!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == LINK

    hrefs = {
        name: region.get_by_role("link", name=name, exact=True).get_attribute("href")
        for name in ("Share by email", "Share on X", "Share on LinkedIn", "Share on WhatsApp")
    }
    hrefs = {name.rpartition(" ")[2]: href for name, href in hrefs.items()}
    assert hrefs["email"].startswith("mailto:?subject=")
    assert "Acme%3C%2Fb%3E" in hrefs["email"] and "K7WQ3MZB" in hrefs["email"]
    x = urlsplit(hrefs["X"])
    assert (x.netloc, x.path) == ("twitter.com", "/intent/tweet")
    assert parse_qs(x.query) == {"text": [ANSWER["share"]["x"]], "url": [LINK]}
    linkedin = urlsplit(hrefs["LinkedIn"])
    assert (linkedin.netloc, linkedin.path) == ("www.linkedin.com", "/sharing/share-offsite/")
    assert parse_qs(linkedin.query) == {"url": [LINK]}
    # A share entry that is not an https: or mailto: URL is text, never a link target.
    assert hrefs["WhatsApp"].startswith("https://wa.me/?text=javascript%3A")

    for label, value in [("Clicks", "12"), ("Sign-ups", "3"), ("Rewards pending", "1")]:
        expect(region.get_by_role("definition").filter(has_text=value).first).to_be_visible()
        expect(region.get_by_text(label, exact=True)).to_be_visible()
    assert page.evaluate("window.pwned") is None


def test_the_referral_widget_with_the_real_endpoint(embed, page, api_app):
    rules = {rule.rule for rule in api_app.url_map.iter_rules()}
    if "/w/v1/referral" not in rules:
        pytest.skip("GET /w/v1/referral does not exist yet (the referral engineer builds it)")
    landing = embed.site.url + "/welcome"
    program = {"enabled": True, "landing_url": landing}
    assert embed.tenant.put("/v1/referral-program", json=program).status_code == 200
    with page.expect_response(lambda r: "/w/v1/referral" in r.url) as answered:
        page.goto(embed.page(init=embed.init(auto=False), body=BOX, after=MOUNT))
    body = answered.value.json()
    assert answered.value.status == 200, body
    expect(referral_host(page).get_by_text(body["url"], exact=True)).to_be_visible()
    assert body["code"] in body["url"]
    clicks = str(body["status"]["clicks"])
    expect(
        referral_host(page).get_by_role("definition").filter(has_text=clicks).first
    ).to_be_visible()


def test_the_referral_widget_refuses_a_forged_hash(embed, page, api_app):
    rules = {rule.rule for rule in api_app.url_map.iter_rules()}
    if "/w/v1/referral" not in rules:
        pytest.skip("GET /w/v1/referral does not exist yet (the referral engineer builds it)")
    with page.expect_response(lambda r: "/w/v1/referral" in r.url) as answered:
        page.goto(embed.page(init=embed.init(forged=True, auto=False), body=BOX, after=MOUNT))
    assert answered.value.status == 403
    expect(referral_host(page)).to_have_count(0)


LONG_LINK = "https://shop.acme.example/r/K7WQ3MZB?utm_source=referral&utm_medium=widget&ref=spring"


@pytest.mark.parametrize("width", [390, 320])
def test_the_whole_link_and_the_code_show_on_a_phone(embed, page, width):
    def stand_in(route):
        answer = ANSWER | {"url": LONG_LINK}
        route.fulfill(json=answer, headers={"Access-Control-Allow-Origin": embed.site.url})

    page.route("**/w/v1/referral?*", stand_in)
    page.set_viewport_size({"width": width, "height": 740})
    page.goto(embed.page(init=embed.init(auto=False), body=BOX, after=MOUNT))
    region = page.get_by_role("region", name="Share Acme with a friend")
    assert_whole_link_shown(region, LONG_LINK, "K7WQ3MZB", width)
    for target in region.get_by_role("button").all() + region.get_by_role("link").all():
        box = target.bounding_box()
        assert is_touch_target(box), (target.text_content(), box)


def test_both_widgets_name_the_product_the_survey_names(embed, page):
    """Not the workspace's own name: the survey widget asks about "Acme", so the
    referral widget beside it says "Share Acme", as the survey's thank-you does."""
    with embed.app.app_context():
        db.session.get(Workspace, embed.tenant.id).name = "Acme Holdings Ltd"
        db.session.commit()
    embed.survey(product_name="Acme")
    program = {"enabled": True, "landing_url": embed.site.url + "/welcome"}
    assert embed.tenant.put("/v1/referral-program", json=program).status_code == 200
    page.goto(embed.page(body=BOX))
    page.get_by_role("radio", name="10 out of 10", exact=True).click()
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("button", name="Skip").click()
    in_survey = page.locator("flipfunnel-survey").get_by_role("region")
    expect(in_survey).to_have_accessible_name("Share Acme with a friend")

    page.evaluate(MOUNT)
    in_referral = referral_host(page).get_by_role("region")
    expect(in_referral).to_have_accessible_name("Share Acme with a friend")
    expect(in_referral.locator(".link")).to_have_text(in_survey.locator(".link").text_content())
