"""`flask workspaces ...` and `flask keys ...`: tenants and keys from the shell."""

from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from api.extensions import db
from api.workspaces import keys
from api.workspaces.models import ApiKey, Workspace

workspaces_cli = AppGroup("workspaces", help="Create and list workspaces.")
keys_cli = AppGroup("keys", help="Create, list, revoke and rotate API keys.")


def _print_new_key(kind: str, raw: str) -> None:
    click.echo(f"{kind:<12} {raw}")


@workspaces_cli.command("create")
@click.argument("name")
def create_workspace(name):
    """Create a workspace and print its first keys (shown once)."""
    workspace, secret, publishable = keys.create_workspace(name)
    db.session.commit()
    click.echo(f"workspace    {workspace.id}  {workspace.name}")
    _print_new_key("secret", secret)
    _print_new_key("publishable", publishable)
    click.echo("Keep these keys now: only their hashes are stored.")


@workspaces_cli.command("list")
def list_workspaces():
    for workspace in db.session.scalars(select(Workspace).order_by(Workspace.id)):
        click.echo(f"{workspace.id}  {workspace.name}")


@keys_cli.command("create")
@click.argument("workspace_id")
@click.option("--kind", type=click.Choice(sorted(keys.KINDS)), default=keys.SECRET)
@click.option("--name", default="")
def create_key(workspace_id, kind, name):
    if db.session.get(Workspace, workspace_id) is None:
        raise click.ClickException(f"no workspace {workspace_id}")
    _, raw = keys.create_key(workspace_id, kind, name)
    db.session.commit()
    _print_new_key(kind, raw)


@keys_cli.command("list")
@click.argument("workspace_id")
def list_keys(workspace_id):
    for key in keys.list_keys(workspace_id):
        state = (
            "revoked"
            if key.revoked_at
            else f"expires {key.expires_at}"
            if key.expires_at
            else "live"
        )
        used = key.last_used_at.isoformat() if key.last_used_at else "never"
        click.echo(f"{key.id}  {key.kind:<11} {key.prefix}...  {state}  last used {used}")


def _key(key_id: str) -> ApiKey:
    key = db.session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if key is None:
        raise click.ClickException(f"no key {key_id}")
    return key


@keys_cli.command("revoke")
@click.argument("key_id")
def revoke_key(key_id):
    keys.revoke(_key(key_id))
    db.session.commit()
    click.echo(f"revoked {key_id}")


@keys_cli.command("rotate")
@click.argument("key_id")
@click.option("--grace-hours", default=24, show_default=True, help="How long the old key works.")
def rotate_key(key_id, grace_hours):
    key, raw = keys.rotate(_key(key_id), timedelta(hours=grace_hours))
    db.session.commit()
    _print_new_key(key.kind, raw)
    click.echo(f"the old key {key_id} stops working in {grace_hours} h")


def init_app(app) -> None:
    app.cli.add_command(workspaces_cli)
    app.cli.add_command(keys_cli)
