"""Vendor and contract pages: lists with filters and pagination, create and edit by managers,
deactivate instead of delete, history, coverage through the pages, the expiring panel, the
asset page's panels, and hostile names rendered escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from support import RAW_MARKERS, escaped, payload

from inventory.audit.models import ChangeLog
from inventory.catalog.services import get_category_by_code
from inventory.extensions import db
from inventory.maintenance import services as maintenance
from inventory.tickets.models import Ticket
from inventory.vendors import services
from inventory.vendors.models import AmcContract, Vendor


@pytest.fixture
def as_role(app, make_user, login):
    """A client signed in with a new user of the role, reading English pages."""
    return lambda role: login(make_user(role, locale="en"), target_client=app.test_client())


def body(response) -> str:
    return response.get_data(as_text=True)


def make_vendor(name="Awadh Infotech Services", kind="amc", **fields):
    vendor = services.create_vendor(name=name, kind=kind, **fields)
    db.session.commit()
    return vendor


def make_contract(vendor, reference="AMC/24/07", **fields):
    values = {
        "vendor_id": vendor.id,
        "reference": reference,
        "title": "Desktops and printers",
        "start_date": date(2024, 4, 1),
        "end_date": date(2030, 3, 31),
        "value": "180000",
        "response_hours": 8,
        "resolution_hours": 48,
    }
    values.update(fields)
    contract = services.create_contract(**values)
    db.session.commit()
    return contract


# --- the list ---------------------------------------------------------------------------


def test_list_filters_by_kind_status_and_search(as_role):
    make_vendor("Saryu Systems", "supplier", contact_person="R. K. Tiwari")
    make_vendor("Awadh Infotech", "amc", phone="+91 522 400 1234")
    gone = make_vendor("Old Traders", "supplier")
    services.set_vendor_active(gone, False)
    db.session.commit()
    client = as_role("viewer")
    page = body(client.get("/vendors/"))
    assert "Saryu Systems" in page and "Awadh Infotech" in page
    assert "Old Traders" not in page  # inactive ones are hidden by default
    page = body(client.get("/vendors/?active=all&kind=supplier"))
    assert "Saryu Systems" in page and "Old Traders" in page and "Awadh Infotech" not in page
    page = body(client.get("/vendors/?active=no"))
    assert "Old Traders" in page and "Saryu Systems" not in page
    page = body(client.get("/vendors/?q=tiwari"))
    assert "Saryu Systems" in page and "Awadh Infotech" not in page
    page = body(client.get("/vendors/?q=zzz-nothing"))
    assert "No vendors match." in page


def test_list_pages(as_role, app):
    app.config["PAGE_SIZE"] = 5
    for n in range(12):
        services.create_vendor(name=f"Vendor {n:02d}", kind="service")
    db.session.commit()
    client = as_role("viewer")
    first = body(client.get("/vendors/"))
    assert "Vendor 00" in first and "Vendor 05" not in first
    assert "12 in all" in first
    third = body(client.get("/vendors/?page=3"))
    assert "Vendor 10" in third and "Vendor 11" in third and "Vendor 00" not in third


def test_expiring_panel_on_the_index(as_role, app):
    vendor = make_vendor()
    today = services.society_today()
    make_contract(vendor, "SOON", end_date=today + timedelta(days=20))
    make_contract(vendor, "LATER", end_date=today + timedelta(days=200))
    client = as_role("viewer")
    page = body(client.get("/vendors/"))
    assert "1 contract ends within 60 days" in page
    assert "SOON" in page and "LATER" not in page
    app.config["CONTRACT_EXPIRY_NOTICE_DAYS"] = 365
    page = body(client.get("/vendors/"))
    assert "2 contracts end within 365 days" in page
    listed = body(client.get("/vendors/contracts/?within=30"))
    assert "SOON" in listed and "LATER" not in listed


# --- create, edit, roles ----------------------------------------------------------------


def test_manager_creates_and_edits_a_vendor(as_role):
    client = as_role("manager")
    response = client.post(
        "/vendors/new",
        data={
            "name": "Gomti Technologies",
            "kind": "service",
            "phone": "0522-2345678",
            "email": "amc@gomti.example.in",
        },
    )
    assert response.status_code == 302
    vendor = db.session.scalar(sa.select(Vendor).where(Vendor.name == "Gomti Technologies"))
    assert vendor.kind == "service" and vendor.active
    response = client.post(
        f"/vendors/{vendor.id}/edit",
        data={"name": "Gomti Technologies Pvt. Ltd.", "kind": "amc", "contact_person": "Asha"},
    )
    assert response.status_code == 302
    db.session.refresh(vendor)
    assert vendor.name == "Gomti Technologies Pvt. Ltd." and vendor.kind == "amc"
    page = body(client.get(f"/vendors/{vendor.id}"))
    assert "History" in page and "Gomti Technologies Pvt. Ltd." in page
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                ChangeLog.object_type == "vendors", ChangeLog.object_id == vendor.id
            )
        )
        == 2
    )


def test_vendor_form_refuses_bad_input(as_role):
    make_vendor("Saryu Systems")
    client = as_role("manager")
    response = client.post("/vendors/new", data={"name": "saryu systems", "kind": "amc"})
    assert response.status_code == 400
    assert "Another vendor is already called saryu systems." in body(response)
    response = client.post(
        "/vendors/new", data={"name": "X", "kind": "amc", "email": "not-an-email"}
    )
    assert response.status_code == 400 and "Invalid email address." in body(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Vendor)) == 1


@pytest.mark.parametrize("role", ["viewer", "engineer"])
def test_viewers_and_engineers_read_but_do_not_change(as_role, role):
    vendor = make_vendor()
    contract = make_contract(vendor)
    client = as_role(role)
    page = body(client.get(f"/vendors/{vendor.id}"))
    assert vendor.name in page
    assert f"/vendors/{vendor.id}/edit" not in page and "Deactivate" not in page
    assert "Add rule" not in body(client.get(f"/vendors/contracts/{contract.id}"))
    assert client.post(f"/vendors/{vendor.id}/active", data={"active": "0"}).status_code == 403
    assert client.post("/vendors/new", data={"name": "Z", "kind": "amc"}).status_code == 403
    db.session.refresh(vendor)
    assert vendor.active


# --- deactivate instead of delete -------------------------------------------------------


def test_delete_is_refused_while_referenced_and_deactivate_works(as_role, district):
    vendor = make_vendor()
    db.session.add(
        Ticket(
            site_id=district["csc"].id,
            vendor_id=vendor.id,
            title="Printer jams",
            due_at=datetime.now(UTC) + timedelta(days=7),
        )
    )
    db.session.commit()
    client = as_role("manager")
    response = client.get(f"/vendors/{vendor.id}/delete")
    assert response.status_code == 302  # no confirmation page for a vendor in use
    response = client.post(f"/vendors/{vendor.id}/delete", follow_redirects=True)
    page = body(response)
    assert "tickets (1), contracts (0) and maintenance plans (0) still name it" in page
    assert "Deactivate it instead" in page
    assert db.session.get(Vendor, vendor.id) is not None
    response = client.post(f"/vendors/{vendor.id}/active", data={"active": "0"})
    assert response.status_code == 302
    db.session.refresh(vendor)
    assert vendor.active is False
    # Inactive vendors are not offered for new contracts.
    form = body(client.get("/vendors/contracts/new"))
    assert f'value="{vendor.id}"' not in form
    client.post(f"/vendors/{vendor.id}/active", data={"active": "1"})
    db.session.refresh(vendor)
    assert vendor.active is True


def test_references_include_contracts_and_plans(app, categories):
    vendor = make_vendor()
    make_contract(vendor)
    maintenance.create_plan(
        name="Filters",
        category_id=get_category_by_code("PRJ").id,
        trigger="interval",
        interval_days=90,
        lead_days=7,
        vendor_id=vendor.id,
    )
    refs = services.vendor_references(vendor)
    assert (refs.tickets, refs.contracts, refs.plans) == (0, 1, 1)
    with pytest.raises(services.VendorError, match=r"contracts \(1\) and maintenance plans \(1\)"):
        services.delete_vendor(vendor)


def test_unreferenced_vendor_is_deleted_after_confirmation(as_role):
    vendor = make_vendor()
    client = as_role("manager")
    page = body(client.get(f"/vendors/{vendor.id}/delete"))
    assert "Delete vendor Awadh Infotech Services?" in page
    assert client.post(f"/vendors/{vendor.id}/delete").status_code == 302
    assert db.session.scalar(sa.select(Vendor.id).where(Vendor.id == vendor.id)) is None


# --- contracts through the pages --------------------------------------------------------


def test_manager_adds_a_contract_and_its_coverage(as_role, district, make_asset):
    vendor = make_vendor()
    printer = make_asset(district["csc"], "PRN")
    desktop = make_asset(district["tehsil"], "DSK")
    client = as_role("manager")
    response = client.post(
        "/vendors/contracts/new",
        data={
            "vendor_id": vendor.id,
            "reference": "GEMC-5116877001",
            "title": "CAMC",
            "start_date": "2025-04-01",
            "end_date": "2025-03-01",
            "value": "90000",
            "response_hours": 8,
            "resolution_hours": 48,
        },
    )
    assert response.status_code == 400
    assert "The contract must end after it starts." in body(response)
    response = client.post(
        "/vendors/contracts/new",
        data={
            "vendor_id": vendor.id,
            "reference": "GEMC-5116877001",
            "title": "CAMC",
            "start_date": "2025-04-01",
            "end_date": "2030-03-31",
            "value": "90000",
            "response_hours": 8,
            "resolution_hours": 48,
        },
    )
    assert response.status_code == 302
    contract = db.session.scalar(sa.select(AmcContract))
    base = f"/vendors/contracts/{contract.id}"
    page = body(client.post(f"{base}/assets", data={"tags": "NOPE-1"}, follow_redirects=True))
    assert "No asset has the tag NOPE-1. Nothing was added." in page
    page = body(client.post(f"{base}/assets", data={"tags": printer.tag}, follow_redirects=True))
    assert "1 asset added to the contract." in page
    category = get_category_by_code("DSK")
    client.post(f"{base}/rules", data={"category_id": category.id, "site_id": district["hq"].id})
    page = body(client.get(base))
    assert printer.tag in page and desktop.tag in page
    assert "Listed" in page and "By rule" in page
    assert "2 in all" in page
    # The asset page names the contract.
    asset_page = body(client.get(f"/assets/{desktop.id}"))
    assert "GEMC-5116877001" in asset_page
    # Coverage changes show in the contract's history.
    history = services_history(contract)
    assert {row.object_type for row in history} == {
        "amc_contracts",
        "amc_contract_assets",
        "amc_contract_rules",
    }
    assert f"Listed asset {printer.tag}" in page and "Rule: DSK at GON-HQ" in page
    rule = contract.rules[0]
    client.post(f"{base}/rules/{rule.id}/remove")
    client.post(f"{base}/assets/{printer.id}/remove")
    db.session.expire_all()
    assert services.covered_asset_count(contract) == 0
    deleted = [row for row in services_history(contract) if row.action == "delete"]
    assert sorted(row.object_label.split(" · ")[1] for row in deleted) == sorted(
        ["DSK @ GON-HQ", printer.tag]
    )


def services_history(contract):
    from inventory.vendors.views import _contract_history

    return _contract_history(contract)


def test_contract_page_shows_figures(as_role, district, make_asset):
    vendor = make_vendor()
    printer = make_asset(district["csc"], "PRN")
    contract = make_contract(vendor)
    services.add_assets(contract, [printer.tag])
    opened = datetime.now(UTC) - timedelta(days=3)
    db.session.add(
        Ticket(
            site_id=printer.site_id,
            asset_id=printer.id,
            vendor_id=vendor.id,
            title="Paper jam",
            status="open",
            opened_at=opened,
            due_at=opened + timedelta(days=1),
        )
    )
    db.session.commit()
    page = body(as_role("viewer").get(f"/vendors/contracts/{contract.id}"))
    assert "Paper jam" in page
    assert "SLA breaches" in page and "beyond the contract's 48 hours" in page
    assert "downtime of covered devices" in page


def test_asset_page_without_contracts_or_plans(as_role, district, make_asset):
    asset = make_asset(district["csc"], "PRN")
    page = body(as_role("viewer").get(f"/assets/{asset.id}"))
    assert "No AMC contract covers this asset today." in page
    assert "No maintenance plan covers this asset." in page


# --- escaping ---------------------------------------------------------------------------


def test_hostile_names_render_escaped(as_role, district, make_asset, categories):
    vendor = services.create_vendor(
        name=payload("VNAME"),
        kind="amc",
        contact_person=payload("VCONTACT"),
        address=payload("VADDR"),
        notes=payload("VNOTES"),
    )
    contract = services.create_contract(
        vendor_id=vendor.id,
        reference=payload("CREF")[:64],
        title=payload("CTITLE"),
        start_date=date(2024, 1, 1),
        end_date=date(2030, 1, 1),
        response_hours=4,
        resolution_hours=24,
        notes=payload("CNOTES"),
    )
    asset = make_asset(district["csc"], "PRJ")
    services.add_assets(contract, [asset.tag])
    plan = maintenance.create_plan(
        name=payload("PNAME"),
        asset_id=asset.id,
        trigger="interval",
        interval_days=30,
        lead_days=7,
        first_due_date=services.society_today(),
        ticket_title="{plan} at {site}",
        ticket_description=payload("PDESC"),
        notes=payload("PNOTES"),
        vendor_id=vendor.id,
    )
    assert len(maintenance.run_plan(plan).opened) == 1
    db.session.commit()
    client = as_role("admin")
    pages = {
        "/vendors/": ("VNAME",),
        "/vendors/?active=all&q=VNAME": ("VNAME", "VCONTACT"),
        f"/vendors/{vendor.id}": ("VNAME", "VCONTACT", "VADDR", "VNOTES", "CTITLE", "PNAME"),
        "/vendors/contracts/": ("CTITLE", "VNAME"),
        f"/vendors/contracts/{contract.id}": ("CREF", "CTITLE", "VNAME", "CNOTES"),
        f"/vendors/{vendor.id}/edit": ("VNAME", "VADDR"),
        f"/vendors/contracts/{contract.id}/edit": ("CTITLE", "CNOTES"),
        f"/assets/{asset.id}": ("VNAME", "PNAME"),
        "/maintenance/": ("PNAME", "VNAME"),
        f"/maintenance/{plan.id}": ("PNAME", "PDESC", "PNOTES", "VNAME"),
        f"/maintenance/{plan.id}/edit": ("PNAME", "PDESC"),
        f"/vendors/{vendor.id}/delete": (),
    }
    for url, fields in pages.items():
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        text = body(response)
        for raw in RAW_MARKERS:
            assert raw not in text, (url, raw)
        assert "&amp;lt;" not in text, url
        for field in fields:
            assert escaped(field) in text, (url, field)
