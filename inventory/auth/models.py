"""Users of the society's register and their login sessions."""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import UserMixin

from inventory.audit.models import Audited
from inventory.choices import Role
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime, utcnow


class User(Audited, Timestamped, UserMixin, db.Model):
    """A person who signs in: DeGS staff, a field engineer, the DM's office."""

    __tablename__ = "users"
    __audit_exclude__ = (
        "created_at",
        "updated_at",
        "failed_logins",
        "locked_until",
        "last_login_at",
    )
    __audit_redact__ = ("password_hash",)

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), nullable=False, unique=True)
    full_name = db.Column(db.String(120), nullable=False, default="")
    email = db.Column(db.String(255), nullable=False, default="")
    phone = db.Column(db.String(20), nullable=False, default="")
    # Notifications by email (when SMTP is configured and `email` is set), and the daily digest.
    notify_email = db.Column(db.Boolean, nullable=False, default=True, server_default=sa.true())
    notify_digest = db.Column(db.Boolean, nullable=False, default=True, server_default=sa.true())
    password_hash = db.Column(db.String(255), nullable=False)
    role = db.Column(db.String(16), nullable=False, default=Role.VIEWER.value)
    locale = db.Column(db.String(5), nullable=False, default="hi")
    is_active = db.Column(db.Boolean, nullable=False, default=True)
    failed_logins = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(UTCDateTime(), nullable=True)
    last_login_at = db.Column(UTCDateTime(), nullable=True)

    sessions = db.relationship(
        "UserSession", back_populates="user", cascade="all, delete-orphan", lazy="dynamic"
    )

    # The login session this request authenticated with (not a column).
    session_token = None

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def has_role(self, minimum: Role | str) -> bool:
        return self.role_enum.at_least(minimum)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def __str__(self) -> str:
        return self.username


class UserSession(db.Model):
    """One signed-in browser. Logging out deletes it; disabling the user deletes all."""

    __tablename__ = "user_sessions"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    ip_address = db.Column(db.String(45), nullable=False, default="")
    user_agent = db.Column(db.String(255), nullable=False, default="")

    user = db.relationship("User", back_populates="sessions")
