"""Physical verification (stock-take) of a site: the visit and every scan made during it.

A visit covers one site only (not the sites below it): the assets registered at that site
that are not condemned are what it expects to find. While a visit is in progress
`open_site_id` holds its site's id; the column is unique (NULLs never collide), so a second
visit in progress at the same site cannot be created, on SQLite and PostgreSQL alike.

A scan is identified by the `client_id` the browser gave it (a UUID made per scan): unique
per visit, so a scan sent twice (a retry after a lost answer, a replayed offline queue) is
stored once. `count_key` ("a:<asset id>" or "t:<tag>") is set on the first scan of an asset
or unknown tag in the visit and unique per visit, so a second scan of the same asset is
stored with the outcome "duplicate" and never counted twice, even when two phones race.
"""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.choices import ScanOutcome, VisitStatus
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime, utcnow


class VerificationVisit(Audited, Timestamped, db.Model):
    __tablename__ = "verification_visits"

    id = db.Column(db.Integer, primary_key=True)
    # A site that is deleted takes its visit records with it (a site can only be deleted
    # once it holds no assets and no sites).
    site_id = db.Column(
        db.Integer, db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status = db.Column(db.String(16), nullable=False, default=VisitStatus.IN_PROGRESS.value)
    open_site_id = db.Column(db.Integer, nullable=True, unique=True)
    started_by_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    started_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    finished_by_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    finished_at = db.Column(UTCDateTime(), nullable=True, index=True)
    notes = db.Column(db.Text, nullable=False, default="")
    # The saved report (set when the visit is finished): counts, and the lists as they
    # were then (tags, categories and sites frozen as plain values).
    expected_count = db.Column(db.Integer, nullable=True)
    found_count = db.Column(db.Integer, nullable=True)
    missing_count = db.Column(db.Integer, nullable=True)
    unexpected_count = db.Column(db.Integer, nullable=True)
    unknown_count = db.Column(db.Integer, nullable=True)
    report = db.Column(db.JSON, nullable=True)

    site = db.relationship("Site")
    started_by = db.relationship("User", foreign_keys=[started_by_id])
    finished_by = db.relationship("User", foreign_keys=[finished_by_id])
    scans = db.relationship(
        "VisitScan",
        back_populates="visit",
        order_by="VisitScan.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="dynamic",
    )

    __audit_exclude__ = ("created_at", "updated_at", "open_site_id", "report")

    @property
    def is_open(self) -> bool:
        return self.status == VisitStatus.IN_PROGRESS.value

    @property
    def number(self) -> str:
        return f"V-{self.id:06d}" if self.id else "V-new"

    def audit_label(self) -> str:
        return self.number

    def __str__(self) -> str:
        return self.number


# The site page's past visits and the "not verified" report read the newest finished visit.
db.Index(
    "ix_verification_visits_site_status",
    VerificationVisit.site_id,
    VerificationVisit.status,
    VerificationVisit.finished_at,
)


class VisitScan(db.Model):
    __tablename__ = "verification_scans"
    __table_args__ = (
        db.UniqueConstraint("visit_id", "client_id"),
        db.UniqueConstraint("visit_id", "count_key"),
    )

    id = db.Column(db.Integer, primary_key=True)
    visit_id = db.Column(
        db.Integer,
        db.ForeignKey("verification_visits.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    client_id = db.Column(db.String(36), nullable=False)
    tag = db.Column(db.String(64), nullable=False)  # as scanned, normalised
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    outcome = db.Column(db.String(16), nullable=False, default=ScanOutcome.UNKNOWN.value)
    count_key = db.Column(db.String(80), nullable=True)
    # Where an unexpected asset was registered when it was scanned.
    registered_site_id = db.Column(
        db.Integer, db.ForeignKey("sites.id", ondelete="SET NULL"), nullable=True
    )
    moved_here = db.Column(db.Boolean, nullable=False, default=False)
    scanned_at = db.Column(UTCDateTime(), nullable=False)  # the phone's clock, kept sane
    received_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    scanned_by_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )

    visit = db.relationship("VerificationVisit", back_populates="scans")
    asset = db.relationship("Asset")
    registered_site = db.relationship("Site")
    scanned_by = db.relationship("User")

    def __str__(self) -> str:
        return self.tag
