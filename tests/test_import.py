"""Import of assets from CSV and XLSX: preview, all-or-nothing commit, limits, tokens, roles."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import flask_babel
import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from inventory.assets import importing
from inventory.assets.models import Asset
from inventory.assets.tabular import HEADERS
from inventory.audit.models import ChangeLog
from inventory.catalog.models import AssetModel, Manufacturer
from inventory.extensions import db

TOKEN_INPUT = re.compile(r'name="token" type="hidden" value="([^"]+)"')


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path) -> Path:
    """Kept uploads go to this test's own instance folder, not the repository's."""
    app.instance_path = str(tmp_path / "instance")
    return tmp_path / "instance" / "imports"


@pytest.fixture
def as_english(make_user, login):
    """A client signed in with a new user of the given role who reads English pages."""

    def do(role):
        client = login(make_user(role, locale="en"))
        # The app fixture keeps one app context (and so one `g`) across requests, and
        # Flask-Babel caches the locale on g: forget the one chosen before the login.
        flask_babel.refresh()
        return client

    return do


@pytest.fixture
def manager(as_english, district, categories):
    return as_english("manager")


def csv_bytes(rows: list[dict], headers=HEADERS, bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(headers), extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[list], headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "assets"
    sheet.append(list(headers))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "assets.csv"):
    return client.post(
        "/assets/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def token_of(response) -> str:
    match = TOKEN_INPUT.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:3000]
    return match.group(1)


def asset_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Asset))


def import_history_count() -> int:
    """Change-log rows an import would write: assets, manufacturers, models."""
    kinds = ("assets", "manufacturers", "asset_models")
    return db.session.scalar(sa.select(sa.func.count()).where(ChangeLog.object_type.in_(kinds)))


def row(**values) -> dict:
    base = {"category": "DSK", "site": "GON-HQ", "status": "deployed"}
    return base | values


# --- the happy paths --------------------------------------------------------------------


def test_upload_page_and_template(manager):
    page = manager.get("/assets/import")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/assets/import/template.csv" in text
    for name in HEADERS:
        assert name in text
    template = manager.get("/assets/import/template.csv")
    assert template.status_code == 200
    assert template.mimetype == "text/csv"
    assert template.get_data(as_text=True).lstrip("\ufeff").strip() == ",".join(HEADERS)


def test_csv_preview_writes_nothing_then_commit_writes_all(manager, upload_dir):
    data = csv_bytes(
        [
            row(
                tag="GON-DSK-0100",
                manufacturer="HP",
                model="ProDesk 400 G7",
                serial="SGH001",
                purchase_date="2023-04-01",
                purchase_cost="45000.00",
                warranty_end="31-03-2026",
                location="Counter 1",
                custodian="R. K. Verma",
            ),
            row(manufacturer="HP", model="ProDesk 400 G7", serial="SGH002", site="csc-001"),
            row(category="Projector", site="TEH-MNK", status="", notes="Meeting hall"),
        ],
        bom=True,
    )
    preview = upload(manager, data)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    text = preview.get_data(as_text=True)
    assert "Import 3 assets" in text
    assert "HP ProDesk 400 G7" in text  # reported as a new model
    assert asset_count() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Manufacturer)) == 0
    assert import_history_count() == 0

    token = token_of(preview)
    kept = upload_dir / f"{token}.csv"
    assert kept.is_file()
    assert kept.stat().st_mode & 0o777 == 0o600

    done = manager.post("/assets/import/commit", data={"token": token})
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/assets/")
    assert not kept.exists()
    assets = {a.serial or a.category.code: a for a in db.session.scalars(sa.select(Asset))}
    assert len(assets) == 3
    first = assets["SGH001"]
    assert first.tag == "GON-DSK-0100"
    assert first.purchase_date == date(2023, 4, 1)
    assert first.purchase_cost == Decimal("45000.00")
    assert first.warranty_end == date(2026, 3, 31)
    assert first.custodian == "R. K. Verma"
    assert assets["SGH002"].site.code == "CSC-001"
    assert assets["SGH002"].model_id == first.model_id
    projector = assets["PRJ"]
    assert projector.tag.startswith("GON-PRJ-")
    assert projector.status == "in_store"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AssetModel)) == 1

    history = db.session.scalars(
        sa.select(ChangeLog).where(ChangeLog.object_type == "assets", ChangeLog.action == "create")
    ).all()
    assert {h.object_id for h in history} == {a.id for a in assets.values()}
    assert all(h.actor_name.startswith("user") for h in history)

    listing = manager.get("/assets/")
    assert "3 assets imported." in listing.get_data(as_text=True)


def test_xlsx_import(manager):
    data = xlsx_bytes(
        [
            ["", "RTR", "Cisco", "ISR 1111", 123456789, "deployed", "BLK-MNK", "Server room", "",
             datetime(2022, 7, 15), 38500.5, "Vendor & Co", "PO/12", "SWAN", "2025-07-14",
             "", None, "10.20.1.1", "'=cmd"],
            ["GON-SWT-0007", "Switch", "Cisco", "CBS350", "FOC1", "under repair", "GON-HQ"],
        ]
    )  # fmt: skip
    preview = upload(manager, data, "register.XLSX")
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    assert asset_count() == 0
    done = manager.post("/assets/import/commit", data={"token": token_of(preview)})
    assert done.status_code == 302
    router = db.session.scalar(sa.select(Asset).where(Asset.serial == "123456789"))
    assert router.purchase_date == date(2022, 7, 15)
    assert router.purchase_cost == Decimal("38500.50")
    assert router.warranty_end == date(2025, 7, 14)
    assert router.management_address == "10.20.1.1"
    assert router.notes == "=cmd"  # the export's apostrophe goes; the export adds it again
    switch = db.session.scalar(sa.select(Asset).where(Asset.tag == "GON-SWT-0007"))
    assert switch.status == "under_repair"
    assert switch.model.manufacturer.name == "Cisco"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Manufacturer)) == 1


def test_leading_apostrophe_from_export_is_removed(manager):
    data = csv_bytes([row(notes="'=1+1", location="'-2nd floor", custodian="'Ravi'")])
    preview = upload(manager, data)
    manager.post("/assets/import/commit", data={"token": token_of(preview)})
    asset = db.session.scalar(sa.select(Asset))
    assert asset.notes == "=1+1"
    assert asset.location == "-2nd floor"
    assert asset.custodian == "'Ravi'"  # only the export's apostrophe goes


# --- per-row errors ---------------------------------------------------------------------


def test_every_row_error_is_reported_and_nothing_written(manager, district, make_asset):
    make_asset(district["hq"], "PRN", tag="GON-PRN-0001", model=("Epson", "M200"), serial="E1")
    data = csv_bytes(
        [
            row(tag="GON-DSK-0001"),  # 2: fine
            row(site="NOWHERE"),  # 3
            row(purchase_date="2023-02-30"),  # 4
            row(warranty_end="next year"),  # 5
            row(tag="gon-prn-0001"),  # 6: in the database already
            row(tag="GON-DSK-0001"),  # 7: again in the file
            row(category="PRN", manufacturer="Epson", model="M200", serial="E1"),  # 8
            row(category="DSK", manufacturer="Dell", model="Vostro", serial="D1"),  # 9
            row(category="DSK", manufacturer="dell", model="VOSTRO", serial="D1"),  # 10
            row(category="DSK", manufacturer="Lenovo", model="M70", serial="D1"),  # 11: fine
            row(category="Toaster", purchase_cost="-5"),  # 12: two problems
            row(status="lost"),  # 13
            row(manufacturer="HP"),  # 14
            row(management_address="not an address!"),  # 15
            row(category="PRN", manufacturer="Dell", model="Vostro"),  # 16: Dell Vostro is a DSK
            row(purchase_cost="1E+999999"),  # 17
            row(purchase_cost="12,34,567.50", purchase_date="31/03/2024"),  # 18: fine
        ]
    )
    response = upload(manager, data)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Import 1" not in text
    assert not TOKEN_INPUT.search(text)
    assert "Unknown site: NOWHERE." in text
    assert asset_count() == 1

    rows = importing.read_table(data, "f.csv", max_bytes=10**6, max_rows=100)
    with flask_babel.force_locale("en"):
        result = importing.import_assets(rows, commit=True)
    db.session.rollback()
    assert asset_count() == 1
    assert not result.committed
    by_row = {r.number: r for r in result.rows}
    assert [n for n, r in by_row.items() if r.ok] == [2, 9, 11, 18]
    assert result.ok_count == 4 and result.error_count == 13 and result.total == 17

    def says(number, fragment):
        assert by_row[number].status == "error"
        assert any(fragment in m for m in by_row[number].messages), by_row[number].messages

    says(3, "Unknown site: NOWHERE")
    says(4, "Bad date in purchase_date: 2023-02-30")
    says(5, "Bad date in warranty_end")
    says(6, "Duplicate tag: GON-PRN-0001 is already in the register")
    says(7, "Duplicate tag GON-DSK-0001: row 2 has it too")
    says(8, "Serial E1 of this model is already registered as GON-PRN-0001")
    says(10, "Duplicate serial D1 of this model: row 9 has it too")
    says(12, "Unknown category: Toaster")
    says(12, "The cost cannot be negative")
    says(13, "Unknown status: lost")
    says(14, "Give both the manufacturer and the model")
    says(15, "IP address or a host name")
    says(16, "The model Dell Vostro is a Desktop")
    says(17, "The cost is not a number")
    assert by_row[2].tag == "GON-DSK-0001"
    assert by_row[3].tag == importing.NEW and by_row[3].is_new


def test_one_bad_row_in_a_commit_writes_nothing(app, district, categories):
    data = csv_bytes([row(), row(manufacturer="HP", model="Z2", serial="1"), row(site="XX")])
    rows = importing.read_table(data, "f.csv", max_bytes=10**6, max_rows=100)
    with flask_babel.force_locale("en"):
        result = importing.import_assets(rows, commit=True)
    db.session.commit()  # even a careless caller's commit writes nothing
    assert not result.committed
    assert [r.status for r in result.rows] == ["ok", "ok", "error"]
    assert result.rows[2].messages == ["Unknown site: XX."]
    assert result.new_models == ["HP Z2"] and result.new_manufacturers == ["HP"]
    assert asset_count() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Manufacturer)) == 0
    assert import_history_count() == 0


def test_dry_run_rolls_back_even_when_clean(app, district, categories):
    data = csv_bytes([row(), row(category="UPS")])
    rows = importing.read_table(data, "f.csv", max_bytes=10**6, max_rows=100)
    result = importing.import_assets(rows, commit=False)
    db.session.commit()
    assert result.is_clean and not result.committed
    assert asset_count() == 0


def test_commit_refused_when_the_register_changed_after_the_preview(manager, district, make_asset):
    preview = upload(manager, csv_bytes([row(), row(tag="GON-UPS-0009", category="UPS")]))
    token = token_of(preview)
    make_asset(district["hq"], "UPS", tag="GON-UPS-0009")
    response = manager.post("/assets/import/commit", data={"token": token})
    assert response.status_code == 400
    assert "GON-UPS-0009 is already in the register" in response.get_data(as_text=True)
    assert asset_count() == 1


# --- the file as a whole ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"tag,category,site\r\n", "a.txt", "Upload a CSV or XLSX file"),
        (b"category,site\nDSK,GON-HQ\n", "noext", "Upload a CSV or XLSX file"),
        ("category,site,notes\nDSK,GON-HQ,caf\xe9\n".encode("latin-1"), "a.csv", "UTF-8"),
        (b"category,notes\nDSK,x\n", "a.csv", "A required column is missing: site."),
        (b"category,site,colour\nDSK,GON-HQ,red\n", "a.csv", "Unknown column: colour."),
        (b"category,site,site\nDSK,GON-HQ,X\n", "a.csv", "Column named twice: site."),
        (b"category,site\n", "a.csv", "no rows of assets"),
        (b"", "a.csv", "The file is empty"),
        (b"not a zip at all", "a.xlsx", "This is not an XLSX file"),
        (b"PK\x03\x04broken", "a.xlsx", "This is not an XLSX file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "a.xls", "Old Excel (.xls) files"),
        (b"category,site\nDSK,\x00\n", "a.csv", "This is not a CSV file"),
    ],
)
def test_file_problems(manager, data, name, message):
    response = upload(manager, data, name)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert asset_count() == 0


def test_workbook_named_csv_is_read_as_xlsx(manager):
    data = xlsx_bytes([["", "DSK"] + [""] * 4 + ["GON-HQ"]])
    preview = upload(manager, data, "saved-wrongly.csv")
    assert preview.status_code == 200
    token = token_of(preview)
    assert manager.post("/assets/import/commit", data={"token": token}).status_code == 302
    assert asset_count() == 1


def test_damaged_xlsx(manager):
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    response = upload(manager, buffer.getvalue(), "a.xlsx")
    assert response.status_code == 400
    assert "The XLSX file could not be read" in response.get_data(as_text=True)


def test_semicolon_csv_and_header_spelling(manager):
    data = "Category;Site;Purchase Date;Custodian\nDSK;GON-HQ;01-04-2023;श्री राम\n".encode()
    preview = upload(manager, data)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    manager.post("/assets/import/commit", data={"token": token_of(preview)})
    asset = db.session.scalar(sa.select(Asset))
    assert asset.purchase_date == date(2023, 4, 1)
    assert asset.custodian == "श्री राम"


def test_size_limit(app, manager):
    app.config["IMPORT_MAX_BYTES"] = 200
    data = csv_bytes([row(notes="x" * 300)])
    response = upload(manager, data)
    assert response.status_code == 400
    assert "The file is too large" in response.get_data(as_text=True)


def test_row_limit(app, manager):
    app.config["IMPORT_MAX_ROWS"] = 2
    ok = upload(manager, csv_bytes([row(), row(), {"category": "", "site": ""}]))
    assert ok.status_code == 200  # blank rows do not count
    response = upload(manager, csv_bytes([row(), row(), row()]))
    assert response.status_code == 400
    assert "more than 2 rows" in response.get_data(as_text=True)
    response = upload(manager, xlsx_bytes([["", "DSK"] + [""] * 4 + ["GON-HQ"]] * 3), "a.xlsx")
    assert response.status_code == 400
    assert "more than 2 rows" in response.get_data(as_text=True)


def test_extra_cells_in_a_row(manager):
    data = b"category,site\nDSK,GON-HQ,surprise\n"
    response = upload(manager, data)
    assert "more cells than the first row" in response.get_data(as_text=True)


# --- the token between preview and commit -----------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "../../../etc/passwd",
        "..%2F..%2Finventory.sqlite3",
        "A" * 32,  # the right shape, but never issued
        "A" * 31 + "/",
        "A" * 33,
        "A" * 32 + "\n",
        "A" * 32 + ".csv",
    ],
)
def test_tampered_token_is_refused(manager, upload_dir, token):
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir.parent / "secret.csv").write_bytes(csv_bytes([row()]))
    response = manager.post("/assets/import/commit", data={"token": token})
    assert response.status_code == 400
    assert asset_count() == 0
    assert (upload_dir.parent / "secret.csv").exists()


def test_token_imports_once(manager):
    preview = upload(manager, csv_bytes([row()]))
    token = token_of(preview)
    assert manager.post("/assets/import/commit", data={"token": token}).status_code == 302
    again = manager.post("/assets/import/commit", data={"token": token})
    assert again.status_code == 400
    assert "not known or has expired" in again.get_data(as_text=True)
    assert asset_count() == 1


def test_no_token_kept_for_a_file_with_errors(manager, upload_dir):
    upload(manager, csv_bytes([row(site="NOPE")]))
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_stale_uploads_are_removed(manager, upload_dir):
    upload_dir.mkdir(parents=True)
    old = upload_dir / ("B" * 32 + ".csv")
    old.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    fresh = upload_dir / ("C" * 32 + ".csv")
    fresh.write_bytes(b"x")
    upload(manager, csv_bytes([row()]))
    assert not old.exists()
    assert fresh.exists()


# --- who may import ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "engineer"])
def test_only_managers_import(as_english, district, categories, role):
    client = as_english(role)
    assert client.get("/assets/import").status_code == 403
    assert client.get("/assets/import/template.csv").status_code == 403
    assert upload(client, csv_bytes([row()])).status_code == 403
    assert client.post("/assets/import/commit", data={"token": "A" * 32}).status_code == 403
    assert asset_count() == 0


def test_admin_may_import(as_english, district, categories):
    client = as_english("admin")
    assert client.get("/assets/import").status_code == 200
    preview = upload(client, csv_bytes([row()]))
    assert (
        client.post("/assets/import/commit", data={"token": token_of(preview)}).status_code == 302
    )


def test_anonymous_is_sent_to_login(client):
    response = client.get("/assets/import")
    assert response.status_code in (302, 401)
