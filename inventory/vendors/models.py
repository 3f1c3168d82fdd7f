"""Vendors, their AMC contracts, and what each contract covers.

A contract covers an asset on a day when the day is within its period (start and end
dates inclusive, in the society's time zone) and either the asset is listed on it
(ContractAsset) or one of its rules matches the asset (ContractRule: a category, a site
with every site below it, or both). Coverage rows are Audited on their own; their history
label starts with "#<contract id> " so that the contract's page can show them with it.
"""

from __future__ import annotations

from datetime import date

from inventory.audit.models import Audited
from inventory.choices import ContractState, VendorKind
from inventory.extensions import db
from inventory.models_base import Timestamped


class Vendor(Audited, Timestamped, db.Model):
    __tablename__ = "vendors"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, unique=True)
    kind = db.Column(db.String(16), nullable=False, default=VendorKind.AMC.value)
    contact_person = db.Column(db.String(120), nullable=False, default="")
    phone = db.Column(db.String(32), nullable=False, default="")
    email = db.Column(db.String(254), nullable=False, default="")
    address = db.Column(db.Text, nullable=False, default="")
    notes = db.Column(db.Text, nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)

    def audit_label(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


class AmcContract(Audited, Timestamped, db.Model):
    """An annual maintenance contract: a vendor, a period, a value and its service terms."""

    __tablename__ = "amc_contracts"
    __table_args__ = (
        db.UniqueConstraint("vendor_id", "reference"),
        db.CheckConstraint("end_date >= start_date", name="period"),
        db.CheckConstraint("response_hours > 0 AND resolution_hours > 0", name="hours"),
    )

    id = db.Column(db.Integer, primary_key=True)
    vendor_id = db.Column(
        db.Integer, db.ForeignKey("vendors.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    reference = db.Column(db.String(64), nullable=False)  # the contract or order number
    title = db.Column(db.String(200), nullable=False)
    start_date = db.Column(db.Date, nullable=False)
    end_date = db.Column(db.Date, nullable=False, index=True)
    value = db.Column(db.Numeric(14, 2), nullable=True)  # INR
    response_hours = db.Column(db.Integer, nullable=False, default=24)
    resolution_hours = db.Column(db.Integer, nullable=False, default=72)
    notes = db.Column(db.Text, nullable=False, default="")

    vendor = db.relationship("Vendor", backref=db.backref("contracts", lazy="dynamic"))
    assets = db.relationship(
        "ContractAsset", back_populates="contract", cascade="all, delete-orphan"
    )
    rules = db.relationship(
        "ContractRule",
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="ContractRule.id",
    )

    def state(self, today: date, notice_days: int) -> ContractState:
        if today < self.start_date:
            return ContractState.UPCOMING
        if today > self.end_date:
            return ContractState.EXPIRED
        if (self.end_date - today).days <= notice_days:
            return ContractState.EXPIRING
        return ContractState.ACTIVE

    def audit_label(self) -> str:
        return f"{self.reference} ({self.vendor.name if self.vendor else self.vendor_id})"

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"


class ContractAsset(Audited, db.Model):
    """An asset listed by name on a contract."""

    __tablename__ = "amc_contract_assets"
    __table_args__ = (db.UniqueConstraint("contract_id", "asset_id"),)

    id = db.Column(db.Integer, primary_key=True)
    contract_id = db.Column(
        db.Integer, db.ForeignKey("amc_contracts.id", ondelete="CASCADE"), nullable=False
    )
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, index=True
    )

    contract = db.relationship("AmcContract", back_populates="assets")
    asset = db.relationship("Asset")

    def audit_label(self) -> str:
        reference = self.contract.reference if self.contract else ""
        return f"#{self.contract_id} {reference} · {self.asset.tag if self.asset else ''}"


class ContractRule(Audited, db.Model):
    """Every asset of a category at a site and the sites below it (either may be left out:
    no category means every category, no site means the whole district)."""

    __tablename__ = "amc_contract_rules"
    __table_args__ = (
        db.CheckConstraint("category_id IS NOT NULL OR site_id IS NOT NULL", name="target"),
    )

    id = db.Column(db.Integer, primary_key=True)
    contract_id = db.Column(
        db.Integer,
        db.ForeignKey("amc_contracts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    # A category or site can only be deleted once nothing is registered under it, so a rule
    # naming one can go with it.
    category_id = db.Column(
        db.Integer, db.ForeignKey("categories.id", ondelete="CASCADE"), nullable=True
    )
    site_id = db.Column(
        db.Integer, db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=True, index=True
    )

    contract = db.relationship("AmcContract", back_populates="rules")
    category = db.relationship("Category")
    site = db.relationship("Site")

    def audit_label(self) -> str:
        reference = self.contract.reference if self.contract else ""
        what = self.category.code if self.category else "*"
        where = self.site.code if self.site else "*"
        return f"#{self.contract_id} {reference} · {what} @ {where}"
