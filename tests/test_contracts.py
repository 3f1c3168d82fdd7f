"""AMC contracts: validation, coverage (listed assets, category-at-site rules, dates), the
expiring list, per-contract and per-vendor figures on constructed tickets, and downtime
from constructed health events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from inventory.catalog.services import get_category_by_code
from inventory.extensions import db
from inventory.health.models import HealthEvent
from inventory.tickets.models import Ticket
from inventory.vendors import reports, services
from inventory.vendors.models import ContractAsset
from inventory.vendors.services import VendorError

T0 = datetime(2025, 6, 2, 4, 30, tzinfo=UTC)  # 10:00 in Gonda


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def vendor(app):
    v = services.create_vendor(name="Devipatan Computer Care", kind="amc")
    db.session.commit()
    return v


def contract_for(vendor, **fields):
    values = {
        "vendor_id": vendor.id,
        "reference": "AMC/2025/01",
        "title": "Comprehensive AMC",
        "start_date": date(2025, 4, 1),
        "end_date": date(2026, 3, 31),
        "value": "250000",
        "response_hours": 8,
        "resolution_hours": 48,
    }
    values.update(fields)
    contract = services.create_contract(**values)
    db.session.commit()
    return contract


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"end_date": date(2025, 4, 1)}, "end_date", "end after it starts"),
        ({"end_date": date(2025, 3, 1)}, "end_date", "end after it starts"),
        ({"value": "0"}, "value", "more than zero"),
        ({"value": "-5"}, "value", "more than zero"),
        ({"response_hours": 0}, "response_hours", "between 1"),
        ({"resolution_hours": -3}, "resolution_hours", "between 1"),
        ({"response_hours": 72, "resolution_hours": 24}, "resolution_hours", "shorter"),
        ({"reference": "  "}, "reference", "reference"),
        ({"title": ""}, "title", "title"),
        ({"vendor_id": None}, "vendor_id", "vendor"),
    ],
)
def test_contract_validation(vendor, fields, field, words):
    with pytest.raises(VendorError) as caught:
        contract_for(vendor, **fields)
    assert caught.value.field == field
    assert words in str(caught.value)
    db.session.rollback()
    assert vendor.contracts.count() == 0


def test_reference_is_unique_per_vendor(vendor):
    contract_for(vendor)
    with pytest.raises(VendorError, match="already has a contract AMC/2025/01"):
        contract_for(vendor)
    db.session.rollback()
    other = services.create_vendor(name="Saryu Systems", kind="amc")
    assert contract_for(other).reference == "AMC/2025/01"  # another vendor's numbering


def test_no_new_contract_for_an_inactive_vendor(vendor):
    services.set_vendor_active(vendor, False)
    with pytest.raises(VendorError, match="inactive"):
        contract_for(vendor)


# --- coverage ---------------------------------------------------------------------------


def test_listed_asset_is_covered_within_the_period_only(vendor, district, make_asset):
    printer = make_asset(district["csc"], "PRN")
    other = make_asset(district["csc"], "PRN")
    contract = contract_for(vendor)
    assert services.add_assets(contract, [printer.tag]) == 1
    db.session.commit()
    assert services.contracts_covering(printer, date(2025, 4, 1)) == [contract]
    assert services.contracts_covering(printer, date(2026, 3, 31)) == [contract]
    assert services.contracts_covering(printer, date(2025, 3, 31)) == []
    assert services.contracts_covering(printer, date(2026, 4, 1)) == []
    assert services.contracts_covering(other, date(2025, 6, 1)) == []


def test_category_rule_at_a_parent_site_covers_its_descendants(vendor, district, make_asset):
    at_block = make_asset(district["block"], "PRN")
    at_csc = make_asset(district["csc"], "PRN")  # CSC is below the block
    at_tehsil = make_asset(district["tehsil"], "PRN")  # above the block: not covered
    desktop_at_csc = make_asset(district["csc"], "DSK")  # other category: not covered
    contract = contract_for(vendor)
    services.add_rule(contract, get_category_by_code("PRN").id, district["block"].id)
    db.session.commit()
    on = date(2025, 7, 1)
    assert services.contracts_covering(at_block, on) == [contract]
    assert services.contracts_covering(at_csc, on) == [contract]
    assert services.contracts_covering(at_tehsil, on) == []
    assert services.contracts_covering(desktop_at_csc, on) == []
    # The inverse, as a page and as ids.
    assert sorted(services.covered_asset_ids(contract)) == sorted([at_block.id, at_csc.id])
    page = services.covered_assets_page(contract, 1, 50)
    assert page.total == 2
    assert [a.tag for a in page.items] == sorted([at_block.tag, at_csc.tag])


def test_rule_without_category_or_site(vendor, district, make_asset):
    csc_desktop = make_asset(district["csc"], "DSK")
    hq_projector = make_asset(district["hq"], "PRJ")
    whole_block = contract_for(vendor, reference="A")
    services.add_rule(whole_block, None, district["block"].id)  # everything at the block
    all_projectors = contract_for(vendor, reference="B")
    services.add_rule(all_projectors, get_category_by_code("PRJ").id, None)  # district-wide
    db.session.commit()
    on = date(2025, 7, 1)
    assert services.contracts_covering(csc_desktop, on) == [whole_block]
    assert services.contracts_covering(hq_projector, on) == [all_projectors]
    with pytest.raises(VendorError, match="category, a site, or both"):
        services.add_rule(whole_block, None, None)
    with pytest.raises(VendorError, match="already has that rule"):
        services.add_rule(whole_block, None, district["block"].id)


def test_an_asset_listed_and_matched_counts_once(vendor, district, make_asset):
    printer = make_asset(district["csc"], "PRN")
    contract = contract_for(vendor)
    services.add_assets(contract, [printer.tag])
    services.add_rule(contract, get_category_by_code("PRN").id, district["hq"].id)
    db.session.commit()
    assert services.contracts_covering(printer, date(2025, 7, 1)) == [contract]
    assert services.covered_asset_count(contract) == 1


def test_adding_tags_is_all_or_nothing(vendor, district, make_asset):
    a = make_asset(district["csc"], "PRN")
    b = make_asset(district["csc"], "PRN")
    contract = contract_for(vendor)
    tags = services.split_tags(f"{a.tag.lower()}, {b.tag}\n NO-SUCH-1 {a.tag}")
    assert tags == [a.tag, b.tag, "NO-SUCH-1"]
    with pytest.raises(VendorError, match="NO-SUCH-1"):
        services.add_assets(contract, tags)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContractAsset)) == 0
    assert services.add_assets(contract, [a.tag, b.tag]) == 2
    assert services.add_assets(contract, [a.tag]) == 0  # already listed
    assert services.remove_asset(contract, a.id) is True
    assert services.remove_asset(contract, a.id) is False
    db.session.commit()
    assert services.covered_asset_ids(contract) == [b.id]


# --- expiring ---------------------------------------------------------------------------


def test_contracts_expiring_lists_those_in_force_ending_soon(vendor):
    today = date(2026, 3, 1)
    ends_today = contract_for(vendor, reference="E0", end_date=today)
    in_30 = contract_for(vendor, reference="E30", end_date=today + timedelta(days=30))
    in_60 = contract_for(vendor, reference="E60", end_date=today + timedelta(days=60))
    contract_for(vendor, reference="E61", end_date=today + timedelta(days=61))
    contract_for(vendor, reference="ENDED", end_date=today - timedelta(days=1))
    contract_for(
        vendor,
        reference="LATER",
        start_date=today + timedelta(days=5),
        end_date=today + timedelta(days=20),
    )  # not started yet
    assert services.contracts_expiring(60, today) == [ends_today, in_30, in_60]
    assert services.contracts_expiring(30, today) == [ends_today, in_30]
    assert services.contracts_expiring(0, today) == [ends_today]
    flt = services.ContractFilter(within_days=30)
    found = db.session.scalars(services.contract_query(flt, today)).all()
    assert {c.reference for c in found} == {"E0", "E30"}
    flt = services.ContractFilter(state="expired")
    assert [c.reference for c in db.session.scalars(services.contract_query(flt, today))] == [
        "ENDED"
    ]


def test_contract_state(app, vendor):
    contract = contract_for(vendor, start_date=date(2025, 4, 1), end_date=date(2026, 3, 31))
    assert contract.state(date(2025, 3, 31), 60).value == "upcoming"
    assert contract.state(date(2025, 6, 1), 60).value == "active"
    assert contract.state(date(2026, 1, 31), 60).value == "expiring"
    assert contract.state(date(2026, 4, 1), 60).value == "expired"


# --- figures on constructed tickets -----------------------------------------------------


def ticket(
    site, vendor=None, asset=None, *, opened, due, status="open", resolved=None, closed=None
):
    t = Ticket(
        site_id=site.id,
        asset_id=asset.id if asset else None,
        vendor_id=vendor.id if vendor else None,
        title="constructed",
        status=status,
        opened_at=opened,
        due_at=due,
        resolved_at=resolved,
        closed_at=closed,
    )
    db.session.add(t)
    db.session.flush()
    return t


def test_vendor_metrics_mttr_and_breaches(vendor, district, make_asset):
    site = district["csc"]
    other = services.create_vendor(name="Someone else", kind="service")
    now = T0 + timedelta(days=20)
    # Resolved in 10 h, within due: counts for MTTR, no breach.
    ticket(
        site,
        vendor,
        opened=T0,
        due=T0 + hours(48),
        status="closed",
        resolved=T0 + hours(10),
        closed=T0 + hours(12),
    )
    # Resolved in 30 h but due after 24 h: a breach.
    ticket(site, vendor, opened=T0, due=T0 + hours(24), status="resolved", resolved=T0 + hours(30))
    # Still open past its due date: a breach, not in MTTR.
    ticket(site, vendor, opened=T0 + hours(1), due=T0 + hours(25), status="in_progress")
    # Open, not yet due: nothing.
    ticket(site, vendor, opened=now - hours(2), due=now + hours(100), status="assigned")
    # Cancelled (left out), another vendor's (left out), and one before the period.
    ticket(site, vendor, opened=T0, due=T0 + hours(1), status="cancelled", closed=T0 + hours(5))
    ticket(site, other, opened=T0, due=T0 + hours(1), status="open")
    ticket(site, vendor, opened=T0 - timedelta(days=30), due=T0, status="open")
    db.session.commit()

    m = reports.vendor_metrics(vendor, T0 - hours(1), now, now)
    assert (m.tickets, m.open, m.finished, m.cancelled) == (4, 2, 2, 1)
    assert m.mttr_hours == 20.0  # (10 + 30) / 2
    assert m.breaches == 2
    assert m.breach_pct == 50.0
    assert m.contract_breaches is None
    empty = reports.vendor_metrics(other, now, now + hours(1), now)
    assert (empty.tickets, empty.mttr_hours, empty.breach_pct) == (0, None, None)


def test_contract_tickets_and_breaches(vendor, district, make_asset):
    covered = make_asset(district["csc"], "PRN")
    not_covered = make_asset(district["csc"], "DSK")
    contract = contract_for(vendor, resolution_hours=48)
    services.add_rule(contract, get_category_by_code("PRN").id, district["block"].id)
    other = services.create_vendor(name="Other AMC", kind="amc")
    db.session.commit()
    site = district["csc"]
    now = T0 + timedelta(days=30)
    # Within 48 h and its own due date.
    ok = ticket(
        site,
        vendor,
        covered,
        opened=T0,
        due=T0 + hours(72),
        status="closed",
        resolved=T0 + hours(20),
        closed=T0 + hours(21),
    )
    # 60 h: beyond the contract's 48 h, but within its own due date of 7 days.
    slow = ticket(
        site,
        vendor,
        covered,
        opened=T0,
        due=T0 + timedelta(days=7),
        status="resolved",
        resolved=T0 + hours(60),
    )
    # Open for 30 days: beyond both.
    stuck = ticket(site, vendor, covered, opened=T0, due=T0 + timedelta(days=7))
    # Not the contract's: another vendor, an uncovered asset, no asset, before the period.
    ticket(site, other, covered, opened=T0, due=T0 + hours(1))
    ticket(site, vendor, not_covered, opened=T0, due=T0 + hours(1))
    ticket(site, vendor, None, opened=T0, due=T0 + hours(1))
    ticket(
        site, vendor, covered, opened=datetime(2025, 3, 31, 18, 0, tzinfo=UTC), due=T0
    )  # 31 March 23:30 in Gonda: the day before the contract
    first_day = ticket(
        site,
        vendor,
        covered,
        opened=datetime(2025, 3, 31, 18, 30, tzinfo=UTC),
        due=T0 + timedelta(days=90),
        status="closed",
        resolved=datetime(2025, 4, 1, 0, 30, tzinfo=UTC),
        closed=datetime(2025, 4, 1, 1, 0, tzinfo=UTC),
    )
    db.session.commit()

    listed = db.session.scalars(reports.contract_tickets_query(contract)).all()
    assert {t.id for t in listed} == {ok.id, slow.id, stuck.id, first_day.id}
    m = reports.contract_metrics(contract, now, with_downtime=False)
    assert (m.tickets, m.open, m.finished) == (4, 1, 3)
    assert m.mttr_hours == round((20 + 60 + 6) / 3, 1)
    assert m.breaches == 1  # the stuck one: open past its due date
    assert m.contract_breaches == 2  # slow (60 h) and stuck (30 days)


# --- downtime ---------------------------------------------------------------------------


def events(asset, *pairs):
    for kind, at in pairs:
        db.session.add(HealthEvent(asset_id=asset.id, kind=kind, at=at))
    db.session.flush()


def test_downtime_from_health_events(district, make_asset):
    a = make_asset(district["csc"], "RTR")
    b = make_asset(district["csc"], "RTR")
    c = make_asset(district["csc"], "RTR")
    quiet = make_asset(district["csc"], "RTR")
    start, end = T0, T0 + hours(24)
    # a: down 2 h inside the window, then down again 1 h before the end (still down).
    events(a, ("down", T0 + hours(1)), ("up", T0 + hours(3)), ("down", T0 + hours(23)))
    # b: went down before the window and came back 4 h into it.
    events(b, ("down", T0 - hours(10)), ("up", T0 + hours(4)))
    # c: down and up before the window (nothing), then a repeated "down" inside it.
    events(
        c,
        ("down", T0 - hours(9)),
        ("up", T0 - hours(8)),
        ("down", T0 + hours(10)),
        ("down", T0 + hours(11)),
        ("up", T0 + hours(12)),
    )
    db.session.commit()
    by_asset = reports.downtime_seconds_by_asset([a.id, b.id, c.id, quiet.id], start, end)
    assert by_asset == {a.id: 3 * 3600.0, b.id: 4 * 3600.0, c.id: 2 * 3600.0}
    assert reports.downtime_hours([a.id, b.id, c.id, quiet.id], start, end) == 9.0
    assert reports.downtime_hours([], start, end) == 0.0
    assert reports.downtime_hours([a.id], end, start) == 0.0


def test_contract_downtime_counts_covered_devices(vendor, district, make_asset):
    covered = make_asset(district["csc"], "RTR")
    outside = make_asset(district["csc"], "RTR")
    contract = contract_for(vendor)
    services.add_assets(contract, [covered.tag])
    events(covered, ("down", T0), ("up", T0 + hours(5)))
    events(outside, ("down", T0), ("up", T0 + hours(50)))
    db.session.commit()
    m = reports.contract_metrics(contract, T0 + timedelta(days=2))
    assert m.downtime_hours == 5.0
