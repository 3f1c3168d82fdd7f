"""The periodic job that turns health into tickets (listed in inventory/jobs.py JOBS).

A device that has been down for TICKET_AUTO_OPEN_AFTER_MINUTES (default 30) gets one ticket
(cause "health:down", reporter "system"), and never a second while that one is open. When the
device answers again, the open ticket gets one system comment per recovery (it stays open:
a person confirms the fix and resolves it). Going by "down for N minutes" rather than by the
moment the device went down keeps short blips (a rebooting router, a power cut of a few
minutes) from opening tickets, and the state it reads (AssetHealth) is the sweep's own.

The job is safe to run twice at the same moment: raise_for_cause and note_recovery settle
races with unique keys. Each ticket or comment is committed on its own, so one failure does
not undo the others.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.audit.services import acting_as
from inventory.choices import TicketCategory, TicketPriority
from inventory.credentials.models import CredentialProfile
from inventory.extensions import db
from inventory.health.models import AssetHealth
from inventory.health.services import DOWN, UP, monitored_condition
from inventory.tickets import services
from inventory.tickets.models import Ticket

log = logging.getLogger(__name__)

BATCH_LIMIT = 500  # tickets or notes per run; the rest wait for the next run


def _local(moment: datetime) -> str:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return moment.astimezone(zone).strftime("%d-%m-%Y %H:%M")


def _open_for_cause(cause: str):
    return sa.exists().where(
        Ticket.asset_id == AssetHealth.asset_id,
        Ticket.cause == cause,
        Ticket.status.in_(services.OPEN_STATUSES),
    )


def down_too_long(now: datetime, minutes: float) -> list[int]:
    """Monitored assets down since at least `minutes` ago with no open health ticket."""
    cutoff = now - timedelta(minutes=minutes)
    query = (
        sa.select(AssetHealth.asset_id)
        .join(Asset, Asset.id == AssetHealth.asset_id)
        .join(CredentialProfile, CredentialProfile.id == Asset.credential_profile_id)
        .where(
            AssetHealth.state == DOWN,
            AssetHealth.state_since <= cutoff,
            monitored_condition(),
            ~_open_for_cause(services.HEALTH_DOWN),
        )
        .order_by(AssetHealth.state_since, AssetHealth.asset_id)
        .limit(BATCH_LIMIT)
    )
    return list(db.session.scalars(query))


def back_up() -> list[tuple[int, datetime]]:
    """(asset id, up since) of assets answering again that have an open health ticket."""
    query = (
        sa.select(AssetHealth.asset_id, AssetHealth.state_since)
        .where(
            AssetHealth.state == UP,
            AssetHealth.state_since.is_not(None),
            _open_for_cause(services.HEALTH_DOWN),
        )
        .order_by(AssetHealth.asset_id)
        .limit(BATCH_LIMIT)
    )
    return [(row[0], row[1]) for row in db.session.execute(query)]


def open_down_ticket(asset: Asset, health: AssetHealth, now: datetime):
    since = health.state_since or now
    title = _("%(tag)s is not answering (down since %(since)s)", tag=asset.tag, since=_local(since))
    lines = [
        _(
            "The health check has had no answer from %(tag)s at %(address)s since %(since)s.",
            tag=asset.tag,
            address=asset.management_address,
            since=_local(since),
        )
    ]
    if health.last_ok_at:
        lines.append(_("Last answer: %(when)s.", when=_local(health.last_ok_at)))
    if health.last_error:
        lines.append(_("Last error: %(error)s", error=health.last_error))
    return services.raise_for_cause(
        asset,
        cause=services.HEALTH_DOWN,
        title=title,
        description="\n".join(lines),
        category=TicketCategory.NETWORK.value,
        priority=TicketPriority.HIGH.value,
        now=now,
    )


def health_tickets(now: datetime) -> str | None:
    """Open tickets for devices down too long; note recoveries on their open tickets."""
    minutes = current_app.config.get("TICKET_AUTO_OPEN_AFTER_MINUTES", 30)
    opened = noted = failed = 0
    with acting_as(None):
        if minutes is not None and float(minutes) >= 0:
            for asset_id in down_too_long(now, float(minutes)):
                try:
                    asset = db.session.get(Asset, asset_id)
                    health = db.session.get(AssetHealth, asset_id)
                    before = services.open_ticket_for_cause(asset_id, services.HEALTH_DOWN)
                    ticket = open_down_ticket(asset, health, now)
                    db.session.commit()
                    if ticket is not None and before is None:
                        opened += 1
                except Exception:  # one bad row must not stop the others
                    db.session.rollback()
                    failed += 1
                    log.exception("opening a health ticket for asset %s failed", asset_id)
        for asset_id, since in back_up():
            try:
                asset = db.session.get(Asset, asset_id)
                message = _(
                    "%(tag)s is answering again since %(since)s. Check that the fault is "
                    "really fixed, then resolve the ticket.",
                    tag=asset.tag,
                    since=_local(since),
                )
                comment = services.note_recovery(
                    asset, cause=services.HEALTH_DOWN, message=message, since=since
                )
                db.session.commit()
                if comment is not None:
                    noted += 1
            except Exception:
                db.session.rollback()
                failed += 1
                log.exception("noting the recovery of asset %s failed", asset_id)
    if not (opened or noted or failed):
        return None
    summary = f"{opened} tickets opened, {noted} recoveries noted"
    return summary + (f", {failed} failed" if failed else "")
