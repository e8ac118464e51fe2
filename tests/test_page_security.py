"""Headers, rate limits and failures on the hosted pages."""

import re

import pytest

from api.responses import service as responses
from tests.conftest import create_tenant
from tests.test_survey_page import BROWSER, SAME_ORIGIN, assert_page, make_case

CSP = re.compile(
    r"^default-src 'none'; style-src 'nonce-([A-Za-z0-9_-]{16,})'; "
    r"script-src 'nonce-\1'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'$"
)


def assert_secure_headers(response):
    match = CSP.match(response.headers.get("Content-Security-Policy", ""))
    assert match, response.headers.get("Content-Security-Policy")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    if response.mimetype == "text/html":
        # Every <style> and <script> carries this response's nonce, and nothing inline else.
        html = response.get_data(as_text=True)
        for tag in re.findall(r"<(?:style|script)\b[^>]*>", html):
            assert f'nonce="{match[1]}"' in tag
        assert " style=" not in html and " onclick=" not in html


@pytest.fixture
def case(app):
    return make_case(app)


def test_every_page_sends_the_security_headers(app, client, case):
    pages = [
        client.get(case.url, headers=BROWSER),
        client.get(f"{case.url}?score=9", headers=BROWSER),
        client.post(case.url, data={"score": "x"}, headers=SAME_ORIGIN),  # 422 page
        client.post(case.url, data={"score": "9"}, headers=SAME_ORIGIN),  # 303
        client.get(f"{case.url}?step=comment", headers=BROWSER),
        client.get(f"{case.url}?step=thanks", headers=BROWSER),
        client.get("/s/forged", headers=BROWSER),  # 404 page
        client.post(case.url, headers={**BROWSER, "Origin": "https://evil.example"}),  # 403
        client.get(f"/p/{case.preferences_token}", headers=BROWSER),
        client.post(f"/p/{case.preferences_token}", data={"List-Unsubscribe": "One-Click"}),
        client.get("/s/forged", headers={"Accept": "application/json"}),
    ]
    for response in pages:
        assert_secure_headers(response)


def test_rate_limited_page(app_factory):
    app = app_factory(RATELIMIT_PUBLIC="2 per minute")
    case = make_case(app)
    client = app.test_client()
    for _ in range(2):
        assert client.get(case.url, headers=BROWSER).status_code == 200
    limited = client.get(case.url, headers={**BROWSER, "Accept-Language": "de"})
    assert_page(limited, 429, "Zu viele Anfragen")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert_secure_headers(limited)
    # Default limits count per route: the POST has its own budget, and is refused too.
    posts = [client.post(case.url, data={"score": "9"}, headers=SAME_ORIGIN) for _ in range(3)]
    assert [p.status_code for p in posts] == [303, 303, 429]
    assert_page(posts[-1], 429)
    # Pages are limited per client IP, not for everyone.
    other = client.get(case.url, headers=BROWSER, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200


def test_the_api_limit_is_not_the_pages_limit(app_factory):
    app = app_factory(RATELIMIT_PUBLIC="1 per minute")
    tenant = create_tenant(app)
    for _ in range(3):
        assert tenant.get("/v1/contacts").status_code == 200


def test_a_failure_shows_a_page_with_the_request_id_and_no_trace(app, client, case, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database exploded at /secret/path")

    monkeypatch.setattr(responses, "submit", broken)
    failed = client.post(case.url, data={"score": "9"}, headers=SAME_ORIGIN)
    html = assert_page(failed, 500, "Something went wrong")
    assert "exploded" not in html and "RuntimeError" not in html
    assert_secure_headers(failed)


def test_no_get_changes_state_and_other_methods_are_refused(client, case):
    assert client.put(case.url, data={"score": "9"}).status_code == 405
    assert client.delete(f"/p/{case.preferences_token}").status_code == 405
