"""finished invitation batches and contact imports indexed for their purge

The worker deletes batches and imports that finished longer ago than their
retention (`INVITATION_BATCH_RETENTION_DAYS`, `CONTACT_IMPORT_RETENTION_DAYS`);
an index on `finished_at` finds them without reading every row.

Revision ID: a7d3e91c4b60
Revises: e5a1c0d7b9f2
Create Date: 2026-12-01 16:40:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7d3e91c4b60'
down_revision = 'e5a1c0d7b9f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitation_batches', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_batches_finished_at', ['finished_at'], unique=False)
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.create_index('ix_contact_imports_finished_at', ['finished_at'], unique=False)


def downgrade():
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_imports_finished_at')
    with op.batch_alter_table('invitation_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_batches_finished_at')
