"""Projectors polled over PJLink (the real emulator on loopback), VC endpoints checked by TCP
connect (real sockets on loopback), lamp hours feeding maintenance plans, test calls and the
asset panel by role."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from inventory.credentials.services import save_profile
from inventory.devices import jobs
from inventory.devices.models import (
    ProjectorHourly,
    ProjectorSample,
    ProjectorState,
    VcCheck,
    VcHourly,
    VcReachability,
    VcTestCall,
)
from inventory.devices.services import roll_up_hours
from inventory.extensions import db
from inventory.maintenance import jobs as maintenance_jobs
from inventory.maintenance import services as maintenance
from inventory.maintenance.services import latest_counter
from inventory.tickets.models import Ticket

NOW = datetime(2025, 6, 2, 4, 30, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
HOST = "127.0.0.1"


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    sock.listen(8)
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture
def refused() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))  # bound, never listening: a connect is refused
        yield sock.getsockname()[1]


def aim(app, projector, key: str) -> None:
    """Point the PJLink job at one emulated projector (127.0.0.1 on its own port)."""
    app.config["PJLINK_PORT"] = projector.address(key)[1]


def state_of(asset) -> ProjectorState:
    db.session.expire_all()
    return db.session.get(ProjectorState, asset.id)


# --- projectors -----------------------------------------------------------------------------


def test_poll_stores_the_projector_state(app, projector, district, make_asset):
    prj = make_asset(district["csc"], "PRJ", management_address=HOST)
    make_asset(district["csc"], "PRJ")  # no address: not polled
    make_asset(district["csc"], "PRJ", management_address=HOST, status="in_store")  # not polled
    aim(app, projector, "open2")

    assert jobs.pjlink_poll(NOW) == "polled 1 projectors, 1 answered"
    state = state_of(prj)
    assert state.outcome == "ok" and state.error == ""
    assert state.polled_at == NOW and state.last_ok_at == NOW
    assert state.power == "on"
    assert state.lamps == [{"hours": 2750, "on": True}, {"hours": 310, "on": True}]
    assert state.lamp_hours == 2750  # the most of any lamp
    assert state.errors["filter"] == "warning" and state.errors["fan"] == "ok"
    assert state.problems == {"filter": "warning"}
    assert state.input == "32" and state.pjlink_class == "2"
    assert (state.name, state.manufacturer, state.model) == ("DM VC Hall", "NEC", "NP-P525UL")
    (sample,) = db.session.scalars(sa.select(ProjectorSample))
    assert (sample.asset_id, sample.at, sample.outcome) == (prj.id, NOW, "ok")
    assert (sample.power, sample.lamp_hours, sample.worst_error) == ("on", 2750, "warning")
    assert latest_counter(prj.id, "lamp_hours") == 2750.0


def test_changes_on_the_projector_show_in_the_next_poll(app, projector, district, make_asset):
    prj = make_asset(district["csc"], "PRJ", management_address=HOST)
    aim(app, projector, "open1")
    jobs.pjlink_poll(NOW)
    assert state_of(prj).power == "on"

    projector.update("open1", power="cooling", lamps=[1600], errors={"fan": "error"})
    assert jobs.pjlink_poll(NOW + timedelta(seconds=60)) is None  # not due yet
    assert state_of(prj).power == "on"

    jobs.pjlink_poll(LATER)
    state = state_of(prj)
    assert state.polled_at == LATER
    assert state.power == "cooling"
    assert state.lamps == [{"hours": 1600, "on": False}]  # lit only when on
    assert state.lamp_hours == 1600
    assert state.errors["fan"] == "error" and state.problems == {"fan": "error"}
    assert state.input is None  # the projector refuses INPT unless it is on

    projector.update("open1", power="warming")
    jobs.pjlink_poll(LATER + timedelta(minutes=5))
    assert state_of(prj).power == "warming"
    samples = db.session.scalars(sa.select(ProjectorSample).order_by(ProjectorSample.at)).all()
    assert [s.power for s in samples] == ["on", "cooling", "warming"]
    assert [s.worst_error for s in samples] == ["ok", "error", "error"]


def test_wrong_password_is_recorded_not_raised(
    app, pjlink_emulators, pjlink_password, district, make_asset
):
    wrong = save_profile(
        None, plain={"name": "Wrong", "snmp_version": "none"}, new_secrets={"pjlink_password": "x"}
    )
    right = save_profile(
        None,
        plain={"name": "Right", "snmp_version": "none"},
        new_secrets={"pjlink_password": pjlink_password},
    )
    db.session.commit()
    refused_prj = make_asset(
        district["csc"], "PRJ", management_address=HOST, credential_profile_id=wrong.id
    )
    aim(app, pjlink_emulators, "secured1")
    assert jobs.pjlink_poll(NOW) == "polled 1 projectors, 0 answered"
    state = state_of(refused_prj)
    assert state.outcome == "auth_failed"
    assert state.error and pjlink_password not in state.error
    assert state.last_ok_at is None and state.power is None and state.lamp_hours is None
    assert latest_counter(refused_prj.id, "lamp_hours") is None

    refused_prj.credential_profile_id = right.id
    db.session.commit()
    jobs.pjlink_poll(LATER)
    state = state_of(refused_prj)
    assert state.outcome == "ok" and state.power == "off" and state.error == ""


def test_a_failed_poll_keeps_the_last_readings(app, projector, refused, district, make_asset):
    prj = make_asset(district["csc"], "PRJ", management_address=HOST)
    aim(app, projector, "open1")
    jobs.pjlink_poll(NOW)
    app.config["PJLINK_PORT"] = refused
    jobs.pjlink_poll(LATER)
    state = state_of(prj)
    assert state.outcome == "unreachable" and state.error == "connection refused"
    assert state.polled_at == LATER and state.last_ok_at == NOW
    assert state.lamp_hours == 1520  # still known to maintenance plans
    outcomes = db.session.scalars(sa.select(ProjectorSample.outcome).order_by(ProjectorSample.at))
    assert list(outcomes) == ["ok", "unreachable"]


def test_lamp_hours_open_a_maintenance_ticket(app, projector, district, make_asset):
    prj = make_asset(district["csc"], "PRJ", management_address=HOST)
    plan = maintenance.create_plan(
        name="Lamp replacement",
        asset_id=prj.id,
        trigger="counter",
        counter="lamp_hours",
        counter_interval=2000,
        counter_margin=100,
    )
    db.session.commit()
    aim(app, projector, "open1")  # 1520 hours
    jobs.pjlink_poll(NOW)
    maintenance_jobs.run(NOW)
    assert db.session.scalars(sa.select(Ticket).where(Ticket.cause == plan.cause)).all() == []

    projector.update("open1", lamps=[1930])  # within the margin of 2000
    jobs.pjlink_poll(LATER)
    assert latest_counter(prj.id, "lamp_hours") == 1930.0
    maintenance_jobs.run(LATER)
    (ticket,) = db.session.scalars(sa.select(Ticket).where(Ticket.cause == plan.cause))
    assert ticket.asset_id == prj.id


def test_device_strings_are_escaped_on_the_asset_page(
    app, as_role, projector, district, make_asset
):
    prj = make_asset(district["csc"], "PRJ", management_address=HOST)
    projector.update(
        "open2",
        name="<script>alert(1)</script>",
        manufacturer='"><img src=x onerror=alert(2)>',
        model="M&M <b>",
    )
    aim(app, projector, "open2")
    jobs.pjlink_poll(NOW)
    page = as_role("viewer").get(f"/assets/{prj.id}").get_data(as_text=True)
    assert "Projector (PJLink)" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "M&amp;M &lt;b&gt;" in page
    assert "Lamp 1: 2750 h" in page and "Lamp 2: 310 h" in page
    assert "Digital 2" in page and "Warming up" not in page
    assert "Filter" in page and "Warning" in page


def test_projector_panel_before_any_poll(as_role, district, make_asset):
    silent = make_asset(district["csc"], "PRJ")
    page = as_role("viewer").get(f"/assets/{silent.id}").get_data(as_text=True)
    assert "Give the projector a management address" in page
    desktop = make_asset(district["csc"], "DSK")
    page = as_role("viewer").get(f"/assets/{desktop.id}").get_data(as_text=True)
    assert "PJLink" not in page and "Test calls" not in page


# --- VC endpoints ---------------------------------------------------------------------------


def test_vc_job_stores_reachability(app, listening, refused, district, make_asset):
    port = listening.getsockname()[1]
    app.config["VC_PORTS"] = [refused, port]
    vc = make_asset(district["csc"], "VCC", management_address=HOST)
    make_asset(district["csc"], "VCC")  # no address: not checked
    make_asset(district["csc"], "PRJ", management_address=HOST)  # not a VC endpoint

    assert jobs.vc_reachability(NOW) == "checked 1 VC endpoints, 1 reachable"
    db.session.expire_all()
    state = db.session.get(VcReachability, vc.id)
    assert state.reachable is True and state.open_ports == [port]
    assert state.ports == [refused, port] and state.error == ""
    assert state.checked_at == NOW and state.last_reachable_at == NOW

    listening.close()  # the endpoint goes away
    assert jobs.vc_reachability(NOW + timedelta(seconds=30)) is None  # not due yet
    jobs.vc_reachability(LATER)
    db.session.expire_all()
    state = db.session.get(VcReachability, vc.id)
    assert state.reachable is False and state.open_ports == []
    assert state.error == "every port refused the connection"
    assert state.checked_at == LATER and state.last_reachable_at == NOW
    checks = db.session.scalars(sa.select(VcCheck).order_by(VcCheck.at)).all()
    assert [(c.asset_id, c.reachable) for c in checks] == [(vc.id, True), (vc.id, False)]
    # both checks fell in one hour: rolled up as two readings, one of them good
    (hourly,) = db.session.scalars(sa.select(VcHourly)).all()
    assert (hourly.asset_id, hourly.hour, hourly.readings, hourly.good) == (
        vc.id,
        NOW.replace(minute=0),
        2,
        1,
    )


def test_history_is_trimmed_by_age(app, refused, district, make_asset):
    app.config["VC_PORTS"] = [refused]
    vc = make_asset(district["csc"], "VCC", management_address=HOST)
    db.session.add_all(
        [
            VcCheck(asset_id=vc.id, at=NOW - timedelta(days=61), reachable=True),
            VcCheck(asset_id=vc.id, at=NOW - timedelta(days=59), reachable=True),
            ProjectorSample(asset_id=vc.id, at=NOW - timedelta(days=90), outcome="ok"),
        ]
    )
    db.session.commit()
    roll_up_hours(NOW - timedelta(days=91))  # the hours of those rows, as the jobs keep them
    db.session.commit()
    jobs.vc_reachability(NOW)
    ats = db.session.scalars(sa.select(VcCheck.at).order_by(VcCheck.at)).all()
    assert ats == [NOW - timedelta(days=59), NOW]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectorSample)) == 0
    hours = db.session.scalars(sa.select(VcHourly.hour).order_by(VcHourly.hour)).all()
    assert hours == [(NOW - timedelta(days=59)).replace(minute=0), NOW.replace(minute=0)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectorHourly)) == 0


def test_jobs_are_scheduled():
    from inventory.jobs import JOBS

    names = {job.name: job for job in JOBS}
    assert names["pjlink-poll"].load() is jobs.pjlink_poll
    assert names["pjlink-poll"].every_key == "PJLINK_EVERY_SECONDS"
    assert names["vc-reachability"].load() is jobs.vc_reachability
    assert names["vc-reachability"].every_key == "VC_EVERY_SECONDS"


def test_default_config(app):
    assert app.config["PJLINK_EVERY_SECONDS"] == 300 and app.config["VC_EVERY_SECONDS"] == 300
    assert app.config["VC_PORTS"] == [5060, 1720, 443]


# --- test calls -----------------------------------------------------------------------------


def local(dt: datetime) -> str:
    """A UTC moment as the form's local (IST) datetime-local value."""
    return (dt + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%dT%H:%M")


def test_engineer_logs_a_test_call(app, as_role, district, make_asset):
    vc = make_asset(district["csc"], "VCC")
    client = as_role("engineer")
    page = client.get(f"/assets/{vc.id}").get_data(as_text=True)
    assert "Log a test call" in page and "No test call has been logged yet." in page
    when = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    response = client.post(
        f"/devices/{vc.id}/test-calls/new",
        data={"at": local(when), "result": "partial", "remarks": "No audio <b>from DM</b>"},
    )
    assert response.status_code == 302 and response.location.endswith(f"/assets/{vc.id}")
    (call,) = db.session.scalars(sa.select(VcTestCall))
    assert (call.asset_id, call.site_id, call.result) == (vc.id, district["csc"].id, "partial")
    assert call.at == when and call.remarks == "No audio <b>from DM</b>"
    assert call.logged_by.role == "engineer"

    page = client.get(f"/assets/{vc.id}").get_data(as_text=True)
    assert "Partly worked" in page and "No audio &lt;b&gt;from DM&lt;/b&gt;" in page
    listing = client.get("/devices/test-calls").get_data(as_text=True)
    assert vc.tag in listing and "No audio &lt;b&gt;from DM&lt;/b&gt;" in listing
    assert "Partly worked" in client.get("/devices/test-calls?result=partial").get_data(True)
    none = client.get("/devices/test-calls?result=ok").get_data(as_text=True)
    assert "No test calls match these filters." in none


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"result": "failed", "remarks": ""}, "Say what went wrong in the remarks."),
        ({"result": "ok", "future": True}, "The test call cannot be in the future."),
        ({"result": "maybe"}, "Not a valid choice"),
        ({"result": "ok", "at": ""}, "Give the date and time of the call."),
        ({"result": "ok", "remarks": "x" * 2001}, "2000"),
    ],
)
def test_test_call_validation(as_role, district, make_asset, data, message):
    vc = make_asset(district["csc"], "VCC")
    when = datetime.now(UTC) + (timedelta(days=1) if data.pop("future", False) else -timedelta(1))
    form = {"at": local(when), "remarks": "", **data}
    response = as_role("engineer").post(f"/devices/{vc.id}/test-calls/new", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VcTestCall)) == 0


def test_test_calls_by_role_and_asset_kind(app, as_role, login, make_user, district, make_asset):
    vc = make_asset(district["csc"], "VCC")
    prj = make_asset(district["csc"], "PRJ")
    viewer = as_role("viewer")
    page = viewer.get(f"/assets/{vc.id}").get_data(as_text=True)
    assert "Video conferencing endpoint" in page and "Log a test call" not in page
    data = {"at": local(datetime.now(UTC)), "result": "ok"}
    assert viewer.post(f"/devices/{vc.id}/test-calls/new", data=data).status_code == 403
    engineer = login(make_user("engineer"), target_client=app.test_client())
    assert engineer.post(f"/devices/{prj.id}/test-calls/new", data=data).status_code == 404
    assert engineer.get("/devices/999999/test-calls/new").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VcTestCall)) == 0
    assert "No test call has been logged yet." in viewer.get("/devices/test-calls").get_data(
        as_text=True
    )
