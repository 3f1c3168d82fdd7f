"""Vendor and AMC contract forms, and the lists' filters."""

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
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from inventory.assets.forms import int_or_none
from inventory.choices import ContractState, VendorKind
from inventory.forms import BaseForm, options
from inventory.sites.forms import strip


class VendorForm(BaseForm):
    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=VendorKind.choices())
    contact_person = StringField(
        _l("Contact person"), filters=[strip], validators=[Optional(), Length(max=120)]
    )
    phone = StringField(
        _l("Phone"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=32),
            Regexp(r"^[0-9+() /-]+$", message=_l("Digits, spaces, +, -, / and brackets only.")),
        ],
    )
    email = StringField(
        _l("Email"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Invalid email address.")),
        ],
    )
    address = TextAreaField(_l("Address"), filters=[strip], validators=[Length(max=1000)])
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Length(max=4000)])


class VendorFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    kind = SelectField(
        _l("Kind"),
        choices=options([("", _l("All kinds")), *VendorKind.pairs()]),
        validate_choice=False,
    )
    active = SelectField(
        _l("Status"),
        choices=options([("yes", _l("Active")), ("no", _l("Inactive")), ("all", _l("All"))]),
        default="yes",
        validate_choice=False,
    )


PERIODS = (("30", _l("Last 30 days")), ("90", _l("Last 90 days")), ("365", _l("Last 12 months")))


class PeriodForm(BaseForm):
    class Meta:
        csrf = False

    period = SelectField(
        _l("Period"), choices=options(PERIODS), default="90", validate_choice=False
    )


class ContractForm(BaseForm):
    vendor_id = SelectField(_l("Vendor"), coerce=int_or_none, validate_choice=False)
    reference = StringField(
        _l("Contract reference"),
        description=_l("The contract or order number, for example GEMC-511687712345678."),
        filters=[strip],
        validators=[DataRequired(), Length(max=64)],
    )
    title = StringField(
        _l("Title"),
        description=_l("What it is for, for example 'Comprehensive AMC, desktops and printers'."),
        filters=[strip],
        validators=[DataRequired(), Length(max=200)],
    )
    start_date = DateField(_l("Starts on"), validators=[DataRequired()])
    end_date = DateField(_l("Ends on"), validators=[DataRequired()])
    value = DecimalField(
        _l("Value (INR)"),
        places=2,
        validators=[Optional(), NumberRange(min=0.01, max=999999999999.99)],
    )
    response_hours = IntegerField(
        _l("Response time (hours)"),
        default=24,
        description=_l("How soon the vendor must respond to a call."),
        validators=[DataRequired(), NumberRange(min=1, max=24 * 366)],
    )
    resolution_hours = IntegerField(
        _l("Resolution time (hours)"),
        default=72,
        description=_l("How soon the fault must be fixed; later counts as a contract breach."),
        validators=[DataRequired(), NumberRange(min=1, max=24 * 366)],
    )
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Length(max=4000)])


class ContractFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    vendor = SelectField(_l("Vendor"), coerce=int_or_none, validate_choice=False)
    state = SelectField(
        _l("Status"),
        choices=options([("", _l("Any status")), *ContractState.pairs()]),
        validate_choice=False,
    )
    within = IntegerField(
        _l("Ending within (days)"), validators=[Optional(), NumberRange(min=0, max=3650)]
    )
    asset = HiddenField()


class AddAssetsForm(BaseForm):
    tags = TextAreaField(
        _l("Asset tags"),
        description=_l("One per line, or separated by commas or spaces."),
        validators=[DataRequired(), Length(max=20000)],
    )


class AddRuleForm(BaseForm):
    category_id = SelectField(_l("Category"), coerce=int_or_none, validate_choice=False)
    site_id = SelectField(
        _l("At site (and the sites below it)"), coerce=int_or_none, validate_choice=False
    )
