"""A pretend customer's site on a second origin (port 8001) that embeds the widgets.

It is what a customer does: compute the user hash on their server, paste the
snippet (widgets/README.md) into their pages, and allow their origin in the
workspace (`flask demo` does that for this site). The page runs under a strict
nonce-based Content-Security-Policy, as careful customers' pages do.

It also receives the demo workspace's webhooks, as a customer's server would:
`POST /webhooks` verifies each with the `standardwebhooks` package and the
endpoint's secret (`flask demo` made the endpoint), and `GET /webhooks` shows the
last fifty, verified or not.

    .venv/bin/python -m demo.site          # DEMO_PORT (default 8001)

Reads instance/demo.json, written by `flask demo` (`make demo`).
Query parameters: ?locale=de|fr|es, ?user=<id>, ?mode=inline. The demo
workspace's review sites are pretend pages here too (/review-site/<name>).
"""

import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from collections import deque
from html import escape
from pathlib import Path

from flask import Flask, Response, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

DEMO_FILE = Path(__file__).resolve().parent.parent / "instance" / "demo.json"
REQUIRED = ("publishable_key", "identity_secret", "api_base")
DEMO_USER = "demo-user-1"


class DemoNotReady(Exception):
    pass


def load_demo(path: Path = DEMO_FILE) -> dict:
    if not path.exists():
        raise DemoNotReady(f"{path} is missing: run `make demo` (flask demo) first.")
    demo = json.loads(path.read_text())
    missing = [key for key in REQUIRED if not demo.get(key)]
    if missing:
        raise DemoNotReady(
            f"{path} lacks {', '.join(missing)}: run `make demo` (flask demo) to refresh it."
        )
    return demo


def user_hash(secret: str, user_id: str) -> str:
    """What the customer's server computes: hex HMAC-SHA256(identity secret, user id)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def script_json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Brewline Coffee — a Flipfunnel demo site</title>
<style nonce="{nonce}">
  body {{ margin: 0; font: 16px/1.5 Georgia, serif; color: #2b2118; background: #faf6f0; }}
  header {{ background: #2b2118; color: #faf6f0; padding: 16px 24px; display: flex;
           justify-content: space-between; align-items: center; }}
  header b {{ font-size: 20px; letter-spacing: .5px; }}
  header a {{ color: inherit; }}
  main {{ max-width: 880px; margin: 0 auto; padding: 24px; display: grid; gap: 24px;
         grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); }}
  .card {{ background: #fff; border-radius: 12px; padding: 20px;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
  h1 {{ font-size: 26px; margin: 0 0 8px; }} h2 {{ font-size: 18px; margin: 0 0 12px; }}
  button.ask {{ font: inherit; background: #b45309; color: #fff; border: 0;
               border-radius: 8px; padding: 10px 18px; cursor: pointer; }}
  code {{ background: #f1e9df; color: #2b2118; padding: 1px 4px; border-radius: 4px;
          white-space: nowrap;
          font-size: 13px; }}
  .wide {{ grid-column: 1 / -1; }}
  flipfunnel-survey, flipfunnel-referral, flipfunnel-wall {{
    --ff-accent: #b45309; --ff-radius: 10px; }}
</style>
</head>
<body>
<header><b>☕ Brewline Coffee</b><span>Signed in as <code>{user}</code> ·
  <a href="/webhooks">webhooks received</a></span></header>
<main>
  <section class="card">
    <h1>Your beans are on their way</h1>
    <p>This pretend shop embeds the Flipfunnel survey widget with the snippet from
       <code>widgets/README.md</code>, under a strict Content-Security-Policy.</p>
    <p><button class="ask" id="ask" type="button">Ask me</button></p>
    <div id="inline-survey"></div>
    <p><small>Locale: <a href="?locale=en">en</a> · <a href="?locale=de">de</a> ·
       <a href="?locale=fr">fr</a> · <a href="?locale=es">es</a> ·
       <a href="?mode=inline">inline</a></small></p>
  </section>
  <section class="card">
    <h2>Refer a friend</h2>
    <div id="referral"></div>
  </section>
  <section class="card wide">
    <h2>What our customers say</h2>
    <div id="wall"><p><small>Approved testimonials show here (answer 9 or 10 with a
      comment, agree to be quoted, then approve it: see the README).</small></p></div>
  </section>
</main>
<script nonce="{nonce}">
window.flipfunnel=window.flipfunnel||function(){{(flipfunnel.q=flipfunnel.q||[]).push(arguments)}};
flipfunnel('init', {init});
flipfunnel('referral', document.getElementById('referral'));
flipfunnel('wall', document.getElementById('wall'), {{limit: 6}});
document.getElementById('ask').addEventListener('click', function () {{ flipfunnel('survey'); }});
</script>
<script nonce="{nonce}" async src="{api}/widgets/v1/loader.js" data-api="{api}"></script>
</body>
</html>
"""


REVIEW_SITE = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>A pretend review site</title>
<p>This stands in for <b>{name}</b>: in a real workspace the review link leads to your
page there. Back to <a href="/">Brewline Coffee</a>.</p></html>"""
HOOKS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="3">
<title>Webhooks received — Brewline Coffee</title>
<style nonce="{nonce}">
  body {{ margin: 24px; font: 15px/1.5 system-ui, sans-serif; color: #2b2118;
         background: #faf6f0; }}
  table {{ border-collapse: collapse; width: 100%; background: #fff; }}
  th, td {{ text-align: left; vertical-align: top; padding: 6px 10px;
           border-bottom: 1px solid #eadfd2; }}
  pre {{ margin: 0; white-space: pre-wrap; font-size: 12px; }}
  .ok {{ color: #166534; }} .bad {{ color: #b91c1c; }}
</style>
</head>
<body>
<h1>Webhooks received</h1>
<p>The demo workspace sends every event here; each is verified with
<code>standardwebhooks</code> and the endpoint's secret. This page refreshes itself.
<a href="/">Back to the shop</a></p>
<table>
<tr><th>received</th><th>type</th><th>webhook-id</th><th>signature</th><th>data</th></tr>
{rows}
</table>
</body>
</html>
"""

# The last webhooks this process received, newest first.
received_hooks: deque = deque(maxlen=50)


def verify_hook(secret: str | None, body: bytes, headers) -> tuple[dict | None, str]:
    """(payload, verdict): what a customer's receiver does with each delivery."""
    if not secret:
        return None, "no secret: run `make demo` again"
    try:
        return Webhook(secret).verify(body, dict(headers)), "verified"
    except WebhookVerificationError as error:
        return None, f"refused: {error}"


def create_site(demo: dict | None = None) -> Flask:
    app = Flask(__name__)

    @app.get("/review-site/<name>")
    def review_site(name: str):
        return Response(REVIEW_SITE.format(name=escape(name)), mimetype="text/html")

    @app.post("/webhooks")
    def receive_hook():
        settings = demo or load_demo()
        body = request.get_data()
        payload, verdict = verify_hook(settings.get("webhook_secret"), body, request.headers)
        received_hooks.appendleft(
            {
                "at": time.strftime("%H:%M:%S"),
                "id": request.headers.get("webhook-id", ""),
                "type": (payload or {}).get("type", "?"),
                "verdict": verdict,
                "data": (payload or {}).get("data"),
            }
        )
        # A refusal makes the worker retry, as any receiver's error would.
        return ("", 204) if payload is not None else (verdict, 400)

    @app.get("/webhooks")
    def hooks_page():
        nonce = secrets.token_urlsafe(16)
        rows = "".join(
            f"<tr><td>{escape(hook['at'])}</td><td><code>{escape(hook['type'])}</code></td>"
            f"<td>{escape(hook['id'])}</td>"
            f'<td class="{"ok" if hook["verdict"] == "verified" else "bad"}">'
            f"{escape(hook['verdict'])}</td>"
            f"<td><pre>{escape(json.dumps(hook['data'], indent=1))}</pre></td></tr>"
            for hook in list(received_hooks)
        )
        empty = "<tr><td colspan=5>Nothing yet: answer the survey on the shop page.</td></tr>"
        response = Response(
            HOOKS_PAGE.format(nonce=nonce, rows=rows or empty), mimetype="text/html"
        )
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'nonce-{nonce}'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    @app.get("/<path:path>")
    def page(path: str = ""):
        settings = demo or load_demo()
        api = settings["api_base"].rstrip("/")
        nonce = secrets.token_urlsafe(16)
        user = request.args.get("user") or DEMO_USER
        locale = request.args.get("locale") or "en"
        init = {
            "key": settings["publishable_key"],
            "userId": user,
            "userHash": user_hash(settings["identity_secret"], user),
            "locale": locale,
        }
        if request.args.get("mode") == "inline":
            init.update(mode="inline", target="#inline-survey")
        html = PAGE.format(
            nonce=nonce,
            api=escape(api),
            init=script_json(init),
            user=escape(user),
            lang=escape(locale),
        )
        response = Response(html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}' {api}; style-src 'nonce-{nonce}'; "
            f"connect-src {api}; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    return app


def main() -> int:
    try:
        load_demo()  # fail early, with the fix, rather than on the first page
    except DemoNotReady as error:
        print(f"demo site: {error}", file=sys.stderr)
        return 1
    port = int(os.environ.get("DEMO_PORT", "8001"))
    print(f"Demo customer site (embeds the widgets): http://127.0.0.1:{port}/", flush=True)
    create_site().run(host="127.0.0.1", port=port, debug=False, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
