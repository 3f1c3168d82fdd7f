"""The maintenance plan form and the plans list's filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from inventory.assets.forms import int_or_none
from inventory.choices import PmCounter, PmTrigger, TicketCategory, TicketPriority
from inventory.forms import BaseForm, options
from inventory.sites.forms import strip, upper

TARGETS = (
    ("category", _l("Every asset of a category")),
    ("model", _l("Every asset of a model")),
    ("asset", _l("One asset")),
)


class PlanForm(BaseForm):
    name = StringField(
        _l("Name"),
        description=_l("For example 'Projector filter cleaning' or 'UPS battery check'."),
        filters=[strip],
        validators=[DataRequired(), Length(max=120)],
    )
    target = SelectField(_l("Applies to"), choices=options(TARGETS), default="category")
    category_id = SelectField(_l("Category"), coerce=int_or_none, validate_choice=False)
    model_id = SelectField(_l("Model"), coerce=int_or_none, validate_choice=False)
    asset_tag = StringField(
        _l("Asset tag"), filters=[upper], validators=[Optional(), Length(max=32)]
    )
    site_id = SelectField(
        _l("Only at site (and the sites below it)"), coerce=int_or_none, validate_choice=False
    )
    trigger = SelectField(_l("Due"), choices=PmTrigger.choices(), default="interval")
    interval_days = IntegerField(
        _l("Every (days)"), default=90, validators=[Optional(), NumberRange(min=1, max=3650)]
    )
    first_due_date = DateField(
        _l("First due on"),
        description=_l(
            "Leave empty to make the first service due one interval after the asset comes "
            "into the plan."
        ),
        validators=[Optional()],
    )
    lead_days = IntegerField(
        _l("Open the ticket this many days ahead"),
        default=7,
        validators=[Optional(), NumberRange(min=0, max=365)],
    )
    counter = SelectField(
        _l("Counter"),
        choices=options([("", _l("(choose)")), *PmCounter.pairs()]),
        validate_choice=False,
        description=_l("Read from the device's latest health data."),
    )
    counter_interval = IntegerField(
        _l("Every (counter units)"),
        description=_l("For example 2000 lamp hours or 50000 pages."),
        validators=[Optional(), NumberRange(min=1)],
    )
    counter_margin = IntegerField(
        _l("Open the ticket this many units ahead"),
        default=0,
        validators=[Optional(), NumberRange(min=0)],
    )
    ticket_title = StringField(
        _l("Ticket title"),
        default="{plan}: {asset}",
        description=_l(
            "Placeholders: {plan} {asset} {site} {category} {model} {due} {counter} {reading}"
        ),
        filters=[strip],
        validators=[DataRequired(), Length(max=200)],
    )
    ticket_description = TextAreaField(
        _l("Ticket description"),
        default="Preventive maintenance of {asset} ({model}) at {site}, due {due}.",
        filters=[strip],
        validators=[Length(max=4000)],
    )
    ticket_category = SelectField(
        _l("Ticket category"), choices=TicketCategory.choices(), default="other"
    )
    priority = SelectField(_l("Priority"), choices=TicketPriority.choices(), default="normal")
    vendor_id = SelectField(_l("Vendor to do the work"), coerce=int_or_none, validate_choice=False)
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Length(max=4000)])


class PlanFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    trigger = SelectField(
        _l("Due"),
        choices=options([("", _l("Any")), *PmTrigger.pairs()]),
        validate_choice=False,
    )
    active = SelectField(
        _l("Status"),
        choices=options([("yes", _l("Active")), ("no", _l("Inactive")), ("all", _l("All"))]),
        default="yes",
        validate_choice=False,
    )
