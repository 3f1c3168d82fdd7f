"""Procurement forms: the request with its lines and destinations, the workflow steps, the
order, attachments, filters, and the administrators' budget heads and approval levels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from inventory.assets.forms import int_or_none
from inventory.choices import ProcurementAttachmentKind, ProcurementStatus
from inventory.forms import BaseForm, options
from inventory.procurement.services import (
    DESCRIPTION_MAX,
    JUSTIFICATION_MAX,
    LEVEL_NAME_MAX,
    NAME_MAX,
    ORDER_REFERENCE_MAX,
    REMARK_MAX,
    TITLE_MAX,
)
from inventory.sites.forms import strip

# Rows a new request starts with, and the blank rows an edited one gets below its own.
NEW_LINES = 2
NEW_DESTINATIONS = 2
MAX_FORM_LINES = 50
MAX_FORM_DESTINATIONS = 100


def int_or_blank(value):
    """An integer, or None for a blank (a bad value stays as text for the service to refuse)."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


class DestinationForm(Form):
    site_id = SelectField(_l("Site"), coerce=int_or_none, validate_choice=False)
    quantity = StringField(_l("Quantity"), filters=[strip])


class LineForm(Form):
    category_id = SelectField(_l("Category"), coerce=int_or_none, validate_choice=False)
    model_id = SelectField(_l("Model (optional)"), coerce=int_or_none, validate_choice=False)
    description = StringField(
        _l("Description"), filters=[strip], validators=[Optional(), Length(max=DESCRIPTION_MAX)]
    )
    quantity = StringField(_l("Quantity"), filters=[strip])
    estimated_unit_cost = StringField(_l("Estimated unit cost (₹)"), filters=[strip])
    destinations = FieldList(
        FormField(DestinationForm), min_entries=1, max_entries=MAX_FORM_DESTINATIONS
    )

    def is_blank(self) -> bool:
        return not any(
            (
                self.category_id.data,
                self.model_id.data,
                self.description.data,
                self.quantity.data,
                self.estimated_unit_cost.data,
                *(d.form.site_id.data or d.form.quantity.data for d in self.destinations),
            )
        )


class RequestForm(BaseForm):
    title = StringField(
        _l("Title"),
        description=_l("What is bought and why, in a line: for example 'Projectors for tehsils'."),
        filters=[strip],
        validators=[DataRequired(), Length(max=TITLE_MAX)],
    )
    justification = TextAreaField(
        _l("Justification"),
        description=_l("Why it is needed now: the scheme, the sites, the old equipment."),
        filters=[strip],
        validators=[Optional(), Length(max=JUSTIFICATION_MAX)],
    )
    budget_head_id = SelectField(
        _l("Budget head"), coerce=int_or_none, validate_choice=False, validators=[DataRequired()]
    )
    financial_year = SelectField(
        _l("Financial year"),
        description=_l("April to March."),
        validate_choice=False,
        validators=[DataRequired()],
    )
    lines = FieldList(FormField(LineForm), min_entries=1, max_entries=MAX_FORM_LINES)


class RemarkForm(BaseForm):
    """Submit, close: an optional remark."""

    remark = TextAreaField(
        _l("Remark (optional)"), filters=[strip], validators=[Optional(), Length(max=REMARK_MAX)]
    )


class DecisionForm(BaseForm):
    """Approve or reject at the level waiting: the button pressed is `decision`."""

    decision = StringField(validators=[DataRequired()])
    remark = TextAreaField(
        _l("Remark (required when rejecting)"),
        filters=[strip],
        validators=[Optional(), Length(max=REMARK_MAX)],
    )


class CancelForm(BaseForm):
    reason = TextAreaField(
        _l("Why is it cancelled?"),
        filters=[strip],
        validators=[DataRequired(), Length(max=REMARK_MAX)],
    )


class OrderForm(BaseForm):
    """The order; the actual unit cost of each line is read from fields cost-<line id>."""

    order_reference = StringField(
        _l("Order reference"),
        description=_l("For example the GeM order ID (GEMC-511687712345678)."),
        filters=[strip],
        validators=[DataRequired(), Length(max=ORDER_REFERENCE_MAX)],
    )
    vendor_id = SelectField(
        _l("Vendor"), coerce=int_or_none, validate_choice=False, validators=[DataRequired()]
    )
    order_date = DateField(_l("Order date"), validators=[InputRequired()])
    remark = TextAreaField(
        _l("Remark (optional)"), filters=[strip], validators=[Optional(), Length(max=REMARK_MAX)]
    )


class AttachmentForm(BaseForm):
    kind = SelectField(
        _l("Kind"),
        choices=ProcurementAttachmentKind.choices(),
        default=ProcurementAttachmentKind.QUOTATION.value,
    )
    file = FileField(_l("PDF or photo"))


class RequestFilterForm(BaseForm):
    """The list's query string; no CSRF since it only reads."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    status = SelectField(
        _l("Status"),
        choices=options([("", _l("Any status")), *ProcurementStatus.pairs()]),
        validate_choice=False,
    )
    budget_head = SelectField(_l("Budget head"), coerce=int_or_none, validate_choice=False)
    year = SelectField(_l("Financial year"), validate_choice=False)
    site = SelectField(
        _l("Destination site"),
        coerce=int_or_none,
        validate_choice=False,
        description=_l("Requests with a destination at this site or below it."),
    )
    sort = StringField(validators=[Optional()])
    dir = StringField(validators=[Optional()])


class BudgetFilterForm(BaseForm):
    class Meta:
        csrf = False

    year = SelectField(_l("Financial year"), validate_choice=False)
    budget_head = SelectField(_l("Budget head"), coerce=int_or_none, validate_choice=False)


class BudgetHeadForm(BaseForm):
    name = StringField(
        _l("Name (English)"), filters=[strip], validators=[DataRequired(), Length(max=NAME_MAX)]
    )
    name_hi = StringField(
        _l("Name (Hindi)"), filters=[strip], validators=[Optional(), Length(max=NAME_MAX)]
    )
    position = IntegerField(
        _l("Order in lists"), validators=[Optional(), NumberRange(min=0, max=9999)]
    )
    active = BooleanField(_l("In use (offered for new requests)"), default=True)


class LevelForm(BaseForm):
    position = IntegerField(
        _l("Position"),
        description=_l("Levels approve in this order, lowest first."),
        validators=[InputRequired(), NumberRange(min=1, max=99)],
    )
    name = StringField(
        _l("Name (English)"),
        description=_l("Who sanctions at this level, for example DIO, CDO or DM."),
        filters=[strip],
        validators=[DataRequired(), Length(max=LEVEL_NAME_MAX)],
    )
    name_hi = StringField(
        _l("Name (Hindi)"), filters=[strip], validators=[Optional(), Length(max=LEVEL_NAME_MAX)]
    )
    active = BooleanField(_l("Active (requests pass through this level)"), default=True)
    approver_ids = SelectMultipleField(
        _l("Approvers"),
        description=_l(
            "The people who may approve or reject at this level, whatever their role. "
            "Nobody decides on a request they made themselves."
        ),
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
