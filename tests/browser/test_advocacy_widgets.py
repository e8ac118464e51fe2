"""Advocacy in a real browser: the survey widget's asks after an answer (review,
testimonial with consent, opt-in), the wall widget and the hosted wall page."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from api.advocacy.models import ReviewRequest
from api.advocacy.models import Testimonial as Quote
from api.demo import ensure_demo_workspace
from api.extensions import db
from demo.site import create_site
from tests.browser.conftest import Server, wait_for

QUESTION = re.compile("How likely are you to recommend")
# Markup a person could type as their words, name, role or company.
WORDS = '<img src=x onerror="window.pwned=1">Acme <b>rocks</b>'
NAME = "<script>window.pwned=2</script>Ann"
ROLE = "<b onmouseover=window.pwned=3>CTO</b>"
MOUNT_WALL = "flipfunnel('wall', '#wall');"
WALL_BOX = '<h1>What customers say</h1><div id="wall"></div>'


def radio(page, score: int):
    return page.get_by_role("radio", name=f"{score} out of 10", exact=True)


def with_review_sites(embed) -> None:
    sites = [{"name": "G2", "url": embed.site.url + "/g2"}]
    answer = embed.tenant.patch("/v1/advocacy-settings", json={"review_destinations": sites})
    assert answer.status_code == 200


def approved_quote(embed, **words) -> dict:
    made = embed.tenant.post(
        "/v1/testimonials",
        json={
            "contact": {"external_id": "quoted", "attributes": {}},
            "text": WORDS,
            "display_name": NAME,
            "role": ROLE,
            "company": "Initech",
            "consent": {"text": "I agree to be quoted."},
        }
        | words,
    ).get_json()
    embed.tenant.patch(f"/v1/testimonials/{made['id']}", json={"status": "approved"})
    return made


def answer(page, score: int, comment: str | None = None) -> None:
    expect(page.get_by_role("dialog", name=QUESTION)).to_be_visible()
    radio(page, score).click()
    page.get_by_role("button", name="Submit").click()
    if comment is None:
        page.get_by_role("button", name="Skip").click()
    else:
        page.get_by_role("textbox").fill(comment)
        page.get_by_role("button", name="Send comment").click()


def test_a_promoter_is_quoted_with_consent_and_opts_in_in_the_widget(embed, page):
    embed.survey()
    with_review_sites(embed)
    page.goto(embed.page())
    answer(page, 10, "Best coffee tooling I know")

    expect(page.get_by_role("heading", name="Would you review Acme?")).to_be_visible()
    expect(page.get_by_role("link", name="G2")).to_have_attribute("href", re.compile("/rv/"))
    expect(page.get_by_role("heading", name="May we quote you?")).to_be_visible()
    expect(page.get_by_role("textbox", name="Your words")).to_have_value(
        "Best coffee tooling I know"
    )
    page.get_by_role("textbox", name="Name to show").fill("Ann L.")
    page.get_by_role("textbox", name="Company (optional)").fill("Brewline")
    page.get_by_role("button", name="Share my words").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Please tick the box to agree, or skip this step."
    )
    consent = page.get_by_role("checkbox", name=re.compile("I agree that Acme may publish"))
    consent.check()
    page.get_by_role("button", name="Share my words").click()
    expect(page.get_by_text("We will publish your words once we have read them.")).to_be_focused()
    expect(page.get_by_role("link", name="Manage or withdraw your consent")).to_be_visible()

    def stored():
        with embed.app.app_context():
            found = db.session.scalar(select(Quote))
            return found and (found.text, found.display_name, found.company, found.consent_channel)

    assert wait_for(page, stored) == ("Best coffee tooling I know", "Ann L.", "Brewline", "widget")

    page.get_by_role("checkbox", name="Take part in a case study").check()
    page.get_by_role("button", name="Count me in").click()
    expect(page.get_by_text("Thank you! We'll be in touch.")).to_be_visible()
    profile = embed.tenant.get("/v1/advocates/u1").get_json()
    assert [row["act"] for row in profile["acts"] if row["opted_in"]] == ["case_study"]


def test_a_detractor_is_asked_for_a_review_like_everyone(embed, page):
    embed.survey()
    with_review_sites(embed)
    page.goto(embed.page())
    answer(page, 2)
    expect(page.get_by_role("heading", name="Would you review Acme?")).to_be_visible()
    expect(page.get_by_role("heading", name="May we quote you?")).to_have_count(0)
    page.get_by_role("button", name="I left a review").click()
    expect(page.get_by_text("Thank you for your review!")).to_be_focused()

    def reviewed():
        with embed.app.app_context():
            return db.session.scalar(select(ReviewRequest.reviewed_at))

    assert wait_for(page, reviewed)


def test_markup_in_testimonial_text_and_names_never_runs_in_the_wall_widget(embed, page):
    approved_quote(embed)
    nonce = "n0nce"
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}' {embed.api}; "
        f"connect-src {embed.api}; style-src 'nonce-{nonce}'"
    )
    page.goto(
        embed.page(
            init=embed.init(auto=False), body=WALL_BOX, after=MOUNT_WALL, csp=csp, nonce=nonce
        )
    )
    wall = page.locator("flipfunnel-wall")
    expect(wall.get_by_text(WORDS, exact=True)).to_be_visible()
    expect(wall.get_by_text(NAME, exact=True)).to_be_visible()
    expect(wall.get_by_text(f"{ROLE}, Initech", exact=True)).to_be_visible()
    wall.get_by_text(f"{ROLE}, Initech").hover()
    tags = wall.evaluate("(host) => host.shadowRoot.querySelectorAll('img, script, b').length")
    assert tags == 0
    assert page.evaluate("window.pwned") is None


def test_markup_in_testimonial_text_and_names_never_runs_on_the_wall_page(embed, page):
    approved_quote(embed)
    page.goto(f"{embed.api}/wall/{embed.tenant.id}")
    expect(page.get_by_role("heading", name="What our customers say about Acme")).to_be_visible()
    expect(page.get_by_text(WORDS, exact=True)).to_be_visible()
    expect(page.get_by_text(NAME, exact=True)).to_be_visible()
    page.get_by_text(f"{ROLE}, Initech").hover()
    assert page.evaluate("document.querySelectorAll('main img, main b, main script').length") == 0
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("window.pwned") is None


def test_the_wall_widget_shows_featured_quotes_first_and_nothing_when_there_are_none(embed, page):
    page.goto(embed.page(init=embed.init(auto=False), body=WALL_BOX, after=MOUNT_WALL))
    page.wait_for_load_state("networkidle")
    expect(page.locator("flipfunnel-wall")).to_have_count(0)

    first = approved_quote(embed, text="First", display_name="One")
    approved_quote(
        embed, text="Second", display_name="Two", contact={"external_id": "two", "attributes": {}}
    )
    embed.tenant.patch(f"/v1/testimonials/{first['id']}", json={"featured": True})
    page.reload()
    quotes = page.locator("flipfunnel-wall").get_by_role("listitem")
    expect(quotes).to_have_count(2)
    expect(quotes.nth(0)).to_contain_text("First")
    expect(quotes.nth(1)).to_contain_text("Second")


def test_the_readme_tour_a_promoters_comment_on_the_demo_wall(
    api_app, api_server, page, tmp_path, monkeypatch
):
    """The README's steps: answer on the demo site, agree to be quoted, approve, see it."""
    demo: dict = {}
    site = Server(create_site(demo))
    try:
        monkeypatch.setitem(api_app.config, "BASE_URL", api_server.url)
        monkeypatch.setitem(api_app.config, "DEMO_SITE_URL", site.url)
        monkeypatch.setattr(api_app, "instance_path", str(tmp_path))
        with api_app.app_context():
            demo.update(ensure_demo_workspace())
        page.goto(site.url + "/")
        answer(page, 10, "The beans changed my mornings.")
        page.get_by_role("textbox", name="Name to show").fill("Dee M.")
        page.get_by_role("checkbox", name=re.compile("I agree")).check()
        page.get_by_role("button", name="Share my words").click()
        expect(page.get_by_text("We will publish your words")).to_be_visible()

        secret = {"Authorization": f"Bearer {demo['secret_key']}"}
        client = api_app.test_client()
        (pending,) = client.get("/v1/testimonials?status=pending", headers=secret).json["data"]
        approved = client.patch(
            f"/v1/testimonials/{pending['id']}", json={"status": "approved"}, headers=secret
        )
        assert approved.status_code == 200
        page.goto(site.url + "/")
        wall = page.locator("flipfunnel-wall")
        expect(wall.get_by_text("The beans changed my mornings.")).to_be_visible()
        expect(wall.get_by_text("Dee M.")).to_be_visible()
    finally:
        site.stop()
