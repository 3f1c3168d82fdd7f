"""Demo verification visits for the Gonda district (called from inventory.demo.load_demo).

A few finished stock-takes in the past, so that site pages show past visits, assets show a
last-verified date and the "not verified" report has dates as well as "never". Loaded only
into an empty table, so a second run adds nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from inventory.assets.models import Asset
from inventory.audit.services import acting_as
from inventory.auth.models import User
from inventory.choices import AssetStatus
from inventory.extensions import db
from inventory.sites.services import get_site_by_code
from inventory.verification import services
from inventory.verification.models import VerificationVisit

# site code, days ago, who, expected assets left unscanned, unknown tags seen, notes
DEMO_VISITS = (
    ("TEH-MNK", 21, "engineer", 1, ("DEGS-2019-114",),
     "Counter 3 was locked; its desktop could not be seen. An old DeGS sticker on a UPS."),
    ("GON-COL", 45, "manager", 0, (), "All present. Checked with the nazir."),
    ("BLK-MNK", 130, "engineer", 0, (), ""),
)  # fmt: skip


def load_demo_visits(today: date) -> int:
    """Finished visits at a few demo sites; nothing when any visit exists already."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(VerificationVisit)):
        return 0
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    made = 0
    for code, days_ago, username, unscanned, unknown, notes in DEMO_VISITS:
        site = get_site_by_code(code)
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if site is None or user is None:
            continue
        start = datetime.combine(today - timedelta(days=days_ago), time(11, 0), zone)
        assets = db.session.scalars(
            sa.select(Asset)
            .where(Asset.site_id == site.id, Asset.status != AssetStatus.CONDEMNED.value)
            .order_by(Asset.tag)
        ).all()
        with acting_as(user):
            visit = services.start_visit(site, user, notes)
            visit.started_at = start
            seen = [a.tag for a in assets[: len(assets) - unscanned]] + list(unknown)
            for minute, tag in enumerate(seen, start=2):
                services.record_scan(
                    visit,
                    client_id=str(uuid.uuid4()),
                    tag=tag,
                    scanned_at=start + timedelta(minutes=minute),
                    user=user,
                )
            services.finish_visit(visit, user)
            visit.finished_at = start + timedelta(minutes=len(seen) + 10)
            db.session.flush()
        made += 1
    return made
