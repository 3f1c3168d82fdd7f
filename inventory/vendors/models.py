"""A vendor the society buys from or holds to an AMC contract."""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.choices import VendorKind
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
