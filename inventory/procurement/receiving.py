"""Receipt of goods: the serial numbers of a delivery in, tagged assets "in store" out.

A delivery against an ordered request is a Receipt (the date it came, who took it, the
delivery challan number, remarks) with one ReceiptUnit per unit: the request line, the
destination site, the serial number, the warranty end and the asset it became. The asset
is made through the register's own `create_asset` (its tag pattern, its serial rule), in
store at the destination site, with the line's category and model, the order's cost,
vendor, order reference and budget head, and `procurement_line_id` pointing back here.

Receiving never makes more assets than were ordered. The rule is checked up front, per line
and per destination, and kept by a key as well: each unit takes a numbered slot of its line
and destination (1 .. the quantity ordered there), and (line, site, slot) is unique, so two
receipts saved at the same moment cannot both take the last units. On SQLite the write
lock is taken before anything is read; on PostgreSQL the request's row is locked.

All or nothing: every unit is checked, and one problem means nothing is written; every
problem is reported with the unit's row. `received_by_line` is what the workflow
(`services.refresh_receipt_status`) reads to set "partly received" and "received".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from inventory.assets.models import Asset
from inventory.audit.models import Audited
from inventory.choices import AssetStatus, ProcurementStatus
from inventory.extensions import db
from inventory.models_base import Timestamped
from inventory.procurement.models import LineDestination, ProcurementRequest, RequestLine
from inventory.sites.models import Site

RECEIVABLE = (ProcurementStatus.ORDERED.value, ProcurementStatus.PARTLY_RECEIVED.value)
SERIAL_MAX = 64  # Asset.serial
CHALLAN_MAX = 80
REMARKS_MAX = 2000
WARRANTY_MAX_YEARS = 20  # a later warranty end is a typing mistake


class ReceiptError(ValueError):
    """A receipt that breaks a rule. `problems` maps a unit's row to what is wrong with it;
    an error about the receipt as a whole has none."""

    def __init__(self, message: str, problems: dict[int, list[str]] | None = None):
        super().__init__(message)
        self.problems: dict[int, list[str]] = problems or {}


# --- models -----------------------------------------------------------------------------


class Receipt(Audited, Timestamped, db.Model):
    """One delivery against a request: R1, R2, ... of that request."""

    __tablename__ = "procurement_receipts"
    __table_args__ = (db.UniqueConstraint("request_id", "sequence"),)

    id = db.Column(db.Integer, primary_key=True)
    request_id = db.Column(
        db.Integer,
        db.ForeignKey("procurement_requests.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    )
    sequence = db.Column(db.Integer, nullable=False)  # 1, 2, ... within the request
    received_on = db.Column(db.Date, nullable=False)  # the day the goods came
    received_by_id = db.Column(
        db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    challan = db.Column(db.String(CHALLAN_MAX), nullable=False, default="")  # delivery note no.
    remarks = db.Column(db.Text, nullable=False, default="")

    request = db.relationship("ProcurementRequest")
    received_by = db.relationship("User")
    units = db.relationship(
        "ReceiptUnit",
        back_populates="receipt",
        cascade="all, delete-orphan",
        order_by="ReceiptUnit.id",
    )

    @property
    def number(self) -> str:
        request = self.request.number if self.request else str(self.request_id)
        return f"{request}/R{self.sequence}"

    def audit_label(self) -> str:
        return self.number

    def __str__(self) -> str:
        return self.number


class ReceiptUnit(db.Model):
    """One unit delivered: the line and destination it fills, its serial, and its asset.

    Never edited (the asset's own record is what changes later), so each row is its own
    history. `asset_id` becomes NULL if the asset is deleted from the register; the unit
    still counts as received.
    """

    __tablename__ = "procurement_receipt_units"
    __table_args__ = (
        db.UniqueConstraint("line_id", "site_id", "slot"),
        db.CheckConstraint("slot > 0", name="slot"),
    )

    id = db.Column(db.Integer, primary_key=True)
    receipt_id = db.Column(
        db.Integer,
        db.ForeignKey("procurement_receipts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    line_id = db.Column(
        db.Integer,
        db.ForeignKey("procurement_lines.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    )
    site_id = db.Column(
        db.Integer, db.ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    # The n-th unit received for this line at this site (1 .. the quantity ordered there).
    slot = db.Column(db.Integer, nullable=False)
    serial = db.Column(db.String(SERIAL_MAX), nullable=False)
    warranty_end = db.Column(db.Date, nullable=True)
    asset_id = db.Column(
        db.Integer, db.ForeignKey("assets.id", ondelete="SET NULL"), nullable=True, unique=True
    )

    receipt = db.relationship("Receipt", back_populates="units")
    line = db.relationship("RequestLine")
    site = db.relationship("Site")
    asset = db.relationship("Asset")


# --- what was received ------------------------------------------------------------------


def received_by_line(request_id: int) -> dict[int, int]:
    """Units received so far per line of the request: {line id: count}."""
    query = (
        sa.select(ReceiptUnit.line_id, sa.func.count())
        .join(Receipt, Receipt.id == ReceiptUnit.receipt_id)
        .where(Receipt.request_id == request_id)
        .group_by(ReceiptUnit.line_id)
    )
    return dict(db.session.execute(query).all())


def received_by_destination(request_id: int) -> dict[tuple[int, int], int]:
    """Units received so far per line and destination: {(line id, site id): count}."""
    query = (
        sa.select(ReceiptUnit.line_id, ReceiptUnit.site_id, sa.func.count())
        .join(Receipt, Receipt.id == ReceiptUnit.receipt_id)
        .where(Receipt.request_id == request_id)
        .group_by(ReceiptUnit.line_id, ReceiptUnit.site_id)
    )
    return {(line_id, site_id): n for line_id, site_id, n in db.session.execute(query)}


@dataclass
class DestinationProgress:
    destination: LineDestination
    received: int

    @property
    def site(self) -> Site:
        return self.destination.site

    @property
    def ordered(self) -> int:
        return self.destination.quantity

    @property
    def remaining(self) -> int:
        return max(self.ordered - self.received, 0)


@dataclass
class LineProgress:
    line: RequestLine
    destinations: list[DestinationProgress] = field(default_factory=list)

    @property
    def ordered(self) -> int:
        return self.line.quantity

    @property
    def received(self) -> int:
        return sum(d.received for d in self.destinations)

    @property
    def remaining(self) -> int:
        return max(self.ordered - self.received, 0)


def progress(request: ProcurementRequest) -> list[LineProgress]:
    """Per line and destination: ordered, received, remaining (the request page)."""
    got = received_by_destination(request.id)
    return [
        LineProgress(
            line,
            [DestinationProgress(d, got.get((line.id, d.site_id), 0)) for d in line.destinations],
        )
        for line in request.lines
    ]


def can_receive(request: ProcurementRequest) -> bool:
    return request.status in RECEIVABLE


def receipts_of(request_id: int) -> list[Receipt]:
    return list(
        db.session.scalars(
            sa.select(Receipt).where(Receipt.request_id == request_id).order_by(Receipt.sequence)
        )
    )


def unit_counts(receipt_ids: list[int]) -> dict[int, int]:
    if not receipt_ids:
        return {}
    query = (
        sa.select(ReceiptUnit.receipt_id, sa.func.count())
        .where(ReceiptUnit.receipt_id.in_(receipt_ids))
        .group_by(ReceiptUnit.receipt_id)
    )
    return dict(db.session.execute(query).all())


def asset_ids_of(receipt: Receipt) -> list[int]:
    """The assets a receipt made that are still in the register."""
    return list(
        db.session.scalars(
            sa.select(ReceiptUnit.asset_id)
            .where(ReceiptUnit.receipt_id == receipt.id, ReceiptUnit.asset_id.is_not(None))
            .order_by(ReceiptUnit.id)
        )
    )


# --- receiving --------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitIn:
    """One unit as entered (a form row or a file row); `row` is how the page names it."""

    line_id: int | None
    site_id: int | None
    serial: str
    warranty_end: date | None
    row: int = 0
    # As typed in a file, for the messages when it names nothing known.
    line_text: str = ""
    site_text: str = ""
    warranty_text: str = ""


def society_today() -> date:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.now(UTC).astimezone(zone).date()


def expected_units(request: ProcurementRequest) -> list[UnitIn]:
    """One blank unit for each unit still to come, line by line and destination by
    destination (what the receipt form is prefilled with)."""
    units: list[UnitIn] = []
    for line in progress(request):
        for dest in line.destinations:
            units.extend(
                UnitIn(line.line.id, dest.destination.site_id, "", None)
                for _i in range(dest.remaining)
            )
    return [replace(u, row=n) for n, u in enumerate(units, 1)]


def _take_write_lock(request: ProcurementRequest) -> None:
    """Serialise receipts of one request: SQLite's one write lock taken before anything is
    read (a writer that read first would fail on its stale snapshot instead of waiting), or
    the request's row lock on PostgreSQL. The slot key stays the last word either way."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.text("DELETE FROM procurement_receipts WHERE 1 = 0"))
    else:
        db.session.execute(
            sa.select(ProcurementRequest.id)
            .where(ProcurementRequest.id == request.id)
            .with_for_update()
        )
    # What another receipt wrote while this one waited is read from here on.
    db.session.expire(request)


def _has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _check_receipt(
    request: ProcurementRequest,
    units: list[UnitIn],
    *,
    received_on: date | None,
    challan: str,
    remarks: str,
    max_units: int,
    today: date,
) -> None:
    """Problems of the receipt as a whole (no unit row to show them on)."""
    if request.status not in RECEIVABLE:
        raise ReceiptError(
            _(
                "Goods can be received only for an ordered request; %(number)s is %(status)s.",
                number=request.number,
                status=str(ProcurementStatus.label_of(request.status)).lower(),
            )
        )
    if received_on is None:
        raise ReceiptError(_("Give the date the goods were received."))
    if received_on > today:
        raise ReceiptError(_("The date received cannot be in the future."))
    if request.order_date and received_on < request.order_date:
        raise ReceiptError(
            _(
                "The date received is before the order date (%(date)s).",
                date=request.order_date.strftime("%d-%m-%Y"),
            )
        )
    if len(challan) > CHALLAN_MAX:
        raise ReceiptError(
            _("The challan number is longer than %(max)d characters.", max=CHALLAN_MAX)
        )
    if len(remarks) > REMARKS_MAX:
        raise ReceiptError(_("The remarks are longer than %(max)d characters.", max=REMARKS_MAX))
    if not units:
        raise ReceiptError(_("Enter the serial number of at least one unit received."))
    if len(units) > max_units:
        raise ReceiptError(
            _(
                "At most %(max)d units can be received at once. Split the delivery into "
                "several receipts.",
                max=max_units,
            )
        )


def _line_name(line: RequestLine) -> str:
    return _("line %(n)d", n=line.position)


def check_units(
    request: ProcurementRequest, units: list[UnitIn], *, received_on: date
) -> dict[int, list[str]]:
    """Every unit's problems, by row (no row: no problems). Reads what was received."""
    problems: dict[int, list[str]] = defaultdict(list)
    lines = {line.id: line for line in request.lines}
    got_line = received_by_line(request.id)
    got_dest = received_by_destination(request.id)
    taken_line: Counter[int] = Counter()
    taken_dest: Counter[tuple[int, int]] = Counter()
    serial_rows: dict[str, int] = {}
    order_date = request.order_date
    latest_warranty = date(min(received_on.year + WARRANTY_MAX_YEARS, 9999), received_on.month, 28)

    for unit in units:
        row = problems[unit.row]
        line = lines.get(unit.line_id) if unit.line_id is not None else None
        if line is None and not (unit.line_id or unit.line_text):
            row.append(_("The line is missing."))
        elif line is None:
            row.append(
                _(
                    "There is no line %(line)s on request %(number)s.",
                    line=unit.line_text or unit.line_id,
                    number=request.number,
                )
            )
        destination = None
        if unit.site_id is None and not unit.site_text:
            row.append(_("The site is missing."))
        elif unit.site_id is None:
            row.append(_("Unknown site: %(code)s.", code=unit.site_text))
        elif line is not None:
            destination = next((d for d in line.destinations if d.site_id == unit.site_id), None)
            if destination is None:
                site = db.session.get(Site, unit.site_id)
                codes = ", ".join(d.site.code for d in line.destinations)
                row.append(
                    _(
                        "%(site)s is not a destination of %(line)s; its destinations are: "
                        "%(codes)s.",
                        site=site.code if site is not None else unit.site_text or unit.site_id,
                        line=_line_name(line),
                        codes=codes or "—",
                    )
                )

        serial = unit.serial
        if not serial:
            row.append(_("The serial number is missing."))
        elif len(serial) > SERIAL_MAX:
            row.append(_("The serial number is longer than %(max)d characters.", max=SERIAL_MAX))
        elif _has_control_characters(serial):
            row.append(_("The serial number contains a line break or another control character."))
        else:
            first = serial_rows.get(serial)
            if first is not None:
                row.append(
                    _(
                        "Serial %(serial)s is entered twice: row %(row)d has it too.",
                        serial=serial,
                        row=first,
                    )
                )
            else:
                serial_rows[serial] = unit.row
                if line is not None:
                    clash = _registered_serial(line, serial)
                    if clash:
                        row.append(
                            _(
                                "Serial %(serial)s of this model is already registered as %(tag)s.",
                                serial=serial,
                                tag=clash,
                            )
                        )

        if unit.warranty_end is None and unit.warranty_text:
            row.append(
                _(
                    "Bad warranty end date: %(value)s. Write it as 2029-03-31 or 31-03-2029.",
                    value=unit.warranty_text,
                )
            )
        elif unit.warranty_end is None:
            row.append(_("The warranty end date is missing."))
        elif order_date and unit.warranty_end < order_date:
            row.append(
                _(
                    "The warranty ends (%(end)s) before the order date (%(order)s).",
                    end=unit.warranty_end.strftime("%d-%m-%Y"),
                    order=order_date.strftime("%d-%m-%Y"),
                )
            )
        elif unit.warranty_end > latest_warranty:
            row.append(
                _(
                    "The warranty end %(end)s is more than %(n)d years away; check the year.",
                    end=unit.warranty_end.strftime("%d-%m-%Y"),
                    n=WARRANTY_MAX_YEARS,
                )
            )

        if line is not None:
            taken_line[line.id] += 1
            left = line.quantity - got_line.get(line.id, 0)
            if taken_line[line.id] > left:
                row.append(
                    _(
                        "More units than ordered: %(line)s is for %(ordered)d, %(received)d "
                        "already received, so at most %(left)d more.",
                        line=_line_name(line),
                        ordered=line.quantity,
                        received=got_line.get(line.id, 0),
                        left=max(left, 0),
                    )
                )
            elif destination is not None:
                key = (line.id, destination.site_id)
                taken_dest[key] += 1
                left_here = destination.quantity - got_dest.get(key, 0)
                if taken_dest[key] > left_here:
                    row.append(
                        _(
                            "More units than ordered for %(site)s: %(line)s sends %(ordered)d "
                            "there, %(received)d already received, so at most %(left)d more.",
                            site=destination.site.code,
                            line=_line_name(line),
                            ordered=destination.quantity,
                            received=got_dest.get(key, 0),
                            left=max(left_here, 0),
                        )
                    )
    return {row: messages for row, messages in problems.items() if messages}


def _registered_serial(line: RequestLine, serial: str) -> str | None:
    """The tag of an asset of this line's model with this serial (the register's rule); for
    a line without a model, of an asset of its category without a model."""
    query = sa.select(Asset.tag).where(Asset.serial == serial)
    if line.model_id is not None:
        query = query.where(Asset.model_id == line.model_id)
    else:
        query = query.where(Asset.model_id.is_(None), Asset.category_id == line.category_id)
    return db.session.scalar(query.limit(1))


def _used_slots(request_id: int) -> dict[tuple[int, int], set[int]]:
    query = (
        sa.select(ReceiptUnit.line_id, ReceiptUnit.site_id, ReceiptUnit.slot)
        .join(Receipt, Receipt.id == ReceiptUnit.receipt_id)
        .where(Receipt.request_id == request_id)
    )
    used: dict[tuple[int, int], set[int]] = defaultdict(set)
    for line_id, site_id, slot in db.session.execute(query):
        used[(line_id, site_id)].add(slot)
    return used


def _take_slot(used: set[int]) -> int:
    """The lowest free slot number (slots are 1, 2, ... and only ever added)."""
    slot = 1
    while slot in used:
        slot += 1
    used.add(slot)
    return slot


def _fit(text: str, column: str) -> str:
    return text[: Asset.__table__.c[column].type.length]


def _summary(problems: dict[int, list[str]], total: int) -> str:
    return ngettext(
        "%(num)d of %(total)d units has a problem. Nothing has been received.",
        "%(num)d of %(total)d units have problems. Nothing has been received.",
        len(problems),
        total=total,
    )


def receive(
    request: ProcurementRequest,
    units: list[UnitIn],
    *,
    received_by=None,
    received_on: date | None,
    challan: str = "",
    remarks: str = "",
    max_units: int | None = None,
    today: date | None = None,
    dry_run: bool = False,
    known_problems: dict[int, list[str]] | None = None,
) -> Receipt | None:
    """Receive a delivery: check every unit, then make one asset per unit, all or nothing.

    Raises ReceiptError (with `problems` by row when units are wrong) and writes nothing
    if anything is wrong. `known_problems` are the caller's own findings by row (a
    malformed file row): they count as problems too. A dry run checks everything, writes
    inside a savepoint it rolls back and returns None. Flushes; the caller commits.
    """
    from inventory.assets import services as assets

    challan = (challan or "").strip()
    remarks = (remarks or "").strip()
    units = [
        replace(u, serial=(u.serial or "").strip(), row=u.row or n) for n, u in enumerate(units, 1)
    ]
    if max_units is None:
        max_units = int(current_app.config["RECEIPT_MAX_UNITS"])
    _take_write_lock(request)
    _check_receipt(
        request,
        units,
        received_on=received_on,
        challan=challan,
        remarks=remarks,
        max_units=max_units,
        today=today or society_today(),
    )
    problems: dict[int, list[str]] = {
        row: list(messages) for row, messages in (known_problems or {}).items() if messages
    }
    for row, messages in check_units(request, units, received_on=received_on).items():
        problems.setdefault(row, []).extend(messages)
    if problems:
        raise ReceiptError(_summary(problems, len(units)), problems)

    lines = {line.id: line for line in request.lines}
    used = _used_slots(request.id)
    # The register's columns are narrower than the request's (order reference 64 < 80,
    # budget head 100 < 120); the full values stay on the request the asset links to.
    supplier = _fit(request.vendor.name if request.vendor else "", "supplier")
    head = _fit(request.budget_head.name if request.budget_head else "", "budget_head")
    order_reference = _fit(request.order_reference or "", "order_reference")
    outer = db.session.begin_nested()
    try:
        sequence = (
            db.session.scalar(
                sa.select(sa.func.max(Receipt.sequence)).where(Receipt.request_id == request.id)
            )
            or 0
        ) + 1
        receipt = Receipt(
            request_id=request.id,
            sequence=sequence,
            received_on=received_on,
            received_by_id=received_by.id if received_by is not None else None,
            challan=challan,
            remarks=remarks,
        )
        db.session.add(receipt)
        db.session.flush()
        for unit in units:
            line = lines[unit.line_id]
            slot = _take_slot(used.setdefault((line.id, unit.site_id), set()))
            try:
                with db.session.begin_nested():
                    asset = assets.create_asset(
                        category_id=line.category_id,
                        model_id=line.model_id,
                        serial=unit.serial,
                        status=AssetStatus.IN_STORE.value,
                        site_id=unit.site_id,
                        purchase_date=received_on,
                        purchase_cost=line.actual_unit_cost,
                        supplier=supplier,
                        order_reference=order_reference,
                        budget_head=head,
                        warranty_end=unit.warranty_end,
                    )
                    asset.procurement_line_id = line.id
                    db.session.add(
                        ReceiptUnit(
                            receipt_id=receipt.id,
                            line_id=line.id,
                            site_id=unit.site_id,
                            slot=slot,
                            serial=unit.serial,
                            warranty_end=unit.warranty_end,
                            asset_id=asset.id,
                        )
                    )
                    db.session.flush()
            except assets.AssetError as exc:
                problems.setdefault(unit.row, []).append(str(exc))
            except sa.exc.IntegrityError:
                problems.setdefault(unit.row, []).append(
                    _(
                        "This unit clashes with a receipt or asset saved at the same time. "
                        "Try again."
                    )
                )
        if problems:
            raise ReceiptError(_summary(problems, len(units)), problems)
        from inventory.procurement.services import refresh_receipt_status

        refresh_receipt_status(request, actor=received_by)
        db.session.flush()
    except BaseException:
        outer.rollback()
        raise
    if dry_run:
        outer.rollback()
        return None
    outer.commit()
    return receipt


# --- a delivery's serials from a spreadsheet --------------------------------------------

FILE_COLUMNS = ("line", "item", "site", "serial", "warranty_end")
FILE_REQUIRED = ("line", "site", "serial", "warranty_end")


@dataclass
class FileRow:
    """One row of an uploaded file: its number as a spreadsheet shows it, what it says, and
    (after a check) what is wrong with it."""

    number: int
    line: str
    site: str
    serial: str
    warranty_end: str
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.messages


def _file_header(cells: list) -> list[str]:
    from inventory.assets import importing

    names = [importing._header_name(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise importing.ImportFileError(
            _("The file is empty: the first row must name the columns.")
        )
    if "" in names:
        raise importing.ImportFileError(
            _("Column %(n)d has no name in the first row.", n=names.index("") + 1)
        )
    unknown = [name for name in names if name not in FILE_COLUMNS]
    if unknown:
        raise importing.ImportFileError(
            _(
                "Unknown column: %(names)s. The columns are: %(known)s.",
                names=", ".join(unknown),
                known=", ".join(FILE_COLUMNS),
            )
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise importing.ImportFileError(
            _("Column named twice: %(names)s.", names=", ".join(repeated))
        )
    missing = [name for name in FILE_REQUIRED if name not in names]
    if missing:
        raise importing.ImportFileError(
            _("A required column is missing: %(names)s.", names=", ".join(missing))
        )
    return names


def read_units_file(data: bytes, filename: str, *, max_bytes: int, max_rows: int) -> list[FileRow]:
    """The rows of an uploaded CSV or XLSX file of serials, read with the register import's
    own readers (size limit, UTF-8 or XLSX, Excel's semicolon CSV, blank rows skipped);
    raises importing.ImportFileError saying what is wrong with the file as a whole."""
    from inventory.assets import importing

    if len(data) > max_bytes:
        raise importing.ImportFileError(
            _(
                "The file is too large: the limit is %(limit)s KB. Split it into smaller files.",
                limit=max_bytes // 1024,
            )
        )
    if not data.strip():
        raise importing.ImportFileError(
            _("The file is empty: the first row must name the columns.")
        )
    fmt = importing.file_format(filename, data)
    lines = importing._csv_lines(data) if fmt == "csv" else importing._xlsx_lines(data)
    header: list[str] | None = None
    rows: list[FileRow] = []
    blank_run = 0
    for number, cells in enumerate(lines, start=1):
        if header is None:
            header = _file_header(list(cells))
            continue
        values = [importing._clean_cell(cell) for cell in cells]
        if not any(values):
            blank_run += 1
            if blank_run >= importing.MAX_BLANK_RUN:
                break
            continue
        blank_run = 0
        if len(rows) >= max_rows:
            raise importing.ImportFileError(
                _(
                    "The file has more than %(max)d rows. Split the delivery into several "
                    "receipts.",
                    max=max_rows,
                )
            )
        cells_of = dict(zip(header, values, strict=False))
        row = FileRow(
            number,
            line=cells_of.get("line", ""),
            site=cells_of.get("site", ""),
            serial=cells_of.get("serial", ""),
            warranty_end=cells_of.get("warranty_end", ""),
        )
        if any(values[len(header) :]):
            row.messages.append(_("This row has more cells than the first row has column names."))
        rows.append(row)
    if header is None:
        raise importing.ImportFileError(
            _("The file is empty: the first row must name the columns.")
        )
    if not rows:
        raise importing.ImportFileError(_("The file has column names but no rows of units."))
    return rows


def units_from_file(request: ProcurementRequest, rows: list[FileRow]) -> list[UnitIn]:
    """The units the rows name: a line by its number on the request (or "line 2", "#2"), a
    site by its code, the warranty end as 2029-03-31 or 31-03-2029."""
    from inventory.assets.importing import parse_date

    by_position = {line.position: line for line in request.lines}
    codes = {d.site.code.upper(): d.site_id for line in request.lines for d in line.destinations}
    units = []
    for row in rows:
        text = row.line.strip().lower().removeprefix("line").strip().lstrip("#").strip()
        line = by_position.get(int(text)) if text.isdigit() and len(text) < 6 else None
        code = row.site.strip().upper()
        site_id = codes.get(code)
        if site_id is None and code:
            site_id = db.session.scalar(sa.select(Site.id).where(Site.code == code))
        try:
            warranty = parse_date(row.warranty_end) if row.warranty_end else None
        except ValueError:
            warranty = None
        units.append(
            UnitIn(
                line_id=line.id if line is not None else None,
                site_id=site_id,
                serial=row.serial,
                warranty_end=warranty,
                row=row.number,
                line_text=row.line,
                site_text=row.site,
                warranty_text=row.warranty_end,
            )
        )
    return units


def receive_file(
    request: ProcurementRequest,
    rows: list[FileRow],
    *,
    received_by=None,
    received_on: date | None,
    challan: str = "",
    remarks: str = "",
    dry_run: bool,
    max_units: int | None = None,
) -> Receipt | None:
    """Check (dry run) or receive the rows of a file. Raises ReceiptError when anything is
    wrong (nothing written); each row's problems are then in its `messages` too."""
    units = units_from_file(request, rows)
    malformed = {row.number: list(row.messages) for row in rows if row.messages}
    try:
        return receive(
            request,
            units,
            received_by=received_by,
            received_on=received_on,
            challan=challan,
            remarks=remarks,
            max_units=max_units,
            dry_run=dry_run,
            known_problems=malformed,
        )
    except ReceiptError as exc:
        for row in rows:
            row.messages = exc.problems.get(row.number, [])
        raise
