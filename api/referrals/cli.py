"""`flask referrals approve-due`: the worker's step that approves rewards after their hold.

Registered on the referrals blueprint's command group (routes.py).
"""

import click
from flask.cli import with_appcontext

from api.extensions import db
from api.referrals import rewards


@click.command("approve-due")
@with_appcontext
@click.option("--batch", default=500, show_default=True, help="Rewards per transaction.")
def approve_due(batch):
    """Approve pending rewards whose hold has passed (held ones wait for a review)."""
    total = 0
    while True:
        approved = rewards.approve_due(batch=batch)
        # One transaction per batch: the rewards and their events land together.
        db.session.commit()
        total += approved
        if approved < batch:
            break
    click.echo(f"approved {total} rewards")
