"""The hosted survey page /s/<token> in a real browser: scanners, people, phones."""

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    assert_whole_link_shown,
    is_touch_target,
    wait_for,
)

PHONES = [390, 320]
COMMENT_STEP = re.compile(r"step=comment")


def posts(page) -> list:
    sent = []
    page.on("request", lambda request: request.method == "POST" and sent.append(request.url))
    return sent


def test_a_scanner_that_loads_the_score_link_and_waits_records_nothing(hosted, page):
    link, invitation_id = hosted.link()
    sent = posts(page)
    page.goto(f"{link}?score=9")
    # Nothing on the network for 500 ms: the page has done all it does by itself.
    page.wait_for_load_state("networkidle")
    assert sent == []
    assert hosted.response(invitation_id) is None
    # What a person sees without moving: the chosen score and the button that sends it.
    expect(page.get_by_role("radio", name=re.compile("^9"))).to_be_checked()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    assert "score=9" in page.url


def test_chromium_dump_dom_runs_the_page_and_records_nothing(hosted, browser):
    """What a mail scanner that runs JavaScript does: `chromium --headless --dump-dom`.

    With a virtual time budget, so timers the page might set would have run too.
    """
    link, invitation_id = hosted.link()
    command = [CHROMIUM, "--headless", *CHROMIUM_ARGS, "--virtual-time-budget=5000"]
    dumped = subprocess.run(  # noqa: S603 -- our own browser on our own link
        [*command, "--dump-dom", f"{link}?score=10"], capture_output=True, text=True, timeout=60
    )
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert 'id="score-form"' in dumped.stdout  # it did load and run the page
    assert hosted.response(invitation_id) is None


SIGNS = {
    "pointer": lambda page: page.mouse.move(40, 60),
    "key": lambda page: page.keyboard.press("Tab"),
    "scroll": lambda page: page.mouse.wheel(0, 200),
    "touch": lambda page: page.touchscreen.tap(40, 60),
    "focus": lambda page: page.get_by_role("button", name="Submit").focus(),
}


@pytest.mark.parametrize("sign", SIGNS)
def test_a_person_sends_the_preselected_score_by_any_sign(hosted, browser, sign):
    context = browser.new_context(has_touch=sign == "touch")
    try:
        page = context.new_page()
        link, invitation_id = hosted.link()
        page.goto(f"{link}?score=9")
        page.wait_for_load_state("networkidle")
        assert hosted.response(invitation_id) is None
        with page.expect_navigation(url=COMMENT_STEP):
            SIGNS[sign](page)
        comment = page.get_by_role("textbox", name="What do you love most about Acme?")
        expect(comment).to_be_visible()
        assert hosted.response(invitation_id).score == 9
        # Back shows the plain page with the saved score chosen, and sends nothing again.
        page.go_back()
        assert "score=" not in page.url
        expect(page.get_by_role("radio", name=re.compile("^9"))).to_be_checked()
    finally:
        context.close()


def test_pressing_submit_first_sends_the_score_once(hosted, page):
    link, invitation_id = hosted.link()
    page.goto(f"{link}?score=3")
    sent = posts(page)
    with page.expect_navigation(url=COMMENT_STEP):
        page.get_by_role("button", name="Submit").click()
    assert len([url for url in sent if url.endswith(link.rpartition("/")[2])]) == 1
    assert hosted.response(invitation_id).score == 3


def test_submit_without_a_score_says_so(hosted, page):
    link, invitation_id = hosted.link()
    page.goto(link)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("alert")).to_have_text("Please choose a score.")
    expect(page.get_by_role("radio", name=re.compile("^0"))).to_be_focused()
    assert hosted.response(invitation_id) is None


@pytest.mark.parametrize("width", PHONES)
def test_every_score_is_a_44_px_target_on_a_phone(hosted, page, width):
    page.set_viewport_size({"width": width, "height": 700})
    for kind, scores in (("nps", 11), ("ces", 7), ("csat", 5)):
        link, _ = hosted.link(kind)
        page.goto(link)
        labels = page.locator(".scale label")
        assert labels.count() == scores
        for index in range(scores):
            box = labels.nth(index).bounding_box()
            assert is_touch_target(box), (kind, index, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (kind, index, box)
        # The top score ends the last row at the right edge, above the high end's label.
        first, last = labels.first.bounding_box(), labels.last.bounding_box()
        scale = page.locator(".scale").bounding_box()
        assert last["x"] + last["width"] == pytest.approx(scale["x"] + scale["width"], abs=0.5)
        assert first["y"] <= last["y"]


@pytest.mark.parametrize("width", PHONES)
def test_a_promoter_thanked_once_with_the_whole_link_and_code(hosted, page, width):
    program = {"enabled": True, "landing_url": "https://acme.example/welcome"}
    assert hosted.tenant.put("/v1/referral-program", json=program).status_code == 200
    page.set_viewport_size({"width": width, "height": 800})
    link, invitation_id = hosted.link()
    page.goto(link)
    page.locator("label[for=score-10]").click()
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("link", name="Skip").click()

    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert page.locator("main").inner_text().count("Thank you") == 1
    region = page.get_by_role("region", name="Share Acme with a friend")
    url = wait_for(page, lambda: region.locator("#referral-url").text_content())
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/r/[A-Z0-9]+", url)
    assert_whole_link_shown(region, url, url.rpartition("/")[2], width)
    assert hosted.response(invitation_id).score == 10
