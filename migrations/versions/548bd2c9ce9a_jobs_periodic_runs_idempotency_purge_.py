"""jobs (the worker's queue), periodic task turns, the idempotency purge's index

Revision ID: 548bd2c9ce9a
Revises: dc0ffc5c4a79
Create Date: 2026-12-01 09:24:16.011559

"""
from alembic import op
import sqlalchemy as sa

import api.database
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '548bd2c9ce9a'
down_revision = 'dc0ffc5c4a79'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('periodic_runs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('next_run_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', api.database.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_periodic_runs'))
    )
    op.create_table('jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('progress', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', api.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', api.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', api.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_jobs_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_finished_at', ['finished_at'], unique=False)
        batch_op.create_index('ix_jobs_status_run_after', ['status', 'run_after'], unique=False)
        batch_op.create_index('ix_jobs_workspace_id_id', ['workspace_id', 'id'], unique=False)

    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created_at', ['created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created_at')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_workspace_id_id')
        batch_op.drop_index('ix_jobs_status_run_after')
        batch_op.drop_index('ix_jobs_finished_at')

    op.drop_table('jobs')
    op.drop_table('periodic_runs')
