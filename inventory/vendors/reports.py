"""Figures per vendor and per AMC contract: tickets, mean time to resolve, SLA breaches,
and device downtime from health events.

Definitions (also shown on the pages):

- The tickets of a period are those opened in it (start inclusive, end exclusive);
  cancelled tickets are left out of every figure.
- A ticket is finished when it is resolved or closed; it finished at `resolved_at`
  (or `closed_at` when it was closed without a resolution time).
- Time to resolve = finished - opened; the mean is over the period's finished tickets.
- SLA breach: finished after its `due_at`, or still open with `due_at` already past.
- A ticket belongs to a contract when the ticket's vendor is the contract's vendor, it
  names an asset the contract covers (listed, or by one of its rules, as the coverage
  stands now), and it was opened within the contract's period (its start date to its end
  date, inclusive, in the society's time zone). Contract breach: the time to resolve went
  beyond the contract's `resolution_hours` (or the ticket is still open and already has).
- Downtime: from the health side's HealthEvent rows ("down" then "up") of the assets,
  clipped to the period; a device down when the period starts counts from the start, one
  still down at the end counts to the end. Events older than the health retention are
  gone, so long periods may show less than happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from inventory.assets.models import Asset
from inventory.choices import TicketStatus
from inventory.extensions import db
from inventory.health.models import HealthEvent
from inventory.tickets.models import Ticket
from inventory.vendors.models import AmcContract, Vendor
from inventory.vendors.services import covered_asset_ids, covered_condition, day_start

OPEN_STATUSES = tuple(s.value for s in TicketStatus if s.is_open)
FINISHED_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)
CANCELLED = TicketStatus.CANCELLED.value
CHUNK = 500


@dataclass
class TicketMetrics:
    start: datetime
    end: datetime
    tickets: int = 0  # opened in the period (cancelled ones aside)
    open: int = 0
    finished: int = 0  # resolved or closed
    cancelled: int = 0
    mttr_hours: float | None = None
    breaches: int = 0  # against each ticket's own due date
    contract_breaches: int | None = None  # against the contract's resolution hours
    downtime_hours: float | None = None

    @property
    def breach_pct(self) -> float | None:
        return round(100.0 * self.breaches / self.tickets, 1) if self.tickets else None


def _finished_at(row) -> datetime | None:
    return row.resolved_at or row.closed_at


def metrics_of(
    condition,
    start: datetime,
    end: datetime,
    now: datetime,
    resolution_hours: int | None = None,
    join_asset: bool = False,
) -> TicketMetrics:
    """The figures of the tickets matching `condition` opened in [start, end)."""
    query = sa.select(
        Ticket.status, Ticket.opened_at, Ticket.due_at, Ticket.resolved_at, Ticket.closed_at
    ).where(condition, Ticket.opened_at >= start, Ticket.opened_at < end)
    if join_asset:
        query = query.join(Asset, Asset.id == Ticket.asset_id)
    result = TicketMetrics(start=start, end=end)
    if resolution_hours is not None:
        result.contract_breaches = 0
        allowed = timedelta(hours=resolution_hours)
    durations: list[float] = []
    for row in db.session.execute(query):
        if row.status == CANCELLED:
            result.cancelled += 1
            continue
        result.tickets += 1
        finished = _finished_at(row) if row.status in FINISHED_STATUSES else None
        if row.status in FINISHED_STATUSES:
            result.finished += 1
        else:
            result.open += 1
        if finished is not None:
            durations.append((finished - row.opened_at).total_seconds())
            late = finished > row.due_at
        else:
            late = row.status in OPEN_STATUSES and row.due_at < now
        if late:
            result.breaches += 1
        if resolution_hours is not None:
            took = (finished or now) - row.opened_at
            if (finished is not None or row.status in OPEN_STATUSES) and took > allowed:
                result.contract_breaches += 1
    if durations:
        result.mttr_hours = round(sum(durations) / len(durations) / 3600.0, 1)
    return result


def vendor_metrics(vendor: Vendor, start: datetime, end: datetime, now: datetime) -> TicketMetrics:
    return metrics_of(Ticket.vendor_id == vendor.id, start, end, now)


def contract_period(contract: AmcContract) -> tuple[datetime, datetime]:
    """The contract's period as UTC moments: [start day 00:00, day after end 00:00)."""
    return day_start(contract.start_date), day_start(contract.end_date + timedelta(days=1))


def contract_ticket_condition(contract: AmcContract):
    """WHERE over Ticket joined to Asset: the tickets that belong to the contract."""
    start, end = contract_period(contract)
    return sa.and_(
        Ticket.vendor_id == contract.vendor_id,
        Ticket.asset_id.is_not(None),
        Ticket.opened_at >= start,
        Ticket.opened_at < end,
        covered_condition(contract.id, Asset),
    )


def contract_metrics(
    contract: AmcContract,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    with_downtime: bool = True,
) -> TicketMetrics:
    """The contract's figures over its period (or [start, end) within it), up to now."""
    period_start, period_end = contract_period(contract)
    start = max(start or period_start, period_start)
    end = min(end or period_end, period_end)
    result = metrics_of(
        contract_ticket_condition(contract),
        start,
        end,
        now,
        resolution_hours=contract.resolution_hours,
        join_asset=True,
    )
    if with_downtime:
        until = min(end, now)
        result.downtime_hours = (
            round(downtime_hours(covered_asset_ids(contract), start, until), 1)
            if until > start
            else 0.0
        )
    return result


def contract_tickets_query(contract: AmcContract):
    return (
        sa.select(Ticket)
        .join(Asset, Asset.id == Ticket.asset_id)
        .where(contract_ticket_condition(contract))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
    )


def vendor_tickets_query(vendor: Vendor):
    return (
        sa.select(Ticket)
        .where(Ticket.vendor_id == vendor.id)
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
    )


def open_tickets_by_vendor() -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Ticket.vendor_id, sa.func.count())
        .where(Ticket.vendor_id.is_not(None), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.vendor_id)
    ).all()
    return dict(rows)


# --- downtime ---------------------------------------------------------------------------


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def downtime_seconds_by_asset(
    asset_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, float]:
    """Seconds each asset was down within [start, end), from its down/up HealthEvents.

    Assets that were never down in the period are left out of the result.
    """
    ids = sorted(set(asset_ids))
    totals: dict[int, float] = {}
    if not ids or end <= start:
        return totals
    for chunk in _chunks(ids):
        # The state each asset was in when the period began: its last event before it.
        last = (
            sa.select(HealthEvent.asset_id, sa.func.max(HealthEvent.at).label("at"))
            .where(HealthEvent.asset_id.in_(chunk), HealthEvent.at < start)
            .group_by(HealthEvent.asset_id)
            .subquery()
        )
        before = db.session.execute(
            sa.select(HealthEvent.asset_id, HealthEvent.kind, HealthEvent.id)
            .join(
                last, sa.and_(HealthEvent.asset_id == last.c.asset_id, HealthEvent.at == last.c.at)
            )
            .order_by(HealthEvent.asset_id, HealthEvent.id)
        ).all()
        down_since: dict[int, datetime] = {}
        for row in before:  # the highest id wins a tie
            if row.kind == "down":
                down_since[row.asset_id] = start
            else:
                down_since.pop(row.asset_id, None)
        events = db.session.execute(
            sa.select(HealthEvent.asset_id, HealthEvent.kind, HealthEvent.at)
            .where(HealthEvent.asset_id.in_(chunk), HealthEvent.at >= start, HealthEvent.at < end)
            .order_by(HealthEvent.asset_id, HealthEvent.at, HealthEvent.id)
        ).all()
        for event in events:
            if event.kind == "down":
                down_since.setdefault(event.asset_id, event.at)
            elif event.kind == "up" and event.asset_id in down_since:
                since = down_since.pop(event.asset_id)
                totals[event.asset_id] = (
                    totals.get(event.asset_id, 0.0) + (event.at - since).total_seconds()
                )
        for asset_id, since in down_since.items():
            totals[asset_id] = totals.get(asset_id, 0.0) + (end - since).total_seconds()
    return {asset_id: seconds for asset_id, seconds in totals.items() if seconds > 0}


def downtime_hours(asset_ids: Iterable[int], start: datetime, end: datetime) -> float:
    """Total hours the assets were down within [start, end) (summed over the assets)."""
    return sum(downtime_seconds_by_asset(asset_ids, start, end).values()) / 3600.0
