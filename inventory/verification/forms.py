"""Verification forms: start, finish/abandon (with notes), move here, the report's filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from inventory.choices import SiteKind, VisitStatus
from inventory.forms import BaseForm, options


def strip(value):
    return value.strip() if isinstance(value, str) else value


class VisitNotesForm(BaseForm):
    """Start, finish or abandon a visit: a confirmation with optional notes."""

    notes = TextAreaField(
        _l("Notes"),
        filters=[strip],
        validators=[Length(max=2000)],
        description=_l("Optional: who was present, what was noticed."),
    )


class NotVerifiedForm(BaseForm):
    class Meta:
        csrf = False

    days = IntegerField(
        _l("Not verified in the last (days)"),
        validators=[Optional(), NumberRange(min=1, max=3650)],
    )
    kind = SelectField(_l("Kind"), choices=options([("", _l("All kinds")), *SiteKind.pairs()]))
    holding = SelectField(
        _l("Sites"),
        default="assets",
        choices=options([("assets", _l("With registered assets")), ("all", _l("All sites"))]),
    )


class VisitFilterForm(BaseForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"), choices=options([("", _l("All visits")), *VisitStatus.pairs()])
    )
    site = StringField(_l("Site code"), filters=[strip], validators=[Optional(), Length(max=32)])
