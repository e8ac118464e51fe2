"""events: the writing transaction's id (tx), the feed ordered by (tx, id)

Revision ID: 22c4be386789
Revises: 9b1e4c7d2a10
Create Date: 2026-12-02 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '22c4be386789'
down_revision = '9b1e4c7d2a10'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    # Events already written have committed: tx 0 puts them first, in id order, which
    # is also where a reader's older one-value (id) cursor points.
    recreate = 'always' if _sqlite() else 'auto'
    with op.batch_alter_table(
        'events', recreate=recreate, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.add_column(sa.Column('tx', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.drop_index('ix_events_workspace_id')
        batch_op.create_index('ix_events_workspace_id_tx_id', ['workspace_id', 'tx', 'id'])
        batch_op.create_index('ix_events_tx_id', ['tx', 'id'])
    # No default from now on: every INSERT sets tx to its own transaction (the model's
    # SQL default), and one that did not should fail rather than sort first.
    with op.batch_alter_table(
        'events', recreate=recreate, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.alter_column('tx', server_default=None)


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_tx_id')
        batch_op.drop_index('ix_events_workspace_id_tx_id')
        batch_op.create_index('ix_events_workspace_id', ['workspace_id', 'id'])
        batch_op.drop_column('tx')
