"""`flask contacts import FILE`: the same import as the API, run at once in the shell;
`flask contacts run-import IMPORT_ID`: run or resume an accepted one now."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from api.contacts.imports import service
from api.contacts.imports.models import MODES, ContactImport
from api.domain_errors import DomainError
from api.extensions import db
from api.workspaces.models import Workspace


@click.command("import")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workspace", "workspace_id", required=True, help="The workspace id (ws_...).")
@click.option("--mode", type=click.Choice(MODES), default="upsert", show_default=True)
@click.option("--dry-run", is_flag=True, help="Validate and count, write nothing.")
def import_contacts(file: Path, workspace_id: str, mode: str, dry_run: bool):
    """Import contacts from a CSV file (the columns of POST /v1/contacts/imports)."""
    if db.session.get(Workspace, workspace_id) is None:
        raise click.ClickException(f"no workspace {workspace_id}")
    try:
        job = service.create_import(
            workspace_id, file.read_bytes(), filename=file.name, mode=mode, dry_run=dry_run
        )
    except DomainError as error:
        lines = [error.message, *(f"  {m}" for ms in error.fields.values() for m in ms)]
        raise click.ClickException("\n".join(lines)) from None
    db.session.commit()
    _report(service.run_import(job.id))


@click.command("run-import")
@with_appcontext
@click.argument("import_id")
def run_import(import_id: str):
    """Run a queued import, or resume one that stopped, from where it stopped."""
    if db.session.get(ContactImport, import_id) is None:
        raise click.ClickException(f"no import {import_id}")
    _report(service.run_import(import_id))


def _report(job: ContactImport) -> None:
    click.echo(
        f"import {job.id} {job.status}{' (dry run)' if job.dry_run else ''}: "
        f"{job.total_rows} rows, {job.created} created, {job.updated} updated, "
        f"{job.unchanged} unchanged, {job.failed} failed"
    )
    for problem in job.errors:
        click.echo(f"  line {problem['line']} (row {problem['row']}): {problem['reason']}")
    if job.failed > len(job.errors):
        click.echo(f"  ... and {job.failed - len(job.errors)} more")
    if job.failure:
        raise click.ClickException(job.failure)
