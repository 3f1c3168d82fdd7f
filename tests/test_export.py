"""Export of the filtered register to CSV and XLSX: safe cells, filters, and a round trip."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import flask_babel
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from inventory.assets.models import Asset
from inventory.assets.services import delete_asset
from inventory.assets.tabular import FORMULA_STARTS, HEADERS
from inventory.catalog.models import AssetModel, Manufacturer
from inventory.extensions import db

DANGEROUS = {
    "location": '=HYPERLINK("http://evil.example","click")',
    "custodian": "+91 98390 12345",
    "supplier": "-2+3",
    "budget_head": "@SUM(A1:A9)",
    "notes": "\t=cmd|' /C calc'!A0",
    "order_reference": "\r=1+1",
}


@pytest.fixture
def viewer(as_role):
    return as_role("viewer")


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def xlsx_sheet(response):
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.data))
    return workbook.worksheets[0]


def xlsx_rows(response) -> list[dict[str, str]]:
    sheet = xlsx_sheet(response)
    lines = list(sheet.iter_rows(values_only=True))
    assert list(lines[0]) == list(HEADERS)
    return [
        dict(zip(HEADERS, ["" if v is None else v for v in line], strict=True))
        for line in lines[1:]
    ]


@pytest.fixture
def dangerous_asset(district, make_asset):
    asset = make_asset(district["hq"], "DSK", model=("HP", "ProDesk"), serial="=2*3")
    for column, value in DANGEROUS.items():
        # Straight onto the row: the form strips leading tabs and line breaks, an old
        # database or another tool might not have.
        setattr(asset, column, value)
    asset.purchase_cost = Decimal("45000.00")
    db.session.commit()
    return asset


def test_csv_export_neutralises_formula_cells(viewer, dangerous_asset):
    (row,) = csv_rows(viewer.get("/assets/export.csv"))
    for column, value in [*DANGEROUS.items(), ("serial", "=2*3")]:
        assert row[column] == "'" + value, column
    assert row["purchase_cost"] == "45000.00"
    for value in row.values():
        assert not value.startswith(FORMULA_STARTS)


def test_xlsx_export_neutralises_formula_cells(viewer, dangerous_asset):
    sheet = xlsx_sheet(viewer.get("/assets/export.xlsx"))
    header = [cell.value for cell in sheet[1]]
    assert header == list(HEADERS)
    cells = dict(zip(header, sheet[2], strict=True))
    for column, value in [*DANGEROUS.items(), ("serial", "=2*3")]:
        cell = cells[column]
        assert cell.data_type == "s", column
        # openpyxl's reader keeps a bare CR with lxml and turns it into LF without; what
        # matters is the apostrophe in front.
        assert cell.value.replace("\r", "\n") == "'" + value.replace("\r", "\n"), column
    for cell in sheet[2]:
        assert cell.data_type != "f"
        assert not str(cell.value or "").startswith(FORMULA_STARTS)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_follows_the_list_filters(viewer, district, make_asset, fmt):
    make_asset(district["hq"], "DSK", tag="GON-DSK-0001", status="deployed")
    make_asset(district["block"], "PRN", tag="GON-PRN-0001", status="under_repair")
    make_asset(district["csc"], "DSK", tag="GON-DSK-0002", status="deployed", serial="ZX81")
    make_asset(district["tehsil"], "UPS", tag="GON-UPS-0001", status="deployed")
    read = csv_rows if fmt == "csv" else xlsx_rows

    def tags(ordered=False, **args) -> list[str]:
        found = [r["tag"] for r in read(viewer.get(f"/assets/export.{fmt}", query_string=args))]
        return found if ordered else sorted(found)

    assert tags() == ["GON-DSK-0001", "GON-DSK-0002", "GON-PRN-0001", "GON-UPS-0001"]
    assert tags(status="under_repair") == ["GON-PRN-0001"]
    assert tags(site=district["block"].id) == ["GON-DSK-0002", "GON-PRN-0001"]
    assert tags(site=district["tehsil"].id, status="deployed") == ["GON-DSK-0002", "GON-UPS-0001"]
    assert tags(q="zx81") == ["GON-DSK-0002"]
    assert tags(ordered=True, sort="tag", dir="desc") == sorted(tags(), reverse=True)
    assert viewer.get("/assets/export.pdf").status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trip(app, tmp_path, make_user, login, district, make_asset, fmt):
    app.instance_path = str(tmp_path / "instance")
    make_asset(
        district["hq"],
        "PRJ",
        tag="GON-PRJ-0001",
        model=("Epson", "EB-X51"),
        serial="X51-1",
        location="=Meeting hall",
        custodian="श्री राम कुमार",
        purchase_cost=Decimal("38500.50"),
        warranty_end=date(2026, 3, 31),
        amc_vendor="-Nice Infotech",
        amc_end=date(2027, 1, 15),
        management_address="10.20.1.5",
        notes="@ceiling mount, 2nd floor",
    )
    make_asset(
        district["csc"], "RTR", model=("Cisco", "ISR 1111"), serial="FGL1", status="in_store"
    )
    make_asset(district["block"], "UPS", budget_head="e-District O&M", supplier="APC & Sons")
    client = login(make_user("manager", locale="en"))
    flask_babel.refresh()
    exported = client.get(f"/assets/export.{fmt}")
    before = (csv_rows if fmt == "csv" else xlsx_rows)(exported)
    assert len(before) == 3

    # A fresh register on the same sites: no assets, no makers, no models.
    for asset in db.session.scalars(sa.select(Asset)).all():
        delete_asset(asset)
    db.session.execute(sa.delete(AssetModel))
    db.session.execute(sa.delete(Manufacturer))
    db.session.commit()

    preview = client.post(
        "/assets/import",
        data={"file": (io.BytesIO(exported.data), f"export.{fmt}")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    text = preview.get_data(as_text=True)
    assert "Import 3 assets" in text
    assert "Epson EB-X51" in text and "Cisco ISR 1111" in text
    token = text.split('name="token" type="hidden" value="', 1)[1].split('"', 1)[0]
    assert client.post("/assets/import/commit", data={"token": token}).status_code == 302

    after = (csv_rows if fmt == "csv" else xlsx_rows)(client.get(f"/assets/export.{fmt}"))
    assert sorted(after, key=lambda r: r["tag"]) == sorted(before, key=lambda r: r["tag"])
    projector = db.session.scalar(sa.select(Asset).where(Asset.tag == "GON-PRJ-0001"))
    assert projector.location == "=Meeting hall"  # the export's apostrophe did not stick
    assert projector.amc_vendor == "-Nice Infotech"
    assert projector.purchase_cost == Decimal("38500.50")
