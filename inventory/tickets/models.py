"""The maintenance ticket.

A ticket names a site (always) and an asset (when the fault is on one). `open_key` is what
keeps the system from opening a second ticket for the same asset and cause while one is
still open: it holds "<asset id>:<cause>" while the ticket is open and NULL afterwards, and
it is unique (NULLs never collide), so two sweeps racing to open the same ticket cannot both
succeed, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.choices import ReporterKind, TicketCategory, TicketPriority, TicketStatus
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime, utcnow


class Ticket(Audited, Timestamped, db.Model):
    __tablename__ = "tickets"

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False)
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    title = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    category = db.Column(db.String(16), nullable=False, default=TicketCategory.HARDWARE.value)
    priority = db.Column(db.String(16), nullable=False, default=TicketPriority.NORMAL.value)
    status = db.Column(db.String(16), nullable=False, default=TicketStatus.OPEN.value, index=True)
    reporter_kind = db.Column(db.String(16), nullable=False, default=ReporterKind.USER.value)
    reporter_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    assignee_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    vendor_id = db.Column(
        db.Integer, db.ForeignKey("vendors.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    vendor_engineer = db.Column(db.String(120), nullable=False, default="")
    opened_at = db.Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    due_at = db.Column(UTCDateTime(), nullable=False)
    resolved_at = db.Column(UTCDateTime(), nullable=True)
    closed_at = db.Column(UTCDateTime(), nullable=True)
    # What opened it when the system did ("health:down", "pm:<plan id>"); "" for people.
    cause = db.Column(db.String(64), nullable=False, default="")
    open_key = db.Column(db.String(96), nullable=True, unique=True)

    site = db.relationship("Site")
    asset = db.relationship("Asset")
    reporter = db.relationship("User", foreign_keys=[reporter_id])
    assignee = db.relationship("User", foreign_keys=[assignee_id])
    vendor = db.relationship("Vendor")

    __audit_exclude__ = ("created_at", "updated_at", "open_key")

    @property
    def number(self) -> str:
        return f"T-{self.id:06d}" if self.id else "T-new"

    @property
    def is_open(self) -> bool:
        return TicketStatus(self.status).is_open

    def audit_label(self) -> str:
        return self.number

    def __str__(self) -> str:
        return self.number
