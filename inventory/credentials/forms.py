"""Credentials profile form: secrets are write-only fields, empty means unchanged."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from inventory.choices import SnmpAuthProtocol, SnmpPrivProtocol, SnmpVersion
from inventory.forms import BaseForm
from inventory.sites.forms import strip

KEEP = _l("Leave empty to keep the stored value.")


class CredentialProfileForm(BaseForm):
    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired(), Length(max=100)])
    description = StringField(
        _l("Description"), filters=[strip], validators=[Optional(), Length(max=255)]
    )
    snmp_version = SelectField(_l("SNMP version"), choices=SnmpVersion.choices())
    snmp_port = IntegerField(
        _l("SNMP port"), default=161, validators=[DataRequired(), NumberRange(min=1, max=65535)]
    )
    snmp_community = PasswordField(
        _l("SNMP community (v1/v2c)"), description=KEEP, validators=[Optional(), Length(max=64)]
    )
    snmp_username = StringField(
        _l("SNMPv3 user"), filters=[strip], validators=[Optional(), Length(max=64)]
    )
    snmp_auth_protocol = SelectField(
        _l("SNMPv3 authentication"), choices=SnmpAuthProtocol.choices()
    )
    snmp_auth_key = PasswordField(
        _l("SNMPv3 authentication key"), description=KEEP, validators=[Optional(), Length(max=128)]
    )
    snmp_priv_protocol = SelectField(_l("SNMPv3 privacy"), choices=SnmpPrivProtocol.choices())
    snmp_priv_key = PasswordField(
        _l("SNMPv3 privacy key"), description=KEEP, validators=[Optional(), Length(max=128)]
    )
    ssh_username = StringField(
        _l("SSH user"), filters=[strip], validators=[Optional(), Length(max=64)]
    )
    ssh_password = PasswordField(
        _l("SSH password"), description=KEEP, validators=[Optional(), Length(max=128)]
    )
    ssh_enable_secret = PasswordField(
        _l("Enable secret (Cisco IOS)"),
        description=_l(
            "Leave empty to keep the stored value. With none stored, the SSH password is used."
        ),
        validators=[Optional(), Length(max=128)],
    )
    pjlink_password = PasswordField(
        _l("PJLink password (projectors)"),
        description=KEEP,
        validators=[Optional(), Length(max=32)],
    )
    clear_secrets = BooleanField(_l("Remove all stored secrets"))
