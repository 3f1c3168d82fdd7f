"""Asset forms: the record, the list filters and the bulk change."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from inventory.choices import AssetStatus
from inventory.forms import BaseForm, options
from inventory.sites.forms import strip, upper


def int_or_none(value):
    if value in (None, "", "0", 0):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class AssetForm(BaseForm):
    tag = StringField(
        _l("Asset tag"),
        description=_l("Leave empty to generate the next tag, for example GON-PRJ-0001."),
        filters=[upper],
        validators=[Optional(), Length(max=32)],
    )
    category_id = SelectField(_l("Category"), coerce=int, validators=[DataRequired()])
    model_id = SelectField(_l("Model"), coerce=int_or_none, validate_choice=False)
    serial = StringField(
        _l("Serial number"), filters=[strip], validators=[Optional(), Length(max=64)]
    )
    status = SelectField(_l("Status"), choices=AssetStatus.choices())
    site_id = SelectField(_l("Site"), coerce=int, validators=[DataRequired()])
    location = StringField(
        _l("Location at the site"),
        filters=[strip],
        description=_l("Room or counter, for example 'Counter 2' or 'Meeting hall'."),
        validators=[Optional(), Length(max=200)],
    )
    custodian = StringField(
        _l("Custodian"), filters=[strip], validators=[Optional(), Length(max=120)]
    )
    purchase_date = DateField(_l("Purchase date"), validators=[Optional()])
    purchase_cost = DecimalField(
        _l("Cost (INR)"), places=2, validators=[Optional(), NumberRange(min=0)]
    )
    supplier = StringField(
        _l("Supplier"), filters=[strip], validators=[Optional(), Length(max=120)]
    )
    order_reference = StringField(
        _l("Order reference"),
        description=_l("For example the GeM order ID."),
        filters=[strip],
        validators=[Optional(), Length(max=64)],
    )
    budget_head = StringField(
        _l("Budget head"), filters=[strip], validators=[Optional(), Length(max=100)]
    )
    warranty_end = DateField(_l("Warranty ends"), validators=[Optional()])
    amc_vendor = StringField(
        _l("AMC vendor"), filters=[strip], validators=[Optional(), Length(max=120)]
    )
    amc_end = DateField(_l("AMC ends"), validators=[Optional()])
    management_address = StringField(
        _l("Management address"),
        description=_l("IP address or host name used for monitoring."),
        filters=[strip],
        validators=[Optional(), Length(max=255)],
    )
    credential_profile_id = SelectField(
        _l("Credentials profile"), coerce=int_or_none, validate_choice=False
    )
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Optional(), Length(max=4000)])


class AssetFilterForm(BaseForm):
    """The list's query string; no CSRF since it only reads."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    site = SelectField(_l("Site"), coerce=int_or_none, validate_choice=False)
    category = SelectField(_l("Category"), coerce=int_or_none, validate_choice=False)
    status = SelectField(
        _l("Status"),
        choices=options([("", _l("Any status")), *AssetStatus.pairs()]),
        validate_choice=False,
    )
    expiring = SelectField(
        _l("Expiring"),
        choices=options([("", _l("—")), ("warranty", _l("Warranty")), ("amc", _l("AMC"))]),
        validate_choice=False,
    )
    within = IntegerField(
        _l("within days"), default=90, validators=[Optional(), NumberRange(min=0, max=3650)]
    )
    sort = HiddenField()
    dir = HiddenField()


class BulkForm(BaseForm):
    status = SelectField(
        _l("Set status"), choices=options([("", _l("(unchanged)")), *AssetStatus.pairs()])
    )
    site_id = SelectField(_l("Move to site"), coerce=int_or_none, validate_choice=False)
