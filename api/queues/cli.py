"""`flask queues send-resurveys`: the worker's step that asks due re-surveys.

Registered on the queues blueprint's command group (routes.py).
"""

import click
from flask.cli import with_appcontext

from api.extensions import db
from api.queues import resurveys


@click.command("send-resurveys")
@with_appcontext
@click.option("--batch", default=200, show_default=True, help="Re-surveys per transaction.")
def send_resurveys(batch):
    """Ask the re-surveys that are due: invitations (and their events), or the widget."""
    total = 0
    while True:
        sent = resurveys.send_due(batch=batch)
        # One transaction per batch: the invitations and their events land together.
        db.session.commit()
        total += sent
        if sent < batch:
            break
    click.echo(f"handled {total} due re-surveys")
