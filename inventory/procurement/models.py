"""Procurement requests: from indent through approval and order to receipt.

A request (ProcurementRequest) names a budget head and a financial year (April-March, in
the society's time zone) and holds lines (RequestLine: a category, optionally a model, a
quantity and an estimated unit cost), each spread over destination sites
(LineDestination; the destinations' quantities add up to the line's). Attachments
(quotations, the sanction letter) are StoredFiles.

Approval goes level by level (ApprovalLevel, in `position` order, active levels only); the
people who approve at a level are its `approvers` (table approval_level_users): being named
at a level is the "approver role". Every step of the workflow is an ApprovalAction row (who,
when, the remark); the request's own columns are Audited too, so its page shows both.

The request's number ("PR-2026-27-0001") is given once, when the request is created: the
financial year it was created in and a per-year sequence (ProcurementSequence), so it is
unique and never changes, even if the draft's budget year is edited later.

Received quantities are not stored here: the receipt module
(inventory.procurement.receiving) owns them; services.refresh_receipt_status reads them.
"""

from __future__ import annotations

from decimal import Decimal

from inventory.audit.models import Audited
from inventory.choices import ProcurementAttachmentKind, ProcurementStatus
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime, utcnow

approval_level_users = db.Table(
    "approval_level_users",
    db.Column(
        "level_id",
        db.Integer,
        db.ForeignKey("approval_levels.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    db.Column(
        "user_id",
        db.Integer,
        db.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class BudgetHead(Audited, Timestamped, db.Model):
    """Where the money comes from (DeGS fund, e-District project, ...); admins keep the list."""

    __tablename__ = "budget_heads"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, unique=True)
    name_hi = db.Column(db.String(120), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)
    position = db.Column(db.Integer, nullable=False, default=0)

    def display_name(self, locale: str | None = None) -> str:
        if locale and str(locale).startswith("hi") and self.name_hi:
            return self.name_hi
        return self.name

    def audit_label(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


class ApprovalLevel(Audited, Timestamped, db.Model):
    """One level of sanction (DIO, then CDO, ...), in `position` order, and who approves at it."""

    __tablename__ = "approval_levels"

    id = db.Column(db.Integer, primary_key=True)
    position = db.Column(db.Integer, nullable=False, unique=True)
    name = db.Column(db.String(80), nullable=False)
    name_hi = db.Column(db.String(80), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)

    approvers = db.relationship(
        "User",
        secondary=approval_level_users,
        order_by="User.username",
        lazy="selectin",
    )

    def display_name(self, locale: str | None = None) -> str:
        if locale and str(locale).startswith("hi") and self.name_hi:
            return self.name_hi
        return self.name

    def is_approver(self, user) -> bool:
        return user is not None and any(u.id == user.id for u in self.approvers)

    def audit_label(self) -> str:
        return f"{self.position}. {self.name}"

    def __str__(self) -> str:
        return self.name


class ProcurementSequence(db.Model):
    """The last request number handed out in one financial year ("2026-27")."""

    __tablename__ = "procurement_sequences"

    financial_year = db.Column(db.String(7), primary_key=True)
    last_value = db.Column(db.Integer, nullable=False, default=0)


class ProcurementRequest(Audited, Timestamped, db.Model):
    __tablename__ = "procurement_requests"

    id = db.Column(db.Integer, primary_key=True)
    # "PR-2026-27-0001": given at creation (services.create_request), never changed.
    number = db.Column(db.String(24), nullable=False, unique=True)
    title = db.Column(db.String(200), nullable=False)
    justification = db.Column(db.Text, nullable=False, default="")
    requester_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    budget_head_id = db.Column(
        db.Integer,
        db.ForeignKey("budget_heads.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    )
    financial_year = db.Column(db.String(7), nullable=False, index=True)  # "2026-27"
    status = db.Column(
        db.String(16), nullable=False, default=ProcurementStatus.DRAFT.value, index=True
    )
    # The position of the level whose approval is awaited (submitted requests only).
    current_level_position = db.Column(db.Integer, nullable=True, index=True)
    rejection_reason = db.Column(db.Text, nullable=False, default="")
    order_reference = db.Column(db.String(80), nullable=False, default="")  # e.g. a GeM order ID
    vendor_id = db.Column(
        db.Integer, db.ForeignKey("vendors.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    order_date = db.Column(db.Date, nullable=True)
    submitted_at = db.Column(UTCDateTime(), nullable=True)
    approved_at = db.Column(UTCDateTime(), nullable=True)
    ordered_at = db.Column(UTCDateTime(), nullable=True)
    received_at = db.Column(UTCDateTime(), nullable=True)
    closed_at = db.Column(UTCDateTime(), nullable=True)
    cancelled_at = db.Column(UTCDateTime(), nullable=True)

    requester = db.relationship("User", foreign_keys=[requester_id])
    budget_head = db.relationship("BudgetHead")
    vendor = db.relationship("Vendor")
    lines = db.relationship(
        "RequestLine",
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="RequestLine.position, RequestLine.id",
    )
    attachments = db.relationship(
        "RequestAttachment",
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="RequestAttachment.id",
    )
    actions = db.relationship(
        "ApprovalAction",
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="ApprovalAction.id",
    )

    @property
    def status_enum(self) -> ProcurementStatus:
        return ProcurementStatus(self.status)

    @property
    def estimated_total(self) -> Decimal:
        return sum((line.estimated_total for line in self.lines), Decimal("0.00"))

    @property
    def actual_total(self) -> Decimal | None:
        """The ordered value: sum of quantity x actual unit cost (None before the order)."""
        totals = [line.actual_total for line in self.lines]
        if not totals or any(t is None for t in totals):
            return None
        return sum(totals, Decimal("0.00"))

    def audit_label(self) -> str:
        return self.number or "PR-new"

    def __str__(self) -> str:
        return self.number or "PR-new"


db.Index(
    "ix_procurement_requests_head_year",
    ProcurementRequest.budget_head_id,
    ProcurementRequest.financial_year,
)


class RequestLine(Audited, db.Model):
    """What to buy: a category (and optionally a model), how many, at what estimated cost."""

    __tablename__ = "procurement_lines"
    __table_args__ = (
        db.CheckConstraint("quantity > 0", name="quantity"),
        db.CheckConstraint("estimated_unit_cost >= 0", name="estimate"),
    )

    id = db.Column(db.Integer, primary_key=True)
    request_id = db.Column(
        db.Integer,
        db.ForeignKey("procurement_requests.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    position = db.Column(db.Integer, nullable=False, default=1)  # "line N" on the request
    category_id = db.Column(
        db.Integer, db.ForeignKey("categories.id", ondelete="RESTRICT"), nullable=False
    )
    model_id = db.Column(
        db.Integer, db.ForeignKey("asset_models.id", ondelete="RESTRICT"), nullable=True
    )
    description = db.Column(db.String(300), nullable=False, default="")
    quantity = db.Column(db.Integer, nullable=False)
    estimated_unit_cost = db.Column(db.Numeric(12, 2), nullable=False)  # INR
    actual_unit_cost = db.Column(db.Numeric(12, 2), nullable=True)  # INR, set with the order

    request = db.relationship("ProcurementRequest", back_populates="lines")
    category = db.relationship("Category")
    model = db.relationship("AssetModel")
    destinations = db.relationship(
        "LineDestination",
        back_populates="line",
        cascade="all, delete-orphan",
        order_by="LineDestination.id",
    )

    @property
    def estimated_total(self) -> Decimal:
        return Decimal(self.quantity or 0) * Decimal(self.estimated_unit_cost or 0)

    @property
    def actual_total(self) -> Decimal | None:
        if self.actual_unit_cost is None:
            return None
        return Decimal(self.quantity or 0) * Decimal(self.actual_unit_cost)

    def audit_label(self) -> str:
        number = self.request.number if self.request else self.request_id
        return f"{number} · {self.position}"

    def __str__(self) -> str:
        return self.description or (self.category.name if self.category else "")


class LineDestination(Audited, db.Model):
    """How many of a line go to one site (a line's destinations add up to its quantity)."""

    __tablename__ = "procurement_line_destinations"
    __table_args__ = (
        db.UniqueConstraint("line_id", "site_id"),
        db.CheckConstraint("quantity > 0", name="quantity"),
    )

    id = db.Column(db.Integer, primary_key=True)
    line_id = db.Column(
        db.Integer,
        db.ForeignKey("procurement_lines.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    site_id = db.Column(
        db.Integer, db.ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    quantity = db.Column(db.Integer, nullable=False)

    line = db.relationship("RequestLine", back_populates="destinations")
    site = db.relationship("Site")

    def audit_label(self) -> str:
        line = self.line.audit_label() if self.line else str(self.line_id)
        return f"{line} @ {self.site.code if self.site else self.site_id}"


class RequestAttachment(db.Model):
    """A quotation, sanction letter or other paper (the bytes live in inventory.files)."""

    __tablename__ = "procurement_attachments"

    id = db.Column(db.Integer, primary_key=True)
    request_id = db.Column(
        db.Integer,
        db.ForeignKey("procurement_requests.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    stored_file_id = db.Column(
        db.Integer, db.ForeignKey("stored_files.id", ondelete="RESTRICT"), nullable=False
    )
    kind = db.Column(
        db.String(16), nullable=False, default=ProcurementAttachmentKind.QUOTATION.value
    )
    uploaded_by_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)

    request = db.relationship("ProcurementRequest", back_populates="attachments")
    file = db.relationship("StoredFile", lazy="joined")
    uploaded_by = db.relationship("User")


class ApprovalAction(db.Model):
    """One step of the workflow: what (ProcurementAction), at which level, by whom, when, why."""

    __tablename__ = "procurement_actions"

    id = db.Column(db.Integer, primary_key=True)
    request_id = db.Column(
        db.Integer,
        db.ForeignKey("procurement_requests.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    action = db.Column(db.String(20), nullable=False)
    level_position = db.Column(db.Integer, nullable=True)
    level_name = db.Column(db.String(80), nullable=False, default="")  # as it was named then
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    remark = db.Column(db.Text, nullable=False, default="")
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)

    request = db.relationship("ProcurementRequest", back_populates="actions")
    actor = db.relationship("User")
