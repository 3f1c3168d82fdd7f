"""Ticket reports on constructed data with fixed dates: ageing buckets (their edges), per site
(with the site filter's subtree) and per vendor, and SLA compliance per local month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inventory.extensions import db
from inventory.tickets import reports, services
from inventory.vendors.models import Vendor

NOW = datetime(2025, 6, 15, 6, 0, tzinfo=UTC)  # 11:30 in Gonda (IST)
DAY = timedelta(days=1)


@pytest.fixture
def maker(district, make_user):
    manager = make_user("manager")
    engineer = make_user("engineer")
    vendors = {name: Vendor(name=name) for name in ("Shakti Infotech", "Avadh Systems")}
    db.session.add_all(vendors.values())
    db.session.commit()

    def make(opened, *, site="block", vendor=None, resolve=None, close=None, cancel=None):
        ticket = services.open_ticket(site=district[site], title="Fault", now=opened)
        if vendor or resolve or close:
            services.assign(
                ticket,
                assignee=engineer,
                vendor=vendors[vendor] if vendor else None,
                actor=manager,
            )
        if resolve:
            services.move(ticket, services.RESOLVED, actor=manager, now=resolve)
        if close:
            services.move(ticket, services.CLOSED, actor=manager, now=close)
        if cancel:
            services.move(ticket, services.CANCELLED, actor=manager, now=cancel)
        db.session.commit()
        return ticket

    make.vendors = vendors
    return make


def test_ageing_buckets_and_their_edges(maker, district):
    ages = [
        timedelta(0),  # 0 days
        3 * DAY - timedelta(seconds=1),  # 2 days 23:59:59 -> 0-2
        3 * DAY,  # 3 -> 3-7
        8 * DAY - timedelta(seconds=1),  # 7.99 -> 3-7
        8 * DAY,  # 8 -> 8-30
        31 * DAY - timedelta(seconds=1),  # 30.99 -> 8-30
        31 * DAY,  # 31 -> >30
        400 * DAY,  # >30
    ]
    for age in ages:
        maker(NOW - age)
    # Not open: no age.
    maker(NOW - 40 * DAY, resolve=NOW - DAY)
    maker(NOW - 40 * DAY, resolve=NOW - 2 * DAY, close=NOW - DAY)
    maker(NOW - 40 * DAY, cancel=NOW - DAY)

    rows, total = reports.ageing_by_site(NOW)
    assert [(r.key, r.counts) for r in rows] == [(district["block"].id, [2, 2, 2, 2])]
    assert total.counts == [2, 2, 2, 2] and total.total == 8
    assert rows[0].label == "Mankapur block (BLK-MNK)"


def test_ageing_per_site_with_the_subtree_filter(maker, district):
    maker(NOW - DAY, site="csc")
    maker(NOW - 5 * DAY, site="csc")
    maker(NOW - 50 * DAY, site="block")
    maker(NOW - 10 * DAY, site="tehsil")
    maker(NOW - 10 * DAY, site="hq")

    rows, total = reports.ageing_by_site(NOW)
    by_site = {r.key: r.counts for r in rows}
    assert by_site == {
        district["csc"].id: [1, 1, 0, 0],
        district["block"].id: [0, 0, 0, 1],
        district["tehsil"].id: [0, 0, 1, 0],
        district["hq"].id: [0, 0, 1, 0],
    }
    assert rows[0].key == district["csc"].id  # most open tickets first
    assert total.total == 5

    rows, total = reports.ageing_by_site(NOW, site_id=district["block"].id)
    assert {r.key for r in rows} == {district["block"].id, district["csc"].id}
    assert total.counts == [1, 1, 0, 1]


def test_ageing_per_vendor(maker):
    maker(NOW - DAY, vendor="Shakti Infotech")
    maker(NOW - 20 * DAY, vendor="Shakti Infotech")
    maker(NOW - 45 * DAY, vendor="Avadh Systems")
    maker(NOW - 4 * DAY)
    rows, total = reports.ageing_by_vendor(NOW)
    got = {r.label: r.counts for r in rows}
    assert got == {
        "Shakti Infotech": [1, 0, 1, 0],
        "Avadh Systems": [0, 0, 0, 1],
        "": [0, 1, 0, 0],  # no vendor
    }
    assert rows[0].label == "Shakti Infotech"
    assert rows[-1].key is None
    assert total.total == 4
    shakti = maker.vendors["Shakti Infotech"].id
    rows, total = reports.ageing_by_vendor(NOW, vendor_id=shakti)
    assert [r.key for r in rows] == [shakti] and total.total == 2


def test_sla_compliance_per_local_month(maker):
    may = datetime(2025, 5, 10, 6, 0, tzinfo=UTC)
    # May: on time, exactly at the due date (on time), late, and one resolved at 20:00 UTC on
    # 30 April, which is 01:30 on 1 May in Gonda. A closed ticket counts by its resolution.
    maker(may - 3 * DAY, resolve=may)
    maker(may - 7 * DAY, resolve=may)  # due = opened + 7 days = may: on time
    maker(may - 9 * DAY, resolve=may)  # 2 days late
    maker(datetime(2025, 4, 29, tzinfo=UTC), resolve=datetime(2025, 4, 30, 20, 0, tzinfo=UTC))
    maker(may - DAY, resolve=may, close=NOW - DAY)  # closed in June, resolved in May
    # June: one late.
    maker(NOW - 20 * DAY, resolve=NOW - 2 * DAY)
    # Not counted: cancelled, still open, reopened (its resolution is void), before the window.
    maker(may - DAY, cancel=may)
    maker(may - DAY)
    reopened = maker(may - 2 * DAY, resolve=may)
    services.reopen(reopened, now=may + DAY)
    db.session.commit()
    maker(datetime(2025, 1, 1, tzinfo=UTC), resolve=datetime(2025, 2, 1, tzinfo=UTC))

    months, total = reports.sla_compliance(NOW, months=3)
    assert [(m.key, m.resolved, m.on_time, m.late) for m in months] == [
        ("2025-04", 0, 0, 0),
        ("2025-05", 5, 4, 1),
        ("2025-06", 1, 0, 1),
    ]
    assert months[0].percent is None
    assert months[1].percent == 80.0
    assert months[2].percent == 0.0
    assert (total.resolved, total.on_time, total.percent) == (6, 4, 66.7)


def test_sla_compliance_filters(maker, district):
    may = datetime(2025, 5, 10, tzinfo=UTC)
    maker(may - DAY, resolve=may, site="csc", vendor="Shakti Infotech")
    maker(may - 9 * DAY, resolve=may, site="hq")
    _months, total = reports.sla_compliance(NOW, months=2, site_id=district["tehsil"].id)
    assert (total.resolved, total.on_time) == (1, 1)
    shakti = maker.vendors["Shakti Infotech"].id
    _months, total = reports.sla_compliance(NOW, months=2, vendor_id=shakti)
    assert (total.resolved, total.on_time) == (1, 1)
    _months, total = reports.sla_compliance(NOW, months=2)
    assert (total.resolved, total.on_time, total.late) == (2, 1, 1)


def test_the_report_page_shows_the_figures(maker, as_role, district):
    maker(datetime.now(UTC) - 40 * DAY, site="csc")
    maker(datetime.now(UTC) - DAY, site="csc", vendor="Avadh Systems")
    client = as_role("viewer")
    page = client.get("/tickets/reports").get_data(as_text=True)
    assert "Ageing of open tickets by site" in page
    assert "CSC Babhanjot (CSC-001)" in page
    assert "Avadh Systems" in page
    assert "SLA compliance by month" in page
    filtered = client.get(f"/tickets/reports?site={district['hq'].id}")
    assert filtered.status_code == 200
