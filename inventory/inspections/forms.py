"""Inspection forms: the visit (with one answer field per checklist item), filters, checklist."""

from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from inventory.choices import InspectionAnswerValue
from inventory.forms import BaseForm
from inventory.inspections.services import ACCURACY_MAX_M, NOTE_MAX, REMARKS_MAX, TEXT_MAX

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def strip(value):
    return value.strip() if isinstance(value, str) else value


def finite(form, field):
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError(_l("Not a valid float value."))


def int_or_none(value):
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


class InspectionForm(BaseForm):
    site_id = SelectField(
        _l("Site"),
        coerce=int,
        choices=[],
        validators=[DataRequired(message=_l("Choose the site you inspected."))],
    )
    inspected_at = DateTimeLocalField(
        _l("Date and time of the visit"),
        format=DATETIME_FORMATS,
        validators=[InputRequired(message=_l("Give the date and time of the visit."))],
    )
    remarks = TextAreaField(
        _l("Remarks"),
        description=_l("What you saw: problems, their causes, what was agreed."),
        filters=[strip],
        validators=[Length(max=REMARKS_MAX)],
    )
    feedback = TextAreaField(
        _l("Feedback from the operator and citizens"),
        filters=[strip],
        validators=[Length(max=REMARKS_MAX)],
    )
    photo = FileField(_l("Photo (optional)"))
    photo_token = HiddenField()  # a photo already uploaded with a form that had to be corrected
    remove_photo = BooleanField(_l("Remove the photo"))
    latitude = FloatField(
        _l("Latitude"),
        validators=[
            Optional(),
            finite,
            NumberRange(min=-90, max=90, message=_l("Latitude must be between -90 and 90.")),
        ],
    )
    longitude = FloatField(
        _l("Longitude"),
        validators=[
            Optional(),
            finite,
            NumberRange(min=-180, max=180, message=_l("Longitude must be between -180 and 180.")),
        ],
    )
    accuracy_m = FloatField(
        _l("Accuracy (metres)"),
        validators=[
            Optional(),
            finite,
            NumberRange(
                min=0,
                max=ACCURACY_MAX_M,
                message=_l("Accuracy must be between 0 and %(max)d metres.", max=ACCURACY_MAX_M),
            ),
        ],
    )

    def validate_longitude(self, field):
        if (self.latitude.data is None) != (field.data is None) and not self.latitude.errors:
            raise ValidationError(_l("Give both latitude and longitude, or neither."))

    def validate_accuracy_m(self, field):
        if field.data is not None and self.latitude.data is None and not self.latitude.errors:
            raise ValidationError(_l("An accuracy needs a latitude and longitude."))

    # Filled in by inspection_form(): (item, answer field, note field) for each question.
    items: list = []

    def item_fields(self):
        return [(item, self[f"answer_{item.id}"], self[f"note_{item.id}"]) for item in self.items]

    def answers(self) -> dict[int, tuple[str, str]]:
        return {
            item.id: (answer.data or "", note.data or "")
            for item, answer, note in self.item_fields()
        }


def inspection_form(items, required_ids, **kwargs) -> InspectionForm:
    """The form with one yes/no/not-applicable field and one note per checklist item.

    items: the questions shown, in order; required_ids: those that must be answered.
    """
    values = InspectionAnswerValue.values()

    class Form(InspectionForm):
        pass

    for item in items:
        first = (
            InputRequired(message=_l("Answer this question."))
            if item.id in required_ids
            else Optional()
        )
        setattr(
            Form,
            f"answer_{item.id}",
            RadioField(
                item.text_en,
                choices=InspectionAnswerValue.choices(),
                validate_choice=False,
                validators=[
                    first,
                    AnyOf(values, message=_l("Answer yes, no or not applicable.")),
                ],
            ),
        )
        setattr(
            Form,
            f"note_{item.id}",
            StringField(_l("Note"), filters=[strip], validators=[Length(max=NOTE_MAX)]),
        )
    Form.items = list(items)
    return Form(**kwargs)


class InspectionFilterForm(BaseForm):
    """The list's query string; no CSRF since it only reads."""

    class Meta:
        csrf = False

    inspector = SelectField(_l("Inspector"), coerce=int_or_none, validate_choice=False)
    site = SelectField(_l("Site"), coerce=int_or_none, validate_choice=False)
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    week = DateField(_l("Week of"), validators=[Optional()])


class ChecklistItemForm(BaseForm):
    text_en = StringField(
        _l("Question (English)"),
        filters=[strip],
        validators=[DataRequired(), Length(max=TEXT_MAX)],
    )
    text_hi = StringField(
        _l("Question (Hindi)"), filters=[strip], validators=[Optional(), Length(max=TEXT_MAX)]
    )


class WeeksForm(BaseForm):
    class Meta:
        csrf = False

    weeks = IntegerField(
        _l("Weeks"), default=8, validators=[Optional(), NumberRange(min=1, max=52)]
    )
    end = DateField(_l("Up to the week of"), validators=[Optional()])
