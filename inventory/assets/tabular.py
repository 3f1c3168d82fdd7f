"""The register as a spreadsheet: one column set for export and import, and safe cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from openpyxl import Workbook

from inventory.assets.models import Asset

# (column header, how an asset fills it); import reads the same headers.
COLUMNS: tuple[tuple[str, object], ...] = (
    ("tag", lambda a: a.tag),
    ("category", lambda a: a.category.code),
    ("manufacturer", lambda a: a.model.manufacturer.name if a.model else ""),
    ("model", lambda a: a.model.name if a.model else ""),
    ("serial", lambda a: a.serial or ""),
    ("status", lambda a: a.status),
    ("site", lambda a: a.site.code),
    ("location", lambda a: a.location),
    ("custodian", lambda a: a.custodian),
    ("purchase_date", lambda a: a.purchase_date.isoformat() if a.purchase_date else ""),
    ("purchase_cost", lambda a: str(a.purchase_cost) if a.purchase_cost is not None else ""),
    ("supplier", lambda a: a.supplier),
    ("order_reference", lambda a: a.order_reference),
    ("budget_head", lambda a: a.budget_head),
    ("warranty_end", lambda a: a.warranty_end.isoformat() if a.warranty_end else ""),
    ("amc_vendor", lambda a: a.amc_vendor),
    ("amc_end", lambda a: a.amc_end.isoformat() if a.amc_end else ""),
    ("management_address", lambda a: a.management_address),
    ("notes", lambda a: a.notes),
)
HEADERS = tuple(name for name, _ in COLUMNS)
NUMERIC = {"purchase_cost"}

# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Make a text cell inert: a leading apostrophe stops formula evaluation."""
    if value and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def asset_rows(assets: Iterable[Asset]) -> Iterable[list[str]]:
    for asset in assets:
        yield [
            value if name in NUMERIC else neutralise(value)
            for name, value in ((name, str(get(asset) or "")) for name, get in COLUMNS)
        ]


def to_csv(assets: Iterable[Asset]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(asset_rows(assets))
    return buffer.getvalue()


def to_xlsx(assets: Iterable[Asset]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("assets")
    sheet.append(list(HEADERS))
    for row in asset_rows(assets):
        # Text stays text: openpyxl would store a string starting with "=" as a formula.
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
