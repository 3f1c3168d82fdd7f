"""Opening and reading tickets. Views, the phone pages and the health side call these."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from inventory.choices import ReporterKind, TicketCategory, TicketPriority, TicketStatus
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.tickets.models import Ticket

OPEN_STATUSES = [s.value for s in TicketStatus if s.is_open]


def sla_days(priority: str) -> int:
    """Days allowed for a ticket of this priority (TICKET_SLA_DAYS, default 7)."""
    table = current_app.config.get("TICKET_SLA_DAYS") or {}
    return int(table.get(priority, current_app.config.get("TICKET_SLA_DEFAULT_DAYS", 7)))


def due_for(priority: str, opened_at: datetime) -> datetime:
    return opened_at + timedelta(days=sla_days(priority))


def open_ticket(
    *,
    site,
    title: str,
    asset=None,
    description: str = "",
    category: str = TicketCategory.HARDWARE.value,
    priority: str = TicketPriority.NORMAL.value,
    reporter=None,
    reporter_kind: str = ReporterKind.USER.value,
    cause: str = "",
) -> Ticket:
    """A new open ticket, added and flushed (the caller commits)."""
    if asset is not None and site is None:
        site = asset.site
    now = utcnow()
    ticket = Ticket(
        site=site,
        asset=asset,
        title=title.strip(),
        description=description.strip(),
        category=category,
        priority=priority,
        status=TicketStatus.OPEN.value,
        reporter=reporter,
        reporter_kind=reporter_kind,
        opened_at=now,
        due_at=due_for(priority, now),
        cause=cause,
        open_key=f"{asset.id}:{cause}" if (asset is not None and cause) else None,
    )
    db.session.add(ticket)
    db.session.flush()
    return ticket


def open_tickets_for_asset(asset_id: int) -> list[Ticket]:
    """The asset's tickets that still need work, newest first."""
    query = (
        sa.select(Ticket)
        .where(Ticket.asset_id == asset_id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
    )
    return list(db.session.scalars(query))
