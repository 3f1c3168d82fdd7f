"""Demo procurement for the Gonda data set (called by inventory.demo).

The usual budget heads; two approval levels when none are configured (DIO: the demo
administrator, the District Informatics Officer; then DM: the demo viewer, the DM's office);
and a few requests of this financial year in different states: projectors for the tehsils
ordered on GeM, desktops for the tehsils' e-District counters ordered and partly received
(the first six of ten, taken in through the receipt service: in store, tagged, with their
serials and warranty), UPS batteries waiting for the DM, a desktop waiting for the DIO,
printers rejected, VC endpoints still a draft. Found again by title: a second load changes
nothing. Flushes only.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from inventory.auth.services import get_user_by_username
from inventory.catalog.services import find_model, get_category_by_code
from inventory.extensions import db
from inventory.procurement import receiving, services
from inventory.procurement.models import ApprovalAction, ProcurementRequest
from inventory.sites.services import get_site_by_code
from inventory.vendors.models import Vendor

GEM_VENDOR = "Gomti Technologies Pvt. Ltd., Lucknow"

PARTLY_RECEIVED_TITLE = "Desktops for the tehsil e-District counters"

# The order of the requests that get that far: (maker, model) of the line or None, vendor,
# GeM contract number, actual unit cost, remark.
ORDERS = {
    "Projectors for the tehsil VC rooms": (
        None,
        GEM_VENDOR,
        "GEMC-511687712034567",
        "46990",
        "Placed on GeM (direct purchase, L1).",
    ),
    PARTLY_RECEIVED_TITLE: (
        ("HP", "Pro Tower 280 G9"),
        "Awadh Computer House, Lucknow",
        "GEMC-511687712041208",
        "51490",
        "Placed on GeM (L1 of three bids).",
    ),
}

# The first delivery of the partly received request: the units that came (site code, how
# many), days ago, challan, remarks. The rest (Tarabganj and Mankapur) is still to come.
# The serials are 4CE52GD001, 4CE52GD002, ...: a pattern no register serial of
# inventory.demo follows (INA###****, *******, PC******), so they never clash.
FIRST_DELIVERY = (
    (("TEH-SDR", 3), ("TEH-CLG", 3)),
    16,
    "ACH/DC/0412",
    "First lot, for Sadar and Colonelganj. The four for Tarabganj and Mankapur are due "
    "with the next dispatch.",
)
SERIAL_PREFIX = "4CE52GD"
WARRANTY_YEARS = 3

# title, justification, category, estimated unit cost, destinations (site code, quantity),
# what happens (state), days ago it was drafted
REQUESTS = (
    (
        "Projectors for the tehsil VC rooms",
        "The DM's weekly review by video conference needs a projector in every tehsil; "
        "the old ones have failed lamps and no AMC.",
        "PRJ",
        "48500",
        (("TEH-SDR", 1), ("TEH-CLG", 1), ("TEH-TRB", 1), ("TEH-MNK", 1)),
        "ordered",
        40,
    ),
    (
        PARTLY_RECEIVED_TITLE,
        "Every tehsil's e-District counter serves certificates on one desktop from 2017; "
        "a second counter halves the queue on tehsil days.",
        "DSK",
        "52000",
        (("TEH-SDR", 3), ("TEH-CLG", 3), ("TEH-TRB", 2), ("TEH-MNK", 2)),
        "partly_received",
        45,
    ),
    (
        "UPS batteries for block offices",
        "The batteries of the block offices' online UPS no longer hold for ten minutes.",
        "UPS",
        "6200",
        (("BLK-JHJ", 2), ("BLK-PDK", 2), ("BLK-ITY", 2)),
        "at_second_level",
        12,
    ),
    (
        "Desktop for the e-District counter at Colonelganj",
        "A third counter for caste, income and domicile certificates.",
        "DSK",
        "52000",
        (("TEH-CLG", 1),),
        "submitted",
        5,
    ),
    (
        "Printers for Jan Seva Kendras",
        "Laser printers for the CSCs of Jhanjhari, Itiyathok and Colonelganj.",
        "PRN",
        "14500",
        (("CSC-JHJ-01", 1), ("CSC-ITY-01", 1), ("CSC-CLG-01", 1)),
        "rejected",
        20,
    ),
    (
        "VC endpoints for Mankapur and Tarabganj blocks",
        "",
        "VCC",
        "165000",
        (("BLK-MNK", 1), ("BLK-TRB", 1)),
        "draft",
        2,
    ),
)


def _at(today: date, days_ago: int, hour: int) -> datetime:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(
        today - timedelta(days=days_ago), time(hour, 0), tzinfo=zone
    ).astimezone(UTC)


def _ensure_levels(admin, viewer) -> int:
    if services.approval_levels():
        return 0
    services.save_level(None, position=1, name="DIO", name_hi="डीआईओ", approver_ids=[admin.id])
    services.save_level(None, position=2, name="DM", name_hi="जिलाधिकारी", approver_ids=[viewer.id])
    return 2


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _receive_first_delivery(pr: ProcurementRequest, receiver, today: date) -> int:
    """The first delivery of the partly received request through the receipt service; the
    "partly received" step is dated the day the goods came. Returns the units received."""
    destinations, days_ago, challan, remarks = FIRST_DELIVERY
    line = pr.lines[0]
    sites = {d.site.code: d.site_id for d in line.destinations}
    received_on = today - timedelta(days=days_ago)
    warranty_end = _years_later(received_on, WARRANTY_YEARS) - timedelta(days=1)
    codes = [code for code, n in destinations for _i in range(n)]
    units = [
        receiving.UnitIn(line.id, sites[code], f"{SERIAL_PREFIX}{n:03d}", warranty_end)
        for n, code in enumerate(codes, start=1)
    ]
    receiving.receive(
        pr,
        units,
        received_by=receiver,
        received_on=received_on,
        challan=challan,
        remarks=remarks,
        today=today,
    )
    step = db.session.scalar(
        sa.select(ApprovalAction).where(
            ApprovalAction.request_id == pr.id,
            ApprovalAction.action == services.PARTLY_RECEIVED,
        )
    )
    if step is not None:
        step.created_at = _at(today, days_ago, 13)
    db.session.flush()
    return len(units)


def load_demo_procurement(today: date) -> Counter:
    from inventory.audit.services import acting_as

    made: Counter = Counter()
    admin = get_user_by_username("admin")
    manager = get_user_by_username("manager")
    engineer = get_user_by_username("engineer")
    viewer = get_user_by_username("viewer")
    if None in (admin, manager, engineer, viewer):
        return made
    with acting_as(admin):
        made["budget heads"] += services.ensure_default_budget_heads()
        made["approval levels"] += _ensure_levels(admin, viewer)
    heads = services.budget_heads(active_only=True)
    if not heads:
        return made
    head_by_name = {h.name: h for h in heads}
    levels = services.approval_levels(active_only=True)
    for title, why, category_code, cost, destinations, state, days_ago in REQUESTS:
        exists = db.session.scalar(
            sa.select(ProcurementRequest.id).where(ProcurementRequest.title == title)
        )
        category = get_category_by_code(category_code)
        sites = [(get_site_by_code(code), n) for code, n in destinations]
        if exists is not None or category is None or any(s is None for s, _n in sites):
            continue
        make, vendor_name, reference, actual_cost, order_remark = ORDERS.get(
            title, (None, "", "", "", "")
        )
        model = find_model(*make) if make else None
        vendor = (
            db.session.scalar(sa.select(Vendor).where(Vendor.name == vendor_name))
            if vendor_name
            else None
        )
        head = head_by_name.get(
            "e-District project" if category_code == "DSK" else "DeGS fund", heads[0]
        )
        with acting_as(engineer):
            pr = services.create_request(
                requester=engineer,
                title=title,
                justification=why,
                budget_head_id=head.id,
                financial_year=services.financial_year_of(today),
                lines=[
                    services.LineIn(
                        category_id=category.id,
                        quantity=sum(n for _s, n in sites),
                        estimated_unit_cost=cost,
                        destinations=[(s.id, n) for s, n in sites],
                        model_id=model.id if model is not None else None,
                    )
                ],
                now=_at(today, days_ago, 10),
            )
        made["procurement requests"] += 1
        if state == "draft":
            continue
        with acting_as(manager):
            services.submit(pr, actor=manager, now=_at(today, days_ago - 1, 11))
        deciders = [lv.approvers[0] for lv in levels if lv.approvers]
        if state == "submitted" or not deciders:
            continue
        with acting_as(deciders[0]):
            if state == "rejected":
                services.reject(
                    pr,
                    actor=deciders[0],
                    reason="The CSC operators buy their printers from their own earnings.",
                    now=_at(today, days_ago - 2, 16),
                )
                continue
            services.approve(
                pr, actor=deciders[0], remark="Within the budget.", now=_at(today, days_ago - 2, 16)
            )
        if state == "at_second_level":
            continue
        for offset, decider in enumerate(deciders[1:], start=3):
            with acting_as(decider):
                services.approve(pr, actor=decider, now=_at(today, days_ago - offset, 12))
        if state not in ("ordered", "partly_received") or vendor is None:
            continue
        if pr.status != services.APPROVED:
            continue
        with acting_as(manager):
            services.record_order(
                pr,
                actor=manager,
                order_reference=reference,
                vendor_id=vendor.id,
                order_date=today - timedelta(days=days_ago - 8),
                actual_costs={line.id: actual_cost for line in pr.lines},
                remark=order_remark,
                now=_at(today, days_ago - 8, 15),
            )
        if state == "partly_received":
            with acting_as(engineer):
                made["assets received"] += _receive_first_delivery(pr, engineer, today)
    return made
