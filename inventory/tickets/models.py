"""The maintenance ticket, its comments and attachments, and the SLA table.

A ticket names a site (always) and an asset (when the fault is on one). `open_key` is what
keeps the system from opening a second ticket for the same asset and cause while one is
still open: it holds "<asset id>:<cause>" while the ticket is open and NULL afterwards, and
it is unique (NULLs never collide), so two sweeps racing to open the same ticket cannot both
succeed, on SQLite and PostgreSQL alike.

History: the ticket's own columns are Audited (every change, with who and when, is in the
change log). Comments and attachments are never edited or deleted, so each row is its own
record; the ticket page merges the three into one timeline.
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
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    assignee_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    vendor_id = db.Column(
        db.Integer, db.ForeignKey("vendors.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    vendor_engineer = db.Column(db.String(120), nullable=False, default="")
    opened_at = db.Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    # Fixed when the ticket opens: opened_at + the SLA days of its priority then.
    due_at = db.Column(UTCDateTime(), nullable=False, index=True)
    resolved_at = db.Column(UTCDateTime(), nullable=True, index=True)
    # When it was closed or cancelled (it left the work queue for good).
    closed_at = db.Column(UTCDateTime(), nullable=True)
    # What opened it when the system did ("health:down", "pm:<plan id>"); "" for people.
    cause = db.Column(db.String(64), nullable=False, default="")
    open_key = db.Column(db.String(96), nullable=True, unique=True)
    # This ticket set its asset "under repair" (so resolving it may set it back to deployed).
    repair_marked = db.Column(db.Boolean, nullable=False, default=False)

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

    @property
    def has_assignee(self) -> bool:
        return self.assignee_id is not None or self.vendor_id is not None

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < (now or utcnow())

    def audit_label(self) -> str:
        return self.number

    def __str__(self) -> str:
        return self.number


# The lists: open tickets by due date (overdue), and the default "newest first" order.
db.Index("ix_tickets_status_due", Ticket.status, Ticket.due_at)
db.Index("ix_tickets_site_status", Ticket.site_id, Ticket.status)


class TicketComment(db.Model):
    """A note on a ticket: typed by a person, or written by the system (is_system).

    `event_key` names the event a system note is about ("recovered:2025-06-01T10:00:00"), so
    that the same event is noted once however many jobs notice it at the same moment.
    """

    __tablename__ = "ticket_comments"
    __table_args__ = (db.UniqueConstraint("ticket_id", "event_key"),)

    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(
        db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    author_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    body = db.Column(db.Text, nullable=False)
    is_system = db.Column(db.Boolean, nullable=False, default=False)
    event_key = db.Column(db.String(120), nullable=True)
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)

    ticket = db.relationship("Ticket")
    author = db.relationship("User")


class TicketAttachment(db.Model):
    """A photo or PDF on a ticket (the bytes and their checks live in inventory.files)."""

    __tablename__ = "ticket_attachments"

    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(
        db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    file_id = db.Column(
        db.Integer, db.ForeignKey("stored_files.id", ondelete="RESTRICT"), nullable=False
    )
    uploaded_by_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)

    ticket = db.relationship("Ticket")
    file = db.relationship("StoredFile", lazy="joined")
    uploaded_by = db.relationship("User")


class TicketSla(Audited, Timestamped, db.Model):
    """Days from opening to the due date for one priority, as an administrator set them.

    A priority without a row uses TICKET_SLA_DAYS[priority], else TICKET_SLA_DEFAULT_DAYS.
    """

    __tablename__ = "ticket_sla"

    id = db.Column(db.Integer, primary_key=True)
    priority = db.Column(db.String(16), nullable=False, unique=True)
    days = db.Column(db.Integer, nullable=False)

    def audit_label(self) -> str:
        return f"SLA {self.priority}"
