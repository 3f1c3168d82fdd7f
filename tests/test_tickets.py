"""Tickets: opening and its rules, due dates from the SLA, the pages and who may use them,
lists with filters, sorting and paging, the timeline, attachments through inventory.files,
the asset and site panels, and escaping of hostile text."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fpdf import FPDF
from PIL import Image
from support import RAW_MARKERS, escaped, payload

from inventory.audit.models import ChangeLog
from inventory.extensions import db
from inventory.files.models import StoredFile
from inventory.notifications.models import Notification
from inventory.tickets import services
from inventory.tickets.models import Ticket, TicketAttachment, TicketComment, TicketSla
from inventory.tickets.services import TicketError, TicketPermissionError
from inventory.vendors.models import Vendor

T0 = datetime(2025, 3, 3, 4, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")


@pytest.fixture
def world(district, make_asset, make_user):
    asset = make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"), serial="TK-1")
    return {
        **district,
        "asset": asset,
        "engineer": make_user("engineer", username="eng-asha", full_name="Asha Verma", locale="en"),
        "other": make_user("engineer", username="eng-ravi", locale="en"),
        "manager": make_user("manager", username="mgr-sunil", locale="en"),
        "admin": make_user("admin", username="adm-root", locale="en"),
        "viewer": make_user("viewer", username="view-dm", locale="en"),
    }


def new_ticket(world, **fields) -> Ticket:
    ticket = services.open_ticket(
        site=fields.pop("site", world["block"]),
        asset=fields.pop("asset", world["asset"]),
        title=fields.pop("title", "Projector shows no picture"),
        **fields,
    )
    db.session.commit()
    return ticket


def assigned_ticket(world, **fields) -> Ticket:
    ticket = new_ticket(world, **fields)
    services.assign(ticket, assignee=world["engineer"], actor=world["manager"])
    db.session.commit()
    return ticket


def png_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Vendor's service report")
    return bytes(pdf.output())


# -- opening ---------------------------------------------------------------------------------


def test_open_ticket_rules(world):
    with pytest.raises(TicketError, match="Choose a site"):
        services.open_ticket(site=None, title="No site")
    with pytest.raises(TicketError, match="required"):
        services.open_ticket(site=world["hq"], title="   ")
    with pytest.raises(TicketError, match="Not a valid choice"):
        services.open_ticket(site=world["hq"], title="x", priority="urgent!")
    # The asset is at the CSC: its own site or any site above it is fine, another is not.
    for site in ("csc", "block", "tehsil", "hq"):
        assert services.open_ticket(site=world[site], asset=world["asset"], title="ok")
    from inventory.sites.services import create_site

    other = create_site(
        code="TEH-TRB", name_en="Tarabganj", kind="tehsil", parent_id=world["hq"].id
    )
    with pytest.raises(TicketError, match="at another site"):
        services.open_ticket(site=other, asset=world["asset"], title="wrong place")
    # Only an asset: its site.
    ticket = services.open_ticket(site=None, asset=world["asset"], title="From the asset")
    assert ticket.site_id == world["csc"].id


def test_a_qr_scan_report_keeps_reporter_and_site(world):
    """The phone page's call (another engineer's): open_ticket with the scanner as reporter."""
    ticket = services.open_ticket(
        site=world["asset"].site,
        asset=world["asset"],
        title="Lamp flickers",
        reporter=world["viewer"],
        reporter_kind="scan",
    )
    db.session.commit()
    assert (ticket.reporter_id, ticket.reporter_kind, ticket.site_id) == (
        world["viewer"].id,
        "scan",
        world["csc"].id,
    )
    assert services.open_tickets_for_asset(world["asset"].id) == [ticket]
    assert ticket.number == f"T-{ticket.id:06d}"


# -- due dates -------------------------------------------------------------------------------


def test_due_date_defaults_to_seven_days(world):
    ticket = new_ticket(world, now=T0)
    assert ticket.due_at == T0 + timedelta(days=7)
    assert services.sla_table() == {"low": 7, "normal": 7, "high": 7, "critical": 7}


def test_due_date_from_configuration_then_from_the_sla_table(app, world):
    app.config["TICKET_SLA_DAYS"] = {"critical": 1, "high": 3}
    app.config["TICKET_SLA_DEFAULT_DAYS"] = 10
    assert services.sla_table() == {"low": 10, "normal": 10, "high": 3, "critical": 1}
    assert new_ticket(world, priority="critical", now=T0).due_at == T0 + timedelta(days=1)
    assert new_ticket(world, priority="low", now=T0).due_at == T0 + timedelta(days=10)
    changed = services.set_sla({"low": 10, "normal": 5, "high": 3, "critical": 2})
    db.session.commit()
    assert changed == 2  # only the values that differ from the configuration are stored
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketSla)) == 2
    assert new_ticket(world, priority="critical", now=T0).due_at == T0 + timedelta(days=2)
    assert new_ticket(world, priority="normal", now=T0).due_at == T0 + timedelta(days=5)
    for bad in (0, 366, None):
        with pytest.raises(TicketError, match="between 1 and 365"):
            services.set_sla({"normal": bad})


def test_changing_the_priority_keeps_the_due_date_unless_recomputed(world):
    ticket = assigned_ticket(world, now=T0)
    services.set_sla({"critical": 1})
    services.update_ticket(ticket, actor=world["engineer"], priority="critical")
    assert ticket.due_at == T0 + timedelta(days=7)
    with pytest.raises(TicketPermissionError, match="Only a manager"):
        services.update_ticket(ticket, actor=world["engineer"], recompute_due=True)
    services.update_ticket(ticket, actor=world["manager"], recompute_due=True)
    assert ticket.due_at == T0 + timedelta(days=1)
    db.session.commit()
    due_changes = db.session.scalars(
        sa.select(ChangeLog.changes).where(
            ChangeLog.object_type == "tickets", ChangeLog.object_id == ticket.id
        )
    ).all()
    assert any("due_at" in c and c["due_at"][0] is not None for c in due_changes)


def test_the_sla_page_is_the_administrators(world, login, client):
    login(world["admin"])
    page = client.get("/tickets/sla").get_data(as_text=True)
    assert 'name="days_critical"' in page and "fixed list" in page
    response = client.post(
        "/tickets/sla",
        data={"days_low": "14", "days_normal": "7", "days_high": "3", "days_critical": "1"},
    )
    assert response.status_code == 302
    assert services.sla_table() == {"low": 14, "normal": 7, "high": 3, "critical": 1}
    bad = client.post(
        "/tickets/sla",
        data={"days_low": "0", "days_normal": "7", "days_high": "3", "days_critical": "1"},
    )
    assert bad.status_code == 400
    assert "Number must be between 1 and 365" in bad.get_data(as_text=True)
    history = db.session.scalars(
        sa.select(ChangeLog).where(ChangeLog.object_type == "ticket_sla")
    ).all()
    assert {row.actor_name for row in history} == {"adm-root"}


# -- pages and roles -------------------------------------------------------------------------


def test_an_engineer_reports_a_fault_from_the_asset_page(world, login, client):
    login(world["engineer"])
    asset_page = client.get(f"/assets/{world['asset'].id}").get_data(as_text=True)
    assert f"/tickets/new?asset={world['asset'].id}" in asset_page
    form = client.get(f"/tickets/new?asset={world['asset'].id}").get_data(as_text=True)
    assert f'value="{world["asset"].tag}"' in form
    response = client.post(
        "/tickets/new",
        data={
            "site_id": str(world["csc"].id),
            "asset_tag": world["asset"].tag.lower(),
            "title": "Projector shows no picture",
            "description": "Since the power cut.\nLamp light is off.",
            "category": "projector",
            "priority": "high",
        },
    )
    assert response.status_code == 302
    ticket = db.session.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
    assert response.location.endswith(f"/tickets/{ticket.id}")
    assert (ticket.reporter_id, ticket.asset_id, ticket.priority) == (
        world["engineer"].id,
        world["asset"].id,
        "high",
    )
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert ticket.number in page and "Since the power cut." in page
    assert "Opened the ticket." in page


def test_the_new_ticket_form_explains_its_refusals(world, login, client, make_site):
    login(world["engineer"])
    data = {"site_id": "", "title": "", "category": "hardware", "priority": "normal"}
    response = client.post("/tickets/new", data=data)
    assert response.status_code == 400
    assert response.get_data(as_text=True).count("This field is required.") == 2
    other = make_site("TEH-TRB", "tehsil", world["hq"], name_en="Tarabganj")
    data.update(site_id=str(other.id), title="Wrong place", asset_tag=world["asset"].tag)
    page = client.post("/tickets/new", data=data).get_data(as_text=True)
    assert f"The asset {world['asset'].tag} is at another site" in page
    data.update(asset_tag="GON-XXX-9999")
    page = client.post("/tickets/new", data=data).get_data(as_text=True)
    assert "No asset has the tag GON-XXX-9999." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_viewers_read_but_change_nothing(world, login, client):
    ticket = assigned_ticket(world)
    login(world["viewer"])
    assert client.get("/tickets/").status_code == 200
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert ticket.title in page
    assert 'action="/tickets/' not in page  # no forms: comment, status, attach
    assert client.get("/tickets/new").status_code == 403
    assert client.post(f"/tickets/{ticket.id}/comment", data={"body": "x"}).status_code == 403


def test_the_assigned_engineer_works_the_ticket_through_the_pages(world, login, client):
    ticket = assigned_ticket(world)
    login(world["engineer"])
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'value="in_progress"' in page and 'value="resolved"' in page
    assert f"/tickets/{ticket.id}/assign" not in page  # managers assign
    assert f"/tickets/{ticket.id}/cancel" not in page
    response = client.post(
        f"/tickets/{ticket.id}/move",
        data={"target": "in_progress", "note": "At the site", "mark_asset": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(ticket)
    assert ticket.status == "in_progress"
    db.session.refresh(world["asset"])
    assert world["asset"].status == "under_repair"
    assert (
        client.post(f"/tickets/{ticket.id}/comment", data={"body": "Lamp replaced"}).status_code
        == 302
    )
    edit = client.post(
        f"/tickets/{ticket.id}/edit",
        data={
            "site_id": str(world["block"].id),
            "asset_tag": world["asset"].tag,
            "title": "Projector lamp failed",
            "description": "",
            "category": "projector",
            "priority": "normal",
            "recompute_due": "y",  # ignored: engineers cannot recompute
        },
    )
    assert edit.status_code == 302
    db.session.refresh(ticket)
    assert ticket.title == "Projector lamp failed"
    # An illegal move through the page: refused with the message, nothing changes.
    response = client.post(f"/tickets/{ticket.id}/move", data={"target": "in_progress"})
    assert response.status_code == 302
    follow = client.get(response.location).get_data(as_text=True)
    assert "The ticket is already in progress." in follow
    response = client.post(
        f"/tickets/{ticket.id}/move", data={"target": "resolved", "mark_asset": "y"}
    )
    db.session.refresh(ticket)
    db.session.refresh(world["asset"])
    assert ticket.status == "resolved" and world["asset"].status == "deployed"
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Lamp replaced" in page and "At the site" in page
    assert "In progress" in page and "Resolved" in page


def test_other_engineers_are_refused_with_a_reason(world, login, client):
    ticket = assigned_ticket(world)
    login(world["other"])
    for url, data in (
        (f"/tickets/{ticket.id}/move", {"target": "in_progress"}),
        (f"/tickets/{ticket.id}/comment", {"body": "Not mine"}),
        (f"/tickets/{ticket.id}/attach", {}),
        (f"/tickets/{ticket.id}/edit", {"title": "Hijacked"}),
    ):
        response = client.post(url, data=data)
        assert response.status_code == 403, url
        assert "Only the engineer this ticket is assigned to" in response.get_data(as_text=True)
    assert client.get(f"/tickets/{ticket.id}/edit").status_code == 403
    assert client.get(f"/tickets/{ticket.id}/assign").status_code == 403
    db.session.refresh(ticket)
    assert (ticket.status, ticket.title) == ("assigned", "Projector shows no picture")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketComment)) == 0
    # They can still open tickets of their own.
    assert client.get("/tickets/new").status_code == 200


def test_a_manager_assigns_closes_and_cancels(world, login, client):
    vendor = Vendor(name="Shakti Infotech")
    db.session.add(vendor)
    db.session.commit()
    ticket = new_ticket(world)
    login(world["manager"])
    form = client.get(f"/tickets/{ticket.id}/assign").get_data(as_text=True)
    assert "Asha Verma (eng-asha)" in form and "view-dm" not in form  # viewers cannot be assigned
    response = client.post(
        f"/tickets/{ticket.id}/assign",
        data={
            "assignee_id": str(world["engineer"].id),
            "vendor_id": str(vendor.id),
            "vendor_engineer": "Manoj Kumar",
            "note": "Vendor to bring a lamp",
        },
    )
    assert response.status_code == 302
    db.session.refresh(ticket)
    assert (ticket.status, ticket.assignee_id, ticket.vendor_id, ticket.vendor_engineer) == (
        "assigned",
        world["engineer"].id,
        vendor.id,
        "Manoj Kumar",
    )
    assert (
        db.session.scalar(
            sa.select(Notification.user_id).where(Notification.kind == "ticket_assigned")
        )
        == world["engineer"].id
    )
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Shakti Infotech (Manoj Kumar)" in page
    assert "Vendor to bring a lamp" in page

    confirm = client.get(f"/tickets/{ticket.id}/cancel").get_data(as_text=True)
    assert "cannot be reopened" in confirm
    assert client.post(f"/tickets/{ticket.id}/cancel", data={"note": ""}).status_code == 400
    db.session.refresh(ticket)
    assert ticket.status == "assigned"
    assert (
        client.post(f"/tickets/{ticket.id}/cancel", data={"note": "Reported twice"}).status_code
        == 302
    )
    db.session.refresh(ticket)
    assert ticket.status == "cancelled"
    again = client.get(f"/tickets/{ticket.id}/cancel")
    assert again.status_code == 302  # nothing left to cancel

    other = assigned_ticket(world)
    client.post(f"/tickets/{other.id}/move", data={"target": "resolved"})
    client.post(f"/tickets/{other.id}/move", data={"target": "closed", "note": "Checked"})
    db.session.refresh(other)
    assert other.status == "closed"
    client.post(f"/tickets/{other.id}/move", data={"target": "reopen", "note": "Fault is back"})
    db.session.refresh(other)
    assert other.status == "assigned" and other.closed_at is None


def test_the_assigned_engineer_cannot_close_through_the_page(world, login, client):
    ticket = assigned_ticket(world)
    services.move(ticket, "resolved", actor=world["engineer"])
    db.session.commit()
    login(world["engineer"])
    response = client.post(f"/tickets/{ticket.id}/move", data={"target": "closed"})
    assert response.status_code == 403
    assert "Only a manager can do that." in response.get_data(as_text=True)


# -- lists -----------------------------------------------------------------------------------


@pytest.fixture
def listed(world, make_asset):
    """Tickets across the district: due, overdue, assigned, reported, with vendors."""
    now = datetime.now(UTC)
    vendor = Vendor(name="Avadh Systems")
    db.session.add(vendor)
    db.session.commit()
    hq_asset = make_asset(world["hq"], "DSK", serial="TK-HQ")
    made = {
        "overdue_csc": new_ticket(world, title="Overdue at CSC", now=now - timedelta(days=9)),
        "fresh_block": new_ticket(
            world, site=world["block"], asset=None, title="Block switch", priority="critical"
        ),
        "hq": new_ticket(
            world, site=world["hq"], asset=hq_asset, title="HQ desktop", reporter=world["engineer"]
        ),
        "tehsil": new_ticket(world, site=world["tehsil"], asset=None, title="Tehsil VC"),
        "closed": new_ticket(world, title="Closed one", reporter=world["engineer"]),
    }
    services.assign(made["tehsil"], assignee=world["engineer"], vendor=vendor)
    services.assign(made["closed"], assignee=world["engineer"])
    services.move(made["closed"], "resolved")
    services.move(made["closed"], "closed")
    db.session.commit()
    made["vendor"] = vendor
    return made


def _numbers(client, url) -> list[str]:
    page = client.get(url).get_data(as_text=True)
    return re.findall(r">(T-\d{6})</a>", page)


def test_list_views(world, listed, login, client):
    login(world["engineer"])
    n = {key: t.number for key, t in listed.items() if isinstance(t, Ticket)}
    assert set(_numbers(client, "/tickets/")) == {
        n["overdue_csc"],
        n["fresh_block"],
        n["hq"],
        n["tehsil"],
    }
    assert _numbers(client, "/tickets/?view=overdue") == [n["overdue_csc"]]
    assert _numbers(client, "/tickets/?view=mine") == [n["tehsil"]]  # open, assigned to me
    assert set(_numbers(client, "/tickets/?view=reported")) == {n["hq"], n["closed"]}
    assert len(_numbers(client, "/tickets/?view=all")) == 5
    page = client.get("/tickets/?view=all").get_data(as_text=True)
    assert 'aria-current="page">All' in page
    assert _numbers(client, "/tickets/?view=nonsense") == _numbers(client, "/tickets/?view=open")


def test_list_filters(world, listed, login, client):
    login(world["viewer"])
    n = {key: t.number for key, t in listed.items() if isinstance(t, Ticket)}
    # A site with the sites below it: the block holds the block ticket and the CSC's.
    got = set(_numbers(client, f"/tickets/?site={world['block'].id}"))
    assert got == {n["overdue_csc"], n["fresh_block"]}
    got = set(_numbers(client, f"/tickets/?site={world['tehsil'].id}"))
    assert got == {n["overdue_csc"], n["fresh_block"], n["tehsil"]}
    assert _numbers(client, f"/tickets/?vendor={listed['vendor'].id}") == [n["tehsil"]]
    assert _numbers(client, f"/tickets/?assignee={world['engineer'].id}") == [n["tehsil"]]
    assert _numbers(client, "/tickets/?priority=critical") == [n["fresh_block"]]
    assert _numbers(client, "/tickets/?status=assigned") == [n["tehsil"]]
    assert _numbers(client, "/tickets/?overdue=y") == [n["overdue_csc"]]
    assert _numbers(client, "/tickets/?view=all&status=closed") == [n["closed"]]
    assert _numbers(client, "/tickets/?q=desktop") == [n["hq"]]
    assert _numbers(client, f"/tickets/?q={n['tehsil'].lower()}") == [n["tehsil"]]
    assert _numbers(client, f"/tickets/?q={world['asset'].tag}") == [n["overdue_csc"]]
    empty = client.get("/tickets/?q=nothing-like-this").get_data(as_text=True)
    assert "No tickets match these filters." in empty
    # Nonsense in the query string is ignored, not an error.
    assert client.get("/tickets/?site=abc&priority=<x>&sort=password&dir=up").status_code == 200


def test_list_sorting_and_paging(world, listed, login, client):
    login(world["viewer"])
    n = {key: t.number for key, t in listed.items() if isinstance(t, Ticket)}
    by_priority = _numbers(client, "/tickets/?sort=priority&dir=desc")
    assert by_priority[0] == n["fresh_block"]
    by_due = _numbers(client, "/tickets/?sort=due")
    assert by_due[0] == n["overdue_csc"]
    by_number = _numbers(client, "/tickets/?sort=number&dir=desc")
    assert by_number == sorted(by_number, reverse=True)
    first = _numbers(client, "/tickets/?sort=number&per_page=2")
    second = _numbers(client, "/tickets/?sort=number&per_page=2&page=2")
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    assert "4 in all" in client.get("/tickets/?per_page=2").get_data(as_text=True)
    assert _numbers(client, "/tickets/?per_page=2&page=99") == []


def test_empty_states(world, login, client):
    login(world["engineer"])
    page = client.get("/tickets/").get_data(as_text=True)
    assert "No open tickets. Everything reported has been dealt with." in page
    assert "Report a fault" in page
    assert "No open tickets are assigned to you." in client.get("/tickets/?view=mine").get_data(
        as_text=True
    )


def test_the_site_and_asset_pages_show_open_tickets(world, listed, login, client):
    login(world["viewer"])
    block_page = client.get(f"/sites/{world['block'].id}").get_data(as_text=True)
    assert listed["overdue_csc"].number in block_page and listed["fresh_block"].number in block_page
    assert listed["hq"].number not in block_page
    assert listed["closed"].number not in block_page
    assert "New ticket" not in block_page  # viewers do not open tickets
    asset_page = client.get(f"/assets/{world['asset'].id}").get_data(as_text=True)
    assert listed["overdue_csc"].number in asset_page
    assert listed["closed"].number not in asset_page
    assert "Overdue" in asset_page


# -- the timeline ----------------------------------------------------------------------------


def test_the_timeline_merges_changes_comments_and_attachments(world, login, client):
    from werkzeug.datastructures import FileStorage

    ticket = assigned_ticket(world)
    services.add_comment(ticket, author=world["engineer"], body="Looked at it")
    services.move(ticket, "in_progress", actor=world["engineer"])
    services.add_attachment(
        ticket,
        FileStorage(io.BytesIO(png_bytes()), filename="photo.png"),
        actor=world["engineer"],
    )
    services.add_comment(ticket, author=None, body="Device answering again", is_system=True)
    db.session.commit()
    entries = services.timeline(ticket)
    kinds = [e.kind for e in entries]
    assert kinds[0] == "change" and entries[0].change.action == "create"
    assert kinds.count("comment") == 2 and kinds.count("attachment") == 1
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    login(world["viewer"])
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert page.index("Looked at it") < page.index("Device answering again")
    assert "entry-system" in page
    assert "Assigned to" in page and "Asha Verma" in page  # the assignment, in words
    status_change = (
        r'<strong>Status</strong>:\s*<span class="old">Assigned</span>\s*→\s*'
        r'<span class="new">In progress</span>'
    )
    assert re.search(status_change, page)


# -- attachments -----------------------------------------------------------------------------


def test_photos_and_pdfs_are_attached_and_served(world, login, client):
    ticket = assigned_ticket(world)
    login(world["engineer"])
    response = client.post(
        f"/tickets/{ticket.id}/attach",
        data={"file": (io.BytesIO(png_bytes()), "लैम्प photo.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    response = client.post(
        f"/tickets/{ticket.id}/attach",
        data={"file": (io.BytesIO(pdf_bytes()), "report.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    attachments = services.attachments_of(ticket.id)
    assert [a.file.content_type for a in attachments] == ["image/png", "application/pdf"]
    assert all(a.uploaded_by_id == world["engineer"].id for a in attachments)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    for a in attachments:
        assert f"/files/{a.file_id}/" in page
    image = client.get(f"/files/{attachments[0].file_id}/{attachments[0].file.original_name}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    Image.open(io.BytesIO(image.data)).verify()


def test_attachments_are_checked(app, world, login, client):
    ticket = assigned_ticket(world)
    login(world["engineer"])

    def attach(data: bytes, name: str) -> str:
        response = client.post(
            f"/tickets/{ticket.id}/attach",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        return client.get(response.location).get_data(as_text=True)

    assert "Only photos (JPEG, PNG or WebP) and PDF documents are accepted." in attach(
        b"MZ\x90\x00 not a photo", "virus.png"
    )
    app.config["TICKET_ATTACHMENT_MAX_BYTES"] = 1000
    assert "is too large" in attach(png_bytes((400, 400)) + b"\0" * 2000, "big.png")
    app.config["TICKET_ATTACHMENT_MAX_BYTES"] = 5 * 1024 * 1024
    assert "Choose a file to upload." in client.get(
        client.post(f"/tickets/{ticket.id}/attach", data={}).location
    ).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0
    app.config["TICKET_ATTACHMENTS_MAX"] = 1
    attach(png_bytes(), "one.png")
    assert "at most 1 attachments" in attach(png_bytes(), "two.png")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketAttachment)) == 1


# -- escaping --------------------------------------------------------------------------------


def test_hostile_text_is_escaped_everywhere(world, login, client, make_user):
    vendor = Vendor(name=payload("VENDOR"))
    db.session.add(vendor)
    db.session.commit()
    hostile_user = make_user("engineer", full_name=payload("ENGINEER"), locale="en")
    ticket = services.open_ticket(
        site=world["csc"],
        asset=world["asset"],
        title=payload("TITLE"),
        description=payload("DESCRIPTION"),
        reporter=hostile_user,
    )
    services.assign(
        ticket, assignee=hostile_user, vendor=vendor, vendor_engineer=payload("VENGINEER")
    )
    services.add_comment(ticket, author=hostile_user, body=payload("COMMENT"))
    services.add_comment(ticket, author=None, body=payload("SYSTEM"), is_system=True)
    db.session.commit()
    login(world["manager"])
    pages = {
        "detail": client.get(f"/tickets/{ticket.id}").get_data(as_text=True),
        "list": client.get("/tickets/").get_data(as_text=True),
        "asset": client.get(f"/assets/{world['asset'].id}").get_data(as_text=True),
        "site": client.get(f"/sites/{world['csc'].id}").get_data(as_text=True),
        "reports": client.get("/tickets/reports").get_data(as_text=True),
        "assign": client.get(f"/tickets/{ticket.id}/assign").get_data(as_text=True),
    }
    for name, page in pages.items():
        for marker in RAW_MARKERS:
            assert marker not in page, (name, marker)
    assert escaped("TITLE") in pages["detail"] and escaped("TITLE") in pages["list"]
    for marker in ("DESCRIPTION", "COMMENT", "SYSTEM", "VENGINEER", "VENDOR", "ENGINEER"):
        assert escaped(marker) in pages["detail"], marker
    assert escaped("TITLE") in pages["asset"] and escaped("TITLE") in pages["site"]
    assert escaped("VENDOR") in pages["reports"]


def test_the_pages_render_in_hindi(world, listed, make_user, login, client):
    manager = make_user("manager", locale="hi")
    ticket = listed["tehsil"]
    services.add_comment(ticket, author=manager, body="जाँच की गई")
    db.session.commit()
    login(manager)
    for url in (
        "/tickets/?view=all",
        f"/tickets/{ticket.id}",
        f"/tickets/{ticket.id}/assign",
        f"/tickets/{ticket.id}/edit",
        "/tickets/reports",
        "/tickets/new",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="hi">' in response.get_data(as_text=True)
    assert "जाँच की गई" in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
