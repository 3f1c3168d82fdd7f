"""In-app notifications and the email outbox.

A `Notification` is one item in one user's bell. `dedupe_key` (unique per user, NULLs never
collide) is what makes the periodic jobs notify exactly once: "due_soon:<ticket>:<due>",
"overdue:<ticket>:<due>", "digest:<date>"; the insert runs in a SAVEPOINT and a unique
violation means somebody (another run, another scheduler) already did it.

An `OutboxEmail` is one message to send. `notify()` writes it in the caller's transaction and
never talks to the network; `jobs.send_outbox` claims due rows with a conditional UPDATE (a
claim token and a lease, so two senders never take the same row and a dead sender's claim
lapses), sends them over one SMTP connection and records the outcome.
"""

from __future__ import annotations

from inventory.choices import NotificationKind, OutboxStatus
from inventory.extensions import db
from inventory.models_base import UTCDateTime, utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        db.UniqueConstraint("user_id", "dedupe_key"),
        # The bell: COUNT(*) WHERE user_id = ? AND read_at IS NULL; the list: by user, newest.
        db.Index("ix_notifications_user_unread", "user_id", "read_at", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(32), nullable=False, default=NotificationKind.TICKET_ASSIGNED.value)
    subject = db.Column(db.String(255), nullable=False)
    body = db.Column(db.Text, nullable=False, default="")
    url = db.Column(db.String(500), nullable=False, default="")  # a path inside the app
    ticket_id = db.Column(
        db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=True, index=True
    )
    dedupe_key = db.Column(db.String(120), nullable=True)
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    read_at = db.Column(UTCDateTime(), nullable=True)

    user = db.relationship("User")
    ticket = db.relationship("Ticket")

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def __str__(self) -> str:
        return self.subject


class OutboxEmail(db.Model):
    __tablename__ = "outbox_emails"
    __table_args__ = (db.Index("ix_outbox_emails_due", "status", "next_attempt_at"),)

    id = db.Column(db.Integer, primary_key=True)
    notification_id = db.Column(
        db.Integer, db.ForeignKey("notifications.id", ondelete="SET NULL"), nullable=True
    )
    user_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    to_address = db.Column(db.String(255), nullable=False)
    subject = db.Column(db.String(255), nullable=False)
    body = db.Column(db.Text, nullable=False)
    status = db.Column(db.String(16), nullable=False, default=OutboxStatus.PENDING.value)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    last_error = db.Column(db.String(500), nullable=False, default="")  # never a secret
    next_attempt_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    # Set by the sender that claimed the row; the claim lapses at lease_until.
    claim_token = db.Column(db.String(32), nullable=True)
    lease_until = db.Column(UTCDateTime(), nullable=True)
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at = db.Column(UTCDateTime(), nullable=True)

    def __str__(self) -> str:
        return f"{self.to_address}: {self.subject}"
