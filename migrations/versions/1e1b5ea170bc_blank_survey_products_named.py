"""a survey without a product names its workspace

`{product}` is in most built-in texts, and a survey created without a product name
left it blank ("How likely are you to recommend to a friend or colleague?"). New
surveys now take the workspace's name; this gives it to those made before.

Revision ID: 1e1b5ea170bc
Revises: c4e8f2a61d37
Create Date: 2026-12-02 04:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '1e1b5ea170bc'
down_revision = 'c4e8f2a61d37'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE surveys SET product_name = ("
        "SELECT substr(workspaces.name, 1, 100) FROM workspaces "
        "WHERE workspaces.id = surveys.workspace_id"
        ") WHERE product_name = ''"
    )


def downgrade():
    # Which names were filled in is not recorded, and a named product harms nothing.
    pass
