"""idempotency records: how the stored response body is encoded

Revision ID: 9b1e4c7d2a10
Revises: 652d4c2ec63d
Create Date: 2026-11-23 16:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b1e4c7d2a10'
down_revision = '652d4c2ec63d'
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows keep NULL: their bodies were stored as sent.
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_encoding', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('response_encoding')
