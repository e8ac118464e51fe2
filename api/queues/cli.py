"""`flask queues send-resurveys`: ask the re-surveys that are due, now.

The worker does this every minute by itself (api/worker/periodic.py); this is the
same step by hand. Registered on the queues blueprint's command group (routes.py).
"""

import click
from flask.cli import with_appcontext

from api.database import utcnow
from api.queues import resurveys
from api.worker import periodic


@click.command("send-resurveys")
@with_appcontext
@click.option("--batch", default=200, show_default=True, help="Re-surveys per transaction.")
def send_resurveys(batch):
    """Ask the re-surveys that are due: invitations (and their events), or the widget."""
    click.echo(f"handled {periodic.drain(resurveys.send_due, utcnow(), batch)} due re-surveys")
