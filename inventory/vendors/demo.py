"""Demo vendors and AMC contracts for the Gonda data set (called by inventory.demo).

The AMC vendors and periods follow inventory.demo.AMC_CONTRACTS (the register's free-text
AMC fields): one contract per tehsil (and headquarters) covering the AMC categories there
and below. Colonelganj's ends within weeks, so the expiring panel has something to show.
Found again by name and reference: a second load changes nothing. Flushes only.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from inventory.catalog.models import Category
from inventory.extensions import db
from inventory.sites.models import Site
from inventory.vendors import services
from inventory.vendors.models import AmcContract, Vendor

# name, kind, contact person, phone, email, address
VENDORS = (
    ("Awadh Infotech Services, Lucknow", "amc", "Rahul Srivastava", "+91 522 400 1101",
     "support@awadh-infotech.example.in", "Hazratganj, Lucknow"),
    ("Devipatan Computer Care, Gonda", "amc", "Mahesh Chandra Pandey", "+91 5262 230 118",
     "care@devipatan.example.in", "Civil Lines, Gonda"),
    ("Saryu Systems Pvt. Ltd., Gonda", "amc", "Anil Kumar Verma", "+91 5262 231 440",
     "service@saryu.example.in", "Station Road, Gonda"),
    ("Devipatan Infotech, Gonda", "supplier", "Pankaj Gupta", "+91 5262 232 010",
     "sales@devipatan-infotech.example.in", "Malviya Nagar, Gonda"),
    ("Awadh Computer House, Lucknow", "supplier", "Farhan Siddiqui", "+91 522 400 2202",
     "orders@awadh-computer.example.in", "Naka Hindola, Lucknow"),
    ("Gomti Technologies Pvt. Ltd., Lucknow", "supplier", "Seema Tiwari", "+91 522 400 3303",
     "gem@gomti-tech.example.in", "Gomti Nagar, Lucknow"),
    ("Purvanchal Digital Solutions, Ayodhya", "service", "Vivek Mishra", "+91 5278 220 515",
     "projects@purvanchal-digital.example.in", "Civil Lines, Ayodhya"),
)  # fmt: skip

# Contract value (INR) and hours (response, resolution) per tehsil or headquarters.
TERMS = {
    "GON-HQ": (Decimal("485000"), 4, 24),
    "TEH-SDR": (Decimal("312000"), 8, 48),
    "TEH-CLG": (Decimal("268000"), 8, 48),
    "TEH-TRB": (Decimal("254000"), 8, 72),
}


def load_demo_vendors(today: date) -> Counter:
    from inventory.demo import AMC_CONTRACTS, AMC_ITEMS, CATALOGUE, _years_later

    made: Counter = Counter()
    vendors: dict[str, Vendor] = {}
    for name, kind, person, phone, email, address in VENDORS:
        vendor = db.session.scalar(sa.select(Vendor).where(Vendor.name == name))
        if vendor is None:
            vendor = services.create_vendor(
                name=name, kind=kind, contact_person=person, phone=phone, email=email,
                address=address,
            )  # fmt: skip
            made["vendors"] += 1
        vendors[name] = vendor
    codes = sorted({CATALOGUE[item][0] for item in AMC_ITEMS})
    categories = list(db.session.scalars(sa.select(Category).where(Category.code.in_(codes))))
    for cluster, (vendor_name, ends) in AMC_CONTRACTS.items():
        vendor = vendors.get(vendor_name)
        site = db.session.scalar(sa.select(Site).where(Site.code == cluster))
        if vendor is None or site is None:
            continue
        reference = f"DeGS/GON/AMC/{cluster}"
        exists = db.session.scalar(
            sa.select(AmcContract.id).where(
                AmcContract.vendor_id == vendor.id, AmcContract.reference == reference
            )
        )
        if exists:
            continue
        end = today + timedelta(days=ends) if isinstance(ends, int) else ends
        value, response, resolution = TERMS[cluster]
        contract = services.create_contract(
            vendor_id=vendor.id,
            reference=reference,
            title=f"Comprehensive AMC: computers, printers, UPS and network, {site.name_en}",
            start_date=_years_later(end, -1) + timedelta(days=1),
            end_date=end,
            value=value,
            response_hours=response,
            resolution_hours=resolution,
            notes="Parts included except consumables. Calls by phone or email; the engineer "
            "signs the service report at the site.",
        )
        # Headquarters' contract covers its own offices; a tehsil's, the tehsil and below.
        places = [site.id]
        if site.parent_id is None:
            places = list(
                db.session.scalars(
                    sa.select(Site.id).where(Site.parent_id == site.id, Site.kind == "office")
                )
            )
        for category in categories:
            for place in places:
                services.add_rule(contract, category.id, place)
        made["AMC contracts"] += 1
    db.session.flush()
    return made
