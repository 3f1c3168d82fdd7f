"""Catalogue forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from inventory.choices import CategoryGroup
from inventory.forms import BaseForm
from inventory.sites.forms import strip, upper


class CategoryForm(BaseForm):
    code = StringField(
        _l("Code"),
        description=_l("2 to 8 capital letters; used in asset tags, for example PRJ."),
        filters=[upper],
        validators=[
            DataRequired(),
            Regexp(r"^[A-Z0-9]{2,8}$", message=_l("2 to 8 capital letters or digits.")),
        ],
    )
    name_en = StringField(
        _l("Name (English)"), filters=[strip], validators=[DataRequired(), Length(max=100)]
    )
    name_hi = StringField(
        _l("Name (Hindi)"), filters=[strip], validators=[Optional(), Length(max=100)]
    )
    group = SelectField(_l("Group"), choices=CategoryGroup.choices())


class ManufacturerForm(BaseForm):
    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired(), Length(max=100)])


class AssetModelForm(BaseForm):
    manufacturer_id = SelectField(_l("Manufacturer"), coerce=int, choices=[])
    name = StringField(
        _l("Model name"), filters=[strip], validators=[DataRequired(), Length(max=120)]
    )
    category_id = SelectField(_l("Category"), coerce=int, choices=[])
