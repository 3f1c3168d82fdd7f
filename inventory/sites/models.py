"""The Site hierarchy."""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.choices import LinkType, SiteKind
from inventory.extensions import db
from inventory.models_base import Timestamped


def joins_vc(kind: str, vc_expected: bool | None, expected_kinds) -> bool:
    """A site's own setting, else whether its kind joins (VC_EXPECTED_KINDS)."""
    return vc_expected if vc_expected is not None else kind in expected_kinds


class Site(Audited, Timestamped, db.Model):
    """A place that holds assets: district HQ > tehsil > block or municipality > office or CSC."""

    __tablename__ = "sites"

    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(32), nullable=False, unique=True)
    name_en = db.Column(db.String(200), nullable=False, index=True)  # the list's sort by site
    name_hi = db.Column(db.String(200), nullable=False, default="")
    kind = db.Column(db.String(20), nullable=False)
    parent_id = db.Column(
        db.Integer, db.ForeignKey("sites.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    address = db.Column(db.Text, nullable=False, default="")
    contact_name = db.Column(db.String(120), nullable=False, default="")
    contact_phone = db.Column(db.String(20), nullable=False, default="")
    link_type = db.Column(db.String(16), nullable=False, default=LinkType.NONE.value)
    notes = db.Column(db.Text, nullable=False, default="")
    # Joins the District Magistrate's VC: None follows the kind (VC_EXPECTED_KINDS).
    vc_expected = db.Column(db.Boolean, nullable=True)

    parent = db.relationship("Site", remote_side=[id], back_populates="children")
    children = db.relationship(
        "Site", back_populates="parent", order_by="Site.name_en", passive_deletes="all"
    )

    @property
    def kind_enum(self) -> SiteKind:
        return SiteKind(self.kind)

    def joins_vc(self, expected_kinds) -> bool:
        """Whether this office is expected to join the DM's VC (the readiness board)."""
        return joins_vc(self.kind, self.vc_expected, expected_kinds)

    def name(self, locale: str = "en") -> str:
        if locale == "hi" and self.name_hi:
            return self.name_hi
        return self.name_en

    def audit_label(self) -> str:
        return f"{self.code} {self.name_en}"

    def __str__(self) -> str:
        return f"{self.name_en} ({self.code})"
