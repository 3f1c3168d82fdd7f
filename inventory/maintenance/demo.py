"""Demo preventive maintenance plans for the Gonda data set (called by inventory.demo).

Found again by name: a second load changes nothing. The UPS check at the Collectorate falls
due within days, so the scheduler's first maintenance run opens a few tickets. Flushes only.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa

from inventory.catalog.models import Category
from inventory.extensions import db
from inventory.maintenance import services
from inventory.maintenance.models import MaintenancePlan
from inventory.sites.models import Site
from inventory.vendors.models import Vendor


def load_demo_plans(today: date) -> Counter:
    def category(code: str) -> int | None:
        return db.session.scalar(sa.select(Category.id).where(Category.code == code))

    def site(code: str) -> int | None:
        return db.session.scalar(sa.select(Site.id).where(Site.code == code))

    def vendor(name: str) -> int | None:
        return db.session.scalar(sa.select(Vendor.id).where(Vendor.name == name))

    plans = (
        {
            "name": "Projector filter cleaning",
            "category_id": category("PRJ"),
            "trigger": "interval",
            "interval_days": 90,
            "lead_days": 7,
            "first_due_date": today + timedelta(days=21),
            "ticket_category": "projector",
            "ticket_title": "{plan}: {asset} at {site}",
            "ticket_description": "Clean or replace the air filter of {asset} ({model}) at "
            "{site} by {due}. Note the lamp hours in the comment.",
        },
        {
            "name": "UPS battery check, Collectorate",
            "category_id": category("UPS"),
            "site_id": site("GON-COL"),
            "trigger": "interval",
            "interval_days": 180,
            "lead_days": 7,
            "first_due_date": today + timedelta(days=3),
            "priority": "high",
            "ticket_category": "hardware",
            "vendor_id": vendor("Awadh Infotech Services, Lucknow"),
            "ticket_title": "{plan}: {asset}",
            "ticket_description": "Measure the battery voltage under load and the backup time "
            "of {asset} at {site}; replace weak batteries under the AMC. Due {due}.",
        },
        {
            "name": "Projector lamp replacement",
            "category_id": category("PRJ"),
            "trigger": "counter",
            "counter": "lamp_hours",
            "counter_interval": 3000,
            "counter_margin": 150,
            "priority": "normal",
            "ticket_category": "projector",
            "ticket_title": "{plan}: {asset} at {reading} lamp hours",
            "ticket_description": "The lamp of {asset} at {site} is due for replacement at "
            "{due}. Order the lamp through the AMC vendor.",
        },
    )
    made: Counter = Counter()
    for fields in plans:
        if fields.get("category_id") is None:
            continue
        if db.session.scalar(
            sa.select(MaintenancePlan.id).where(MaintenancePlan.name == fields["name"])
        ):
            continue
        services.create_plan(**fields)
        made["maintenance plans"] += 1
    db.session.flush()
    return made
