"""Phone forms: typing a tag, reporting a fault, confirming an asset is here."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from inventory.choices import TicketCategory, TicketPriority
from inventory.field.services import DESCRIPTION_MAX, TITLE_MAX
from inventory.forms import BaseForm


class TagForm(BaseForm):
    """The manual entry on the scan page: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    tag = StringField(
        _l("Asset tag"),
        description=_l("As printed under the QR code, for example GON-PRJ-0001."),
        validators=[DataRequired(message=_l("Type the tag printed on the label."))],
        render_kw={
            "autocapitalize": "characters",
            "autocomplete": "off",
            "autocorrect": "off",
            "spellcheck": "false",
            "maxlength": "200",
        },
    )


class FaultForm(BaseForm):
    title = StringField(
        _l("What is wrong"),
        description=_l("A few words, for example: projector does not switch on."),
        validators=[
            DataRequired(message=_l("Say in a few words what is wrong.")),
            Length(max=TITLE_MAX),
        ],
    )
    description = TextAreaField(
        _l("Details"),
        description=_l("What you saw, error lights or messages, since when. Optional."),
        validators=[Length(max=DESCRIPTION_MAX)],
    )
    category = SelectField(_l("Kind of fault"), choices=TicketCategory.choices)
    priority = SelectField(
        _l("Priority"), choices=TicketPriority.choices, default=TicketPriority.NORMAL.value
    )


class VerifyForm(BaseForm):
    """The "Verified here" button: only the CSRF token."""
