"""One uploaded file: its metadata here, its bytes in UPLOAD_FOLDER under its SHA-256."""

from __future__ import annotations

from inventory.extensions import db
from inventory.models_base import UTCDateTime, utcnow

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


class StoredFile(db.Model):
    """An upload. Several rows may share one blob (same bytes, same sha256)."""

    __tablename__ = "stored_files"

    id = db.Column(db.Integer, primary_key=True)
    sha256 = db.Column(db.String(64), nullable=False, index=True)
    original_name = db.Column(db.String(255), nullable=False)
    content_type = db.Column(db.String(100), nullable=False)  # sniffed, never the client's
    size = db.Column(db.Integer, nullable=False)  # bytes stored
    uploaded_by_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)

    uploaded_by = db.relationship("User")

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"

    def __str__(self) -> str:
        return self.original_name
