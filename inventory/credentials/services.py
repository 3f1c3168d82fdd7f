"""Saving credentials profiles: secrets are encrypted before they reach the database."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import crypto
from inventory.choices import SnmpAuthProtocol, SnmpPrivProtocol, SnmpVersion
from inventory.credentials.models import SECRET_FIELDS, CredentialProfile
from inventory.extensions import db


class CredentialError(ValueError):
    """A profile that cannot be saved as given; the message is shown to the user."""


PLAIN_FIELDS = (
    "name",
    "description",
    "snmp_version",
    "snmp_port",
    "snmp_username",
    "snmp_auth_protocol",
    "snmp_priv_protocol",
    "ssh_username",
)


def _validate(profile: CredentialProfile, secrets: dict[str, str]) -> None:
    clash = db.session.scalar(
        sa.select(CredentialProfile.id).where(
            CredentialProfile.name == profile.name, CredentialProfile.id != (profile.id or 0)
        )
    )
    if clash:
        raise CredentialError(_("Another profile is called %(name)s.", name=profile.name))
    version = SnmpVersion(profile.snmp_version)
    if version in (SnmpVersion.V1, SnmpVersion.V2C) and not secrets.get("snmp_community"):
        raise CredentialError(_("SNMP v1 and v2c need a community."))
    if version is SnmpVersion.V3:
        if not profile.snmp_username:
            raise CredentialError(_("SNMPv3 needs a user name."))
        auth = SnmpAuthProtocol(profile.snmp_auth_protocol)
        priv = SnmpPrivProtocol(profile.snmp_priv_protocol)
        if priv is not SnmpPrivProtocol.NONE and auth is SnmpAuthProtocol.NONE:
            raise CredentialError(_("SNMPv3 privacy needs authentication too."))
        for protocol, key, name in (
            (auth, "snmp_auth_key", _("authentication")),
            (priv, "snmp_priv_key", _("privacy")),
        ):
            if protocol.value != "none" and len(secrets.get(key, "")) < 8:
                raise CredentialError(
                    _("The SNMPv3 %(which)s key needs at least 8 characters.", which=name)
                )


def save_profile(
    profile: CredentialProfile | None,
    plain: dict[str, str],
    new_secrets: dict[str, str],
    clear_secrets: bool = False,
) -> CredentialProfile:
    """Create or update a profile. Empty secret values keep what is stored."""
    if profile is None:
        profile = CredentialProfile()
    current = {} if clear_secrets else read_secrets(profile)
    merged = {**current, **{k: v for k, v in new_secrets.items() if k in SECRET_FIELDS and v}}
    for key in PLAIN_FIELDS:
        if key in plain:
            setattr(profile, key, plain[key])
    with db.session.no_autoflush:
        _validate(profile, merged)
    if merged != current or clear_secrets or not profile.secrets_token:
        profile.secrets_token = crypto.encrypt_json(merged) if merged else ""
    profile.secrets_set = sorted(merged)
    db.session.add(profile)
    db.session.flush()
    return profile


def read_secrets(profile: CredentialProfile) -> dict[str, str]:
    """The decrypted secrets; for probes only, never for pages or logs."""
    return crypto.decrypt_json(profile.secrets_token) if profile.secrets_token else {}


def delete_profile(profile: CredentialProfile) -> None:
    from inventory.assets.models import Asset

    used = db.session.scalar(
        sa.select(sa.func.count()).where(Asset.credential_profile_id == profile.id)
    )
    if used:
        raise CredentialError(
            _("%(n)d assets use this profile. Give them another one first.", n=used)
        )
    db.session.delete(profile)
    db.session.flush()


def rotate_all() -> int:
    """Re-encrypt every profile with the first (newest) key; returns how many changed."""
    count = 0
    for profile in db.session.scalars(sa.select(CredentialProfile)):
        if profile.secrets_token:
            profile.secrets_token = crypto.rotate(profile.secrets_token)
            count += 1
    db.session.flush()
    return count
