"""Ticket forms: the ticket, assignment, status changes, comments, attachments, the SLA, filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from inventory.assets.forms import int_or_none
from inventory.choices import TicketCategory, TicketPriority, TicketStatus
from inventory.forms import BaseForm, options
from inventory.sites.forms import strip, upper
from inventory.tickets.services import COMMENT_MAX, SLA_MAX_DAYS, TITLE_MAX


class TicketForm(BaseForm):
    site_id = SelectField(
        _l("Site"), coerce=int_or_none, validate_choice=False, validators=[DataRequired()]
    )
    asset_tag = StringField(
        _l("Asset tag"),
        description=_l("Optional. The asset must be at the site or at a site below it."),
        filters=[upper],
        validators=[Optional(), Length(max=32)],
    )
    title = StringField(
        _l("Title"),
        description=_l("What is wrong, in a line: for example 'Projector shows no picture'."),
        filters=[strip],
        validators=[DataRequired(), Length(max=TITLE_MAX)],
    )
    description = TextAreaField(
        _l("Description"), filters=[strip], validators=[Optional(), Length(max=10000)]
    )
    category = SelectField(_l("Category"), choices=TicketCategory.choices())
    priority = SelectField(
        _l("Priority"), choices=TicketPriority.choices(), default=TicketPriority.NORMAL.value
    )


class TicketEditForm(TicketForm):
    recompute_due = BooleanField(
        _l("Recompute the due date from the priority's SLA (counted from when it opened)")
    )


class AssignForm(BaseForm):
    assignee_id = SelectField(_l("Staff member"), coerce=int_or_none, validate_choice=False)
    vendor_id = SelectField(_l("Vendor"), coerce=int_or_none, validate_choice=False)
    vendor_engineer = StringField(
        _l("Vendor's engineer"),
        filters=[strip],
        validators=[Optional(), Length(max=120)],
    )
    note = TextAreaField(
        _l("Note (optional)"), filters=[strip], validators=[Optional(), Length(max=COMMENT_MAX)]
    )


class MoveForm(BaseForm):
    target = StringField(validators=[DataRequired()])  # the button pressed
    note = TextAreaField(
        _l("Note (optional)"), filters=[strip], validators=[Optional(), Length(max=COMMENT_MAX)]
    )
    mark_asset = BooleanField(_l("Update the asset's status"))


class CancelForm(BaseForm):
    note = TextAreaField(
        _l("Why is it cancelled?"),
        filters=[strip],
        validators=[DataRequired(), Length(max=COMMENT_MAX)],
    )
    mark_asset = BooleanField(_l("Set the asset back to deployed"))


class CommentForm(BaseForm):
    body = TextAreaField(
        _l("Comment"), filters=[strip], validators=[DataRequired(), Length(max=COMMENT_MAX)]
    )


class AttachmentForm(BaseForm):
    file = FileField(_l("Photo or PDF"))


class SlaForm(BaseForm):
    """One number of days per priority (the fields are added below)."""

    @classmethod
    def field_name(cls, priority: str) -> str:
        return f"days_{priority}"


for _priority in TicketPriority:
    setattr(
        SlaForm,
        SlaForm.field_name(_priority.value),
        IntegerField(
            _priority.label,
            validators=[InputRequired(), NumberRange(min=1, max=SLA_MAX_DAYS)],
        ),
    )


class TicketFilterForm(BaseForm):
    """The list's query string; no CSRF since it only reads."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    status = SelectField(
        _l("Status"),
        choices=options([("", _l("Any status")), *TicketStatus.pairs()]),
        validate_choice=False,
    )
    priority = SelectField(
        _l("Priority"),
        choices=options([("", _l("Any priority")), *TicketPriority.pairs()]),
        validate_choice=False,
    )
    category = SelectField(
        _l("Category"),
        choices=options([("", _l("Any category")), *TicketCategory.pairs()]),
        validate_choice=False,
    )
    site = SelectField(_l("Site"), coerce=int_or_none, validate_choice=False)
    vendor = SelectField(_l("Vendor"), coerce=int_or_none, validate_choice=False)
    assignee = SelectField(_l("Assignee"), coerce=int_or_none, validate_choice=False)
    overdue = BooleanField(_l("Overdue only"))
    view = HiddenField()
    sort = HiddenField()
    dir = HiddenField()
