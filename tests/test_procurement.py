"""Procurement pages: drafting with lines and destinations, the request page and its buttons,
the workflow through HTTP, attachments, lists with filters, export, settings, escaping."""

from __future__ import annotations

import csv
import io
import types

import pytest
import sqlalchemy as sa
from fpdf import FPDF
from openpyxl import load_workbook
from support import RAW_MARKERS, escaped, payload

from inventory.extensions import db
from inventory.procurement import services
from inventory.procurement.models import ApprovalLevel, BudgetHead, ProcurementRequest
from inventory.vendors.models import Vendor


@pytest.fixture
def world(app, categories, district, make_user):
    from inventory.catalog.services import get_category_by_code

    services.ensure_default_budget_heads()
    w = types.SimpleNamespace(
        requester=make_user("engineer", username="requester", full_name="Ram Engineer"),
        manager=make_user("manager", username="manager"),
        dio=make_user("viewer", username="dio", full_name="District IT Officer"),
        cdo=make_user("manager", username="cdo"),
        admin=make_user("admin", username="admin"),
        sites=district,
        prj=get_category_by_code("PRJ"),
        ups=get_category_by_code("UPS"),
    )
    services.save_level(None, position=1, name="DIO", approver_ids=[w.dio.id])
    services.save_level(None, position=2, name="CDO", approver_ids=[w.cdo.id])
    w.vendor = Vendor(name="GeM seller Lucknow", kind="supplier")
    db.session.add(w.vendor)
    db.session.commit()
    w.head = services.budget_heads()[0]
    return w


def draft(w, title="Projectors for the tehsils", requester=None, site=None, **kw):
    pr = services.create_request(
        requester=requester or w.requester,
        title=title,
        budget_head_id=kw.pop("budget_head_id", w.head.id),
        justification=kw.pop("justification", ""),
        financial_year=kw.pop("financial_year", None),
        lines=[
            services.LineIn(
                category_id=w.prj.id,
                quantity=2,
                estimated_unit_cost="45000",
                destinations=[((site or w.sites["tehsil"]).id, 2)],
                description=kw.pop("description", ""),
            )
        ],
    )
    db.session.commit()
    return pr


def form_data(w, **overrides) -> dict:
    data = {
        "title": "VC endpoints for blocks",
        "justification": "Weekly reviews by the DM",
        "budget_head_id": str(w.head.id),
        "financial_year": services.current_financial_year(),
        "lines-0-category_id": str(w.prj.id),
        "lines-0-model_id": "",
        "lines-0-description": "3500 lumen",
        "lines-0-quantity": "3",
        "lines-0-estimated_unit_cost": "1,20,000",
        "lines-0-destinations-0-site_id": str(w.sites["tehsil"].id),
        "lines-0-destinations-0-quantity": "1",
        "lines-0-destinations-1-site_id": str(w.sites["block"].id),
        "lines-0-destinations-1-quantity": "2",
        # A second row left blank is skipped.
        "lines-1-category_id": "",
        "lines-1-quantity": "",
        "lines-1-estimated_unit_cost": "",
        "lines-1-destinations-0-site_id": "",
        "lines-1-destinations-0-quantity": "",
    }
    data.update(overrides)
    return data


def pdf_bytes() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Quotation 42")
    return bytes(pdf.output())


# -- drafting ------------------------------------------------------------------------------


def test_an_engineer_drafts_a_request_with_lines_and_destinations(world, login, client):
    login(world.requester)
    page = client.get("/procurement/new")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="lines-1-destinations-1-quantity"' in body  # two lines, two destinations each
    response = client.post("/procurement/new", data=form_data(world))
    assert response.status_code == 302, response.get_data(as_text=True)
    pr = db.session.scalar(sa.select(ProcurementRequest))
    assert response.location.endswith(f"/procurement/{pr.id}")
    assert (pr.title, pr.requester_id, pr.status) == (
        "VC endpoints for blocks",
        world.requester.id,
        "draft",
    )
    assert len(pr.lines) == 1
    line = pr.lines[0]
    assert (line.quantity, str(line.estimated_unit_cost), line.description) == (
        3,
        "120000.00",
        "3500 lumen",
    )
    assert sorted((d.site_id, d.quantity) for d in line.destinations) == sorted(
        [(world.sites["tehsil"].id, 1), (world.sites["block"].id, 2)]
    )
    detail = client.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert "₹3,60,000.00" in detail
    assert "Edit draft" in detail
    assert "Submit for approval" not in detail  # managers submit


def test_add_a_line_and_a_destination_without_javascript(world, as_role, client):
    as_role("engineer")
    response = client.post("/procurement/new", data={**form_data(world), "add_line": "1"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="lines-2-category_id"' in body
    response = client.post("/procurement/new", data={**form_data(world), "add_destination": "0"})
    body = response.get_data(as_text=True)
    assert 'name="lines-0-destinations-2-site_id"' in body
    assert 'value="3500 lumen"' in body  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 0


def test_bad_lines_are_shown_with_their_line_number(world, as_role, client):
    as_role("engineer")
    data = form_data(
        world,
        **{"lines-0-quantity": "4", "lines-1-category_id": str(world.ups.id)},
    )
    response = client.post("/procurement/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Line 1: the destinations add up to 3 but the quantity is 4." in body
    assert "Line 2: give the estimated unit cost." in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 0


def test_viewers_cannot_draft(world, as_role, client):
    as_role("viewer")
    assert client.get("/procurement/new").status_code == 403
    assert client.post("/procurement/new", data=form_data(world)).status_code == 403


def test_the_requester_edits_their_draft_other_engineers_cannot(world, login, make_user):
    pr = draft(world)
    other = login(make_user("engineer"), target_client=world_client(world))
    assert other.get(f"/procurement/{pr.id}/edit").status_code == 403
    mine = login(world.requester, target_client=world_client(world))
    page = mine.get(f"/procurement/{pr.id}/edit")
    assert page.status_code == 200
    assert 'value="Projectors for the tehsils"' in page.get_data(as_text=True)
    data = form_data(world, title="Projectors, 4 tehsils")
    assert mine.post(f"/procurement/{pr.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(ProcurementRequest, pr.id).title == "Projectors, 4 tehsils"


def world_client(world):
    from flask import current_app

    return current_app.test_client()


# -- the workflow through the pages ------------------------------------------------------


def test_submit_approve_and_order_through_the_pages(world, login):
    from flask import current_app

    pr = draft(world)
    manager = login(world.manager, target_client=current_app.test_client())
    dio = login(world.dio, target_client=current_app.test_client())
    cdo = login(world.cdo, target_client=current_app.test_client())
    requester = login(world.requester, target_client=current_app.test_client())

    assert requester.post(f"/procurement/{pr.id}/submit").status_code == 403
    body = manager.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert "Submit for approval" in body
    assert (
        manager.post(f"/procurement/{pr.id}/submit", data={"remark": "Please"}).status_code == 302
    )
    flashed = manager.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert f"{pr.number} submitted for approval." in flashed

    # The DIO (a viewer by role) sees the decision form and the count in the navigation.
    body = dio.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert "You decide at level DIO." in body
    assert '<span class="bell-count">1</span>' in dio.get("/procurement/").get_data(as_text=True)
    assert pr.number in dio.get("/procurement/approvals").get_data(as_text=True)
    # The CDO cannot decide yet: refused with the reason, nothing changes.
    response = cdo.post(f"/procurement/{pr.id}/decide", data={"decision": "approve"})
    assert response.status_code == 302
    body = cdo.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert "is waiting for level DIO; only its approvers (District IT Officer) can decide." in body
    # Rejecting needs a reason.
    dio.post(f"/procurement/{pr.id}/decide", data={"decision": "reject", "remark": ""})
    assert "Give the reason for rejecting" in dio.get(f"/procurement/{pr.id}").get_data(
        as_text=True
    )
    dio.post(f"/procurement/{pr.id}/decide", data={"decision": "approve", "remark": "OK"})
    cdo.post(f"/procurement/{pr.id}/decide", data={"decision": "approve"})
    db.session.expire_all()
    pr = db.session.get(ProcurementRequest, pr.id)
    assert pr.status == "approved"

    page = manager.get(f"/procurement/{pr.id}/order")
    assert page.status_code == 200
    line = pr.lines[0]
    response = manager.post(
        f"/procurement/{pr.id}/order",
        data={"order_reference": "GEMC-5116877", "vendor_id": str(world.vendor.id),
              "order_date": services.local_today().isoformat(), f"cost-{line.id}": ""},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Line 1: give the actual unit cost." in response.get_data(as_text=True)
    response = manager.post(
        f"/procurement/{pr.id}/order",
        data={"order_reference": "GEMC-5116877", "vendor_id": str(world.vendor.id),
              "order_date": services.local_today().isoformat(), f"cost-{line.id}": "43,500"},
    )  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    pr = db.session.get(ProcurementRequest, pr.id)
    assert (pr.status, pr.order_reference, pr.vendor_id) == (
        "ordered",
        "GEMC-5116877",
        world.vendor.id,
    )
    body = manager.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert "₹87,000.00" in body  # the ordered total
    for text in ("Submitted for approval", "Approved", "Order placed", "at level DIO", "Please"):
        assert text in body


def test_self_approval_is_refused_on_the_page(world, login, client):
    services.save_level(
        services.level_at(1), position=1, name="DIO", approver_ids=[world.dio.id, world.admin.id]
    )
    pr = draft(world, requester=world.admin)
    services.submit(pr, actor=world.manager)
    db.session.commit()
    login(world.admin)
    body = client.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert "You decide at level" not in body
    assert "You cannot approve or reject your own request" in body
    response = client.post(f"/procurement/{pr.id}/decide", data={"decision": "approve"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ProcurementRequest, pr.id).current_level_position == 1


def test_cancel_page_asks_for_a_reason(world, login, client):
    pr = draft(world)
    login(world.requester)
    assert client.get(f"/procurement/{pr.id}/cancel").status_code == 200
    assert client.post(f"/procurement/{pr.id}/cancel", data={"reason": ""}).status_code == 400
    assert client.post(f"/procurement/{pr.id}/cancel", data={"reason": "Typo"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ProcurementRequest, pr.id).status == "cancelled"
    # Cancelled is final: the page says so instead of offering the form again.
    response = client.get(f"/procurement/{pr.id}/cancel", follow_redirects=True)
    assert "was cancelled and cannot be changed" in response.get_data(as_text=True)


def test_copy_a_rejected_request_into_a_new_draft(world, login, client):
    pr = draft(world)
    services.submit(pr, actor=world.manager)
    services.reject(pr, actor=world.dio, reason="Too dear")
    db.session.commit()
    login(world.requester)
    body = client.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert "Too dear" in body and "Copy into a new draft" in body
    response = client.post(f"/procurement/{pr.id}/copy")
    assert response.status_code == 302
    copy = db.session.scalar(sa.select(ProcurementRequest).where(ProcurementRequest.id != pr.id))
    assert response.location.endswith(f"/procurement/{copy.id}/edit")
    assert (copy.status, copy.requester_id, copy.title) == ("draft", world.requester.id, pr.title)


# -- attachments ---------------------------------------------------------------------------


def test_attach_a_quotation_and_refuse_other_files(world, login, client, app):
    pr = draft(world)
    login(world.requester)
    response = client.post(
        f"/procurement/{pr.id}/attach",
        data={"kind": "quotation", "file": (io.BytesIO(pdf_bytes()), "quote.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    pr = db.session.get(ProcurementRequest, pr.id)
    assert [(a.kind, a.file.original_name) for a in pr.attachments] == [("quotation", "quote.pdf")]
    body = client.get(f"/procurement/{pr.id}").get_data(as_text=True)
    assert "quote.pdf" in body and "Quotation" in body
    response = client.post(
        f"/procurement/{pr.id}/attach",
        data={"kind": "sanction", "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "x.exe")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "PDF" in response.get_data(as_text=True)
    app.config["PROCUREMENT_ATTACHMENT_MAX_BYTES"] = 100
    response = client.post(
        f"/procurement/{pr.id}/attach",
        data={"kind": "sanction", "file": (io.BytesIO(pdf_bytes()), "big.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "too large" in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(ProcurementRequest, pr.id).attachments) == 1


# -- lists, filters, export ----------------------------------------------------------------


def test_list_filters(world, as_role, client, make_site):
    # A CSC below the block: its request shows when filtering by the tehsil above it.
    deep = make_site("CSC-DEEP", "csc", world.sites["block"])
    tehsil = draft(world, "For the tehsil", site=world.sites["tehsil"])
    deep_one = draft(world, "For a deep CSC", site=deep)
    other_head = draft(
        world,
        "Digital India laptops",
        site=world.sites["hq"],
        budget_head_id=services.budget_heads()[3].id,
        financial_year="2025-26",
    )
    services.submit(tehsil, actor=world.manager)
    db.session.commit()
    as_role("viewer")

    def numbers(query: str) -> set[str]:
        body = client.get("/procurement/?" + query).get_data(as_text=True)
        return {pr.number for pr in (tehsil, deep_one, other_head) if pr.number in body}

    assert numbers("") == {tehsil.number, deep_one.number, other_head.number}
    assert numbers("status=submitted") == {tehsil.number}
    assert numbers(f"budget_head={world.head.id}") == {tehsil.number, deep_one.number}
    assert numbers("year=2025-26") == {other_head.number}
    assert numbers(f"site={world.sites['tehsil'].id}") == {tehsil.number, deep_one.number}
    assert numbers(f"site={world.sites['block'].id}") == {deep_one.number}
    assert numbers(f"site={world.sites['csc'].id}") == set()
    assert numbers("q=laptops") == {other_head.number}
    assert numbers(f"q={deep_one.number}") == {deep_one.number}
    body = client.get("/procurement/?q=nothing-like-this").get_data(as_text=True)
    assert "No requests match these filters." in body


def test_list_pages(world, as_role, client, app):
    for i in range(5):
        draft(world, f"Request number {i}")
    app.config["PAGE_SIZE"] = 2
    as_role("viewer")
    body = client.get("/procurement/?page=3").get_data(as_text=True)
    assert "Request number 0" in body and "Request number 1" not in body
    assert "5 in all" in body


def test_empty_list_invites_a_draft(world, as_role, client):
    as_role("engineer")
    body = client.get("/procurement/").get_data(as_text=True)
    assert "No procurement requests yet." in body and "Draft the first one" in body


def test_export_csv_and_xlsx_make_formulas_inert(world, as_role, client):
    pr = draft(world, '=HYPERLINK("http://evil","x")', justification="+cmd|' /C calc'!A0")
    services.submit(pr, actor=world.manager)
    draft(world, "Another one")
    db.session.commit()
    as_role("viewer")
    response = client.get("/procurement/export.csv?status=submitted")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1
    assert rows[0]["number"] == pr.number
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil","x")'
    assert rows[0]["justification"].startswith("'+cmd")
    assert rows[0]["estimated_total"] == "90000.00"
    assert rows[0]["status"] == "submitted"
    response = client.get("/procurement/export.xlsx?status=submitted")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = values[0]
    assert values[1][header.index("title")] == '\'=HYPERLINK("http://evil","x")'
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert client.get("/procurement/export.pdf").status_code == 404


# -- settings ------------------------------------------------------------------------------


def test_admins_configure_levels_and_budget_heads(app, as_role, client, make_user):
    approver = make_user("viewer", username="dm-office", full_name="DM office")
    as_role("admin")
    body = client.get("/procurement/settings").get_data(as_text=True)
    assert "No approval levels yet" in body
    assert "being named at a level" in body  # the approver role is explained
    client.post("/procurement/settings/defaults")
    assert next(h.name for h in services.budget_heads()) == "DeGS fund"
    response = client.post(
        "/procurement/settings/budget-heads/new", data={"name": "degs FUND", "active": "y"}
    )
    assert response.status_code == 400
    assert "There is already a budget head named degs FUND." in response.get_data(as_text=True)
    response = client.post(
        "/procurement/settings/levels/new",
        data={"position": "1", "name": "DM", "name_hi": "जिलाधिकारी", "active": "y",
              "approver_ids": [str(approver.id)]},
    )  # fmt: skip
    assert response.status_code == 302
    level = db.session.scalar(sa.select(ApprovalLevel))
    assert (level.name, [u.username for u in level.approvers]) == ("DM", ["dm-office"])
    response = client.post(
        "/procurement/settings/levels/new", data={"position": "1", "name": "CDO", "active": "y"}
    )
    assert response.status_code == 400
    assert "Level DM already has position 1." in response.get_data(as_text=True)
    head = db.session.scalar(sa.select(BudgetHead).where(BudgetHead.name == "Digital India"))
    response = client.post(
        f"/procurement/settings/budget-heads/{head.id}/edit",
        data={"name": "Digital India", "position": "4"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(BudgetHead, head.id).active is False


def test_inactive_budget_heads_are_not_offered_for_new_requests(world, as_role, client):
    world.head.active = False
    db.session.commit()
    as_role("engineer")
    body = client.get("/procurement/new").get_data(as_text=True)
    assert f">{world.head.name}</option>" not in body
    assert ">Digital India</option>" in body
    response = client.post("/procurement/new", data=form_data(world))
    assert "is no longer in use" in response.get_data(as_text=True)


# -- escaping ------------------------------------------------------------------------------


def test_hostile_text_is_escaped_on_every_procurement_page(world, login, client):
    world.head.name = payload("HEAD")
    world.vendor.name = payload("VENDOR")
    services.save_level(
        services.level_at(1), position=1, name=payload("LEVEL"), approver_ids=[world.dio.id]
    )
    world.requester.full_name = payload("PERSON")
    db.session.commit()
    pr = draft(
        world,
        payload("TITLE"),
        justification=payload("WHY"),
        description=payload("DESC"),
    )
    services.submit(pr, actor=world.manager, remark=payload("REMARK"))
    services.reject(pr, actor=world.dio, reason=payload("REASON"))
    db.session.commit()
    login(world.dio)
    pages = {
        f"/procurement/{pr.id}": ("TITLE", "WHY", "DESC", "REMARK", "REASON", "HEAD", "LEVEL"),
        "/procurement/": ("TITLE", "HEAD", "PERSON"),
    }
    for url, markers in pages.items():
        body = client.get(url).get_data(as_text=True)
        for raw in RAW_MARKERS:
            assert raw not in body, (url, raw)
        for marker in markers:
            assert escaped(marker) in body, (url, marker)
    # A waiting request on the approvals page, and the order page's vendor list.
    second = draft(world, payload("WAITING"))
    services.submit(second, actor=world.manager)
    db.session.commit()
    for url in ("/procurement/approvals", "/procurement/budget"):
        body = client.get(url).get_data(as_text=True)
        assert escaped("WAITING") in body and escaped("HEAD") in body, url
        assert not any(raw in body for raw in RAW_MARKERS), url
    # The order page's vendor list and the settings page, for the people who see them.
    services.approve(second, actor=world.dio)
    services.approve(second, actor=world.cdo)
    db.session.commit()
    admin = login(world.admin, target_client=world_client(world))
    for url, markers in (
        (f"/procurement/{second.id}/order", ("VENDOR", "WAITING")),
        ("/procurement/settings", ("HEAD", "LEVEL")),
    ):
        body = admin.get(url).get_data(as_text=True)
        assert all(escaped(m) in body for m in markers), url
        assert not any(raw in body for raw in RAW_MARKERS), url
