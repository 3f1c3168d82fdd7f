"""sites join VC: a site's own setting for joining the DM's video conference (None follows
its kind, VC_EXPECTED_KINDS)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:31:23.269850

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vc_expected', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('vc_expected')
