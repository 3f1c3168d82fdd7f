"""device hourly: VC checks and projector polls per device and hour (readings, good), for
the readiness board's history without reading every raw row

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('projector_hourly',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('readings', sa.Integer(), nullable=False),
    sa.Column('good', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_projector_hourly_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', 'hour', name=op.f('pk_projector_hourly'))
    )
    with op.batch_alter_table('projector_hourly', schema=None) as batch_op:
        batch_op.create_index('ix_projector_hourly_hour', ['hour'], unique=False)

    op.create_table('vc_hourly',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('readings', sa.Integer(), nullable=False),
    sa.Column('good', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_vc_hourly_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', 'hour', name=op.f('pk_vc_hourly'))
    )
    with op.batch_alter_table('vc_hourly', schema=None) as batch_op:
        batch_op.create_index('ix_vc_hourly_hour', ['hour'], unique=False)

    # What was recorded so far, rolled up as inventory.devices.services.roll_up_hours does.
    if op.get_bind().dialect.name == "postgresql":
        bucket = "date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    else:  # SQLite: the text SQLAlchemy stores for a datetime
        bucket = "strftime('%Y-%m-%d %H:00:00.000000', at)"
    for hourly, raw, good in (
        ("vc_hourly", "vc_checks", "reachable"),
        ("projector_hourly", "projector_samples",
         "outcome = 'ok' AND coalesce(worst_error, 'ok') <> 'error'"),
    ):
        op.execute(
            f"INSERT INTO {hourly} (asset_id, hour, readings, good) "
            f"SELECT asset_id, {bucket}, count(*), sum(CASE WHEN {good} THEN 1 ELSE 0 END) "
            f"FROM {raw} GROUP BY asset_id, {bucket}"
        )


def downgrade():
    with op.batch_alter_table('vc_hourly', schema=None) as batch_op:
        batch_op.drop_index('ix_vc_hourly_hour')

    op.drop_table('vc_hourly')
    with op.batch_alter_table('projector_hourly', schema=None) as batch_op:
        batch_op.drop_index('ix_projector_hourly_hour')

    op.drop_table('projector_hourly')
