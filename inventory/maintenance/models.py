"""Preventive maintenance plans and, per asset in a plan's scope, where it stands.

A plan targets exactly one of a category, a model or an asset (a check constraint keeps
that), optionally only at a site and the sites below it (category and model plans). It is
due either every `interval_days` days or each `counter_interval` units of a counter the
health side reports for the asset (`counter`, for example lamp_hours or page_count).

PlanState is the plan's bookkeeping for one asset: the next due date (interval plans) or
counter reading (counter plans), the ticket opened for the current occurrence
(`ticket_id`, NULL when none is pending), the last ticket and when the work was last done.
"""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.choices import PmTrigger, TicketCategory, TicketPriority
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime, utcnow

_ONE_TARGET = (
    "(CASE WHEN category_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN model_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN asset_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class MaintenancePlan(Audited, Timestamped, db.Model):
    __tablename__ = "maintenance_plans"
    __table_args__ = (
        db.CheckConstraint(_ONE_TARGET, name="one_target"),
        db.CheckConstraint("asset_id IS NULL OR site_id IS NULL", name="asset_site"),
    )

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False)
    # What it applies to: exactly one of these. A category, model or site can only be
    # deleted once nothing is registered under it, and a plan for a deleted asset is moot.
    category_id = db.Column(
        db.Integer, db.ForeignKey("categories.id", ondelete="CASCADE"), nullable=True, index=True
    )
    model_id = db.Column(
        db.Integer, db.ForeignKey("asset_models.id", ondelete="CASCADE"), nullable=True, index=True
    )
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=True, index=True
    )
    site_id = db.Column(db.Integer, db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=True)
    trigger = db.Column(db.String(12), nullable=False, default=PmTrigger.INTERVAL.value)
    interval_days = db.Column(db.Integer, nullable=True)
    first_due_date = db.Column(db.Date, nullable=True)
    counter = db.Column(db.String(32), nullable=False, default="")
    counter_interval = db.Column(db.BigInteger, nullable=True)
    counter_margin = db.Column(db.BigInteger, nullable=False, default=0)
    lead_days = db.Column(db.Integer, nullable=False, default=7)
    ticket_title = db.Column(db.String(200), nullable=False)
    ticket_description = db.Column(db.Text, nullable=False, default="")
    ticket_category = db.Column(db.String(16), nullable=False, default=TicketCategory.OTHER.value)
    priority = db.Column(db.String(16), nullable=False, default=TicketPriority.NORMAL.value)
    vendor_id = db.Column(
        db.Integer, db.ForeignKey("vendors.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    active = db.Column(db.Boolean, nullable=False, default=True)
    notes = db.Column(db.Text, nullable=False, default="")

    category = db.relationship("Category")
    model = db.relationship("AssetModel")
    asset = db.relationship("Asset")
    site = db.relationship("Site")
    vendor = db.relationship("Vendor")
    states = db.relationship(
        "PlanState", back_populates="plan", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def cause(self) -> str:
        """The `cause` of the tickets this plan opens (one open per asset at a time)."""
        return f"pm:{self.id}"

    @property
    def is_counter(self) -> bool:
        return self.trigger == PmTrigger.COUNTER.value

    def audit_label(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


class PlanState(db.Model):
    """One asset under one plan: when it is next due and the ticket for it."""

    __tablename__ = "maintenance_plan_states"
    __table_args__ = (db.UniqueConstraint("plan_id", "asset_id"),)

    id = db.Column(db.Integer, primary_key=True)
    plan_id = db.Column(
        db.Integer, db.ForeignKey("maintenance_plans.id", ondelete="CASCADE"), nullable=False
    )
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    next_due_date = db.Column(db.Date, nullable=True)
    next_due_counter = db.Column(db.Float, nullable=True)
    # The ticket opened for the current occurrence; NULL when none is pending.
    ticket_id = db.Column(
        db.Integer, db.ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    last_ticket_id = db.Column(
        db.Integer, db.ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True
    )
    last_done_at = db.Column(UTCDateTime(), nullable=True)  # the last ticket closed as done
    # The closing of last_ticket the next due was moved on from (so it moves once per closing).
    last_closed_at = db.Column(UTCDateTime(), nullable=True)
    last_reading = db.Column(db.Float, nullable=True)
    last_reading_at = db.Column(UTCDateTime(), nullable=True)
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)

    plan = db.relationship("MaintenancePlan", back_populates="states")
    asset = db.relationship("Asset")
    ticket = db.relationship("Ticket", foreign_keys=[ticket_id])
    last_ticket = db.relationship("Ticket", foreign_keys=[last_ticket_id])
