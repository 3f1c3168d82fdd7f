"""Sweep runs, the lease that keeps sweeps from overlapping, device state, samples, events."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from inventory.extensions import db
from inventory.models_base import UTCDateTime, utcnow

_TWO_63 = 2**63
_TWO_64 = 2**64


class Counter64Type(TypeDecorator):
    """NUMERIC(20, 0) holding an exact unsigned 64-bit counter as a Python int.

    PostgreSQL stores it as is. SQLite's NUMERIC would go through a float (exact only
    to 2**53) and cannot hold 2**63 or more at all, so there the value is kept as the
    signed 64-bit integer with the same bits and turned back on reading. Compare and
    aggregate counters in Python, not in SQL.
    """

    impl = sa.Numeric(20, 0)
    cache_ok = True

    def coerce_compared_value(self, op, value):
        return self

    def bind_processor(self, dialect):
        sqlite = dialect.name == "sqlite"

        def process(value):
            if value is None:
                return None
            value = int(value)
            return value - _TWO_64 if sqlite and value >= _TWO_63 else value

        return process

    def result_processor(self, dialect, coltype):
        sqlite = dialect.name == "sqlite"

        def process(value):
            if value is None:
                return None
            value = int(value)
            return value + _TWO_64 if sqlite and value < 0 else value

        return process


# 64-bit SNMP counters go up to 2**64 - 1, past a signed BIGINT.
Counter64 = Counter64Type()


class SweepRun(db.Model):
    """One sweep: when it ran, over how many devices, and how many answered."""

    __tablename__ = "sweep_runs"

    id = db.Column(db.Integer, primary_key=True)
    started_at = db.Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    finished_at = db.Column(UTCDateTime(), nullable=True)
    status = db.Column(db.String(12), nullable=False, default="running")
    trigger = db.Column(db.String(12), nullable=False, default="schedule")
    scope = db.Column(db.String(80), nullable=False, default="")
    holder = db.Column(db.String(120), nullable=False, default="")
    targets = db.Column(db.Integer, nullable=False, default=0)
    ok = db.Column(db.Integer, nullable=False, default=0)
    failed = db.Column(db.Integer, nullable=False, default=0)
    duration_ms = db.Column(db.Integer, nullable=True)
    message = db.Column(db.String(500), nullable=False, default="")


class Lease(db.Model):
    """A named lock with an expiry: held by one process at a time, lost if it dies."""

    __tablename__ = "leases"

    name = db.Column(db.String(40), primary_key=True)
    holder = db.Column(db.String(120), nullable=False, default="")
    expires_at = db.Column(UTCDateTime(), nullable=False)


class AssetHealth(db.Model):
    """The latest known state of one monitored asset."""

    __tablename__ = "asset_health"

    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    state = db.Column(db.String(8), nullable=False, default="unknown", index=True)
    state_since = db.Column(UTCDateTime(), nullable=True)
    consecutive_failures = db.Column(db.Integer, nullable=False, default=0)
    last_polled_at = db.Column(UTCDateTime(), nullable=True)
    last_ok_at = db.Column(UTCDateTime(), nullable=True)
    next_due_at = db.Column(UTCDateTime(), nullable=True, index=True)
    last_outcome = db.Column(db.String(12), nullable=False, default="")
    last_error = db.Column(db.String(500), nullable=False, default="")
    uptime_seconds = db.Column(db.BigInteger, nullable=True)
    sys_name = db.Column(db.String(255), nullable=False, default="")
    sys_descr = db.Column(db.String(1000), nullable=False, default="")
    sys_object_id = db.Column(db.String(255), nullable=False, default="")
    sys_location = db.Column(db.String(255), nullable=False, default="")
    sys_contact = db.Column(db.String(255), nullable=False, default="")
    entity_model = db.Column(db.String(255), nullable=False, default="")
    entity_serial = db.Column(db.String(255), nullable=False, default="")
    cpu_pct = db.Column(db.Float, nullable=True)
    mem_pct = db.Column(db.Float, nullable=True)
    storage_pct = db.Column(db.Float, nullable=True)
    battery_pct = db.Column(db.Float, nullable=True)
    battery_status = db.Column(db.Integer, nullable=True)
    battery_minutes = db.Column(db.Integer, nullable=True)
    toner_pct = db.Column(db.Float, nullable=True)
    supplies = db.Column(db.JSON, nullable=False, default=list)
    storage = db.Column(db.JSON, nullable=False, default=list)

    asset = db.relationship("Asset", backref=db.backref("health", uselist=False, lazy="select"))


class InterfaceState(db.Model):
    """One interface of a device as last polled, with the counters for the next rate."""

    __tablename__ = "interface_states"

    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    if_index = db.Column(db.Integer, primary_key=True, autoincrement=False)
    name = db.Column(db.String(255), nullable=False, default="")
    descr = db.Column(db.String(255), nullable=False, default="")
    alias = db.Column(db.String(255), nullable=False, default="")
    admin_status = db.Column(db.Integer, nullable=True)
    oper_status = db.Column(db.Integer, nullable=True)
    speed_bps = db.Column(db.BigInteger, nullable=True)
    counter_bits = db.Column(db.Integer, nullable=False, default=32)
    in_octets = db.Column(Counter64, nullable=True)
    out_octets = db.Column(Counter64, nullable=True)
    counters_at = db.Column(UTCDateTime(), nullable=True)
    uptime_seconds = db.Column(db.BigInteger, nullable=True)  # device uptime at counters_at
    in_bps = db.Column(db.Float, nullable=True)
    out_bps = db.Column(db.Float, nullable=True)
    in_errors = db.Column(Counter64, nullable=True)
    out_errors = db.Column(Counter64, nullable=True)
    in_discards = db.Column(Counter64, nullable=True)
    out_discards = db.Column(Counter64, nullable=True)
    updated_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)


class HealthSample(db.Model):
    """Device-level figures from one successful poll (kept raw for HEALTH_RAW_DAYS)."""

    __tablename__ = "health_samples"

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False)
    at = db.Column(UTCDateTime(), nullable=False)
    cpu_pct = db.Column(db.Float, nullable=True)
    mem_pct = db.Column(db.Float, nullable=True)
    storage_pct = db.Column(db.Float, nullable=True)
    battery_pct = db.Column(db.Float, nullable=True)
    toner_pct = db.Column(db.Float, nullable=True)

    __table_args__ = (db.Index("ix_health_samples_asset_at", "asset_id", "at"),)


class InterfaceSample(db.Model):
    """In and out bit rates of one interface between two polls (raw)."""

    __tablename__ = "interface_samples"

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False)
    if_index = db.Column(db.Integer, nullable=False)
    at = db.Column(UTCDateTime(), nullable=False)
    in_bps = db.Column(db.Float, nullable=True)
    out_bps = db.Column(db.Float, nullable=True)

    __table_args__ = (db.Index("ix_interface_samples_asset_at", "asset_id", "if_index", "at"),)


class HealthHourly(db.Model):
    """One hour of one device: polls, answers (availability) and figures (kept a year)."""

    __tablename__ = "health_hourly"

    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    hour = db.Column(UTCDateTime(), primary_key=True)
    polls = db.Column(db.Integer, nullable=False, default=0)
    ok_polls = db.Column(db.Integer, nullable=False, default=0)
    cpu_avg = db.Column(db.Float, nullable=True)
    cpu_max = db.Column(db.Float, nullable=True)
    mem_avg = db.Column(db.Float, nullable=True)
    mem_max = db.Column(db.Float, nullable=True)
    storage_max = db.Column(db.Float, nullable=True)
    battery_min = db.Column(db.Float, nullable=True)
    toner_min = db.Column(db.Float, nullable=True)


class InterfaceHourly(db.Model):
    """One hour of one interface's traffic (kept a year)."""

    __tablename__ = "interface_hourly"

    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    if_index = db.Column(db.Integer, primary_key=True, autoincrement=False)
    hour = db.Column(UTCDateTime(), primary_key=True)
    samples = db.Column(db.Integer, nullable=False, default=0)
    in_avg = db.Column(db.Float, nullable=True)
    in_max = db.Column(db.Float, nullable=True)
    out_avg = db.Column(db.Float, nullable=True)
    out_max = db.Column(db.Float, nullable=True)


class HealthEvent(db.Model):
    """A device went down or came back up."""

    __tablename__ = "health_events"

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(8), nullable=False)  # "down" or "up"
    at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    message = db.Column(db.String(500), nullable=False, default="")

    __table_args__ = (db.Index("ix_health_events_asset_at", "asset_id", "at"),)


class SweepResult(db.Model):
    """The one recorded outcome of one target in one sweep (kept HEALTH_RAW_DAYS)."""

    __tablename__ = "sweep_results"

    run_id = db.Column(
        db.Integer, db.ForeignKey("sweep_runs.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    outcome = db.Column(db.String(12), nullable=False)
    message = db.Column(db.String(500), nullable=False, default="")
    elapsed_ms = db.Column(db.Integer, nullable=True)
