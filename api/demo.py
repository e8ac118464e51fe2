"""`flask demo`: a demo workspace for a first look, made once and reused.

Its keys are kept in `instance/demo.json` (readable by the owner only) so that
every `make run` can print them again, and so the demo customer site
(demo/site.py, on a second origin) can embed the widgets. The demo survey
never throttles and asks for a review, a quote and an opt-in at every answer (no
ask cooldown), so the demo can be answered again and again; its review sites are
pretend pages of the demo site. Real workspaces never store a key in clear: use
`flask workspaces create` for those.
"""

import json
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from api.advocacy import settings as advocacy_settings
from api.advocacy.models import AdvocacySettings
from api.domain_errors import DomainError
from api.extensions import db
from api.referrals import program as referral_program
from api.reports import demo_history
from api.surveys.models import Survey
from api.webhooks import endpoints
from api.webhooks.models import WebhookEndpoint
from api.widget import identity
from api.workspaces import keys
from api.workspaces.models import Workspace

NAME = "Brewline Coffee"  # the pretend customer of demo/site.py


def _demo_file() -> Path:
    return Path(current_app.instance_path) / "demo.json"


def ensure_demo_workspace() -> dict:
    path = _demo_file()
    if path.exists():
        demo = json.loads(path.read_text())
        if db.session.get(Workspace, demo["workspace_id"]) is not None and "survey_id" in demo:
            _ensure_advocacy(demo["workspace_id"], demo["demo_site"])
            demo_history.ensure(demo["workspace_id"])
            db.session.commit()
            return demo
    # Named as the demo site calls itself, so the pages, widgets and emails, which
    # name the workspace or its survey's product, all say one name.
    workspace, secret, publishable = keys.create_workspace(NAME)
    demo_site = current_app.config["DEMO_SITE_URL"]
    workspace.allowed_origins = [demo_site]
    survey = Survey(
        workspace_id=workspace.id,
        name="Demo NPS",
        kind="nps",
        product_name=NAME,
        widget_enabled=True,
        resurvey_days=0,
        decline_days=0,
    )
    db.session.add(survey)
    referral_program.put_program(
        workspace.id,
        {
            "enabled": True,
            "landing_url": f"{demo_site}/",
            "referrer_reward": {"kind": "credits", "amount": 10},
            "friend_reward": {"kind": "percent_discount", "amount": 20},
        },
    )
    _ensure_advocacy(workspace.id, demo_site)
    # Customers of the past year, so the retention report shows churn per NPS category.
    demo_history.ensure(workspace.id)
    db.session.commit()
    demo = {
        "workspace_id": workspace.id,
        "secret_key": secret,
        "publishable_key": publishable,
        "identity_secret": identity.identity_secret(workspace),
        "survey_id": survey.id,
        "api_base": current_app.config["BASE_URL"],
        "demo_site": demo_site,
    }
    _write(path, demo)
    return demo


def _write(path: Path, demo: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle, indent=2)


def ensure_demo_webhook(demo: dict) -> str | None:
    """A webhook endpoint for the demo site's receiver page, made once; None when the
    settings refuse a local receiver (WEBHOOKS_ALLOW_PRIVATE and _HTTP: `make run` sets them)."""
    endpoint_id = demo.get("webhook_endpoint_id")
    if endpoint_id and db.session.get(WebhookEndpoint, endpoint_id) is not None:
        return endpoint_id
    url = f"{demo['demo_site'].rstrip('/')}/webhooks"
    try:
        endpoint, secret = endpoints.create(
            demo["workspace_id"], {"url": url, "event_types": ["*"], "format": "standard"}
        )
    except DomainError as refused:
        click.echo(f"No demo webhook endpoint: {refused.message}", err=True)
        return None
    db.session.commit()
    demo.update(webhook_endpoint_id=endpoint.id, webhook_secret=secret)
    _write(_demo_file(), demo)
    return endpoint.id


def _ensure_advocacy(workspace_id: str, demo_site: str) -> None:
    """Review sites (pretend pages of the demo site) and no ask cooldown, once; a demo
    workspace made before advocacy existed gets them on the next `flask demo`."""
    if db.session.get(AdvocacySettings, workspace_id) is not None:
        return
    advocacy_settings.update_settings(
        workspace_id,
        {
            "review_ask": "everyone",
            "ask_cooldown_days": 0,
            "review_destinations": [
                {"name": "G2", "url": f"{demo_site}/review-site/g2"},
                {"name": "Capterra", "url": f"{demo_site}/review-site/capterra"},
            ],
        },
    )


@click.command("demo")
@with_appcontext
def demo_command():
    """Create the demo workspace if there is none and print how to use it."""
    demo = ensure_demo_workspace()
    hook = ensure_demo_webhook(demo)
    base = current_app.config["BASE_URL"]
    click.echo(
        f"""
Flipfunnel demo workspace {demo["workspace_id"]}
  secret key        {demo["secret_key"]}
  publishable key   {demo["publishable_key"]}

  API               {base}/v1
  API docs          {base}/docs
  OpenAPI           {base}/openapi.json
  demo NPS survey   {demo["survey_id"]}
  demo customer site {demo["demo_site"]}  (embeds the widgets from another origin)
  testimonial wall  {advocacy_settings.wall_url(demo["workspace_id"])}
  webhooks received {demo["demo_site"]}/webhooks{"" if hook else "  (off: see above)"}

  try:  curl -H "Authorization: Bearer {demo["secret_key"]}" {base}/v1/contacts
"""
    )


def init_app(app) -> None:
    app.cli.add_command(demo_command)
