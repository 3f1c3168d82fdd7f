"""The VC-readiness board: which offices join, ready now or why not (from real VC sockets, the
real PJLink emulator, recorded health and tickets), readiness hour by hour over the last days
from recorded data, and the pages (board, printable version, office page, overview card)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from support import escaped, payload

from inventory.devices import jobs
from inventory.devices.models import ProjectorSample, VcCheck
from inventory.devices.services import roll_up_hours
from inventory.extensions import db
from inventory.health.models import AssetHealth, HealthEvent, HealthHourly
from inventory.models_base import utcnow
from inventory.readiness import services
from inventory.readiness.services import NOT_READY, READY, UNKNOWN
from inventory.sites.models import Site
from inventory.tickets import services as tickets

NOW = datetime(2025, 6, 2, 4, 30, tzinfo=UTC)  # 10:00 in Gonda
HOST = "127.0.0.1"


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port that accepts connections (a VC endpoint's SIP port, say)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def refused() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))  # bound, never listening: a connect is refused
        yield sock.getsockname()[1]


def set_health(asset, **fields) -> AssetHealth:
    """The recorded health of a device (as the sweep leaves it)."""
    row = db.session.get(AssetHealth, asset.id) or AssetHealth(asset_id=asset.id)
    for key, value in {"state_since": NOW - timedelta(hours=3), **fields}.items():
        setattr(row, key, value)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def office(app, district, make_asset, listening):
    """A block with a codec answering on a real socket, a display, a router and an online
    UPS in good health, and a camera."""
    app.config["VC_PORTS"] = [listening]
    block = district["block"]
    parts = SimpleNamespace(
        site=block,
        codec=make_asset(block, "VCC", management_address=HOST),
        display=make_asset(block, "DSP"),
        router=make_asset(block, "RTR", management_address=HOST),
        ups=make_asset(block, "UPS", management_address=HOST),
        camera=make_asset(block, "CAM"),
    )
    set_health(parts.router, state="up")
    set_health(parts.ups, state="up", battery_status=2, battery_pct=100.0, battery_minutes=60)
    return parts


def verdict(app, site, now=NOW) -> services.Office:
    rules = services.Rules.from_config(app.config)
    (office,) = services.board(rules, now, site_ids=[site.id], history=False).offices
    return office


def codes(office) -> list[str]:
    return [r.code for r in office.reasons]


def check_vc(now=NOW) -> None:
    jobs.vc_reachability(now)
    db.session.expire_all()


# --- which offices -----------------------------------------------------------------------


def test_tehsils_blocks_and_municipalities_join_by_default(app, district, make_site):
    municipality = make_site("MUN-X", "municipality", district["tehsil"], name_en="Nagar X")
    rules = services.Rules.from_config(app.config)
    offices = services.board(rules, NOW, history=False).offices
    # in the order of the tree: the tehsil, then its block and municipality by name
    assert [o.site.code for o in offices] == ["TEH-MNK", "BLK-MNK", "MUN-X"]
    assert all(o.tehsil.id == district["tehsil"].id for o in offices)
    assert municipality.joins_vc(rules.expected_kinds)


def test_a_site_can_be_set_to_join_or_not(app, as_role, district):
    manager = as_role("manager")
    csc, block = district["csc"], district["block"]
    for site, value in ((csc, "1"), (block, "0")):
        page = manager.get(f"/sites/{site.id}/edit")
        assert b'name="vc_expected"' in page.data
        form = {
            "code": site.code,
            "name_en": site.name_en,
            "name_hi": site.name_hi,
            "kind": site.kind,
            "parent_id": str(site.parent_id),
            "link_type": site.link_type,
            "vc_expected": value,
        }
        response = manager.post(f"/sites/{site.id}/edit", data=form)
        assert response.status_code == 302, response.data
    db.session.expire_all()
    assert db.session.get(Site, csc.id).vc_expected is True
    assert db.session.get(Site, block.id).vc_expected is False
    rules = services.Rules.from_config(app.config)
    assert [o.site.code for o in services.board(rules, NOW, history=False).offices] == [
        "TEH-MNK",
        "CSC-001",
    ]
    detail = manager.get(f"/sites/{csc.id}").get_data(as_text=True)
    assert "Joins the DM's video conference" in detail and f"/vc/{csc.id}" in detail
    # back to "as its kind"
    form["vc_expected"] = ""
    manager.post(f"/sites/{block.id}/edit", data=form)
    db.session.expire_all()
    assert db.session.get(Site, block.id).vc_expected is None
    assert manager.get(f"/vc/{block.id}").status_code == 200
    assert manager.get(f"/vc/{district['hq'].id}").status_code == 404  # HQ does not join


def test_an_office_room_below_counts_for_its_office(app, office, make_site, make_asset):
    room = make_site("BLK-MNK-VC", "office", office.site, name_en="VC room")
    office.codec.site_id = room.id  # the codec moved to the VC room below the block
    db.session.commit()
    check_vc()
    row = verdict(app, office.site)
    assert row.state == READY
    assert office.codec.id in [a.id for a in row.parts["endpoint"]]


# --- now: ready or why not -------------------------------------------------------------


def test_ready_when_every_part_works(app, office, district):
    check_vc()
    row = verdict(app, office.site)
    assert (row.state, row.reasons, row.unknowns, row.notes) == (READY, [], [], [])
    # the tehsil has nothing: no endpoint and no display, both said
    tehsil = verdict(app, district["tehsil"])
    assert tehsil.state == NOT_READY
    assert codes(tehsil) == ["no_endpoint", "no_display"]


def test_an_unreachable_endpoint(app, office, refused):
    app.config["VC_PORTS"] = [refused]
    check_vc()
    row = verdict(app, office.site)
    assert row.state == NOT_READY and codes(row) == ["endpoint"]
    assert office.codec.tag in row.reasons[0].text and "unreachable" in row.reasons[0].text


def test_a_second_endpoint_that_answers_is_enough(app, office, make_asset, refused, listening):
    check_vc()  # the first answers on `listening`
    spare = make_asset(office.site, "VCC", management_address="127.0.0.2")
    app.config["VC_PORTS"] = [refused]  # ... and the spare is refused: still ready
    jobs.vc_reachability(NOW + timedelta(minutes=1))
    db.session.expire_all()
    assert verdict(app, office.site).state == READY
    assert spare.id in [a.id for a in verdict(app, office.site).parts["endpoint"]]


def test_an_endpoint_under_repair(app, office):
    check_vc()
    office.codec.status = "under_repair"
    db.session.commit()
    row = verdict(app, office.site)
    assert codes(row) == ["endpoint"] and "Under repair" in row.reasons[0].text


def test_no_endpoint_in_service_says_one_is_in_store(app, office):
    office.codec.status = "in_store"
    db.session.commit()
    row = verdict(app, office.site)
    assert codes(row) == ["no_endpoint"]
    assert "1 in store" in row.reasons[0].text


def test_what_cannot_be_told_is_unknown(app, office, make_asset):
    row = verdict(app, office.site)  # never checked
    assert row.state == UNKNOWN and [r.code for r in row.unknowns] == ["unchecked"]
    check_vc()
    assert verdict(app, office.site).state == READY
    # the last check is older than VC_READING_MAX_AGE_SECONDS
    later = NOW + timedelta(seconds=app.config["VC_READING_MAX_AGE_SECONDS"] + 60)
    stale = verdict(app, office.site, now=later)
    assert stale.state == UNKNOWN and "too old" in stale.unknowns[0].text
    # an endpoint without a management address cannot be checked
    office.codec.management_address = ""
    db.session.commit()
    assert "no management address" in verdict(app, office.site).unknowns[0].text
    # ... but a definite fault elsewhere still makes the office not ready
    set_health(office.router, state="down")
    assert verdict(app, office.site).state == NOT_READY


def test_network_down(app, office, make_asset):
    check_vc()
    switch = make_asset(office.site, "SWT", management_address=HOST)
    set_health(switch, state="down")
    row = verdict(app, office.site)
    assert codes(row) == ["network"] and switch.tag in row.reasons[0].text
    assert row.reasons[0].since == NOW - timedelta(hours=3)
    set_health(switch, state="up")
    set_health(office.router, state="unknown")  # not polled yet: says nothing either way
    assert verdict(app, office.site).state == READY


@pytest.mark.parametrize(
    ("status", "pct", "minutes", "low"),
    [
        (3, 80.0, 60, True),  # the UPS says batteryLow
        (4, None, None, True),  # batteryDepleted
        (2, 40.0, 60, True),  # under VC_UPS_MIN_CHARGE_PCT
        (2, 90.0, 10, True),  # under VC_UPS_MIN_MINUTES
        (2, 50.0, 15, False),  # exactly at the limits
        (2, 100.0, 0, False),  # 0 minutes: not reported (cards on mains power say 0)
        (2, 30.0, 0, True),
        (None, None, None, False),  # no battery readings
    ],
)
def test_ups_battery(app, office, status, pct, minutes, low):
    check_vc()
    set_health(office.ups, battery_status=status, battery_pct=pct, battery_minutes=minutes)
    row = verdict(app, office.site)
    assert (row.state == NOT_READY) is low
    if low:
        assert codes(row) == ["ups"] and office.ups.tag in row.reasons[0].text
        if pct is not None:
            assert f"{round(pct)} % charge" in row.reasons[0].text


def test_critical_ticket_on_a_part(app, office, make_user, make_asset):
    check_vc()
    reporter = make_user("engineer")
    high = tickets.open_ticket(
        site=office.site, asset=office.camera, title="Camera zoom slow", priority="high",
        reporter=reporter,
    )  # fmt: skip
    db.session.commit()
    assert verdict(app, office.site).state == READY  # only critical tickets count
    critical = tickets.open_ticket(
        site=office.site, asset=office.camera, title="Camera stuck facing the wall",
        priority="critical", category="vc", reporter=reporter,
    )  # fmt: skip
    db.session.commit()
    row = verdict(app, office.site)
    assert codes(row) == ["ticket"] and row.reasons[0].ticket.id == critical.id
    assert "Camera stuck facing the wall" in row.reasons[0].text
    tickets.move(critical, "cancelled", actor=make_user("manager"), note="Raised by mistake")
    # a critical ticket on something else at the office (a desktop) does not count
    desktop = make_asset(office.site, "DSK")
    tickets.open_ticket(
        site=office.site, asset=desktop, title="Desktop dead", priority="critical",
        reporter=reporter,
    )  # fmt: skip
    db.session.commit()
    assert verdict(app, office.site).state == READY
    assert high.status == "open"


def test_displays_and_projectors(app, office, projector, make_asset):
    check_vc()
    app.config["PJLINK_PORT"] = projector.address("open1")[1]
    prj = make_asset(office.site, "PRJ", management_address=HOST)
    office.display.status = "non_functional"  # the display is broken ...
    db.session.commit()
    row = verdict(app, office.site)  # ... and the projector is not polled yet
    assert row.state == UNKNOWN and "not been checked yet" in row.unknowns[0].text

    jobs.pjlink_poll(NOW)  # the projector answers, no errors: ready, the display noted
    row = verdict(app, office.site)
    assert row.state == READY and [r.asset.id for r in row.notes] == [office.display.id]

    projector.update("open1", errors={"lamp": "error", "filter": "warning"})
    jobs.pjlink_poll(NOW + timedelta(minutes=5))
    db.session.expire_all()
    row = verdict(app, office.site, now=NOW + timedelta(minutes=5))
    assert row.state == NOT_READY
    assert codes(row) == ["no_display", "display", "display"]
    texts = " | ".join(r.text for r in row.reasons)
    assert "lamp" in texts and "filter" not in texts and prj.tag in texts
    assert any("filter" in r.text for r in row.notes)  # a warning is a note, not a fault

    projector.update("open1", errors={}, silent=True)  # stops answering
    app.config["PJLINK_TIMEOUT"] = 0.5
    jobs.pjlink_poll(NOW + timedelta(minutes=10))
    db.session.expire_all()
    row = verdict(app, office.site, now=NOW + timedelta(minutes=10))
    assert "does not answer PJLink" in " ".join(r.text for r in row.reasons)

    office.display.status = "deployed"  # the display repaired: ready again
    db.session.commit()
    assert verdict(app, office.site, now=NOW + timedelta(minutes=10)).state == READY


# --- the past, hour by hour --------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_history_hour_by_hour_from_recorded_data(app, office, make_user):
    """Three local days (31 May - 2 June in Gonda), recorded checks with an outage, a router
    down across the window's start and again later, a low-battery hour, a critical ticket,
    and an hour nobody checked."""
    app.config["VC_HISTORY_DAYS"] = 3
    rules = services.Rules.from_config(app.config)
    start = services.window_start(rules, NOW)
    assert start == at("2025-05-30 18:00")  # midnight 31 May in Gonda is 18:30 UTC
    outage = {at("2025-06-01 12:00"), at("2025-06-01 13:00")}
    unchecked = at("2025-06-02 03:00")
    hour = at("2025-05-29 00:00")
    while hour <= at("2025-06-02 04:00"):
        if hour != unchecked:
            db.session.add(
                VcCheck(asset_id=office.codec.id, at=hour + timedelta(minutes=10),
                        reachable=hour not in outage, open_ports=[])
            )  # fmt: skip
        hour += timedelta(hours=1)
    for when, kind in (
        ("2025-05-30 10:00", "down"),  # before the window: down at its start
        ("2025-05-30 19:30", "up"),
        ("2025-05-31 20:15", "down"),
        ("2025-05-31 22:40", "up"),
    ):
        db.session.add(HealthEvent(asset_id=office.router.id, kind=kind, at=at(when)))
    db.session.add(HealthHourly(asset_id=office.ups.id, hour=at("2025-06-01 02:00"),
                                polls=12, ok_polls=12, battery_min=30.0))  # fmt: skip
    db.session.add(HealthHourly(asset_id=office.ups.id, hour=at("2025-06-01 03:00"),
                                polls=12, ok_polls=12, battery_min=95.0))  # fmt: skip
    ticket = tickets.open_ticket(
        site=office.site, asset=office.codec, title="No audio", priority="critical",
        reporter=make_user("engineer"), now=at("2025-06-02 01:20"),
    )  # fmt: skip
    ticket.resolved_at = at("2025-06-02 02:05")
    ticket.status = "resolved"
    assert roll_up_hours(at("2025-05-29 00:00")) == 4 * 24 + 5 - 1  # what the jobs do
    db.session.commit()

    board = services.board(rules, NOW, site_ids=[office.site.id])
    history = board.offices[0].history
    states = dict(history.hours)
    assert min(states) == start and max(states) == at("2025-06-02 04:00")
    assert len(states) == 59
    not_ready = {h for h, s in states.items() if s == NOT_READY}
    assert not_ready == {
        at("2025-05-30 18:00"), at("2025-05-30 19:00"),  # down from before the window
        at("2025-05-31 20:00"), at("2025-05-31 21:00"), at("2025-05-31 22:00"),
        at("2025-06-01 02:00"),  # battery low in that hour
        *outage,
        at("2025-06-02 01:00"), at("2025-06-02 02:00"),  # the critical ticket
    }  # fmt: skip
    assert {h for h, s in states.items() if s == UNKNOWN} == {unchecked}
    days = {d.day: (d.ready_hours, d.known_hours, d.pct) for d in history.days}
    assert days == {
        date(2025, 5, 31): (22, 24, 91.7),
        date(2025, 6, 1): (18, 24, 75.0),
        date(2025, 6, 2): (8, 10, 80.0),
    }
    assert (history.ready_hours, history.known_hours, history.pct) == (48, 58, 82.8)


def test_history_of_projector_only_offices(app, office, make_asset):
    """No display that works unmonitored: the projector's polls decide the hour."""
    app.config["VC_HISTORY_DAYS"] = 1
    office.display.status = "in_store"
    prj = make_asset(office.site, "PRJ", management_address=HOST)
    db.session.commit()
    rules = services.Rules.from_config(app.config)
    start = services.window_start(rules, NOW)  # 1 June 18:00 UTC
    hour = start
    while hour <= at("2025-06-02 04:00"):
        db.session.add(VcCheck(asset_id=office.codec.id, at=hour, reachable=True, open_ports=[]))
        if hour != at("2025-06-01 20:00"):  # not polled that hour
            worst = "error" if hour == at("2025-06-02 01:00") else "ok"
            outcome = "timeout" if hour == at("2025-06-02 02:00") else "ok"
            db.session.add(ProjectorSample(asset_id=prj.id, at=hour, outcome=outcome,
                                           worst_error=worst))  # fmt: skip
        hour += timedelta(hours=1)
    roll_up_hours(start)
    db.session.commit()
    states = dict(services.board(rules, NOW, site_ids=[office.site.id]).offices[0].history.hours)
    assert {h for h, s in states.items() if s == NOT_READY} == {
        at("2025-06-02 01:00"),
        at("2025-06-02 02:00"),
    }
    assert {h for h, s in states.items() if s == UNKNOWN} == {at("2025-06-01 20:00")}


# --- the pages ---------------------------------------------------------------------------


def test_board_print_and_office_pages(app, as_role, office, district, make_user):
    now = utcnow()
    check_vc(now)  # the pages use the real clock
    tickets.open_ticket(
        site=district["tehsil"], title="unrelated", priority="critical",
        reporter=make_user("engineer"),
    )  # fmt: skip
    hostile = tickets.open_ticket(
        site=office.site, asset=office.router, title=payload("title"), priority="critical",
        category="network", reporter=make_user("engineer"),
    )  # fmt: skip
    db.session.commit()
    viewer = as_role("viewer")
    page = viewer.get("/vc/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "0 of 2 offices ready" in html
    assert 'data-office="BLK-MNK" data-state="not_ready"' in html
    assert 'data-office="TEH-MNK" data-state="not_ready"' in html
    assert escaped("title") in html and payload("title") not in html
    assert f"/tickets/{hostile.id}" in html
    assert html.count('<span class="timeline"') == 2  # a row of day squares per office
    assert html.count('class="tl tl-') == 2 * 30 + 5  # a square per office and day, the key

    only_block = viewer.get(f"/vc/?tehsil={district['tehsil'].id}&state=ready")
    assert "No office matches these filters." in only_block.get_data(as_text=True)

    printable = viewer.get("/vc/print?state=not_ready").get_data(as_text=True)
    assert "data-print" in printable and "<nav>" not in printable
    assert "0 of 2 offices ready" in printable
    assert escaped("title") in printable and payload("title") not in printable
    assert f"/tickets/{hostile.id}" not in printable  # paper: no links

    tickets.move(hostile, "cancelled", actor=make_user("manager"), note="Fixed the cable")
    db.session.commit()
    detail = viewer.get(f"/vc/{office.site.id}").get_data(as_text=True)
    assert 'badge-green">Ready' in detail
    assert office.codec.tag in detail and "reachable" in detail
    assert detail.count('class="hr hr-') >= 24 * 29  # the hour grid ...
    assert detail.count("data-day=") == 30  # ... in rows of whole local days

    overview = viewer.get("/").get_data(as_text=True)
    assert "data-vc-summary" in overview and "1 of 2" in overview


def test_board_without_offices(app, as_role, make_site):
    make_site("GON-HQ", "district_hq")
    html = as_role("viewer").get("/vc/").get_data(as_text=True)
    assert "No office is set to join" in html
    assert "data-vc-summary" not in as_role("viewer").get("/").get_data(as_text=True)


def test_the_printed_page_keeps_its_colours_and_drops_the_controls(app, office, page, make_user):
    """Chromium prints /vc/print to PDF without background graphics (the browser's default):
    the day squares must still print in colour, the buttons must not print at all."""
    import pypdfium2

    def check() -> None:  # Playwright's loop runs in this thread: the probe gets its own
        with app.app_context():
            jobs.vc_reachability(utcnow())

    worker = threading.Thread(target=check)
    worker.start()
    worker.join()
    tab = page(make_user("viewer"), path="/vc/print")
    assert tab.locator("[data-summary]").inner_text().startswith("1 of 2 offices ready")
    tab.emulate_media(media="print")
    pdf = pypdfium2.PdfDocument(tab.pdf(format="A4", landscape=True, print_background=False))
    assert len(pdf) == 1
    text = pdf[0].get_textpage().get_text_range()
    assert "1 of 2 offices ready" in text and "Back to the board" not in text
    image = pdf[0].render(scale=2).to_pil().convert("RGB")
    pdf.close()
    colours = {colour for _count, colour in image.getcolors(maxcolors=1 << 24)}
    assert (0x1E, 0x7D, 0x32) in colours  # today's square: ready (green)
    assert (0xD9, 0xDE, 0xE7) in colours  # the days before: no data (grey)
