"""The survey widget in a real browser, embedded in a page of another origin."""

import json
import re

import pytest
from playwright.sync_api import expect

from api.contacts.service import upsert_contact
from api.extensions import db
from tests.browser.conftest import SHADOW_JS, wait_for

QUESTION = re.compile("recommend Acme")
ANSWERED = "flipfunnel('on', 'answered', function (d) { window.answered = d; });"


def eligibility(response) -> bool:
    return "/w/v1/eligibility" in response.url


def test_an_answer_from_an_allowed_origin_reaches_the_api(embed, page):
    embed.survey()
    page.goto(embed.page("/home", after=ANSWERED))
    dialog = page.get_by_role("dialog", name=QUESTION)
    expect(dialog).to_be_visible()
    page.get_by_role("radio", name="9 out of 10").click()
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
