"""The "test call done" form and the test call list's filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from inventory.choices import TestCallResult
from inventory.devices.services import REMARKS_MAX
from inventory.forms import BaseForm, options
from inventory.sites.forms import strip

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class TestCallForm(BaseForm):
    __test__ = False  # not a pytest class

    at = DateTimeLocalField(
        _l("When was the call made"),
        format=DATETIME_FORMATS,
        validators=[InputRequired(message=_l("Give the date and time of the call."))],
    )
    result = SelectField(
        _l("Result"),
        choices=TestCallResult.choices(),
        validators=[InputRequired(message=_l("Choose how the test call went."))],
    )
    remarks = TextAreaField(
        _l("Remarks"),
        description=_l("Who was called, audio/video quality, what failed."),
        filters=[strip],
        validators=[Length(max=REMARKS_MAX)],
    )


class TestCallFilterForm(BaseForm):
    __test__ = False

    class Meta:
        csrf = False

    site = SelectField(_l("Site"), coerce=int, choices=[], validators=[Optional()])
    result = SelectField(_l("Result"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.result.choices = options([("", _l("Any result")), *TestCallResult.pairs()])
