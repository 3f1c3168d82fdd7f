"""The credentials profile: non-secret settings in columns, secrets in one Fernet token."""

from __future__ import annotations

from inventory.audit.models import Audited
from inventory.choices import SnmpAuthProtocol, SnmpPrivProtocol, SnmpVersion
from inventory.extensions import db
from inventory.models_base import Timestamped

SECRET_FIELDS = (
    "snmp_community",
    "snmp_auth_key",
    "snmp_priv_key",
    "ssh_password",
    "ssh_enable_secret",
    "pjlink_password",
)


class CredentialProfile(Audited, Timestamped, db.Model):
    """How to talk to a device: SNMP v1/v2c community or v3 user, and an SSH login.

    The secret parts (community, v3 keys, SSH password, the optional Cisco enable secret,
    PJLink password) live only in `secrets_token`, encrypted with a key kept outside the
    database.
    """

    __tablename__ = "credential_profiles"
    __audit_redact__ = ("secrets_token",)

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True)
    description = db.Column(db.String(255), nullable=False, default="")
    snmp_version = db.Column(db.String(8), nullable=False, default=SnmpVersion.V2C.value)
    snmp_port = db.Column(db.Integer, nullable=False, default=161, server_default="161")
    snmp_username = db.Column(db.String(64), nullable=False, default="")
    snmp_auth_protocol = db.Column(
        db.String(8), nullable=False, default=SnmpAuthProtocol.NONE.value
    )
    snmp_priv_protocol = db.Column(
        db.String(8), nullable=False, default=SnmpPrivProtocol.NONE.value
    )
    ssh_username = db.Column(db.String(64), nullable=False, default="")
    secrets_token = db.Column(db.Text, nullable=False, default="")
    # Which secrets are set, so pages can say "set" without decrypting anything.
    secrets_set = db.Column(db.JSON, nullable=False, default=list)

    def has_secret(self, field: str) -> bool:
        return field in (self.secrets_set or [])

    def __str__(self) -> str:
        return self.name
