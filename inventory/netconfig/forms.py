"""Forms of the SSH device pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.validators import DataRequired, NumberRange

from inventory.choices import SshDeviceType
from inventory.forms import BaseForm


class DeviceForm(BaseForm):
    device_type = SelectField(
        _l("Device type"),
        choices=SshDeviceType.choices,
        description=_l("How the device is spoken to: Cisco IOS commands or a Linux shell."),
    )
    port = IntegerField(
        _l("SSH port"), default=22, validators=[DataRequired(), NumberRange(1, 65535)]
    )
    enabled = BooleanField(
        _l("Fetch facts and back up the configuration on the schedule"), default=True
    )
