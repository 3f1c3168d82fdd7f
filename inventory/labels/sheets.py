"""Label sheets as PDF: the layouts, the grid, and one label's drawing. No Flask, no database.

A label is a QR code on the left and text on the right: the tag (large), the category and
the site in Hindi and English, and the society's name at the foot. Devanagari is shaped by
HarfBuzz (fpdf2's text shaping) with Noto Sans Devanagari embedded; Latin letters, which that
font lacks, come from Noto Sans (fpdf2 fallback fonts). Text that does not fit its line is
set smaller down to a floor, then cut at a character-cluster boundary with an ellipsis; lines
that do not fit the label's height are left out by priority (the tag and the site never), so
nothing is ever drawn outside its label.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fpdf import FPDF

from inventory.labels.qr import qr_matrix

FONT_DIR = Path(__file__).parent / "fonts"
MM_PER_PT = 25.4 / 72
QR_QUIET_MODULES = 2  # inside the QR's square; the label's padding and gaps add to it
DEVA, LATIN = "NotoSansDevanagari", "NotoSans"
FONT_FILES = {
    (DEVA, ""): "NotoSansDevanagari-Regular.ttf",
    (DEVA, "B"): "NotoSansDevanagari-Bold.ttf",
    (LATIN, ""): "NotoSans-Regular.ttf",
    (LATIN, "B"): "NotoSans-Bold.ttf",
}
# Line height per font size: Devanagari needs room for marks above the headline and below.
LINE_FACTOR = {DEVA: 1.45, LATIN: 1.2}
VIRAMA_AND_JOINERS = {"\u094d", "\u200c", "\u200d"}
ELLIPSIS = "…"
TAG_BREAKS = "-/_"  # a long tag breaks after one of these if it has them, else anywhere


class SheetError(ValueError):
    """A sheet that cannot be drawn as asked (labels off the page, a bad start position)."""


@dataclass(frozen=True)
class Margins:
    """Where the grid sits on the page (mm): top and left margins, gaps between labels."""

    top: float
    left: float
    gap_x: float
    gap_y: float


@dataclass(frozen=True)
class Layout:
    """A label stock: page and label sizes (mm), the grid, default margins, the text plan."""

    key: str
    page_w: float
    page_h: float
    label_w: float
    label_h: float
    cols: int
    rows: int
    margins: Margins
    padding: float
    compact: bool = False  # a small label: fewer, smaller lines

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    def extent(self, margins: Margins) -> tuple[float, float]:
        """The width and height (mm) the grid needs from the page's top-left corner."""
        width = margins.left + self.cols * self.label_w + (self.cols - 1) * margins.gap_x
        height = margins.top + self.rows * self.label_h + (self.rows - 1) * margins.gap_y
        return width, height

    def fits(self, margins: Margins) -> tuple[bool, bool]:
        """Whether the grid fits across and down the page (0.05 mm of rounding allowed)."""
        width, height = self.extent(margins)
        return width <= self.page_w + 0.05, height <= self.page_h + 0.05

    def pages(self, count: int, start: int = 1) -> int:
        """Pages for `count` labels when the first goes to position `start` (from 1)."""
        return math.ceil((count + start - 1) / self.per_page) if count else 0

    def position(self, index: int, margins: Margins) -> tuple[int, float, float]:
        """Page (from 0) and top-left corner (mm) of the label in grid position `index`."""
        page, slot = divmod(index, self.per_page)
        row, col = divmod(slot, self.cols)
        x = margins.left + col * (self.label_w + margins.gap_x)
        y = margins.top + row * (self.label_h + margins.gap_y)
        return page, x, y


A4 = (210.0, 297.0)
LAYOUTS: dict[str, Layout] = {
    layout.key: layout
    for layout in (
        # Avery L7160 and its equals: 21 labels of 63.5 x 38.1 mm.
        Layout("a4-3x7", *A4, 63.5, 38.1, 3, 7, Margins(15.15, 7.25, 2.5, 0.0), 2.0),
        # Avery L7173 and its equals: 10 labels of 99.1 x 57 mm.
        Layout("a4-2x5", *A4, 99.1, 57.0, 2, 5, Margins(6.0, 4.65, 2.5, 0.0), 3.0),
        # A roll of 50 x 25 mm labels in a thermal printer: one label per page.
        Layout("thermal-50x25", 50.0, 25.0, 50.0, 25.0, 1, 1, Margins(0, 0, 0, 0), 1.5, True),
    )
}


@dataclass(frozen=True)
class LabelData:
    """What one label shows. `url` is what its QR code encodes."""

    tag: str
    url: str
    category_en: str = ""
    category_hi: str = ""
    site_en: str = ""
    site_hi: str = ""


@dataclass(frozen=True)
class _Line:
    """One item of a label's text: preferred and smallest size (pt), up to `wrap` lines."""

    text: str
    family: str
    style: str
    size: float
    floor: float
    drop: int = 0  # 0: always shown; otherwise the lowest number is left out first
    footer: bool = False
    wrap: int = 1
    breaks: str = " "  # characters a line may break after
    whole: bool = False  # never cut (a tag): break anywhere rather than drop characters

    def slot(self, scale: float) -> float:
        """The height (mm) of one of its lines at `scale` times the preferred size."""
        return self.size * scale * MM_PER_PT * LINE_FACTOR[self.family]


@dataclass(frozen=True)
class _Fitted:
    line: _Line
    texts: tuple[str, ...]
    size: float  # pt
    slot: float  # mm per line

    @property
    def height(self) -> float:
        return self.slot * len(self.texts)


def _lines(label: LabelData, society_en: str, society_hi: str, layout: Layout) -> list[_Line]:
    """The text of one label, top to bottom, with sizes for this layout."""
    if layout.compact:
        category = " / ".join(t for t in (label.category_hi, label.category_en) if t)
        candidates = [
            _Line(label.tag, LATIN, "B", 9.5, 5, wrap=3, breaks=TAG_BREAKS, whole=True),
            _Line(label.site_hi, DEVA, "B", 6.5, 4.8, wrap=2),
            _Line(label.site_en, LATIN, "", 6, 4.8, wrap=2),
            _Line(category, DEVA, "", 5.5, 4.5, drop=3),
            _Line(society_hi or society_en, DEVA, "", 4.5, 4, drop=1, footer=True),
        ]
    else:
        u = layout.label_h / 38.1  # sizes grow with the label
        candidates = [
            _Line(label.tag, LATIN, "B", 12 * u, 5, wrap=3, breaks=TAG_BREAKS, whole=True),
            _Line(label.category_hi, DEVA, "", 7 * u, 5, drop=4),
            _Line(label.category_en, LATIN, "", 7 * u, 5, drop=3),
            _Line(label.site_hi, DEVA, "B", 7.5 * u, 5.5, wrap=2),
            _Line(label.site_en, LATIN, "", 7 * u, 5.5, wrap=2),
            _Line(society_hi, DEVA, "", 5.5 * u, 4.5, drop=2, footer=True),
            _Line(society_en, LATIN, "", 5 * u, 4.5, drop=1, footer=True),
        ]
    lines = []
    seen: set[str] = set()
    for line in candidates:
        # Hindi names are optional in the register: never print the English one twice.
        text = " ".join(line.text.split())
        if text and text not in seen:
            seen.add(text)
            lines.append(replace(line, text=text))
    return lines


def _cluster_starts(text: str) -> list[int]:
    """Indices where a cut leaves whole characters: never before a mark or after a virama."""
    starts = []
    for i in range(1, len(text)):
        if unicodedata.category(text[i]).startswith("M") or text[i] in VIRAMA_AND_JOINERS:
            continue
        if text[i - 1] in VIRAMA_AND_JOINERS:
            continue
        starts.append(i)
    return starts


class _Sheet:
    """One PDF being drawn: fonts loaded once, text measurements cached per string."""

    def __init__(self, layout: Layout, margins: Margins, outlines: bool):
        self.layout, self.margins, self.outlines = layout, margins, outlines
        pdf = FPDF(orientation="P", unit="mm", format=(layout.page_w, layout.page_h))
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.c_margin = 0
        pdf.set_creator("Sampada")
        pdf.set_title("Asset labels")
        for (family, style), filename in FONT_FILES.items():
            pdf.add_font(family, style, str(FONT_DIR / filename))
        pdf.set_fallback_fonts([LATIN, DEVA], exact_match=False)
        pdf.set_text_shaping(True)
        self.pdf = pdf
        self._widths: dict[tuple[str, str, str], float] = {}
        self._fitted: dict[tuple, _Fitted] = {}

    # -- text ---------------------------------------------------------------------------

    def _width(self, text: str, family: str, style: str, size: float) -> float:
        """The shaped width (mm) of `text` at `size` pt (measured once at 10 pt: width is
        linear in size)."""
        key = (family, style, text)
        width = self._widths.get(key)
        if width is None:
            self.pdf.set_font(family, style, 10)
            width = self._widths[key] = self.pdf.get_string_width(text)
        return width * size / 10

    def fit(self, line: _Line, max_w: float, scale: float) -> _Fitted:
        """The line's text set to fit `max_w`: at its size, smaller (down to its floor), on
        two lines if it may wrap, and at last cut with an ellipsis."""
        key = (line, round(max_w, 3), round(scale, 4))
        fitted = self._fitted.get(key)
        if fitted is None:
            size = line.size * scale
            floor = min(line.floor, size)
            texts, size = self._set(line, max_w, size, floor)
            # One line keeps its full height (a smaller text is centred in it); several
            # lines are spaced for the size they are set in.
            slot = line.slot(scale) if len(texts) == 1 else line.slot(size / line.size)
            fitted = self._fitted[key] = _Fitted(line, texts, size, slot)
        return fitted

    def _set(self, line: _Line, max_w: float, size: float, floor: float):
        text, family, style = line.text, line.family, line.style
        full = self._width(text, family, style, size)
        if full <= max_w:
            return (text,), size
        one_line = size * max_w / full * 0.999
        # Where the text may break: after a space (or, for a tag, after - / _).
        breaks = [i for i in range(1, len(text)) if text[i - 1] in line.breaks]
        if line.whole and not breaks:
            breaks = list(range(1, len(text)))  # a tag is never cut: break it anywhere
        if line.wrap < 2 or not breaks or one_line >= 0.85 * size:
            if one_line >= floor:
                return (text,), one_line
            return (self._cut(text, family, style, max_w, floor),), floor
        # Several lines: the largest size, down to the floor, at which the text breaks
        # into at most `wrap` lines.
        current = size
        while True:
            starts = self._break(line, breaks, max_w, current)
            lines = [
                text[a:b].strip(" ") for a, b in zip(starts, [*starts[1:], len(text)], strict=True)
            ]
            if len(lines) <= line.wrap and all(
                self._width(part, family, style, current) <= max_w for part in lines
            ):
                return tuple(lines), current
            if current <= floor:
                break
            current = max(floor, current * 0.94)
        # At the floor: the first lines as they break, the last one with the rest, cut.
        if len(starts) > line.wrap:
            lines = [*lines[: line.wrap - 1], text[starts[line.wrap - 1] :].strip(" ")]
        return tuple(
            part
            if self._width(part, family, style, floor) <= max_w
            else self._cut(part, family, style, max_w, floor)
            for part in lines
        ), floor

    def _break(self, line: _Line, breaks: list[int], max_w: float, size: float) -> list[int]:
        """Where each line starts when the text is broken greedily at `breaks` into lines
        of at most `max_w` (a piece with no break that fits stays whole, too wide)."""
        text, starts = line.text, [0]
        while True:
            start = starts[-1]
            if self._width(text[start:].strip(" "), line.family, line.style, size) <= max_w:
                return starts
            end = None
            for i in breaks:
                if i <= start:
                    continue
                head = text[start:i].strip(" ")
                if end is not None and self._width(head, line.family, line.style, size) > max_w:
                    break
                end = i
            if end is None:
                return starts
            starts.append(end)

    def _cut(self, text: str, family: str, style: str, max_w: float, size: float) -> str:
        """The longest head of `text` that, with an ellipsis, fits `max_w` at `size`."""
        starts = _cluster_starts(text)
        best = ""
        low, high = 0, len(starts) - 1
        while low <= high:
            mid = (low + high) // 2
            head = text[: starts[mid]].rstrip(" ,.-/") + ELLIPSIS
            if self._width(head, family, style, size) <= max_w:
                best, low = head, mid + 1
            else:
                high = mid - 1
        return best

    def plan(self, lines: list[_Line], max_w: float, height: float) -> list[_Fitted]:
        """Fit every line; leave out droppable ones, lowest first, until the rest fit
        `height`; if the kept ones still do not fit, set everything smaller."""
        scale = 1.0
        while True:
            kept = [self.fit(line, max_w, scale) for line in lines]
            droppable = sorted((f for f in kept if f.line.drop), key=lambda f: f.line.drop)
            while sum(f.height for f in kept) > height and droppable:
                kept.remove(droppable.pop(0))
            if sum(f.height for f in kept) <= height or scale < 0.3:
                return kept
            scale *= 0.9

    def _draw(self, fitted: _Fitted, x: float, y: float, max_w: float) -> None:
        """Draw a fitted item with its top at y (a shrunk text is centred in its slot)."""
        line = fitted.line
        self.pdf.set_font(line.family, line.style, fitted.size)
        for i, text in enumerate(fitted.texts):
            if text:
                self.pdf.set_xy(x, y + i * fitted.slot)
                self.pdf.cell(max_w, fitted.slot, text)

    # -- QR -----------------------------------------------------------------------------

    def _qr(self, matrix: Sequence[Sequence[bool]], x: float, y: float, side: float) -> None:
        """The code as one filled path of rectangles, one per run of dark modules in a row.

        Written as raw content-stream operators in module units under a scaling matrix:
        integer coordinates, no seams between rows, and ~100x faster than one fpdf2 rect()
        call per run.
        """
        n = len(matrix)
        module = side / (n + 2 * QR_QUIET_MODULES)
        k, page_h = self.pdf.k, self.pdf.h
        x0 = (x + QR_QUIET_MODULES * module) * k
        y0 = (page_h - y - QR_QUIET_MODULES * module) * k
        ops = [f"q 0 g {module * k:.4f} 0 0 {-module * k:.4f} {x0:.3f} {y0:.3f} cm"]
        for r, row in enumerate(matrix):
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    ops.append(f"{start} {r} {c - start} 1 re")
                else:
                    c += 1
        ops.append("f Q")
        self.pdf._out("\n".join(ops))  # fpdf2 has no public call for raw content

    # -- a label ------------------------------------------------------------------------

    def label(self, matrix, lines: list[_Line], x: float, y: float) -> None:
        layout = self.layout
        pad = layout.padding
        if self.outlines:
            self.pdf.set_draw_color(170)
            self.pdf.set_line_width(0.1)
            self.pdf.rect(x, y, layout.label_w, layout.label_h)
        inner_h = layout.label_h - 2 * pad
        side = min(inner_h, (layout.label_w - 2 * pad) * 0.45)
        self._qr(matrix, x + pad, y + (layout.label_h - side) / 2, side)
        # The text starts at least 1.2 mm (the code's own quiet zone counts) after the code.
        module = side / (len(matrix) + 2 * QR_QUIET_MODULES)
        tx = x + pad + side + max(0.0, 1.2 - QR_QUIET_MODULES * module)
        tw = x + layout.label_w - pad - tx
        fitted = self.plan(lines, tw, inner_h)
        ty = y + pad
        for item in fitted:
            if not item.line.footer:
                self._draw(item, tx, ty, tw)
                ty += item.height
        footer = [item for item in fitted if item.line.footer]
        fy = max(ty, y + layout.label_h - pad - sum(item.height for item in footer))
        for item in footer:
            self._draw(item, tx, fy, tw)
            fy += item.height

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def check(layout: Layout, margins: Margins, start: int) -> None:
    """Raise SheetError when the grid leaves the page or `start` is not a position."""
    across, down = layout.fits(margins)
    if not (across and down):
        width, height = layout.extent(margins)
        raise SheetError(
            f"The grid needs {width:.1f} x {height:.1f} mm; "
            f"the page is {layout.page_w:g} x {layout.page_h:g} mm."
        )
    if min(margins.top, margins.left, margins.gap_x, margins.gap_y) < 0:
        raise SheetError("Margins and gaps cannot be negative.")
    if not 1 <= start <= layout.per_page:
        raise SheetError(f"The start position must be from 1 to {layout.per_page}.")


def render_labels(
    labels: Iterable[LabelData],
    layout: Layout,
    margins: Margins | None = None,
    *,
    start: int = 1,
    society_en: str = "",
    society_hi: str = "",
    outlines: bool = False,
    matrix_of=qr_matrix,
) -> bytes:
    """A PDF of the labels in grid order, the first at position `start` of the first page.

    `matrix_of(url)` gives a code's modules (rows of booleans).
    """
    margins = margins or layout.margins
    check(layout, margins, start)
    sheet = _Sheet(layout, margins, outlines)
    current_page = -1
    for index, data in enumerate(labels, start=start - 1):
        page, x, y = layout.position(index, margins)
        while current_page < page:
            sheet.pdf.add_page()
            current_page += 1
        lines = _lines(data, society_en, society_hi, layout)
        sheet.label(matrix_of(data.url), lines, x, y)
    if current_page < 0:
        sheet.pdf.add_page()  # no labels: one blank page rather than a broken file
    return sheet.output()
