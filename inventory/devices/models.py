"""Projectors over PJLink and VC endpoints: their latest state, a short history, test calls.

History: one ProjectorSample per poll and one VcCheck per reachability check (not
HealthSample, whose columns are SNMP figures), and per device and hour how many readings
there were and how many were good (VcHourly, ProjectorHourly: recomputed from the raw rows
each time some are recorded), all trimmed after DEVICES_KEEP_DAYS, so that readiness over
the last 30 days is computed from what was recorded without reading every raw row.
"""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime, utcnow


def _asset_key():
    return db.Column(db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)


class ProjectorState(db.Model):
    """The latest PJLink poll of one projector. A failed poll keeps the last readings
    (lamp hours stay known for maintenance plans) and says what went wrong."""

    __tablename__ = "projector_states"

    asset_id = _asset_key()
    polled_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    outcome = db.Column(db.String(20), nullable=False)  # probes.base.Outcome values
    last_ok_at = db.Column(UTCDateTime(), nullable=True)
    power = db.Column(db.String(10), nullable=True)  # off, on, cooling, warming
    lamp_hours = db.Column(db.Integer, nullable=True)  # the most of any lamp
    lamps = db.Column(db.JSON, nullable=False, default=list)  # [{"hours": 1520, "on": true}]
    errors = db.Column(db.JSON, nullable=False, default=dict)  # {"fan": "ok", ...}
    input = db.Column(db.String(8), nullable=True)
    name = db.Column(db.String(64), nullable=True)
    manufacturer = db.Column(db.String(64), nullable=True)
    model = db.Column(db.String(64), nullable=True)
    pjlink_class = db.Column(db.String(1), nullable=True)
    error = db.Column(db.String(500), nullable=False, default="")

    asset = db.relationship("Asset")

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def problems(self) -> dict[str, str]:
        return {k: v for k, v in (self.errors or {}).items() if v != "ok"}


class ProjectorSample(db.Model):
    """One poll of a projector (history for readiness over time)."""

    __tablename__ = "projector_samples"

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False)
    at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    outcome = db.Column(db.String(20), nullable=False)
    power = db.Column(db.String(10), nullable=True)
    lamp_hours = db.Column(db.Integer, nullable=True)
    worst_error = db.Column(db.String(8), nullable=True)  # ok, warning, error (None: unread)


db.Index("ix_projector_samples_asset_at", ProjectorSample.asset_id, ProjectorSample.at)
db.Index("ix_projector_samples_at", ProjectorSample.at)


class VcReachability(db.Model):
    """The latest TCP reachability check of one VC endpoint."""

    __tablename__ = "vc_reachability"

    asset_id = _asset_key()
    checked_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    reachable = db.Column(db.Boolean, nullable=False, default=False)
    ports = db.Column(db.JSON, nullable=False, default=list)  # the ports tried
    open_ports = db.Column(db.JSON, nullable=False, default=list)
    last_reachable_at = db.Column(UTCDateTime(), nullable=True)
    error = db.Column(db.String(500), nullable=False, default="")

    asset = db.relationship("Asset")


class VcCheck(db.Model):
    """One reachability check of a VC endpoint (history for readiness over time)."""

    __tablename__ = "vc_checks"

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False)
    at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    reachable = db.Column(db.Boolean, nullable=False)
    open_ports = db.Column(db.JSON, nullable=False, default=list)


db.Index("ix_vc_checks_asset_at", VcCheck.asset_id, VcCheck.at)
db.Index("ix_vc_checks_at", VcCheck.at)


class _Hourly:
    """One device's readings in one UTC hour: how many, and how many were good."""

    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    hour = db.Column(UTCDateTime(), primary_key=True)
    readings = db.Column(db.Integer, nullable=False, default=0)
    good = db.Column(db.Integer, nullable=False, default=0)


class VcHourly(_Hourly, db.Model):
    """VC reachability checks per hour; good = reachable."""

    __tablename__ = "vc_hourly"


class ProjectorHourly(_Hourly, db.Model):
    """PJLink polls per hour; good = answered with no error-level fault."""

    __tablename__ = "projector_hourly"


db.Index("ix_vc_hourly_hour", VcHourly.hour)
db.Index("ix_projector_hourly_hour", ProjectorHourly.hour)


class VcTestCall(Audited, Timestamped, db.Model):
    """A test call made from a VC endpoint, logged by staff with its result."""

    __tablename__ = "vc_test_calls"

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False)
    site_id = db.Column(
        db.Integer, db.ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    at = db.Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    result = db.Column(db.String(10), nullable=False)  # choices.TestCallResult
    remarks = db.Column(db.Text, nullable=False, default="")
    logged_by_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )

    asset = db.relationship("Asset")
    site = db.relationship("Site")
    logged_by = db.relationship("User")

    def audit_label(self) -> str:
        return f"{self.result} {self.at:%Y-%m-%d %H:%M}"


db.Index("ix_vc_test_calls_asset_at", VcTestCall.asset_id, VcTestCall.at)
