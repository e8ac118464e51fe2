"""`flask referrals approve-due`: approve rewards whose hold has passed, now.

The worker does this every minute by itself (api/worker/periodic.py); this is the
same step by hand. Registered on the referrals blueprint's command group (routes.py).
"""

import click
from flask.cli import with_appcontext

from api.database import utcnow
from api.referrals import rewards
from api.worker import periodic


@click.command("approve-due")
@with_appcontext
@click.option("--batch", default=500, show_default=True, help="Rewards per transaction.")
def approve_due(batch):
    """Approve pending rewards whose hold has passed (held ones wait for a review)."""
    # One transaction per batch: the rewards and their events land together.
    total = periodic.drain(rewards.approve_due, utcnow(), batch)
    click.echo(f"approved {total} rewards")
