"""register search: an index on the management address; on PostgreSQL, trigram indexes on
asset tag and serial

ILIKE '%fragment%' cannot use a b-tree; pg_trgm's GIN index answers it. pg_trgm is a trusted
extension (PostgreSQL 13+), so the database owner may create it. With every term of the
search indexable, PostgreSQL combines them (BitmapOr) instead of reading the whole table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:20:00

"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

INDEXES = {"ix_assets_tag_trgm": "tag", "ix_assets_serial_trgm": "serial"}


def upgrade():
    op.create_index("ix_assets_management_address", "assets", ["management_address"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON assets USING gin ({column} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_assets_management_address", table_name="assets")
