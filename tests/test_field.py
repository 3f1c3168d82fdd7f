"""The phone pages (inventory/field): the label URL /a/<tag>, the scan page's manual entry,
reporting a fault, "Verified here", who sees what, escaping, and the cached decoder."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from support import escaped, payload

from inventory.audit.services import history_for
from inventory.extensions import db
from inventory.field import services
from inventory.field.decoder import DECODER_MAX_AGE, decoder_version
from inventory.health.models import AssetHealth
from inventory.models_base import utcnow
from inventory.tickets.models import Ticket
from inventory.tickets.services import open_ticket


@pytest.fixture
def projector(district, make_asset):
    return make_asset(
        district["csc"],
        "PRJ",
        model=("Epson", "EB-X41"),
        serial="PRJ-SERIAL-778",
        location="Counter room, east wall",
        custodian="Ram Prakash",
    )


@pytest.fixture
def engineer(make_user, login):
    user = make_user("engineer", locale="en")
    login(user)
    return user


def _body(response) -> str:
    return response.get_data(as_text=True)


def _tickets() -> list[Ticket]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Ticket)))


# --- reading tags -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("GON-PRJ-0001", "GON-PRJ-0001"),
        ("  gon-prj-0001 ", "GON-PRJ-0001"),
        ("gon prj 0001", "GON-PRJ-0001"),
        ("GON\u2013PRJ\u20130001", "GON-PRJ-0001"),  # en dashes from a phone keyboard
        ("GON-PRJ-\u0966\u0966\u0966\u0967", "GON-PRJ-0001"),  # Devanagari digits
        ("http://127.0.0.1:5000/a/GON-PRJ-0001", "GON-PRJ-0001"),
        ("https://sampada.degs-gonda.example/a/gon-prj-0001", "GON-PRJ-0001"),
        ("https://host.example/inventory/a/GON-PRJ-0001/", "GON-PRJ-0001"),
        ("https://host.example/a/DEGS%2FGON%2F12", "DEGS/GON/12"),
        ("https://host.example/a/DEGS/GON/12", "DEGS/GON/12"),
        ("https://host.example/a/GON-PRJ-0001?utm=x#top", "GON-PRJ-0001"),
        ("/a/GON-RTR-0002", "GON-RTR-0002"),
    ],
)
def test_tag_from_text_reads_labels_and_typed_tags(text, tag):
    assert services.tag_from_text(text) == tag


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        None,
        "X",  # too short
        "https://host.example/assets/12",  # not a label URL
        "https://host.example/",
        "WIFI:S:office;T:WPA;P:secret;;",
        "<script>alert(1)</script>",
        "A" * 40,
    ],
)
def test_tag_from_text_rejects_what_is_not_a_tag(text):
    assert services.tag_from_text(text) is None


# --- who sees what (acceptance 8) -------------------------------------------------------


def test_anonymous_scan_goes_to_login_and_shows_nothing_of_the_asset(client, projector):
    url = f"/a/{projector.tag}"
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [url]
    body = _body(client.get(response.headers["Location"]))
    # The scanned address itself comes back (the login page returns to it), nothing else.
    body = body.replace(f"next=%2Fa%2F{projector.tag}", "")
    for secret in (projector.tag, projector.serial, "Ram Prakash", "Counter room", "Babhanjot"):
        assert secret not in body
    assert 'name="password"' in body


def test_anonymous_scan_of_an_unknown_tag_looks_the_same(client, projector):
    """Whether a tag exists is not told to someone who is not signed in."""
    response = client.get("/a/GON-XYZ-9999")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_after_signing_in_the_scan_lands_on_the_asset(client, make_user, projector):
    user = make_user("viewer", locale="en")
    url = f"/a/{projector.tag}"
    login_url = client.get(url).headers["Location"]
    response = client.post(login_url, data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == url
    page = client.get(url)
    assert page.status_code == 200
    body = _body(page)
    for shown in (
        projector.tag,
        "PRJ-SERIAL-778",
        "Epson EB-X41",
        "Projector",
        "CSC Babhanjot",
        "CSC-001",
        "Counter room, east wall",
        "Ram Prakash",
        "Never verified at the site.",
        "No open tickets.",
        f'href="/assets/{projector.id}"',
    ):
        assert shown in body, shown


def test_site_name_follows_the_users_language(client, make_user, login, projector):
    login(make_user("viewer", locale="hi"))
    body = _body(client.get(f"/a/{projector.tag}"))
    assert "जनसेवा केन्द्र" in body
    assert 'lang="hi"' in body


def test_viewer_sees_no_actions_and_cannot_post_them(client, make_user, login, projector):
    login(make_user("viewer", locale="en"))
    body = _body(client.get(f"/a/{projector.tag}"))
    assert "Verified here" not in body
    assert "Report a fault" not in body
    assert f"/field/{projector.id}/" not in body
    fault = client.post(f"/field/{projector.id}/fault", data={"title": "Broken"})
    assert fault.status_code == 403
    assert client.get(f"/field/{projector.id}/fault").status_code == 403
    assert client.post(f"/field/{projector.id}/verified").status_code == 403
    assert _tickets() == []
    db.session.refresh(projector)
    assert projector.last_verified_at is None


def test_engineer_sees_the_actions(client, engineer, projector):
    body = _body(client.get(f"/a/{projector.tag}"))
    assert "Verified here" in body
    assert f'href="/field/{projector.id}/fault"' in body
    assert f'action="/field/{projector.id}/verified"' in body


# --- tags as people type them, unknown tags, manual entry ----------------------------------


def test_a_typed_tag_redirects_to_the_one_address(client, engineer, projector):
    response = client.get(f"/a/{projector.tag.lower()}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/a/{projector.tag}"


def test_a_tag_with_slashes_has_its_page(client, engineer, district, make_asset):
    asset = make_asset(district["csc"], "DSK", tag="DEGS/GON/12")
    response = client.get("/a/degs/gon/12")
    assert response.headers["Location"] == "/a/DEGS/GON/12"
    assert "DEGS/GON/12" in _body(client.get("/a/DEGS/GON/12"))
    assert client.get("/scan?tag=DEGS%2FGON%2F12").headers["Location"] == "/a/DEGS/GON/12"
    # The address a printed label encodes (inventory.labels.qr) opens the same page.
    from inventory.labels.qr import public_asset_url

    label = urlsplit(public_asset_url(asset.tag))
    assert label.path == "/a/DEGS%2FGON%2F12"
    assert client.get(label.path).status_code == 200
    assert services.tag_from_text(public_asset_url(asset.tag)) == asset.tag


def test_unknown_tag_is_a_friendly_404(client, engineer, projector):
    response = client.get("/a/gon-xyz-9999")
    assert response.status_code == 404
    body = _body(response)
    assert "No asset has the tag GON-XYZ-9999." in body
    assert 'href="/scan"' in body  # scan again
    assert 'action="/scan"' in body and 'name="tag"' in body  # manual entry
    assert "css/app.css" not in body  # the light phone page, not the desktop error page


def test_manual_entry_opens_the_asset(client, engineer, projector):
    response = client.get("/scan", query_string={"tag": projector.tag.lower()})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/a/{projector.tag}"
    pasted = client.get("/scan", query_string={"tag": f"https://x.example/a/{projector.tag}"})
    assert pasted.headers["Location"] == f"/a/{projector.tag}"


def test_manual_entry_of_an_unknown_or_malformed_tag_says_so(client, engineer, projector):
    unknown = client.get("/scan", query_string={"tag": "gon-zzz-0001"})
    assert unknown.status_code == 404
    assert "No asset has the tag GON-ZZZ-0001." in _body(unknown)
    malformed = client.get("/scan", query_string={"tag": "!!"})
    assert malformed.status_code == 400
    assert "That is not a tag." in _body(malformed)
    empty = client.get("/scan", query_string={"tag": ""})
    assert empty.status_code == 400
    assert "Type the tag printed on the label." in _body(empty)


def test_scan_page_is_light_and_allows_only_the_decoder_worker(client, engineer):
    response = client.get("/scan")
    assert response.status_code == 200
    body = _body(response)
    assert "<video" in body
    assert "css/app.css" not in body and "js/app.js" not in body
    decoder = f"/scan/decoder/{decoder_version()}/qr-scanner.umd.min.js"
    assert re.search(
        rf'<script src="/static/js/scanner\.js[^"]*" defer data-decoder="{decoder}"', body
    )
    policy = response.headers["Content-Security-Policy"]
    assert "worker-src 'self' blob:" in policy
    assert "script-src 'self'" in policy  # the rest of the policy is kept
    # Pages that do not scan keep the policy as it was.
    assert "worker-src" not in client.get("/a/NOPE-1").headers["Content-Security-Policy"]


# --- the decoder is cached (acceptance 7) ---------------------------------------------------


def test_decoder_is_served_with_a_long_cache_and_versioned_url(client, make_user, login):
    url = f"/scan/decoder/{decoder_version()}/qr-scanner-worker.min.js"
    anonymous = client.get(url)  # public, like /static: a library, nothing sensitive
    assert anonymous.status_code == 200
    login(make_user("engineer"))
    response = client.get(url)
    assert response.status_code == 200
    # Nothing that would make the browser fetch it again for the next page.
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "text/javascript"
    assert response.cache_control.max_age == DECODER_MAX_AGE >= 30 * 24 * 3600
    assert response.cache_control.immutable
    assert "export const createWorker" in _body(response)
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/scan/decoder/0.0.1/qr-scanner-worker.min.js").status_code == 404
    assert client.get(f"/scan/decoder/{decoder_version()}/LICENSE").status_code == 404
    assert client.get(f"/scan/decoder/{decoder_version()}/..%2FVERSION").status_code == 404
    assert client.get(f"/scan/decoder/{decoder_version()}/../VERSION").status_code == 404
    assert client.head(url).status_code == 200
    assert client.post(url).status_code == 405


# --- report a fault -----------------------------------------------------------------------------


def test_report_a_fault_opens_one_ticket_on_the_asset_and_site(client, engineer, projector):
    form = client.get(f"/field/{projector.id}/fault")
    assert form.status_code == 200
    assert re.search(r'<option selected value="projector">', _body(form))  # from the category
    data = {
        "title": "Lamp does not light",
        "description": "Power LED blinks orange.",
        "category": "projector",
        "priority": "high",
    }
    response = client.post(f"/field/{projector.id}/fault", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/a/{projector.tag}#tickets"
    [ticket] = _tickets()
    assert ticket.asset_id == projector.id
    assert ticket.site_id == projector.site_id
    assert ticket.reporter_kind == "scan"
    assert ticket.reporter_id == engineer.id
    assert (ticket.title, ticket.category, ticket.priority) == (
        "Lamp does not light",
        "projector",
        "high",
    )
    assert ticket.status == "open"
    page = _body(client.get(f"/a/{projector.tag}"))
    assert f"Fault reported: ticket {ticket.number}." in page
    assert "Lamp does not light" in page
    assert "No open tickets." not in page


def test_the_same_fault_sent_twice_is_one_ticket(client, engineer, projector):
    data = {"title": "Lamp does not light", "category": "projector", "priority": "normal"}
    client.post(f"/field/{projector.id}/fault", data=data)
    again = client.post(f"/field/{projector.id}/fault", data=data)
    assert again.status_code == 302
    assert len(_tickets()) == 1
    assert "already reported" in _body(client.get(f"/a/{projector.tag}"))
    client.post(f"/field/{projector.id}/fault", data={**data, "title": "Remote missing"})
    assert len(_tickets()) == 2


def test_fault_form_errors_rerender_with_messages(client, engineer, projector):
    response = client.post(
        f"/field/{projector.id}/fault",
        data={"title": "  ", "category": "projector", "priority": "normal"},
    )
    assert response.status_code == 400
    assert "Say in a few words what is wrong." in _body(response)
    bad_choice = client.post(
        f"/field/{projector.id}/fault",
        data={"title": "Broken", "category": "toaster", "priority": "normal"},
    )
    assert bad_choice.status_code == 400
    assert "Not a valid choice" in _body(bad_choice)
    too_long = client.post(
        f"/field/{projector.id}/fault",
        data={"title": "x" * 201, "category": "other", "priority": "normal"},
    )
    assert too_long.status_code == 400
    assert _tickets() == []


def test_fault_on_a_missing_asset_is_404(client, engineer):
    assert client.get("/field/999999/fault").status_code == 404


def test_report_fault_rules(app, projector, make_user):
    reporter = make_user("engineer")
    with pytest.raises(services.FieldError) as caught:
        services.report_fault(projector, title="", reporter=reporter)
    assert caught.value.field == "title"
    with pytest.raises(services.FieldError):
        services.report_fault(projector, title="x", category="toaster", reporter=reporter)
    with pytest.raises(services.FieldError):
        services.report_fault(projector, title="x", priority="urgent!", reporter=reporter)
    ticket, created = services.report_fault(projector, title="  No   image ", reporter=reporter)
    assert created and ticket.title == "No image" and ticket.category == "projector"


def test_only_open_tickets_of_this_asset_are_listed(client, engineer, projector, make_asset):
    other = make_asset(projector.site, "DSK")
    open_ticket(site=projector.site, asset=projector, title="Fan noise")
    closed = open_ticket(site=projector.site, asset=projector, title="Old closed fault")
    closed.status = "closed"
    open_ticket(site=other.site, asset=other, title="Keyboard broken")
    db.session.commit()
    body = _body(client.get(f"/a/{projector.tag}"))
    assert "Fan noise" in body
    assert "Old closed fault" not in body
    assert "Keyboard broken" not in body


# --- verified here ------------------------------------------------------------------------------


def test_verified_here_sets_last_verified_and_writes_history(client, engineer, projector):
    before = utcnow()
    response = client.post(f"/field/{projector.id}/verified")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/a/{projector.tag}#verified"
    db.session.rollback()
    asset = db.session.get(type(projector), projector.id)
    assert asset.last_verified_at is not None
    assert before - timedelta(seconds=1) <= asset.last_verified_at <= utcnow()
    change = history_for("assets", projector.id)[0]
    assert change.action == "update"
    assert change.actor_id == engineer.id
    assert "last_verified_at" in change.changes
    page = _body(client.get(f"/a/{projector.tag}"))
    assert f"{projector.tag} is confirmed at this site." in page
    assert "Never verified at the site." not in page


def test_mark_verified_rules(app, projector):
    with pytest.raises(services.FieldError):
        services.mark_verified(projector, utcnow() + timedelta(hours=1))
    with pytest.raises(services.FieldError):
        services.mark_verified(projector, utcnow().replace(tzinfo=None))
    now = utcnow()
    services.mark_verified(projector, now)
    services.mark_verified(projector, now - timedelta(days=3))  # an older report
    assert projector.last_verified_at == now


# --- health on the phone page -------------------------------------------------------------------


def test_health_state_is_shown_compactly(client, engineer, projector):
    polled = utcnow() - timedelta(minutes=3)
    db.session.add(
        AssetHealth(
            asset_id=projector.id,
            state="down",
            state_since=polled,
            last_polled_at=polled,
            last_outcome="timeout",
            sys_name="proj-csc-001",
        )
    )
    db.session.commit()
    body = _body(client.get(f"/a/{projector.tag}"))
    health = body[body.index('id="health"') :]
    assert "Down" in health
    assert "Timed out" in health
    assert "proj-csc-001" in health


def test_no_health_section_for_an_unmonitored_asset(client, engineer, projector):
    assert 'id="health"' not in _body(client.get(f"/a/{projector.tag}"))


# --- escaping -----------------------------------------------------------------------------------


def test_hostile_strings_are_escaped(client, district, make_user, login, make_site, make_asset):
    site = make_site(
        "EVIL-1", "csc", district["block"], name_en=payload("site-en"), name_hi=payload("site-hi")
    )
    asset = make_asset(
        site,
        "RTR",
        model=("Cisco", "ISR 4321"),
        serial="EVIL-SER-1",
        notes=payload("notes"),
        location=payload("location"),
        custodian=payload("custodian"),
    )
    db.session.add(
        AssetHealth(
            asset_id=asset.id,
            state="up",
            last_polled_at=utcnow(),
            last_outcome="ok",
            sys_name=payload("sysname"),
            sys_descr=payload("sysdescr"),
        )
    )
    open_ticket(site=site, asset=asset, title=payload("ticket"))
    db.session.commit()
    login(make_user("engineer", locale="en", full_name=payload("user")))
    body = _body(client.get(f"/a/{asset.tag}"))
    for marker in ("site-en", "notes", "location", "custodian", "sysname", "ticket", "user"):
        assert escaped(marker) in body, marker
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    fault_form = _body(client.get(f"/field/{asset.id}/fault"))
    assert escaped("site-en") in fault_form and "<script>alert" not in fault_form
    # A hostile "tag" typed into the manual entry or the address bar is not echoed raw.
    scan = _body(client.get("/scan", query_string={"tag": payload("typed")}))
    assert "<script>alert" not in scan and "<img src=x" not in scan
    missing = _body(client.get("/a/" + payload("path").replace("/", "")))
    assert "<script>alert" not in missing


PASSWORD = "correct-horse-battery"
