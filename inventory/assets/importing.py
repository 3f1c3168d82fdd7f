"""Spreadsheet import of assets: read a CSV or XLSX file, check every row, write all or nothing."""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.assets import services
from inventory.assets.models import Asset
from inventory.assets.tabular import FORMULA_STARTS, HEADERS
from inventory.catalog import services as catalog
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.choices import AssetStatus
from inventory.extensions import db
from inventory.sites.models import Site
from inventory.sites.services import get_site_by_code

FORMATS = ("csv", "xlsx")
REQUIRED = ("category", "site")
DATE_COLUMNS = ("purchase_date", "warranty_end", "amc_end")
TEXT_COLUMNS = (
    "location",
    "custodian",
    "supplier",
    "order_reference",
    "budget_head",
    "amc_vendor",
    "management_address",
    "notes",
)
NEW = "new"  # the tag shown for a row whose tag the register will generate
MAX_COST = Decimal("9999999999.99")  # Numeric(12, 2)
# An XLSX sheet can claim a million formatted but empty rows; stop after this many in a row.
MAX_BLANK_RUN = 1000
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")
STALE_AFTER_SECONDS = 24 * 60 * 60
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (size, format, columns); the message says why."""


@dataclass
class SourceRow:
    """One data row of the file: its row number as a spreadsheet shows it, and its cells."""

    number: int
    values: dict[str, str]
    extra_cells: int = 0


@dataclass
class RowResult:
    """What became (or would become) of one row."""

    number: int
    tag: str
    ok: bool = True
    messages: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def status(self) -> str:
        return "ok" if self.ok else "error"

    @property
    def is_new(self) -> bool:
        return self.tag == NEW

    def error(self, message: str) -> None:
        self.ok = False
        self.messages.append(message)


@dataclass
class ImportResult:
    """The outcome of a run: one entry per row, and the makers and models it adds."""

    rows: list[RowResult] = field(default_factory=list)
    new_manufacturers: list[str] = field(default_factory=list)
    new_models: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def ok_count(self) -> int:
        return sum(1 for row in self.rows if row.ok)

    @property
    def error_count(self) -> int:
        return self.total - self.ok_count

    @property
    def is_clean(self) -> bool:
        return self.total > 0 and self.error_count == 0

    @property
    def error_rows(self) -> list[RowResult]:
        return [row for row in self.rows if not row.ok]


# --- reading the file -------------------------------------------------------------------


def file_format(filename: str, data: bytes = b"") -> str:
    """csv or xlsx: an XLSX workbook is recognised by its content, a CSV by its name."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data.startswith(OLE_MAGIC):
        raise ImportFileError(_("Old Excel (.xls) files cannot be read. Save the file as .xlsx."))
    if data.startswith(ZIP_MAGIC) and ext in FORMATS:
        return "xlsx"  # also when a workbook was named .csv by mistake
    if ext not in FORMATS:
        raise ImportFileError(_("Upload a CSV or XLSX file (.csv or .xlsx)."))
    return ext


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(str(value)))
    return str(value)


def _clean_cell(value: Any) -> str:
    text = _cell_text(value)
    # The export puts an apostrophe before a cell that a spreadsheet would run as a formula.
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]
    return text.strip()


def _header_name(value: Any) -> str:
    return _cell_text(value).strip().lower().replace(" ", "_")


def _read_header(cells: list[Any]) -> list[str]:
    names = [_header_name(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ImportFileError(_("The file is empty: the first row must name the columns."))
    if "" in names:
        raise ImportFileError(
            _("Column %(n)d has no name in the first row.", n=names.index("") + 1)
        )
    unknown = [name for name in names if name not in HEADERS]
    if unknown:
        raise ImportFileError(
            _(
                "Unknown column: %(names)s. The columns are: %(known)s.",
                names=", ".join(unknown),
                known=", ".join(HEADERS),
            )
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImportFileError(_("Column named twice: %(names)s.", names=", ".join(repeated)))
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise ImportFileError(
            _("A required column is missing: %(names)s.", names=", ".join(missing))
        )
    return names


def _collect(lines, max_rows: int) -> list[SourceRow]:
    """Header from the first line, then the non-blank rows, refusing more than max_rows."""
    header: list[str] | None = None
    rows: list[SourceRow] = []
    blank_run = 0
    for number, cells in enumerate(lines, start=1):
        if header is None:
            header = _read_header(list(cells))
            continue
        values = [_clean_cell(cell) for cell in cells]
        if not any(values):
            blank_run += 1
            if blank_run >= MAX_BLANK_RUN:
                break
            continue
        blank_run = 0
        if len(rows) >= max_rows:
            raise ImportFileError(
                _(
                    "The file has more than %(max)d rows. Split it into smaller files.",
                    max=max_rows,
                )
            )
        extra = sum(1 for value in values[len(header) :] if value)
        padded = values[: len(header)] + [""] * (len(header) - len(values))
        rows.append(SourceRow(number, dict(zip(header, padded, strict=True)), extra))
    if header is None:
        raise ImportFileError(_("The file is empty: the first row must name the columns."))
    if not rows:
        raise ImportFileError(_("The file has column names but no rows of assets."))
    return rows


def _csv_lines(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file could not be read as UTF-8 text. Save it as CSV UTF-8 and try again.")
        ) from None
    if "\x00" in text:
        raise ImportFileError(_("This is not a CSV file. Upload a CSV or XLSX file."))
    first_line = text.split("\n", 1)[0]
    # Excel saves "CSV" with semicolons in some regional settings.
    delimiter = ","
    if "," not in first_line:
        delimiter = max((";", "\t"), key=first_line.count) if first_line.strip() else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error:
        raise ImportFileError(
            _("The CSV file is damaged (for example, a quote is not closed).")
        ) from None


def _xlsx_lines(data: bytes):
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ImportFileError(_("This is not an XLSX file. Upload a CSV or XLSX file."))
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter here.
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                names = workbook.sheetnames
                sheet = workbook["assets"] if "assets" in names else workbook.worksheets[0]
                yield from sheet.iter_rows(values_only=True)
            finally:
                workbook.close()
    except ImportFileError:
        raise
    except Exception:  # openpyxl raises many kinds of error for a damaged workbook
        raise ImportFileError(
            _("The XLSX file could not be read. Save it again from the spreadsheet program.")
        ) from None


def read_table(data: bytes, filename: str, *, max_bytes: int, max_rows: int) -> list[SourceRow]:
    """The rows of an uploaded file, or ImportFileError saying what is wrong with it."""
    if len(data) > max_bytes:
        raise ImportFileError(
            _(
                "The file is too large: the limit is %(limit)s KB. Split it into smaller files.",
                limit=max_bytes // 1024,
            )
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty: the first row must name the columns."))
    fmt = file_format(filename, data)
    lines = _csv_lines(data) if fmt == "csv" else _xlsx_lines(data)
    return _collect(lines, max_rows)


# --- checking and writing rows ----------------------------------------------------------


def parse_date(text: str) -> date:
    """yyyy-mm-dd, or dd-mm-yyyy (also with / or .) as written in Indian offices."""
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_cost(text: str) -> Decimal:
    cleaned = text.replace(",", "").replace("₹", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or abs(value) > MAX_COST * 10:
        raise ValueError(text)  # also keeps 1E+999999 away from quantize()
    return value.quantize(Decimal("0.01"))


def _status(text: str) -> str | None:
    if not text:
        return AssetStatus.IN_STORE.value
    value = text.strip().lower().replace(" ", "_").replace("-", "_")
    return value if value in AssetStatus.values() else None


def _max_length(column: str) -> int | None:
    return getattr(Asset.__table__.columns[column].type, "length", None)


class _Run:
    """The state of one import run: lookups already made and what the file has repeated.

    Categories and sites are held here, not only their ids: the session's identity map
    keeps objects weakly, and without a reference each row would load them again.
    """

    def __init__(self) -> None:
        self.categories: dict[str, Category | None] = {}
        self.sites: dict[str, Site | None] = {}
        self.tags: dict[str, int] = {}
        self.serials: dict[tuple[str, str, str], int] = {}
        self.models: dict[tuple[str, str], AssetModel] = {}

    def category(self, text: str) -> Category | None:
        key = text.strip().lower()
        if key not in self.categories:
            self.categories[key] = catalog.find_category(text)
        return self.categories[key]

    def site(self, code: str) -> Site | None:
        key = code.strip().upper()
        if key not in self.sites:
            self.sites[key] = get_site_by_code(key)
        return self.sites[key]


def _fields_for(row: SourceRow, run: _Run, result: RowResult) -> dict[str, Any]:
    """The create_asset arguments for one row; problems go into result."""
    v = row.values
    fields: dict[str, Any] = {}
    if row.extra_cells:
        result.error(_("This row has more cells than the first row has column names."))

    tag = v.get("tag", "").upper()
    if tag:
        first = run.tags.get(tag)
        if first is not None:
            result.error(_("Duplicate tag %(tag)s: row %(row)d has it too.", tag=tag, row=first))
        else:
            run.tags[tag] = row.number
            if db.session.scalar(sa.select(Asset.id).where(Asset.tag == tag)):
                result.error(_("Duplicate tag: %(tag)s is already in the register.", tag=tag))
        fields["tag"] = tag

    category_text = v.get("category", "")
    if not category_text:
        result.error(_("The category is missing."))
    else:
        category = run.category(category_text)
        fields["category_id"] = category.id if category else None
        if category is None:
            result.error(_("Unknown category: %(value)s.", value=category_text))

    site_code = v.get("site", "")
    if not site_code:
        result.error(_("The site code is missing."))
    else:
        site = run.site(site_code)
        fields["site_id"] = site.id if site else None
        if site is None:
            result.error(_("Unknown site: %(value)s.", value=site_code))

    status = _status(v.get("status", ""))
    if status is None:
        result.error(
            _(
                "Unknown status: %(value)s. Use one of: %(known)s.",
                value=v["status"],
                known=", ".join(AssetStatus.values()),
            )
        )
    fields["status"] = status

    maker, model = v.get("manufacturer", ""), v.get("model", "")
    if bool(maker) != bool(model):
        result.error(_("Give both the manufacturer and the model, or neither."))
    elif len(maker) > Manufacturer.__table__.c.name.type.length:
        result.error(_("The manufacturer name is too long."))
    elif len(model) > AssetModel.__table__.c.name.type.length:
        result.error(_("The model name is too long."))

    serial = v.get("serial", "")
    if len(serial) > (_max_length("serial") or 64):
        result.error(_("The serial number is too long."))
    elif serial and maker and model:
        key = (maker.lower(), model.lower(), serial)
        first = run.serials.get(key)
        if first is not None:
            result.error(
                _(
                    "Duplicate serial %(serial)s of this model: row %(row)d has it too.",
                    serial=serial,
                    row=first,
                )
            )
        else:
            run.serials[key] = row.number
    fields["serial"] = serial

    for column in DATE_COLUMNS:
        text = v.get(column, "")
        fields[column] = None
        if text:
            try:
                fields[column] = parse_date(text)
            except ValueError:
                result.error(
                    _(
                        "Bad date in %(column)s: %(value)s. Write it as 2024-03-31 or 31-03-2024.",
                        column=column,
                        value=text,
                    )
                )

    cost = v.get("purchase_cost", "")
    fields["purchase_cost"] = None
    if cost:
        try:
            fields["purchase_cost"] = parse_cost(cost)
        except ValueError:
            result.error(_("The cost is not a number: %(value)s.", value=cost))
        else:
            if fields["purchase_cost"] < 0:
                result.error(_("The cost cannot be negative."))
            elif fields["purchase_cost"] > MAX_COST:
                result.error(_("The cost is too large."))

    for column in TEXT_COLUMNS:
        text = v.get(column, "")
        limit = _max_length(column)
        if limit is not None and len(text) > limit:
            result.error(
                _(
                    "%(column)s is longer than %(max)d characters.",
                    column=column,
                    max=limit,
                )
            )
        fields[column] = text
    return fields


def _maker_exists(name: str) -> bool:
    found = db.session.scalar(
        sa.select(Manufacturer.id).where(sa.func.lower(Manufacturer.name) == name.lower())
    )
    return found is not None


def _write_row(
    row: SourceRow, fields: dict[str, Any], run: _Run, result: RowResult, out: ImportResult
) -> None:
    """Create the row's asset inside its own savepoint; a failure undoes only this row."""
    maker, model = row.values.get("manufacturer", ""), row.values.get("model", "")
    key = (maker.lower(), model.lower())
    new_maker = new_model = False
    try:
        with db.session.begin_nested():
            if maker and model:
                category = run.category(row.values["category"])
                known = run.models.get(key)
                if known is None or known.category_id != category.id:
                    if catalog.find_model(maker, model) is None:
                        new_model, new_maker = True, not _maker_exists(maker)
                    # The catalogue's own rule: a model belongs to one category.
                    known = catalog.get_or_create_model(maker, model, category)
                fields["model_id"] = known.id
            asset = services.create_asset(**fields)
    except (services.AssetError, catalog.CatalogError) as exc:
        result.error(str(exc))
        return
    except sa.exc.IntegrityError:
        result.error(_("This row clashes with a record saved at the same time. Try again."))
        return
    if maker and model:
        run.models[key] = known  # kept: this row's savepoint was released, not rolled back
    if new_maker and maker.lower() not in (m.lower() for m in out.new_manufacturers):
        out.new_manufacturers.append(maker)
    if new_model:
        out.new_models.append(f"{maker} {model}")
    if out.committed:
        result.tag = asset.tag


def import_assets(rows: list[SourceRow], *, commit: bool) -> ImportResult:
    """Check and create every row in one transaction; keep it only if commit and all rows pass.

    The rows run inside one savepoint that is rolled back for a dry run or when any row fails,
    so the caller commits the session only when result.committed is true.
    """
    out = ImportResult(committed=commit)
    run = _Run()
    outer = db.session.begin_nested()
    try:
        for row in rows:
            v = row.values
            result = RowResult(
                number=row.number,
                tag=v.get("tag", "").upper() or NEW,
                summary=" · ".join(
                    part
                    for part in (
                        v.get("category", ""),
                        f"{v.get('manufacturer', '')} {v.get('model', '')}".strip(),
                        v.get("serial", ""),
                        v.get("site", "").upper(),
                    )
                    if part
                ),
            )
            out.rows.append(result)
            fields = _fields_for(row, run, result)
            if result.ok:
                _write_row(row, fields, run, result, out)
    except BaseException:
        outer.rollback()
        raise
    if commit and out.is_clean:
        outer.commit()
    else:
        outer.rollback()
        out.committed = False
    return out


# --- keeping an upload between preview and commit ---------------------------------------


def keep_upload(directory: Path, data: bytes, fmt: str) -> str:
    """Store checked bytes under a random token for the commit step; returns the token."""
    if fmt not in FORMATS:
        raise ImportFileError(_("Upload a CSV or XLSX file (.csv or .xlsx)."))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_stale_uploads(directory)
    token = secrets.token_urlsafe(24)
    path = directory / f"{token}.{fmt}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return token


def take_upload(directory: Path, token: str) -> tuple[bytes, str]:
    """The bytes and format kept under token, removed so that one upload imports once."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise ImportFileError(_("This import is not known or has expired. Upload the file again."))
    for fmt in FORMATS:
        path = directory / f"{token}.{fmt}"
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
        try:
            path.unlink()  # only one of two simultaneous commits gets past this
        except FileNotFoundError:
            break
        return data, fmt
    raise ImportFileError(_("This import is not known or has expired. Upload the file again."))


def remove_stale_uploads(directory: Path, max_age: float = STALE_AFTER_SECONDS) -> int:
    """Delete kept uploads older than max_age seconds; returns how many went."""
    if not directory.is_dir():
        return 0
    cutoff = time.time() - max_age
    removed = 0
    for path in directory.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
