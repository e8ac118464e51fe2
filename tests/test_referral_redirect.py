"""The tracked link /r/<code>: counted clicks, signed click ids, never an error page."""

import hashlib
import hmac
import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from api import signing
from api.events.models import Event
from api.extensions import db
from api.referrals import clicks as clicks_module
from api.referrals.models import ReferralClick
from tests.db import statements

LANDING = "https://shop.example.com/welcome?src=ref"
VISITOR_IP = "203.0.113.77"


@pytest.fixture
def program(tenant):
    response = tenant.put("/v1/referral-program", json={"enabled": True, "landing_url": LANDING})
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def code(tenant, program):
    return tenant.post(
        "/v1/referral-codes", json={"contact": {"external_id": "adv", "attributes": {}}}
    ).get_json()


def visit(client, path, **headers):
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": VISITOR_IP})


def clicks(app) -> list[ReferralClick]:
    with app.app_context():
        found = list(db.session.scalars(select(ReferralClick).order_by(ReferralClick.id)))
        db.session.expunge_all()
        return found


def click_events(app) -> list[Event]:
    with app.app_context():
        found = list(db.session.scalars(select(Event).where(Event.type == "referral.click")))
        db.session.expunge_all()
        return found


def query_of(location: str) -> dict:
    return parse_qs(urlsplit(location).query)


def test_valid_code_counts_the_click_and_redirects_with_attribution(app, client, tenant, code):
    response = visit(
        client,
        f"/r/{code['code']}",
        **{"User-Agent": "Mozilla/5.0 Test", "Referer": "https://social.example/post/1"},
    )
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    location = response.headers["Location"]
    assert location.startswith("https://shop.example.com/welcome?")
    query = query_of(location)
    assert query["src"] == ["ref"]
    assert query["ref"] == [code["code"]]

    [click] = clicks(app)
    with app.app_context():
        signed = signing.unsign(signing.REFERRAL_CLICK, query["ffclick"][0], 60)
    # The value carries what attribution needs, so it never waits for the row.
    assert signed == {
        "i": click.id,
        "c": code["id"],
        "t": round(click.created_at.timestamp() * 1000),
    }
    with app.app_context():
        expected_hash = hmac.new(
            app.config["SECRET_KEY"].encode(), VISITOR_IP.encode(), hashlib.sha256
        ).hexdigest()
    assert click.workspace_id == tenant.id and click.code_id == code["id"]
    assert click.ip_hash == expected_hash
    assert click.user_agent == "Mozilla/5.0 Test"
    assert click.referrer == "https://social.example/post/1"
    assert click.ad_click_param is None

    [recorded] = click_events(app)
    assert recorded.subject_id == click.id and recorded.workspace_id == tenant.id
    assert recorded.data["code"] == code["code"]


def test_code_in_the_link_is_read_in_any_case_and_with_hyphens(app, client, code):
    typed = code["code"].lower()[:4] + "-" + code["code"].lower()[4:]
    response = visit(client, f"/r/{typed}")
    assert query_of(response.headers["Location"])["ref"] == [code["code"]]
    assert len(clicks(app)) == 1


def test_incoming_parameters_are_passed_on_and_ad_clicks_noted(app, client, code):
    path = f"/r/{code['code']}?utm_source=podcast&gclid=abc&ref=forged&ffclick=forged"
    query = query_of(visit(client, path).headers["Location"])
    assert query["utm_source"] == ["podcast"] and query["gclid"] == ["abc"]
    assert query["ref"] == [code["code"]]
    assert query["ffclick"] != ["forged"]
    assert clicks(app)[0].ad_click_param == "gclid"


def test_long_user_agent_and_referrer_are_truncated(app, client, code):
    visit(
        client,
        f"/r/{code['code']}",
        **{"User-Agent": "U" * 1000, "Referer": "https://x.example/" + "p" * 1000},
    )
    [click] = clicks(app)
    assert len(click.user_agent) == 256 and len(click.referrer) == 512


def test_unknown_code_lands_on_our_base_url_without_attribution(app, client, program):
    for path in ("/r/NOSUCHCODE", "/r/x", "/r/" + "A" * 300, "/r/%F0%9F%98%80"):
        response = visit(client, path, Accept="text/html")
        assert response.status_code == 302, path
        assert response.headers["Location"] == app.config["BASE_URL"]
    assert clicks(app) == [] and click_events(app) == []


def test_disabled_code_lands_on_the_landing_page_without_attribution(app, client, tenant, code):
    tenant.patch(f"/v1/referral-codes/{code['id']}", json={"disabled": True})
    response = visit(client, f"/r/{code['code']}")
    assert response.status_code == 302
    assert response.headers["Location"] == LANDING
    assert clicks(app) == []


def test_disabled_program_lands_without_attribution(app, client, tenant, code):
    tenant.put("/v1/referral-program", json={"enabled": False, "landing_url": LANDING})
    response = visit(client, f"/r/{code['code']}")
    assert response.headers["Location"] == LANDING
    assert clicks(app) == []


def test_no_program_lands_on_our_base_url(app, client, tenant):
    code = tenant.post(
        "/v1/referral-codes", json={"contact": {"external_id": "a", "attributes": {}}}
    ).get_json()
    response = visit(client, f"/r/{code['code']}")
    assert response.status_code == 302
    assert response.headers["Location"] == app.config["BASE_URL"]
    assert clicks(app) == []


def test_the_raw_ip_is_never_stored(app, client, tenant, code):
    for _ in range(3):
        visit(client, f"/r/{code['code']}", **{"User-Agent": "ua"})
    assert len(clicks(app)) == 3
    with app.app_context():
        for table in ("referral_clicks", "events"):
            rows = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
            assert rows
            assert VISITOR_IP not in repr(rows), table


def test_one_select_and_one_insert_plus_the_event(app, client, code):
    with statements(app) as sent:
        assert visit(client, f"/r/{code['code']}").status_code == 302
    # Appending the event takes no lock; PostgreSQL commits without waiting for the disk.
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    verbs = [statement.split()[0].upper() for statement in sent]
    assert verbs == ["SELECT", *(["SET"] if postgres else []), "INSERT", "INSERT"]


def test_the_longest_ffclick_fits_a_stripe_client_reference_id(client, code):
    response = visit(client, f"/r/{code['code']}?gclid=abc")
    assert len(query_of(response.headers["Location"])["ffclick"][0]) <= 200


def count_selects(app, client, path: str) -> int:
    with statements(app) as sent:
        assert client.get(path).status_code == 302
    return sum(1 for statement in sent if statement.lstrip().upper().startswith("SELECT"))


def test_a_code_is_looked_up_once_per_interval_unknown_codes_too(app_factory, code):
    app = app_factory(REFERRAL_CODE_CACHE_SECONDS=60)
    client = app.test_client()
    assert count_selects(app, client, f"/r/{code['code']}") == 1
    assert count_selects(app, client, f"/r/{code['code']}") == 0
    assert count_selects(app, client, "/r/NOSUCHCODE") == 1
    assert count_selects(app, client, "/r/NOSUCHCODE") == 0
    assert len(clicks(app)) == 2


def test_disabling_a_code_reaches_the_link_when_its_memory_expires(
    app_factory, tenant, code, monkeypatch
):
    app = app_factory(REFERRAL_CODE_CACHE_SECONDS=5)
    client = app.test_client()
    client.get(f"/r/{code['code']}")
    assert (
        tenant.patch(f"/v1/referral-codes/{code['id']}", json={"disabled": True}).status_code == 200
    )
    # Within the interval the remembered code still attributes (documented staleness) ...
    assert "ffclick" in query_of(client.get(f"/r/{code['code']}").headers["Location"])
    # ... and once it has passed the link lands without attribution.
    later = time.monotonic() + 6
    monkeypatch.setattr("api.recent.monotonic", lambda: later)
    assert client.get(f"/r/{code['code']}").headers["Location"] == LANDING


def test_past_the_rate_limit_visitors_still_land_but_are_not_counted(app_factory, code):
    limited = app_factory(RATELIMIT_REDIRECT="2 per minute")
    client = limited.test_client()
    responses = [visit(client, f"/r/{code['code']}") for _ in range(4)]
    assert [r.status_code for r in responses] == [302] * 4
    assert [("ffclick" in query_of(r.headers["Location"])) for r in responses] == [
        True,
        True,
        False,
        False,
    ]
    assert responses[-1].headers["Location"] == LANDING
    assert len(clicks(limited)) == 2


def test_the_redirect_limit_replaces_the_public_limit(app_factory, code):
    limited = app_factory(RATELIMIT_PUBLIC="2 per minute", RATELIMIT_REDIRECT="5 per minute")
    client = limited.test_client()
    for _ in range(6):
        assert visit(client, f"/r/{code['code']}").status_code == 302
    assert len(clicks(limited)) == 5


def test_a_head_request_is_not_counted(app, client, code):
    response = client.head(f"/r/{code['code']}")
    assert response.status_code == 302 and response.headers["Location"] == LANDING
    assert clicks(app) == []


def test_a_failure_still_lands_on_our_base_url_without_a_trace(
    app, client, code, monkeypatch, caplog
):
    def broken(*_args, **_kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr("api.referrals.clicks.visit", broken)
    with caplog.at_level(logging.ERROR, logger="api.referrals.redirect"):
        response = visit(client, f"/r/{code['code']}")
    assert response.status_code == 302
    assert response.headers["Location"] == app.config["BASE_URL"]
    assert response.get_data() == b""
    assert "database unavailable" in caplog.text


def test_behind_a_proxy_the_forwarded_address_is_the_one_hashed(app_factory, code):
    proxied = app_factory(PROXY_COUNT=1)
    client = proxied.test_client()
    response = client.get(
        f"/r/{code['code']}",
        headers={"X-Forwarded-For": VISITOR_IP},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert response.status_code == 302
    [click] = clicks(proxied)
    with proxied.app_context():
        assert click.ip_hash == clicks_module.hash_ip(VISITOR_IP)
