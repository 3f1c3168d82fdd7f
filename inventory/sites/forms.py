"""Site forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from inventory.choices import LinkType, SiteKind
from inventory.forms import BaseForm, options

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]*$"


def upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def strip(value):
    return value.strip() if isinstance(value, str) else value


def tristate(value):
    """ "" -> None (follow the default), "1"/True -> True, "0"/False -> False."""
    if value in (None, "", "None"):
        return None
    if isinstance(value, bool):
        return value
    return value in ("1", "true", "True", "yes")


class SiteForm(BaseForm):
    code = StringField(
        _l("Code"),
        description=_l("Short and unique, for example TEH-MNK or BLK-BLS."),
        filters=[upper],
        validators=[
            DataRequired(),
            Length(max=32),
            Regexp(CODE_PATTERN, message=_l("Use capital letters, digits, - and _ only.")),
        ],
    )
    name_en = StringField(
        _l("Name (English)"), filters=[strip], validators=[DataRequired(), Length(max=200)]
    )
    name_hi = StringField(
        _l("Name (Hindi)"), filters=[strip], validators=[Optional(), Length(max=200)]
    )
    kind = SelectField(_l("Kind"), choices=SiteKind.choices())
    parent_id = SelectField(_l("Parent site"), coerce=int, choices=[])
    address = TextAreaField(_l("Address"), filters=[strip], validators=[Length(max=1000)])
    contact_name = StringField(
        _l("Contact person"), filters=[strip], validators=[Optional(), Length(max=120)]
    )
    contact_phone = StringField(
        _l("Contact phone"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=20),
            Regexp(r"^[0-9+() -]+$", message=_l("Digits, spaces, +, - and brackets only.")),
        ],
    )
    link_type = SelectField(_l("Network link"), choices=LinkType.choices())
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Length(max=2000)])
    vc_expected = SelectField(
        _l("Joins the DM's video conference"),
        description=_l(
            "Offices that join are listed on the VC-readiness board. By default tehsils, "
            "blocks and municipalities join."
        ),
        coerce=tristate,
        choices=options(
            [("", _l("As its kind (default)")), ("1", _l("Yes, always")), ("0", _l("No, never"))]
        ),
    )


class SiteFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=options([("", _l("All kinds")), *SiteKind.pairs()]))
