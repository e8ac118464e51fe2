"""`flask retention count-churn`: the worker's step that counts churn after a score.

Registered on the retention blueprint's command group (routes.py).
"""

import click
from flask.cli import with_appcontext

from api.extensions import db
from api.reports import score_churn


@click.command("count-churn")
@with_appcontext
@click.option("--batch", default=20, show_default=True, help="Steps per transaction.")
def count_churn(batch):
    """Count the days whose 90-day churn window has passed into the retention report."""
    total = 0
    while True:
        steps = score_churn.close_due(batch=batch)
        db.session.commit()
        total += steps
        if steps < batch:
            break
    click.echo(f"counted {total} steps of days")
