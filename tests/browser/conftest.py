"""Real-browser fixtures: Debian's chromium driven by Playwright, two origins.

The app under test (the suite's own, `app`) runs in a background thread (werkzeug)
on 127.0.0.1:<port>, so it shares the test database that every test empties.
Host pages (the "customer's site") come from a second origin: a tiny WSGI server
serving the HTML each test builds, with that test's CSP header. One browser per
session, a fresh context (cookies, storage) per test.
"""

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from api.extensions import db
from api.responses.models import Response
from api.surveys import tokens
from api.surveys.models import Survey
from api.widget.identity import user_hash
from tests.conftest import create_tenant
from tests.factories import seed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 5000


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must `apt-get install -y chromium`")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


class Server:
    """A WSGI app served from a background thread on a free port of 127.0.0.1."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def api_app(app):
    """The suite's app: making one per test cost more CPU than most browser tests' API
    calls. A test that changes its settings does so through monkeypatch."""
    return app


@pytest.fixture
def api_server(api_app):
    server = Server(api_app)
    yield server
    server.stop()


@dataclass
class Site:
    """The customer's site: path -> (html, headers), set by each test."""

    pages: dict = field(default_factory=dict)
    url: str = ""

    def add(self, path: str, html: str, csp: str | None = None) -> str:
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
        if csp:
            headers.append(("Content-Security-Policy", csp))
        self.pages[path] = (html.encode(), headers)
        return self.url + path

    def __call__(self, environ, start_response):
        page = self.pages.get(environ.get("PATH_INFO", ""))
        if page is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such page"]
        start_response("200 OK", page[1])
        return [page[0]]


@pytest.fixture
def site():
    site = Site()
    server = Server(site)
    site.url = server.url
    yield site
    server.stop()


def snippet(
    api: str, init: dict, nonce: str | None = None, before: str = "", after: str = ""
) -> str:
    """The README's install snippet, with an init call and extra script around it."""
    n = f' nonce="{nonce}"' if nonce else ""
    settings = json.dumps(init).replace("<", "\\u003c")
    return (
        f"<script{n}>window.flipfunnel=window.flipfunnel||function(){{"
        f"(flipfunnel.q=flipfunnel.q||[]).push(arguments)}};{before}\n"
        f"flipfunnel('init', {settings});\n{after}</script>\n"
        f'<script{n} async src="{api}/widgets/v1/loader.js" data-api="{api}"></script>'
    )


def html_page(body: str = "", head: str = "", scripts: str = "") -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Host page</title>{head}</head><body>{body}{scripts}</body></html>"
    )


@dataclass
class Embed:
    """One workspace embedding the widgets on `site`, served by `api_server`."""

    app: object
    tenant: object
    api: str
    site: Site
    secret: str

    def survey(self, **fields) -> str:
        fields.setdefault("kind", "nps")
        fields.setdefault("product_name", "Acme")
        with self.app.app_context():
            survey = Survey(workspace_id=self.tenant.id, name="W", widget_enabled=True, **fields)
            db.session.add(survey)
            db.session.commit()
            return survey.id

    def hash(self, user_id: str) -> str:
        return user_hash(self.secret, user_id)

    def init(self, user_id: str = "u1", forged: bool = False, **extra) -> dict:
        return {
            "key": self.tenant.publishable_key,
            "userId": user_id,
            "userHash": "0" * 64 if forged else self.hash(user_id),
            **extra,
        }

    def page(
        self,
        path: str = "/",
        init: dict | None = None,
        body: str = "",
        head: str = "",
        csp: str | None = None,
        nonce: str | None = None,
        before: str = "",
        after: str = "",
    ) -> str:
        """A host page embedding the widgets; returns its URL."""
        scripts = snippet(self.api, init or self.init(), nonce, before, after)
        return self.site.add(path, html_page(body, head, scripts), csp)

    def responses(self) -> list[Response]:
        with self.app.app_context():
            rows = db.session.scalars(select(Response).order_by(Response.created_at)).all()
            db.session.expunge_all()
            return list(rows)


@pytest.fixture
def embed(api_app, api_server, site) -> Embed:
    tenant = create_tenant(api_app)
    assert tenant.patch("/v1/widget", json={"allowed_origins": [site.url]}).status_code == 200
    secret = tenant.get("/v1/widget").get_json()["identity_secret"]
    return Embed(api_app, tenant, api_server.url, site, secret)


@dataclass
class Hosted:
    """Survey links of one workspace, opened on the API's own hosted pages."""

    app: object
    tenant: object
    api: str

    def link(self, kind: str = "nps", **survey) -> tuple[str, str]:
        """A new survey with one invited contact: (its survey link, the invitation id)."""
        survey.setdefault("product_name", "Acme")
        seeded = seed(self.app, self.tenant.id, kind, contacts=[{"first_name": "Ann"}], **survey)
        invitation_id = seeded.invitation_ids[0]
        with self.app.app_context():
            return f"{self.api}/s/{tokens.survey_token(invitation_id)}", invitation_id

    def response(self, invitation_id: str) -> Response | None:
        with self.app.app_context():
            row = db.session.scalar(select(Response).where(Response.invitation_id == invitation_id))
            db.session.expunge_all()
            return row


@pytest.fixture
def hosted(api_app, api_server) -> Hosted:
    return Hosted(api_app, create_tenant(api_app), api_server.url)


def wait_for(page, condition, timeout: float = TIMEOUT_MS):
    """Polls `condition` (a database read, a list filled by an event) until it is truthy.

    Waits through the page, so Playwright keeps dispatching events and route handlers
    meanwhile (a plain sleep would freeze them); returns the condition's value.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            assert value, "condition not met in time"
            return value
        page.wait_for_timeout(25)


SHADOW_JS = "document.querySelector('flipfunnel-survey')"


def is_touch_target(box: dict) -> bool:
    """At least 44x44 CSS px, as laid out (a fraction of a pixel off is rounding)."""
    return box["width"] >= 44 - 0.01 and box["height"] >= 44 - 0.01


def with_referral(referral: dict):
    """A route handler for POST /w/v1/responses: the real answer, carrying `referral`."""

    def handle(route):
        answer = route.fetch()
        route.fulfill(response=answer, json=json.loads(answer.text()) | {"referral": referral})

    return handle


def assert_whole_link_shown(region, link: str, code: str, width: int) -> None:
    """The referral link is readable whole within a `width` px screen, its code beside it."""
    shown = region.get_by_text(link, exact=True)
    expect(shown).to_be_visible()
    box = shown.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert shown.evaluate("(e) => e.scrollWidth <= e.clientWidth")  # nothing cut off
    expect(region.get_by_text(f"Or tell them your code: {code}")).to_be_visible()
