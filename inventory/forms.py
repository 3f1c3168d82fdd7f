"""The base form: CSRF, and WTForms' own messages translated through our catalogue."""

from __future__ import annotations

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice


class _BabelTranslations:
    """Routes WTForms' built-in validation messages through the app's Hindi catalogue."""

    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ngettext(singular, plural, n)


_translations = _BabelTranslations()


class BaseForm(FlaskForm):
    """Every form in the app derives from this one."""

    class Meta:
        def get_translations(self, form):
            return _translations


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select options."""
    return [SelectChoice(value, label) for value, label in pairs]


class ConfirmForm(BaseForm):
    """An empty form that only carries the CSRF token of a confirmation button."""


# WTForms' and Flask-WTF's built-in messages, listed so that extraction puts them in
# the catalogue; the strings must match the libraries' own to the letter.
_BUILTIN_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
    _l("Not a valid date value."),
    _l("Not a valid datetime value."),
    _l("Invalid email address."),
    _l("Invalid IP address."),
    _l("Invalid input."),
    _l("Invalid URL."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Field must be equal to %(other_name)s."),
    _l("Invalid Choice: could not coerce."),
    _l("File does not have an approved extension."),
    _ln(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
        1,
    ),
    _ln(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        1,
    ),
    _ln(
        "Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.",
        1,
    ),
)
