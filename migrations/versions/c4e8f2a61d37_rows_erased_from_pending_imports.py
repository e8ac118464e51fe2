"""the rows an erasure took out of a pending contact import

Erasing a contact rewrites the file of a queued or running import that names them
and lists the rows it replaced, which the import then reports as erased.

Revision ID: c4e8f2a61d37
Revises: a7d3e91c4b60
Create Date: 2026-12-01 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'c4e8f2a61d37'
down_revision = 'a7d3e91c4b60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'erased_rows',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=True,
            )
        )


def downgrade():
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.drop_column('erased_rows')
