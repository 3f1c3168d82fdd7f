"""The phone pages in a real Chromium (tests/browser.py): a fake camera showing a label's QR
code opens the asset, manual entry, camera refused or missing, signing in from a scan,
reporting a fault and "Verified here" with real forms (CSRF on), the decoder cached."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from browser import PHONE, make_qr_y4m

from inventory.extensions import db
from inventory.field.decoder import decoder_version
from inventory.tickets.models import Ticket


@pytest.fixture
def projector(district, make_asset):
    return make_asset(district["csc"], "PRJ", model=("Epson", "EB-X41"), serial="PRJ-778")


@pytest.fixture
def engineer(make_user):
    return make_user("engineer", locale="en")


def _status(page) -> str:
    return page.locator("[data-scan-status]").inner_text()


def test_camera_scan_of_a_label_opens_the_asset(page, engineer, projector, tmp_path, live_server):
    # The label was printed for another host (PUBLIC_BASE_URL): the tag is what counts.
    label = make_qr_y4m(f"https://sampada.example.org/a/{projector.tag}", tmp_path / "label.y4m")
    phone = page(engineer, camera=label, path="/scan", **PHONE)
    phone.wait_for_url(f"**/a/{projector.tag}")
    assert phone.locator("h1").inner_text().startswith(projector.tag)
    assert "Epson EB-X41" in phone.inner_text("main")
    # No native BarcodeDetector in Linux Chromium: the shipped decoder did the work.
    assert not phone.evaluate("'BarcodeDetector' in window")
    version = decoder_version()
    assert f"/scan/decoder/{version}/qr-scanner.umd.min.js" in live_server.paths()
    assert f"/scan/decoder/{version}/qr-scanner-worker.min.js" in live_server.paths()

    # The decoder is cached: scanning again does not fetch it from the server.
    seen_before = len(live_server.paths())
    phone.goto("/scan")
    phone.wait_for_url(f"**/a/{projector.tag}")
    again = live_server.paths()[seen_before:]
    assert "/scan" in again and f"/a/{projector.tag}" in again
    assert not [path for path in again if path.startswith("/scan/decoder/")], again


def test_a_qr_code_that_is_not_a_label_is_reported(page, engineer, tmp_path):
    wifi = make_qr_y4m("WIFI:S:Office;T:WPA;P:not-for-you;;", tmp_path / "wifi.y4m")
    phone = page(engineer, camera=wifi, path="/scan")
    phone.wait_for_selector("[data-scan-status][data-state=not-a-tag]")
    assert "not a Sampada asset label" in _status(phone)
    assert phone.url.endswith("/scan")


def test_manual_entry_opens_the_asset(page, engineer, projector):
    phone = page(engineer, path="/scan", **PHONE)
    phone.fill("form.manual input[name=tag]", projector.tag.lower().replace("-", " "))
    phone.click("form.manual button[type=submit]")
    phone.wait_for_url(f"**/a/{projector.tag}")
    assert projector.tag in phone.locator("h1").inner_text()


def test_manual_entry_of_an_unknown_tag_stays_on_the_scan_page(page, engineer, projector):
    phone = page(engineer, path="/scan")
    phone.fill("form.manual input[name=tag]", "GON-ZZZ-0404")
    phone.click("form.manual button[type=submit]")
    phone.wait_for_selector("text=No asset has the tag GON-ZZZ-0404.")
    assert "/scan?tag=" in phone.url


def test_camera_refused_shows_the_fallback(page, engineer):
    phone = page(engineer, camera=True, grant_camera=False, path="/scan")
    phone.wait_for_selector("[data-scan-status][data-state=denied]")
    assert "The camera is blocked for this site" in _status(phone)
    assert phone.locator("[data-scan-retry]").is_visible()
    assert phone.locator("video").is_hidden()
    # The manual entry is ready to type into.
    assert phone.evaluate("document.activeElement.name") == "tag"


def test_no_camera_shows_the_fallback(page, engineer):
    phone = page(engineer, path="/scan")  # the session browser has no camera device
    phone.wait_for_selector("[data-scan-status][data-state=no-camera]")
    assert "No camera was found on this device" in _status(phone)


def test_anonymous_scan_signs_in_and_returns_to_the_asset(page, engineer, projector):
    from browser import sign_in

    phone = page(path=f"/a/{projector.tag}", **PHONE)
    assert "/login?next=" in phone.url
    assert "PRJ-778" not in phone.content()
    sign_in(phone, engineer.username)
    assert phone.url.endswith(f"/a/{projector.tag}")
    assert "PRJ-778" in phone.inner_text("main")


def test_report_a_fault_and_verify_from_the_phone(page, engineer, projector):
    phone = page(engineer, path=f"/a/{projector.tag}", **PHONE)
    phone.click("text=Report a fault")
    phone.fill("input[name=title]", "Lamp does not light")
    phone.fill("textarea[name=description]", "Power LED blinks orange")
    phone.select_option("select[name=priority]", "high")
    phone.click("form.stack button[type=submit]")
    phone.wait_for_url(f"**/a/{projector.tag}#tickets")
    assert "Fault reported: ticket T-" in phone.inner_text("main")
    assert "Lamp does not light" in phone.locator("#tickets").inner_text()
    db.session.rollback()
    [ticket] = db.session.scalars(sa.select(Ticket)).all()
    assert (ticket.asset_id, ticket.site_id, ticket.reporter_kind, ticket.priority) == (
        projector.id,
        projector.site_id,
        "scan",
        "high",
    )

    phone.click("text=Verified here")
    phone.wait_for_url(f"**/a/{projector.tag}#verified")
    assert f"{projector.tag} is confirmed at this site." in phone.inner_text("main")
    db.session.rollback()
    db.session.refresh(projector)
    assert projector.last_verified_at is not None


TEXTS = [
    "GON-PRJ-0001",
    "  gon-prj-0001 ",
    "gon prj 0001",
    "GON\u2013PRJ\u20130001",
    "GON-PRJ-\u0966\u0966\u0966\u0967",
    "http://127.0.0.1:5000/a/GON-PRJ-0001",
    "https://sampada.example.org/inventory/a/gon-prj-0001/",
    "https://host.example/a/DEGS%2FGON%2F12",
    "https://host.example/a/DEGS/GON/12",
    "https://host.example/a/GON-PRJ-0001?utm=x#top",
    "/a/GON-RTR-0002",
    "",
    "X",
    "https://host.example/assets/12",
    "WIFI:S:office;T:WPA;P:secret;;",
    "<script>alert(1)</script>",
    "A" * 40,
]


def test_the_browser_reads_tags_as_the_server_does(page, engineer):
    """SampadaScanner.tagFromText (scanner.js) and services.tag_from_text agree."""
    from inventory.field.services import tag_from_text

    phone = page(engineer, path="/scan")
    in_browser = phone.evaluate(
        "texts => texts.map(t => window.SampadaScanner.tagFromText(t))", TEXTS
    )
    assert in_browser == [tag_from_text(text) for text in TEXTS]
