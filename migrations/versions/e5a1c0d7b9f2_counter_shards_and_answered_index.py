"""counter shards; responses indexed by contact, survey and time

`response_rollups`, `invitation_rollups` and `queue_counts` get a `shard` column
in their primary key (existing rows are shard 0): on PostgreSQL concurrent
writers of one survey's counters spread over several rows (api/counters.py).
`responses` is indexed by (contact_id, survey_id, created_at), the widget's
"answered this survey recently?" look-up, replacing the index on contact_id alone.

Revision ID: e5a1c0d7b9f2
Revises: ba382b5e736f
Create Date: 2026-12-01 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c0d7b9f2'
down_revision = 'ba382b5e736f'
branch_labels = None
depends_on = None

COUNTERS = {
    'response_rollups': ['survey_id', 'day', 'segment', 'score'],
    'invitation_rollups': ['survey_id', 'day'],
    'queue_counts': ['survey_id', 'queue', 'status'],
}


def upgrade():
    for table, key in COUNTERS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('shard', sa.SmallInteger(), server_default='0', nullable=False)
            )
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', [*key, 'shard'])
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index(
            'ix_responses_contact_survey', ['contact_id', 'survey_id', 'created_at'], unique=False
        )
        batch_op.drop_index('ix_responses_contact')


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index('ix_responses_contact', ['contact_id'], unique=False)
        batch_op.drop_index('ix_responses_contact_survey')
    for table, key in COUNTERS.items():
        # The shards of a key summed into one row, as before.
        columns = ', '.join(key)
        op.execute(
            f'CREATE TEMPORARY TABLE merged_{table} AS '
            f'SELECT {columns}, SUM(count) AS count FROM {table} GROUP BY {columns}'
        )
        op.execute(f'DELETE FROM {table}')
        op.execute(
            f'INSERT INTO {table} ({columns}, shard, count) '
            f'SELECT {columns}, 0, count FROM merged_{table}'
        )
        op.execute(f'DROP TABLE merged_{table}')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', key)
            batch_op.drop_column('shard')
