"""The Asset: one piece of equipment with its paperwork, place and custodian."""

from __future__ import annotations

from sqlalchemy import event

from inventory.audit.models import Audited
from inventory.choices import AssetStatus
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime


class Asset(Audited, Timestamped, db.Model):
    """A registered device: a desktop at a counter, a SWAN router, a projector, a VC codec."""

    __tablename__ = "assets"
    __table_args__ = (db.UniqueConstraint("model_id", "serial"),)

    id = db.Column(db.Integer, primary_key=True)
    tag = db.Column(db.String(32), nullable=False, unique=True)
    category_id = db.Column(
        db.Integer, db.ForeignKey("categories.id", ondelete="RESTRICT"), nullable=False
    )
    model_id = db.Column(
        db.Integer, db.ForeignKey("asset_models.id", ondelete="RESTRICT"), nullable=True
    )
    serial = db.Column(db.String(64), nullable=True, index=True)
    status = db.Column(db.String(16), nullable=False, default=AssetStatus.IN_STORE.value)
    site_id = db.Column(db.Integer, db.ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False)
    location = db.Column(db.String(200), nullable=False, default="")
    custodian = db.Column(db.String(120), nullable=False, default="")
    purchase_date = db.Column(db.Date, nullable=True)
    purchase_cost = db.Column(db.Numeric(12, 2), nullable=True)
    supplier = db.Column(db.String(120), nullable=False, default="")
    order_reference = db.Column(db.String(64), nullable=False, default="")
    budget_head = db.Column(db.String(100), nullable=False, default="")
    warranty_end = db.Column(db.Date, nullable=True, index=True)
    amc_vendor = db.Column(db.String(120), nullable=False, default="")
    amc_end = db.Column(db.Date, nullable=True, index=True)
    management_address = db.Column(db.String(255), nullable=False, default="")
    credential_profile_id = db.Column(
        db.Integer,
        db.ForeignKey("credential_profiles.id", ondelete="RESTRICT"),
        nullable=True,
        index=True,
    )
    notes = db.Column(db.Text, nullable=False, default="")
    last_verified_at = db.Column(UTCDateTime(), nullable=True)
    # The procurement request line it was bought under (set when a delivery is received).
    procurement_line_id = db.Column(
        db.Integer,
        db.ForeignKey("procurement_lines.id", ondelete="RESTRICT"),
        nullable=True,
        index=True,
    )

    category = db.relationship("Category", lazy="joined")
    model = db.relationship("AssetModel", lazy="joined")
    site = db.relationship("Site", lazy="joined")
    credential_profile = db.relationship("CredentialProfile")
    procurement_line = db.relationship("RequestLine")

    __mapper_args__ = {"eager_defaults": False}

    def audit_label(self) -> str:
        return self.tag

    def __str__(self) -> str:
        return self.tag


# The register list at district scale (100,000 assets). Each filter's index carries the
# other filter columns and the default sort key (tag), so that counting a filtered list and
# finding its page never read the table: only the 50 rows shown are fetched.
db.Index("ix_assets_by_site", Asset.site_id, Asset.category_id, Asset.status, Asset.tag)
db.Index("ix_assets_by_status", Asset.status, Asset.site_id, Asset.category_id, Asset.tag)
db.Index("ix_assets_by_category", Asset.category_id, Asset.status, Asset.tag)
# The whole register in tag order with every column the free-text search reads: paging
# and searching walk this index alone.
db.Index(
    "ix_assets_list",
    Asset.tag,
    Asset.id,
    Asset.serial,
    Asset.model_id,
    Asset.site_id,
    Asset.management_address,
)


# The free-text search also matches a management address exactly (and the health side
# looks devices up by address).
db.Index("ix_assets_management_address", Asset.management_address)

# PostgreSQL: trigram indexes let ILIKE '%fragment%' on tag and serial use an index instead of
# reading every row (SQLite's LIKE scan of the covering ix_assets_list is fast enough there).
# They are created here for create_all and by migration 0004 for deployed databases.
TRIGRAM_INDEXES = {"ix_assets_tag_trgm": "tag", "ix_assets_serial_trgm": "serial"}


@event.listens_for(Asset.__table__, "after_create")
def _create_trigram_indexes(table, connection, **_kw) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES.items():
        connection.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table.name} USING gin ({column} gin_trgm_ops)"
        )


class TagSequence(db.Model):
    """The last number handed out for one tag prefix (for example GON-PRJ-)."""

    __tablename__ = "tag_sequences"

    prefix = db.Column(db.String(32), primary_key=True)
    last_value = db.Column(db.Integer, nullable=False, default=0)
