"""Categories, manufacturers and models of equipment."""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.choices import CategoryGroup
from inventory.extensions import db
from inventory.models_base import Timestamped


class Category(Audited, Timestamped, db.Model):
    """A kind of equipment (desktop, router, projector, VC codec) within a group."""

    __tablename__ = "categories"

    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(8), nullable=False, unique=True)
    name_en = db.Column(db.String(100), nullable=False)
    name_hi = db.Column(db.String(100), nullable=False, default="")
    group = db.Column(db.String(16), nullable=False, default=CategoryGroup.OTHER.value)
    # How often devices of this category are polled; None means HEALTH_INTERVAL_SECONDS.
    poll_interval_seconds = db.Column(db.Integer, nullable=True)

    def name(self, locale: str = "en") -> str:
        if locale == "hi" and self.name_hi:
            return self.name_hi
        return self.name_en

    @property
    def group_enum(self) -> CategoryGroup:
        return CategoryGroup(self.group)

    def audit_label(self) -> str:
        return f"{self.code} {self.name_en}"

    def __str__(self) -> str:
        return self.name_en


class Manufacturer(Audited, Timestamped, db.Model):
    """A maker of equipment (HP, Cisco, Epson, Poly)."""

    __tablename__ = "manufacturers"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True)

    models = db.relationship("AssetModel", back_populates="manufacturer", lazy="dynamic")

    def __str__(self) -> str:
        return self.name


class AssetModel(Audited, Timestamped, db.Model):
    """A manufacturer's model (for example Epson EB-X51), always of one category."""

    __tablename__ = "asset_models"
    __table_args__ = (db.UniqueConstraint("manufacturer_id", "name"),)

    id = db.Column(db.Integer, primary_key=True)
    manufacturer_id = db.Column(
        db.Integer, db.ForeignKey("manufacturers.id", ondelete="RESTRICT"), nullable=False
    )
    category_id = db.Column(
        db.Integer, db.ForeignKey("categories.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    name = db.Column(db.String(120), nullable=False)

    manufacturer = db.relationship("Manufacturer", back_populates="models", lazy="joined")
    category = db.relationship("Category", lazy="joined")

    def __str__(self) -> str:
        return f"{self.manufacturer.name} {self.name}"
