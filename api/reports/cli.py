"""`flask retention count-churn`: count churn after a score, now.

The worker does this every hour by itself (api/worker/periodic.py); this is the
same step by hand. Registered on the retention blueprint's command group (routes.py).
"""

import click
from flask.cli import with_appcontext

from api.database import utcnow
from api.reports import score_churn
from api.worker import periodic


@click.command("count-churn")
@with_appcontext
@click.option("--batch", default=20, show_default=True, help="Steps per transaction.")
def count_churn(batch):
    """Count the days whose 90-day churn window has passed into the retention report."""
    click.echo(f"counted {periodic.drain(score_churn.close_due, utcnow(), batch)} steps of days")
