"""The demo site's webhook receiver verifies what it gets, as a customer's would."""

import base64
import json
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from demo import site

SECRET = "whsec_" + base64.b64encode(b"demo-secret-for-tests-000000000").decode()
DEMO = {"publishable_key": "pk_x", "identity_secret": "wis_x", "api_base": "http://api"}


def signed(body: str, secret: str = SECRET) -> dict:
    now = datetime.now(UTC)
    return {
        "webhook-id": "42",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("42", now, body),
        "Content-Type": "application/json",
    }


def test_the_receiver_page_shows_what_verified_and_what_did_not():
    site.received_hooks.clear()
    client = site.create_site({**DEMO, "webhook_secret": SECRET}).test_client()
    body = json.dumps({"type": "response.created", "timestamp": "t", "data": {"score": 10}})
    assert client.post("/webhooks", data=body, headers=signed(body)).status_code == 204
    other = "whsec_" + base64.b64encode(b"another-secret-000000000000000").decode()
    assert client.post("/webhooks", data=body, headers=signed(body, other)).status_code == 400
    page = client.get("/webhooks")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "response.created" in html and "verified" in html and "refused" in html
    assert "'nonce-" in page.headers["Content-Security-Policy"]
