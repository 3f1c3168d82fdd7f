"""Network devices managed over SSH: which assets, their pinned host keys, the last result
of a collection (facts) and the configuration backups with their events.

- `SshDevice`: an asset managed over SSH (device type, port, enabled). Credentials come
  from the asset's credentials profile (SSH user + ssh_password, and ssh_enable_secret for
  Cisco enable), the address from its management address.
- `SshHostKey`: the host key trusted on first use; a different key presented later is kept
  in `pending_key` until an administrator accepts it (history records who).
- `SshCheck`: the last collection's outcome, error and facts (one row per asset).
- `ConfigVersion`: a stored configuration, normalised (volatile lines dropped); `number`
  is unique per asset, so two runs that race store one version.
- `ConfigEvent`: what happened to the device worth showing (first backup, config changed,
  host key changed, host key accepted).
"""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.choices import NetconfigEventKind, SshDeviceType
from inventory.extensions import db
from inventory.models_base import Timestamped, UTCDateTime, utcnow


class SshDevice(Audited, Timestamped, db.Model):
    __tablename__ = "ssh_devices"
    __audit_exclude__ = ("created_at", "updated_at", "last_attempt_at", "last_backup_at")

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    device_type = db.Column(db.String(16), nullable=False, default=SshDeviceType.CISCO_IOS.value)
    port = db.Column(db.Integer, nullable=False, default=22, server_default="22")
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    last_attempt_at = db.Column(UTCDateTime(), nullable=True)
    last_backup_at = db.Column(UTCDateTime(), nullable=True, index=True)

    asset = db.relationship("Asset")

    def audit_label(self) -> str:
        return f"SSH {self.asset.tag if self.asset else self.asset_id}"


class SshHostKey(Audited, Timestamped, db.Model):
    __tablename__ = "ssh_host_keys"
    __audit_exclude__ = ("created_at", "updated_at", "last_seen", "pending_seen")

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    key = db.Column(db.Text, nullable=False)
    fingerprint = db.Column(db.String(80), nullable=False)
    first_seen = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    pending_key = db.Column(db.Text, nullable=True)
    pending_fingerprint = db.Column(db.String(80), nullable=True)
    pending_seen = db.Column(UTCDateTime(), nullable=True)

    def audit_label(self) -> str:
        return f"host key {self.fingerprint}"


class SshCheck(db.Model):
    __tablename__ = "ssh_checks"

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    checked_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    outcome = db.Column(db.String(24), nullable=False)
    error = db.Column(db.Text, nullable=False, default="")
    elapsed = db.Column(db.Float, nullable=False, default=0.0)
    model = db.Column(db.String(255), nullable=True)
    serial = db.Column(db.String(255), nullable=True)
    os_version = db.Column(db.String(255), nullable=True)
    uptime_seconds = db.Column(db.BigInteger, nullable=True)
    hostname = db.Column(db.String(255), nullable=True)
    # When facts were last read (a failed run keeps the previous facts).
    facts_at = db.Column(UTCDateTime(), nullable=True)


class ConfigVersion(db.Model):
    __tablename__ = "config_versions"
    __table_args__ = (db.UniqueConstraint("asset_id", "number", name="uq_config_versions_number"),)

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number = db.Column(db.Integer, nullable=False)
    fetched_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    sha256 = db.Column(db.String(64), nullable=False)
    text = db.Column(db.Text, nullable=False)
    size = db.Column(db.Integer, nullable=False)


class ConfigEvent(db.Model):
    __tablename__ = "config_events"

    id = db.Column(db.Integer, primary_key=True)
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at = db.Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    kind = db.Column(db.String(24), nullable=False, default=NetconfigEventKind.CONFIG_CHANGED.value)
    version_id = db.Column(
        db.Integer, db.ForeignKey("config_versions.id", ondelete="SET NULL"), nullable=True
    )
    detail = db.Column(db.Text, nullable=False, default="")

    version = db.relationship("ConfigVersion")
    asset = db.relationship("Asset")
