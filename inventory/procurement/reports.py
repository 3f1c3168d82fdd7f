"""Read-only figures of procurement: the budget view and the list's export.

Budget view, per budget head and financial year (the request's own year, April-March):

- requested: the estimated totals (quantity x estimated unit cost) of requests that were
  submitted and are still alive or done: submitted, approved, ordered, partly received,
  received, closed. Drafts, rejected and cancelled requests are left out.
- sanctioned: the estimated totals of requests approved at every level: approved, ordered,
  partly received, received, closed.
- ordered: the actual totals (quantity x actual unit cost) of ordered, partly received,
  received and closed requests.
- received: for the same requests, actual unit cost x units received so far, per line.

Per request: the estimate, the actual (ordered) total, the difference (actual - estimate)
and the value received.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import selectinload

from inventory.assets.tabular import neutralise
from inventory.choices import ProcurementStatus
from inventory.extensions import db
from inventory.procurement import services
from inventory.procurement.models import BudgetHead, ProcurementRequest, RequestLine

ZERO = Decimal("0.00")


@dataclass
class RequestFigures:
    request: ProcurementRequest
    estimate: Decimal
    actual: Decimal | None
    received: Decimal

    @property
    def difference(self) -> Decimal | None:
        return None if self.actual is None else self.actual - self.estimate


@dataclass
class BudgetRow:
    """One budget head in one financial year."""

    head: BudgetHead
    financial_year: str
    requested: Decimal = ZERO
    sanctioned: Decimal = ZERO
    ordered: Decimal = ZERO
    received: Decimal = ZERO
    requests: list[RequestFigures] = field(default_factory=list)


@dataclass
class BudgetView:
    rows: list[BudgetRow]
    total: BudgetRow | None


def received_value(request: ProcurementRequest, received: dict[int, int] | None = None) -> Decimal:
    """Actual unit cost x units received, over the request's lines."""
    if request.status not in services.ORDERED_STATUSES:
        return ZERO
    received = services.received_quantities(request.id) if received is None else received
    value = ZERO
    for line in request.lines:
        if line.actual_unit_cost is not None:
            value += Decimal(line.actual_unit_cost) * min(received.get(line.id, 0), line.quantity)
    return value


def request_figures(request: ProcurementRequest) -> RequestFigures:
    return RequestFigures(
        request=request,
        estimate=request.estimated_total,
        actual=request.actual_total if request.status in services.ORDERED_STATUSES else None,
        received=received_value(request),
    )


def budget_view(financial_year: str = "", budget_head_id: int | None = None) -> BudgetView:
    """The figures per (budget head, financial year), newest year first, heads in order;
    only combinations with at least one submitted request appear."""
    query = (
        sa.select(ProcurementRequest)
        .where(ProcurementRequest.status.in_(services.REQUESTED_STATUSES))
        .options(
            selectinload(ProcurementRequest.lines).selectinload(RequestLine.destinations),
            selectinload(ProcurementRequest.budget_head),
        )
        .order_by(ProcurementRequest.id)
    )
    if financial_year:
        query = query.where(ProcurementRequest.financial_year == financial_year)
    if budget_head_id:
        query = query.where(ProcurementRequest.budget_head_id == budget_head_id)
    rows: dict[tuple[str, int], BudgetRow] = {}
    for request in db.session.scalars(query):
        key = (request.financial_year, request.budget_head_id)
        row = rows.get(key)
        if row is None:
            row = rows[key] = BudgetRow(head=request.budget_head, financial_year=key[0])
        figures = request_figures(request)
        row.requests.append(figures)
        row.requested += figures.estimate
        if request.status in services.SANCTIONED_STATUSES:
            row.sanctioned += figures.estimate
        if figures.actual is not None:
            row.ordered += figures.actual
        row.received += figures.received
    ordered = sorted(
        rows.values(),
        key=lambda r: (
            -int(r.financial_year[:4]),
            r.head.position if r.head else 0,
            r.head.name if r.head else "",
        ),
    )
    total = None
    if len(ordered) > 1:
        total = BudgetRow(head=None, financial_year="")
        for row in ordered:
            total.requested += row.requested
            total.sanctioned += row.sanctioned
            total.ordered += row.ordered
            total.received += row.received
    return BudgetView(rows=ordered, total=total)


# -- export ----------------------------------------------------------------------------------


def _money(value) -> str:
    return "" if value is None else f"{Decimal(value):.2f}"


def _date(value) -> str:
    return value.isoformat() if value else ""


COLUMNS: tuple[tuple[str, object], ...] = (
    ("number", lambda r: r.number),
    ("title", lambda r: r.title),
    ("status", lambda r: r.status),
    ("budget_head", lambda r: r.budget_head.name if r.budget_head else ""),
    ("financial_year", lambda r: r.financial_year),
    ("requester", lambda r: r.requester.username if r.requester else ""),
    ("lines", lambda r: str(len(r.lines))),
    ("units", lambda r: str(sum(line.quantity for line in r.lines))),
    ("estimated_total", lambda r: _money(r.estimated_total)),
    ("actual_total", lambda r: _money(r.actual_total)),
    ("vendor", lambda r: r.vendor.name if r.vendor else ""),
    ("order_reference", lambda r: r.order_reference),
    ("order_date", lambda r: _date(r.order_date)),
    ("submitted_at", lambda r: r.submitted_at.isoformat() if r.submitted_at else ""),
    ("approved_at", lambda r: r.approved_at.isoformat() if r.approved_at else ""),
    ("rejection_reason", lambda r: r.rejection_reason),
    ("justification", lambda r: r.justification),
)
HEADERS = tuple(name for name, _get in COLUMNS)
NUMERIC = {"lines", "units", "estimated_total", "actual_total"}


def export_query(flt: services.RequestFilter):
    return services.request_query(flt).options(
        selectinload(ProcurementRequest.lines),
        selectinload(ProcurementRequest.budget_head),
        selectinload(ProcurementRequest.requester),
        selectinload(ProcurementRequest.vendor),
    )


def request_rows(requests: Iterable[ProcurementRequest]) -> Iterable[list[str]]:
    """One row per request; text cells made inert for spreadsheet programs."""
    for request in requests:
        yield [
            value if name in NUMERIC else neutralise(value)
            for name, value in ((name, str(get(request) or "")) for name, get in COLUMNS)
        ]


def to_csv(requests: Iterable[ProcurementRequest]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(request_rows(requests))
    return buffer.getvalue()


def to_xlsx(requests: Iterable[ProcurementRequest]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("requests")
    sheet.append(list(HEADERS))
    for row in request_rows(requests):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def status_label(status: str) -> str:
    return str(ProcurementStatus.label_of(status))
