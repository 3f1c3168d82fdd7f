"""The inspection checklist, inspections and their answers."""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime, utcnow


class ChecklistItem(Audited, Timestamped, db.Model):
    """One question of the checklist. An item that answers refer to is deactivated, not deleted."""

    __tablename__ = "inspection_checklist_items"

    id = db.Column(db.Integer, primary_key=True)
    text_en = db.Column(db.String(300), nullable=False)
    text_hi = db.Column(db.String(300), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)
    position = db.Column(db.Integer, nullable=False, default=0)

    def text(self, locale: str = "en") -> str:
        if locale == "hi" and self.text_hi:
            return self.text_hi
        return self.text_en

    name = text  # so that web.localized() works on an item too

    def audit_label(self) -> str:
        return self.text_en

    def __str__(self) -> str:
        return self.text_en


class Inspection(Audited, Timestamped, db.Model):
    """A visit to a site by an inspector: checklist answers, remarks, feedback, photo, location."""

    __tablename__ = "inspections"

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(
        db.Integer, db.ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    inspector_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    inspected_at = db.Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    remarks = db.Column(db.Text, nullable=False, default="")
    feedback = db.Column(db.Text, nullable=False, default="")
    photo_id = db.Column(
        db.Integer, db.ForeignKey("stored_files.id", ondelete="SET NULL"), nullable=True
    )
    # The browser's location, when the inspector allowed it (WGS84 degrees, metres).
    latitude = db.Column(db.Float, nullable=True)
    longitude = db.Column(db.Float, nullable=True)
    accuracy_m = db.Column(db.Float, nullable=True)

    site = db.relationship("Site")
    inspector = db.relationship("User")
    photo = db.relationship("StoredFile")
    answers = db.relationship(
        "InspectionAnswer",
        back_populates="inspection",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (db.Index("ix_inspections_inspector_time", "inspector_id", "inspected_at"),)

    @property
    def number(self) -> str:
        return f"I-{self.id:06d}" if self.id else "I-new"

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def audit_label(self) -> str:
        return self.number

    def __str__(self) -> str:
        return self.number


class InspectionAnswer(Audited, db.Model):
    """The answer to one checklist item in one inspection: yes, no or not applicable, and a note."""

    __tablename__ = "inspection_answers"

    id = db.Column(db.Integer, primary_key=True)
    inspection_id = db.Column(
        db.Integer, db.ForeignKey("inspections.id", ondelete="CASCADE"), nullable=False
    )
    item_id = db.Column(
        db.Integer,
        db.ForeignKey("inspection_checklist_items.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    )
    answer = db.Column(db.String(8), nullable=False)  # an InspectionAnswerValue
    note = db.Column(db.String(500), nullable=False, default="")

    inspection = db.relationship("Inspection", back_populates="answers")
    item = db.relationship("ChecklistItem")

    __table_args__ = (db.UniqueConstraint("inspection_id", "item_id"),)

    def audit_label(self) -> str:
        number = f"I-{self.inspection_id:06d}" if self.inspection_id else "I-new"
        return f"{number}: {self.item.text_en if self.item else self.item_id}"
