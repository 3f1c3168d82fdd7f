"""Login, profile and user administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from inventory.choices import Role
from inventory.forms import BaseForm, options

LANGUAGE_CHOICES = [("hi", "हिन्दी"), ("en", "English")]


class LoginForm(BaseForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


# One plain address (what notifications can be sent to); the form allows it empty.
EMAIL_PATTERN = r"^[^@\s,;<>\"()\[\]\\]+@[^@\s,;<>\"()\[\]\\]+\.[^@\s,;<>\"()\[\]\\]+\Z"


def _email_validators():
    return [
        Optional(),
        Length(max=255),
        Regexp(EMAIL_PATTERN, message=_l("Enter one email address, like name@example.org.")),
    ]


class ProfileForm(BaseForm):
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=120)])
    email = EmailField(_l("Email"), validators=_email_validators())
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=20)])
    locale = SelectField(_l("Language"), choices=options(LANGUAGE_CHOICES))
    notify_email = BooleanField(
        _l("Email me my notifications"),
        description=_l("Ticket assignments, due dates and overdue tickets, when email is set up."),
    )
    notify_digest = BooleanField(
        _l("Send me a daily digest"),
        description=_l("Each morning: my open tickets; for managers, the district's as well."),
    )


class PasswordChangeForm(BaseForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=10, max=256)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class UserForm(BaseForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(
                r"^[A-Za-z0-9._-]+$",
                message=_l("Use letters, digits, dots, hyphens and underscores only."),
            ),
        ],
    )
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=120)])
    email = EmailField(_l("Email"), validators=_email_validators())
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=20)])
    role = SelectField(_l("Role"), choices=Role.choices())
    locale = SelectField(_l("Language"), choices=options(LANGUAGE_CHOICES))
    is_active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Password"),
        description=_l("At least 10 characters. Leave empty to keep the current password."),
        validators=[Optional(), Length(min=10, max=256)],
    )
