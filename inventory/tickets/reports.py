"""Ticket reports: ageing of open tickets, and SLA compliance per month.

Definitions (also shown on the report page):

- Age of an open ticket: whole days since it was opened (now - opened_at, rounded down).
  Buckets: 0-2, 3-7, 8-30 and more than 30 days. Open means open, assigned, in progress or
  waiting; resolved, closed and cancelled tickets have no age.
- SLA compliance: a ticket meets its SLA when it was resolved on or before its due date.
  Tickets count in the month (local time) they were resolved; a closed ticket counts by its
  resolution. Cancelled tickets do not count. A reopened ticket's earlier resolution is void
  (resolved_at is cleared on reopening): it counts when it is resolved again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from inventory.choices import TicketStatus
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.sites.models import Site
from inventory.sites.services import subtree_condition
from inventory.tickets.models import Ticket
from inventory.tickets.services import OPEN_STATUSES
from inventory.vendors.models import Vendor

# (label, lowest age in days, highest age in days or None)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-2", 0, 2),
    ("3-7", 3, 7),
    ("8-30", 8, 30),
    (">30", 31, None),
)


@dataclass
class AgeingRow:
    """Open tickets of one site (or vendor) per age bucket."""

    key: int | None
    label: str
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))

    @property
    def total(self) -> int:
        return sum(self.counts)


def _bucket_columns(now: datetime) -> list:
    """One SUM(CASE ...) per bucket: a ticket opened at t is d whole days old when
    now - (d + 1) days < t <= now - d days."""
    columns = []
    for _label, low, high in BUCKETS:
        terms = [Ticket.opened_at <= now - timedelta(days=low)]
        if high is not None:
            terms.append(Ticket.opened_at > now - timedelta(days=high + 1))
        columns.append(sa.func.sum(sa.case((sa.and_(*terms), 1), else_=0)))
    return columns


def _open_filters(site_id: int | None, vendor_id: int | None) -> list:
    conditions = [Ticket.status.in_(OPEN_STATUSES)]
    if site_id:
        conditions.append(subtree_condition(Ticket.site_id, site_id))
    if vendor_id:
        conditions.append(Ticket.vendor_id == vendor_id)
    return conditions


def ageing_by_site(
    now: datetime | None = None, *, site_id: int | None = None, vendor_id: int | None = None
) -> tuple[list[AgeingRow], AgeingRow]:
    """Open tickets per site (the ticket's own site) and age bucket, most tickets first,
    and the total row."""
    now = now or utcnow()
    query = (
        sa.select(Ticket.site_id, Site.name_en, Site.code, *_bucket_columns(now))
        .join(Site, Site.id == Ticket.site_id)
        .where(*_open_filters(site_id, vendor_id))
        .group_by(Ticket.site_id, Site.name_en, Site.code)
    )
    rows = [
        AgeingRow(r[0], f"{r[1]} ({r[2]})", [int(c or 0) for c in r[3:]])
        for r in db.session.execute(query)
    ]
    return _sorted_with_total(rows)


def ageing_by_vendor(
    now: datetime | None = None, *, site_id: int | None = None, vendor_id: int | None = None
) -> tuple[list[AgeingRow], AgeingRow]:
    """Open tickets per vendor (key None: no vendor) and age bucket, and the total row."""
    now = now or utcnow()
    query = (
        sa.select(Ticket.vendor_id, Vendor.name, *_bucket_columns(now))
        .outerjoin(Vendor, Vendor.id == Ticket.vendor_id)
        .where(*_open_filters(site_id, vendor_id))
        .group_by(Ticket.vendor_id, Vendor.name)
    )
    rows = [
        AgeingRow(r[0], r[1] or "", [int(c or 0) for c in r[2:]]) for r in db.session.execute(query)
    ]
    return _sorted_with_total(rows)


def _sorted_with_total(rows: list[AgeingRow]) -> tuple[list[AgeingRow], AgeingRow]:
    rows.sort(key=lambda row: (-row.total, row.key is None, row.label))
    total = AgeingRow(None, "")
    for row in rows:
        total.counts = [a + b for a, b in zip(total.counts, row.counts, strict=True)]
    return rows, total


@dataclass
class SlaMonth:
    """Tickets resolved in one month, and how many of them by their due date."""

    year: int
    month: int
    resolved: int = 0
    on_time: int = 0

    @property
    def late(self) -> int:
        return self.resolved - self.on_time

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.on_time / self.resolved, 1) if self.resolved else None

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _month_start(year: int, month: int, zone: ZoneInfo) -> datetime:
    return datetime(year, month, 1, tzinfo=zone).astimezone(UTC)


def _previous_months(now: datetime, months: int, zone: ZoneInfo) -> list[tuple[int, int]]:
    local = now.astimezone(zone)
    year, month = local.year, local.month
    result = []
    for _ in range(months):
        result.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(result))


def sla_compliance(
    now: datetime | None = None,
    *,
    months: int = 12,
    site_id: int | None = None,
    vendor_id: int | None = None,
) -> tuple[list[SlaMonth], SlaMonth]:
    """The last `months` months (local time, this one included), oldest first, with the
    figures of each and their total (year/month 0)."""
    now = now or utcnow()
    zone = _zone()
    keys = _previous_months(now, max(1, months), zone)
    start = _month_start(*keys[0], zone)
    conditions = [
        Ticket.resolved_at.is_not(None),
        Ticket.resolved_at >= start,
        Ticket.resolved_at <= now,
        Ticket.status.in_([TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value]),
    ]
    if site_id:
        conditions.append(subtree_condition(Ticket.site_id, site_id))
    if vendor_id:
        conditions.append(Ticket.vendor_id == vendor_id)
    by_month = {key: SlaMonth(*key) for key in keys}
    for resolved_at, due_at in db.session.execute(
        sa.select(Ticket.resolved_at, Ticket.due_at).where(*conditions)
    ):
        local = resolved_at.astimezone(zone)
        row = by_month.get((local.year, local.month))
        if row is None:
            continue
        row.resolved += 1
        if resolved_at <= due_at:
            row.on_time += 1
    rows = [by_month[key] for key in keys]
    total = SlaMonth(0, 0, sum(r.resolved for r in rows), sum(r.on_time for r in rows))
    return rows, total


def overdue_open_count(now: datetime | None = None) -> int:
    now = now or utcnow()
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Ticket)
            .where(Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < now)
        )
        or 0
    )
