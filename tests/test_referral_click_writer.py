"""Clicks written in batches off the request, and codes remembered for a few seconds:
what production runs (tests otherwise write each click in its request)."""

import logging
import time
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event, func, select

from api.events.models import Event
from api.extensions import db
from api.referrals.models import ReferralClick
from tests.conftest import create_tenant

LANDING = "https://shop.example.com/welcome"


def setup_program(app):
    tenant = create_tenant(app)
    assert (
        tenant.put(
            "/v1/referral-program", json={"enabled": True, "landing_url": LANDING}
        ).status_code
        == 200
    )
    code = tenant.post(
        "/v1/referral-codes", json={"contact": {"external_id": "adv", "attributes": {}}}
    ).get_json()
    return tenant, code


def stored(app) -> tuple[int, int]:
    """(clicks, click events) in the database."""
    with app.app_context():
        found = db.session.scalar(select(func.count()).select_from(ReferralClick))
        events = db.session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "referral.click")
        )
        db.session.remove()
        return found, events


def follow(client, code: str) -> str:
    response = client.get(f"/r/{code}")
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["ffclick"][0]


def test_clicks_wait_for_the_batch_then_land_with_their_events(app_factory):
    app = app_factory(CLICK_FLUSH_SECONDS=3600)
    tenant, code = setup_program(app)
    for _ in range(3):
        follow(tenant.client, code["code"])
    assert stored(app) == (0, 0)
    assert app.extensions["click_writer"].flush() == 3
    assert stored(app) == (3, 3)
    assert app.extensions["click_writer"].flush() == 0


def test_the_writer_thread_flushes_on_its_own(app_factory):
    app = app_factory(CLICK_FLUSH_SECONDS=0.05)
    tenant, code = setup_program(app)
    follow(tenant.client, code["code"])
    deadline = time.monotonic() + 10
    while stored(app) != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stored(app) == (1, 1)


def test_a_sign_up_sees_this_process_pending_click(app_factory):
    app = app_factory(CLICK_FLUSH_SECONDS=3600)
    tenant, code = setup_program(app)
    token = follow(tenant.client, code["code"])
    response = tenant.post(
        "/v1/referrals", json={"customer": {"external_id": "friend"}, "click_id": token}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["source"] == "click"
    assert stored(app) == (1, 1)


def test_a_batch_that_fails_is_logged_and_dropped_and_later_clicks_still_land(app_factory, caplog):
    app = app_factory(CLICK_FLUSH_SECONDS=3600)
    tenant, code = setup_program(app)
    writer = app.extensions["click_writer"]
    follow(tenant.client, code["code"])
    writer._pending.append(writer._pending[0])  # the same click id twice: the INSERT fails
    with caplog.at_level(logging.ERROR, logger="api.referrals.click_writer"):
        assert writer.flush() == 0
    assert "writing 2 referral clicks failed" in caplog.text
    assert stored(app) == (0, 0)
    follow(tenant.client, code["code"])
    assert writer.flush() == 1
    assert stored(app) == (1, 1)


def count_selects(app, client, path: str) -> int:
    selects = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 302
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(selects)


def test_a_code_is_looked_up_once_per_interval_unknown_codes_too(app_factory):
    app = app_factory(CLICK_FLUSH_SECONDS=3600, REFERRAL_CODE_CACHE_SECONDS=60)
    tenant, code = setup_program(app)
    assert count_selects(app, tenant.client, f"/r/{code['code']}") == 1
    assert count_selects(app, tenant.client, f"/r/{code['code']}") == 0
    assert count_selects(app, tenant.client, "/r/NOSUCHCODE") == 1
    assert count_selects(app, tenant.client, "/r/NOSUCHCODE") == 0
    assert app.extensions["click_writer"].flush() == 2


def test_disabling_a_code_reaches_the_link_when_its_memory_expires(app_factory, monkeypatch):
    app = app_factory(REFERRAL_CODE_CACHE_SECONDS=5)
    tenant, code = setup_program(app)
    follow(tenant.client, code["code"])
    assert (
        tenant.patch(f"/v1/referral-codes/{code['id']}", json={"disabled": True}).status_code == 200
    )
    # Within the interval the remembered code still attributes (documented staleness) ...
    follow(tenant.client, code["code"])
    # ... and once it has passed the link lands without attribution.
    later = time.monotonic() + 6
    monkeypatch.setattr("api.recent.monotonic", lambda: later)
    response = tenant.client.get(f"/r/{code['code']}")
    assert response.headers["Location"] == LANDING
