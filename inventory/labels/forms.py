"""The print form: label stock, margins and gaps (blank means the stock's own), start position."""

from __future__ import annotations

import json
from dataclasses import astuple
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DecimalField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from inventory.forms import BaseForm, options
from inventory.labels.sheets import LAYOUTS, Layout, Margins

LAYOUT_NAMES = {
    "a4-3x7": _l("A4 sheet of 21 labels: 3 x 7, each 63.5 x 38.1 mm (Avery L7160 and equals)"),
    "a4-2x5": _l("A4 sheet of 10 labels: 2 x 5, each 99.1 x 57 mm (Avery L7173 and equals)"),
    "thermal-50x25": _l("Thermal label printer: one 50 x 25 mm label per page"),
}
MAX_MM = 100


def _mm(label):
    return DecimalField(
        label,
        places=None,
        validators=[Optional(), NumberRange(min=0, max=MAX_MM)],
        render_kw={"step": "0.05", "min": "0", "max": str(MAX_MM), "inputmode": "decimal"},
    )


class LabelForm(BaseForm):
    layout = SelectField(_l("Label stock"), choices=options(LAYOUT_NAMES.items()))
    margin_top = _mm(_l("Top margin (mm)"))
    margin_left = _mm(_l("Left margin (mm)"))
    gap_x = _mm(_l("Gap between columns (mm)"))
    gap_y = _mm(_l("Gap between rows (mm)"))
    start = IntegerField(
        _l("Start at label"),
        default=1,
        description=_l(
            "To use a sheet that is partly used: the first free label, counted along the rows "
            "from the top left."
        ),
        validators=[Optional(), NumberRange(min=1)],
    )
    outlines = BooleanField(_l("Draw the label outlines (for a test print on plain paper)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The stocks' own values, for labels.js (placeholders follow the chosen stock).
        defaults = {
            key: [*(f"{v:g}" for v in astuple(layout.margins)), layout.per_page]
            for key, layout in LAYOUTS.items()
        }
        self.layout.render_kw = {"data-label-defaults": json.dumps(defaults)}
        self.placeholders()

    def placeholders(self) -> None:
        """Show the chosen stock's margins in the blank fields (new dicts: render_kw is
        shared with the class's field definition)."""
        margins = self.stock.margins
        for field, value in (
            (self.margin_top, margins.top),
            (self.margin_left, margins.left),
            (self.gap_x, margins.gap_x),
            (self.gap_y, margins.gap_y),
        ):
            field.render_kw = {**(field.render_kw or {}), "placeholder": f"{value:g}"}
        self.start.render_kw = {"min": "1", "max": str(self.stock.per_page)}

    @property
    def stock(self) -> Layout:
        return LAYOUTS.get(self.layout.data) or next(iter(LAYOUTS.values()))

    def margins(self) -> Margins:
        """The margins asked for; a blank field takes the stock's own value."""
        default = self.stock.margins

        def value(field, fallback: float) -> float:
            return float(field.data) if isinstance(field.data, Decimal) else fallback

        return Margins(
            top=value(self.margin_top, default.top),
            left=value(self.margin_left, default.left),
            gap_x=value(self.gap_x, default.gap_x),
            gap_y=value(self.gap_y, default.gap_y),
        )

    def start_position(self) -> int:
        return self.start.data or 1

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        stock, margins = self.stock, self.margins()
        ok = True
        if self.start_position() > stock.per_page:
            self.start.errors = [
                *self.start.errors,
                _("This stock has %(n)d labels per page: start at 1 to %(n)d.", n=stock.per_page),
            ]
            ok = False
        across, down = stock.fits(margins)
        width, height = stock.extent(margins)
        if not across:
            message = _(
                "With these margins and gaps the labels need %(need).1f mm across; the page is "
                "%(page)g mm wide. Reduce the left margin or the gap between columns.",
                need=width,
                page=stock.page_w,
            )
            self.margin_left.errors = [*self.margin_left.errors, message]
            ok = False
        if not down:
            message = _(
                "With these margins and gaps the labels need %(need).1f mm down; the page is "
                "%(page)g mm high. Reduce the top margin or the gap between rows.",
                need=height,
                page=stock.page_h,
            )
            self.margin_top.errors = [*self.margin_top.errors, message]
            ok = False
        return ok
