"""The report page in a real browser: its charts are readable on a phone and on a desktop."""

from urllib.parse import urlsplit

import pytest

from tests.conftest import create_tenant
from tests.test_reports import TEN, answer, at
from tests.test_retention import close_all, seed_history

# Rendered size of every chart text the reader can see: its font size in the SVG's
# units times the scale the SVG is drawn at.
RENDERED_TEXT_PX = """() => Array.from(document.querySelectorAll('svg text'))
  .filter((text) => text.getClientRects().length)
  .map((text) => parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a)"""


@pytest.mark.parametrize("width", [390, 1280])
def test_chart_text_is_readable_on_a_phone_and_a_desktop(api_app, api_server, page, width):
    tenant = create_tenant(api_app)
    # Customers coming and going from January 2025, and their scores (tests/test_retention.py).
    survey_id = seed_history(api_app, tenant.id)
    for day in ("2025-06-02", "2025-06-09", "2025-06-16", "2025-06-23"):
        answer(api_app, survey_id, at(day), TEN)
    close_all(api_app)
    program = {"enabled": True, "landing_url": "https://shop.example.com/"}
    assert tenant.put("/v1/referral-program", json=program).status_code == 200
    link = urlsplit(tenant.post(f"/v1/surveys/{survey_id}/report-links", json={}).get_json()["url"])

    page.set_viewport_size({"width": width, "height": 900})
    page.goto(
        f"{api_server.url}{link.path}?{link.query}&from=2025-06-01&to=2025-06-30&interval=week"
    )
    visible_charts = page.locator("svg[role=img]").filter(visible=True)
    # trend, distribution, queues, monthly churn, churn per category, referral funnel
    assert visible_charts.count() == 6
    assert page.locator("svg path.interval").filter(visible=True).count() == 3
    sizes = page.evaluate(RENDERED_TEXT_PX)
    assert len(sizes) > 40
    assert min(sizes) >= 11, sorted(sizes)[:5]
    assert max(sizes) <= 24, sorted(sizes)[-5:]
    # And nothing makes the page scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
