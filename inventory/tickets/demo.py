"""Demo tickets for the Gonda district (called from inventory.demo.load_demo; idempotent).

A handful of faults in every state the lists and reports show: open, assigned, in progress,
waiting for a vendor, overdue, resolved on time and late, closed. The critical one on
Nawabganj municipality's VC camera keeps that office off the VC-readiness board. A ticket
is found again by its title and site, so a second run adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from inventory.assets.models import Asset
from inventory.audit.services import acting_as
from inventory.auth.models import User
from inventory.catalog.models import Category
from inventory.choices import VendorKind
from inventory.extensions import db
from inventory.sites.models import Site
from inventory.tickets import services
from inventory.tickets.models import Ticket
from inventory.vendors.models import Vendor

# site code, category of the asset (or None), title, description, category, priority,
# opened (days ago), the steps: (days after opening, step, note)
DEMO_TICKETS = (
    ("BLK-BLS", "PRJ", "Projector shows no picture in the meeting hall",
     "Power light is on, the lamp does not light. Needed for Thursday's VC with the DM.",
     "projector", "high", 2,
     [(0, "assign", ""), (1, "in_progress", "Lamp hours at 4,900: likely the lamp.")]),
    ("TEH-MNK", "UPS", "UPS beeps and shuts down on mains failure",
     "Backup lasts under a minute; counters 1 and 2 lose power during cuts.",
     "hardware", "normal", 12,
     [(0, "assign_vendor", ""), (2, "in_progress", "Batteries read 10.1 V under load."),
      (3, "waiting", "Replacement batteries ordered through the AMC vendor.")]),
    ("CSC-MNK-01", None, "Internet down since morning",
     "The 4G dongle shows no signal; applicants are waiting.",
     "network", "critical", 1, []),
    ("GON-COL", "VCC", "VC codec cannot join the NIC bridge",
     "Call fails with 'remote party busy' since the firmware update.",
     "vc", "high", 40,
     [(0, "assign", ""), (1, "in_progress", ""),
      (5, "resolved", "Rolled back the firmware; test call with NIC Lucknow was fine."),
      (6, "closed", "")]),
    ("GON-EGC", "DSK", "Certificate printing fails in e-District",
     "Income certificates print blank pages from the e-District portal.",
     "software", "normal", 20,
     [(1, "assign", ""), (2, "in_progress", ""),
      (10, "resolved", "Reinstalled the printer driver and the PDF plug-in.")]),
    ("BLK-JHJ", "BIO", "Biometric device not detected",
     "The fingerprint scanner is not found by the Aadhaar client.",
     "hardware", "low", 35, []),
    ("TEH-SDR", "PRN", "Printer jams every few pages",
     "Jams on the second tray; the first tray works.",
     "hardware", "normal", 5, [(0, "assign", "")]),
    ("MUN-NWB", "CAM", "Camera stuck facing the wall: pan/tilt fault",
     "The VC camera does not turn or zoom; the DM's review sees only the wall.",
     "vc", "critical", 5,
     [(0, "assign_vendor", ""), (1, "in_progress", "Pan/tilt motor fails; camera sent to Lucknow."),
      (2, "waiting", "Waiting for the pan/tilt motor from the vendor.")]),
)  # fmt: skip


def _asset(site_id: int, category: str | None) -> Asset | None:
    if category is None:
        return None
    return db.session.scalar(
        sa.select(Asset)
        .join(Category, Category.id == Asset.category_id)
        .where(Asset.site_id == site_id, Category.code == category)
        .order_by(Asset.id)
        .limit(1)
    )


def load_demo_tickets(today: date) -> int:
    """Create the demo tickets that are missing; returns how many were made. Flushes only."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    morning = datetime.combine(today, time(10, 0), tzinfo=zone)
    manager = db.session.scalar(sa.select(User).where(User.username == "manager"))
    engineer = db.session.scalar(sa.select(User).where(User.username == "engineer"))
    reporter = db.session.scalar(sa.select(User).where(User.username == "viewer"))
    vendor = db.session.scalar(
        sa.select(Vendor)
        .where(Vendor.active.is_(True), Vendor.kind == VendorKind.AMC.value)
        .order_by(Vendor.name)
        .limit(1)
    )
    if manager is None or engineer is None:
        return 0
    made = 0
    for code, category, title, description, kind, priority, days_ago, steps in DEMO_TICKETS:
        site = db.session.scalar(sa.select(Site).where(Site.code == code))
        if site is None:
            continue
        exists = db.session.scalar(
            sa.select(Ticket.id).where(Ticket.site_id == site.id, Ticket.title == title)
        )
        if exists is not None:
            continue
        opened = morning - timedelta(days=days_ago)
        with acting_as(reporter or manager):
            ticket = services.open_ticket(
                site=site,
                asset=_asset(site.id, category),
                title=title,
                description=description,
                category=kind,
                priority=priority,
                reporter=reporter,
                now=opened,
            )
        for after, step, note in steps:
            when = opened + timedelta(days=after, hours=2)
            actor = manager if step in ("assign", "assign_vendor", "closed") else engineer
            with acting_as(actor):
                if step in ("assign", "assign_vendor"):
                    services.assign(
                        ticket,
                        assignee=engineer,
                        vendor=vendor if step == "assign_vendor" else None,
                        vendor_engineer="Manoj Kumar" if step == "assign_vendor" and vendor else "",
                        now=when,
                    )
                else:
                    services.move(ticket, step, actor=actor, now=when)
                    if note:  # dated now, like the change log, so the timeline reads in order
                        services.add_comment(ticket, author=actor, body=note)
        made += 1
    db.session.flush()
    return made
