"""Health pages: the asset panel, site and district summaries, chart data, runs, events,
"poll now"; with rows written straight into the health tables."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from support import RAW_MARKERS, escaped
from support import payload as hostile

from inventory.extensions import db
from inventory.health.models import (
    AssetHealth,
    HealthEvent,
    HealthHourly,
    HealthSample,
    InterfaceHourly,
    InterfaceSample,
    InterfaceState,
    SweepResult,
    SweepRun,
)
from inventory.models_base import utcnow


@pytest.fixture
def as_role(make_user, login):
    """A client signed in with a new user of the role, who reads English (as the asserts)."""

    def do(role):
        return login(make_user(role, locale="en"))

    return do


@pytest.fixture
def profile(app):
    from inventory.credentials.services import save_profile

    made = save_profile(
        None,
        plain={"name": "Block switches", "snmp_version": "v2c"},
        new_secrets={"snmp_community": "health-community"},
    )
    db.session.commit()
    return made


@pytest.fixture
def make_monitored(make_asset, profile):
    """An asset with a management address and credentials; with `state`, a health row too."""
    addresses = iter(range(1, 250))

    def make(site, category="SWT", state=None, model=None, serial=None, **health):
        asset = make_asset(
            site,
            category,
            model=model,
            serial=serial,
            management_address=f"10.20.0.{next(addresses)}",
            credential_profile_id=profile.id,
        )
        if state is not None:
            now = utcnow()
            health.setdefault("state_since", now - timedelta(hours=2))
            health.setdefault("last_polled_at", now - timedelta(minutes=3))
            health.setdefault("last_outcome", "ok" if state == "up" else "timeout")
            db.session.add(AssetHealth(asset_id=asset.id, state=state, **health))
            db.session.commit()
        return asset

    return make


def _body(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    return response.get_data(as_text=True)


# --- the asset panel --------------------------------------------------------------------


@pytest.fixture
def switch(district, make_monitored):
    now = utcnow()
    asset = make_monitored(
        district["block"],
        "SWT",
        state="up",
        model=("Cisco", "Catalyst 2960"),
        serial="FOC1234X0AB",
        uptime_seconds=3 * 86400 + 4 * 3600 + 5 * 60,
        last_ok_at=now - timedelta(minutes=3),
        sys_name="blk-mnk-sw1",
        sys_descr="Cisco IOS Software, C2960 Software",
        sys_location="Server room",
        sys_contact="noc@example.in",
        entity_model="WS-C2960X-24TS-L",
        entity_serial="FOC9999Z9ZZ",
        cpu_pct=37.0,
        mem_pct=64.5,
        storage_pct=12.0,
    )
    db.session.add_all(
        [
            InterfaceState(
                asset_id=asset.id,
                if_index=1,
                name="Gi0/1",
                descr="GigabitEthernet0/1",
                alias="Uplink to SWAN",
                admin_status=1,
                oper_status=1,
                speed_bps=1_000_000_000,
                in_bps=12_500_000.0,
                out_bps=2_000_000.0,
            ),
            InterfaceState(
                asset_id=asset.id,
                if_index=2,
                name="Gi0/2",
                admin_status=2,
                oper_status=2,
                speed_bps=100_000_000,
            ),
            HealthEvent(asset_id=asset.id, kind="down", at=now - timedelta(days=1), message="t/o"),
            HealthEvent(asset_id=asset.id, kind="up", at=now - timedelta(hours=2), message="back"),
        ]
    )
    db.session.commit()
    return asset


def test_asset_panel_shows_state_device_and_interfaces(switch, as_role):
    body = _body(as_role("viewer").get(f"/assets/{switch.id}"))
    assert 'id="health"' in body
    assert "badge-green" in body and ">Up<" in body
    assert "3 days 4 hours" in body  # uptime, as people say it
    for text in ("blk-mnk-sw1", "Cisco IOS Software, C2960 Software", "Server room"):
        assert text in body
    # ENTITY-MIB model and serial, and notes where they differ from the register.
    assert "WS-C2960X-24TS-L" in body and "The register says Catalyst 2960." in body
    assert "FOC9999Z9ZZ" in body and "The register says FOC1234X0AB." in body
    # CPU, memory and storage as meters (no inline style).
    assert re.search(r'<meter [^>]*value="37.0"', body)
    assert re.search(r'<meter [^>]*value="64.5"', body)
    # The interface table.
    assert "Gi0/1" in body and "Uplink to SWAN" in body
    assert "1 Gbit/s" in body and "12.5 Mbit/s" in body and "100 Mbit/s" in body
    # Charts: containers and the shipped library, no inline script or style.
    assert "data-health-charts" in body
    assert f'data-url="/health/assets/{switch.id}/chart.json"' in body
    assert "/static/vendor/uplot/uPlot.iife.min.js" in body
    assert "/static/js/health.js" in body
    assert '<option value="1" selected>' in body  # the busiest interface that is up
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    assert " style=" not in body
    # Recent events, newest first.
    assert body.index("Came back up") < body.index("Went down")
    # A viewer is not offered "poll now".
    assert "Poll now" not in body


def test_asset_panel_no_note_when_entity_matches(district, make_monitored, as_role):
    asset = make_monitored(
        district["block"],
        "SWT",
        state="up",
        model=("Cisco", "Catalyst 2960"),
        serial="FOC1",
        entity_model="cisco  catalyst 2960",
        entity_serial="foc1",
    )
    body = _body(as_role("viewer").get(f"/assets/{asset.id}"))
    assert "The register says" not in body


def test_asset_panel_printer_supplies_and_ups_battery(district, make_monitored, as_role):
    printer = make_monitored(
        district["block"],
        "PRN",
        state="up",
        toner_pct=18.0,
        supplies=[
            {"descr": "Black Toner", "colour": "black", "level": 1800, "max_capacity": 10000},
            {"descr": "Waste bin", "level": -3, "max_capacity": -2},
            {"descr": "Drum", "level": -2, "max_capacity": 100},
        ],
    )
    ups = make_monitored(
        district["block"],
        "UPS",
        state="up",
        battery_status=3,
        battery_pct=42.0,
        battery_minutes=95,
    )
    client = as_role("viewer")
    body = _body(client.get(f"/assets/{printer.id}"))
    assert "Supplies" in body and "Black Toner" in body
    assert re.search(r'<meter [^>]*optimum="100" value="18.0"', body)
    assert "some remaining" in body and "level not reported" in body
    body = _body(client.get(f"/assets/{ups.id}"))
    assert "Battery" in body and ">low<" in body
    assert re.search(r'<meter [^>]*value="42.0"', body)
    assert "1 hour 35 minutes" in body


def test_asset_never_polled_says_so(district, make_monitored, as_role):
    asset = make_monitored(district["block"], "RTR")  # monitored, no health row yet
    queued = make_monitored(district["block"], "RTR")
    db.session.add(AssetHealth(asset_id=queued.id, state="unknown", next_due_at=utcnow()))
    db.session.commit()
    client = as_role("engineer")
    for device in (asset, queued):
        body = _body(client.get(f"/assets/{device.id}"))
        assert 'id="health"' in body
        assert "has not been polled yet" in body
        assert ">Unknown<" in body
        assert "Poll now" in body


def test_asset_no_longer_monitored_shows_what_it_last_said(district, make_monitored, as_role):
    asset = make_monitored(district["block"], "RTR", state="up", sys_name="old-router")
    asset.status = "condemned"
    db.session.commit()
    body = _body(as_role("engineer").get(f"/assets/{asset.id}"))
    assert "This asset is no longer polled" in body and "old-router" in body
    assert "Poll now" not in body


def test_unmonitored_asset_has_no_health_panel(district, make_asset, as_role):
    asset = make_asset(district["csc"], "PRJ")
    body = _body(as_role("viewer").get(f"/assets/{asset.id}"))
    assert 'id="health"' not in body
    assert "uPlot" not in body


# --- chart data -------------------------------------------------------------------------


@pytest.fixture
def history(switch):
    """Raw samples every 30 minutes for 10 days, hourly rollups for 400 days (40 for traffic)."""
    now = utcnow()
    raw_times = [now - timedelta(minutes=30 * n + 1) for n in range(10 * 48)]
    hour = now.replace(minute=0, second=0, microsecond=0)
    hours = [hour - timedelta(hours=n + 1) for n in range(400 * 24)]
    a = switch.id
    tables = {
        HealthSample: [
            {"asset_id": a, "at": at, "cpu_pct": float(n % 100), "mem_pct": 50.0}
            for n, at in enumerate(raw_times)
        ],
        InterfaceSample: [
            {"asset_id": a, "if_index": 1, "at": at, "in_bps": 1e6 + n, "out_bps": 2e5}
            for n, at in enumerate(raw_times)
        ],
        HealthHourly: [
            {"asset_id": a, "hour": at, "polls": 12, "ok_polls": 9, "cpu_avg": 20.0} for at in hours
        ],
        InterfaceHourly: [
            {"asset_id": a, "if_index": 1, "hour": at, "samples": 12, "in_avg": 3e6}
            | {"in_max": 9e6, "out_avg": 1e6, "out_max": 4e6}
            for at in hours[: 40 * 24]
        ],
    }
    for model, rows in tables.items():
        db.session.execute(sa.insert(model), rows)
    db.session.commit()
    return switch


def _json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    return response.get_json()


@pytest.mark.parametrize(
    ("range_key", "source", "low", "high"),
    [
        # One sample per 30 minutes, one rollup per hour; one fewer when the clock passes
        # an hour between writing the rows and asking for them.
        ("24h", "raw", 47, 49),
        ("7d", "raw", 7 * 48 - 1, 7 * 48 + 1),
        ("30d", "hourly", 30 * 24 - 2, 30 * 24),
        ("1y", "hourly", 365 * 24 - 2, 365 * 24),
    ],
)
def test_device_chart_ranges(history, as_role, range_key, source, low, high):
    data = _json(as_role("viewer"), f"/health/assets/{history.id}/chart.json?range={range_key}")
    assert data["kind"] == "device" and data["range"] == range_key and data["source"] == source
    assert data["tz"] == "Asia/Kolkata"
    assert low <= len(data["t"]) <= high
    assert data["t"] == sorted(data["t"])
    assert data["start"] <= data["t"][0] and data["t"][-1] <= data["end"]
    keys = [s["key"] for s in data["series"]]
    if source == "raw":
        assert keys == ["cpu_pct", "mem_pct"]  # empty series (storage, battery, toner) left out
    else:
        assert keys == ["cpu_pct", "availability_pct"]
        availability = data["series"][1]["values"]
        assert set(availability) == {75.0}
    for series in data["series"]:
        assert len(series["values"]) == len(data["t"])


def test_default_range_is_24_hours_raw(history, as_role):
    data = _json(as_role("viewer"), f"/health/assets/{history.id}/chart.json")
    assert data["range"] == "24h" and data["source"] == "raw"


def test_interface_chart_raw_and_hourly(history, as_role):
    client = as_role("viewer")
    url = f"/health/assets/{history.id}/chart.json"
    raw = _json(client, f"{url}?range=7d&if=1")
    assert raw["kind"] == "interface" and raw["if_index"] == 1 and raw["source"] == "raw"
    assert [s["key"] for s in raw["series"]] == ["in_bps", "out_bps"]
    assert len(raw["series"][0]["values"]) == len(raw["t"]) > 300
    hourly = _json(client, f"{url}?range=1y&if=1")
    assert hourly["source"] == "hourly"
    assert [s["key"] for s in hourly["series"]] == [
        "in_bps",
        "out_bps",
        "in_peak_bps",
        "out_peak_bps",
    ]
    assert 40 * 24 - 1 <= len(hourly["t"]) <= 40 * 24
    assert hourly["series"][2]["values"][0] == 9e6
    # An interface with no history: columns, no series.
    empty = _json(client, f"{url}?range=24h&if=2")
    assert empty["t"] == [] and empty["series"] == []


def test_chart_requests_that_cannot_be_answered(history, as_role):
    client = as_role("viewer")
    url = f"/health/assets/{history.id}/chart.json"
    assert "ranges" in _json(client, f"{url}?range=2d", status=400)
    _json(client, f"{url}?if=abc", status=400)
    _json(client, f"{url}?if=99", status=404)
    assert client.get("/health/assets/999999/chart.json").status_code == 404


def test_chart_of_a_device_never_polled_is_empty(district, make_monitored, as_role):
    asset = make_monitored(district["block"])
    data = _json(as_role("viewer"), f"/health/assets/{asset.id}/chart.json?range=1y")
    assert data["t"] == [] and data["series"] == []


def test_chart_needs_a_signed_in_user(switch, client):
    response = client.get(f"/health/assets/{switch.id}/chart.json")
    assert response.status_code == 302 and "/login" in response.location


# --- poll now ---------------------------------------------------------------------------


@pytest.fixture
def fake_poll(monkeypatch):
    from inventory.health import services

    calls = []

    def poll_now(asset_id, actor):
        calls.append((asset_id, actor.username))
        return SimpleNamespace(ran=True, code="polled", outcome="ok", message="Polled: ok.")

    monkeypatch.setattr(services, "poll_now", poll_now)
    return calls


def test_engineer_polls_now_and_sees_the_message(switch, as_role, fake_poll):
    client = as_role("engineer")
    body = _body(client.get(f"/assets/{switch.id}"))
    assert "Poll now" in body
    assert f'action="/health/assets/{switch.id}/poll"' in body
    response = client.post(f"/health/assets/{switch.id}/poll")
    assert response.status_code == 302
    assert response.location.endswith(f"/assets/{switch.id}#health")
    assert len(fake_poll) == 1 and fake_poll[0][0] == switch.id
    body = _body(client.get(response.location))
    assert "Polled now: Answered." in body
    assert "flash-success" in body


@pytest.mark.parametrize(
    ("result", "text", "category"),
    [
        (
            {"ran": True, "code": "polled", "outcome": "timeout"},
            "Polled now: Timed out.",
            "warning",
        ),
        ({"ran": False, "code": "queued"}, "A sweep is running now", "info"),
        (
            {"ran": True, "code": "failed", "message": "lease lost"},
            "did not finish: lease lost",
            "error",
        ),
        (
            {"ran": False, "code": "other", "message": "Something else."},
            "Something else.",
            "warning",
        ),
    ],
)
def test_poll_now_results_in_the_users_words(switch, as_role, monkeypatch, result, text, category):
    from inventory.health import services

    answer = SimpleNamespace(**{"message": "", "outcome": None, **result})
    monkeypatch.setattr(services, "poll_now", lambda asset_id, actor: answer)
    client = as_role("manager")
    response = client.post(f"/health/assets/{switch.id}/poll", follow_redirects=True)
    body = _body(response)
    assert text in body and f"flash-{category}" in body


def test_poll_now_of_an_asset_that_is_not_monitored(district, make_asset, as_role):
    """The real service: nothing to poll, nothing sent on the network, a clear message."""
    asset = make_asset(district["csc"], "PRJ")
    client = as_role("engineer")
    body = _body(client.post(f"/health/assets/{asset.id}/poll", follow_redirects=True))
    assert "This asset is not monitored" in body
    assert client.post("/health/assets/999999/poll").status_code == 404


def test_viewer_cannot_poll_now(switch, as_role, fake_poll):
    response = as_role("viewer").post(f"/health/assets/{switch.id}/poll")
    assert response.status_code == 403
    assert fake_poll == []


def test_poll_now_needs_the_csrf_token(app, switch, make_user, fake_poll):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    user = make_user("engineer", locale="en")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/login",
        data={"username": user.username, "password": "correct-horse-battery", "csrf_token": token},
    )
    assert client.post(f"/health/assets/{switch.id}/poll").status_code == 400
    assert fake_poll == []
    body = client.get(f"/assets/{switch.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
    response = client.post(f"/health/assets/{switch.id}/poll", data={"csrf_token": token})
    assert response.status_code == 302 and len(fake_poll) == 1


# --- site and district ------------------------------------------------------------------


@pytest.fixture
def fleet(district, make_site, make_monitored, make_asset):
    """HQ > tehsil > block > CSC, a municipality under the tehsil, devices in each state."""
    now = utcnow()
    municipality = make_site("MUN-MNK", "municipality", district["tehsil"], name_en="Mankapur NP")
    devices = {
        "hq_up": make_monitored(district["hq"], "RTR", state="up"),
        "tehsil_down": make_monitored(
            district["tehsil"],
            "RTR",
            state="down",
            state_since=now - timedelta(days=2),
            last_error="No SNMP response received before the timeout",
        ),
        "block_up": make_monitored(district["block"], "SWT", state="up"),
        "block_unknown": make_monitored(district["block"], "SWT"),  # never polled
        "csc_down": make_monitored(
            district["csc"], "UPS", state="down", state_since=now - timedelta(hours=3)
        ),
        "csc_up": make_monitored(district["csc"], "PRN", state="up"),
        "mun_up": make_monitored(municipality, "SWT", state="up"),
    }
    make_asset(district["csc"], "DSK")  # not monitored: counted nowhere
    return {**district, "municipality": municipality, **devices}


def test_site_page_counts_own_and_child_subtrees(fleet, as_role):
    body = _body(as_role("viewer").get(f"/sites/{fleet['tehsil'].id}"))
    section = body[body.index('id="health-site-title"') :]
    tbody = section[section.index("<tbody>") : section.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
    cells = [
        re.findall(r'<td class="num[^"]*">(?:<a [^>]*>)?(?:<span class="muted">)?(\d+)', r)
        for r in rows
    ]
    # At this site: 1 down. Block and below: 2 up, 1 down, 1 unknown. Municipality: 1 up.
    assert "At this site" in rows[0] and cells[0] == ["0", "1", "0", "1"]
    by_child = {
        re.search(r">([^<]+)</a>", row).group(1): n for row, n in zip(rows, cells, strict=True)
    }
    assert by_child["Mankapur block"] == ["2", "1", "1", "4"]
    assert by_child["Mankapur NP"] == ["1", "0", "0", "1"]
    assert len(rows) == 3
    assert f"/health/?state=down&amp;site={fleet['block'].id}" in section
    assert f"/health/?state=down&amp;site={fleet['tehsil'].id}&amp;here=1" in section
    footer = section[section.index("<tfoot>") : section.index("</tfoot>")]
    assert re.findall(
        r'<td class="num[^"]*">(?:<a [^>]*>)?(?:<span class="muted">)?(\d+)', footer
    ) == [
        "3",
        "2",
        "1",
        "6",
    ]


def test_site_without_monitored_devices(district, make_asset, as_role):
    make_asset(district["csc"], "DSK")
    body = _body(as_role("viewer").get(f"/sites/{district['csc'].id}"))
    assert "No monitored devices at this site or below." in body


def test_health_list_filters(fleet, as_role):
    client = as_role("viewer")
    body = _body(client.get("/health/"))
    tags = re.findall(r"GON-[A-Z]{3}-\d{4}", body)
    # Down first (longest down first), then unknown, then up.
    assert tags[:3] == [fleet["tehsil_down"].tag, fleet["csc_down"].tag, fleet["block_unknown"].tag]
    assert len(set(tags)) == 7
    body = _body(client.get(f"/health/?state=down&site={fleet['block'].id}"))
    assert fleet["csc_down"].tag in body and fleet["tehsil_down"].tag not in body
    body = _body(client.get(f"/health/?site={fleet['block'].id}&here=1"))
    assert fleet["block_up"].tag in body and fleet["csc_up"].tag not in body
    ups = fleet["csc_down"].category_id
    body = _body(client.get(f"/health/?category={ups}"))
    assert fleet["csc_down"].tag in body and fleet["csc_up"].tag not in body
    body = _body(client.get("/health/?state=bogus&site=abc&category=999999"))
    assert len(set(re.findall(r"GON-[A-Z]{3}-\d{4}", body))) == 7


def test_dashboard_health_overview(fleet, as_role):
    now = utcnow()
    db.session.add_all(
        [
            SweepRun(
                started_at=now - timedelta(minutes=20),
                finished_at=now - timedelta(minutes=19),
                status="finished",
                targets=5,
                ok=5,
            ),
            SweepRun(
                started_at=now - timedelta(minutes=5),
                finished_at=now - timedelta(minutes=5) + timedelta(seconds=8),
                status="finished",
                targets=7,
                ok=4,
                failed=3,
                duration_ms=8200,
            ),
        ]
    )
    db.session.commit()
    body = _body(as_role("viewer").get("/"))
    section = body[body.index('id="health-overview-title"') :]
    # Totals.
    assert re.search(r'state-up"><div class="stat">4<', section)
    assert re.search(r'state-down"><div class="stat">2<', section)
    assert re.search(r'state-unknown"><div class="stat">1<', section)
    # Down now, oldest first, with since when.
    down = section[section.index("Down now") : section.index("By category")]
    assert down.index(fleet["tehsil_down"].tag) < down.index(fleet["csc_down"].tag)
    assert "for 2 days" in down and "for 3 hours" in down
    assert "No SNMP response received before the timeout" in down
    # The last sweep's record, linking to the runs.
    last = section[section.index("Last sweep") :]
    assert "8.2 s" in last and ">7<" in last and ">4<" in last
    assert "/health/runs" in last
    # By site: tehsil, block and municipality rows; by category.
    by_site = section[section.index("By tehsil, block and municipality") :]
    for name in ("Mankapur", "Mankapur block", "Mankapur NP"):
        assert f">{name}</a>" in by_site
    assert "CSC Babhanjot" not in by_site and "Gonda HQ" not in by_site
    by_category = section[section.index("By category") : section.index("By tehsil")]
    assert ">Router<" in by_category and ">UPS<" in by_category and ">Desktop<" not in by_category


def test_dashboard_before_any_sweep(district, make_asset, as_role):
    body = _body(as_role("viewer").get("/"))
    assert "No sweep has run yet." in body
    assert "No device is monitored yet." in body


# --- runs and events --------------------------------------------------------------------


@pytest.fixture
def sweep(fleet):
    now = utcnow()
    run = SweepRun(
        started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=4),
        status="finished",
        trigger="schedule",
        targets=3,
        ok=1,
        failed=2,
        duration_ms=950,
    )
    db.session.add(run)
    db.session.flush()
    db.session.add_all(
        [
            SweepResult(run_id=run.id, asset_id=fleet["hq_up"].id, outcome="ok", elapsed_ms=40),
            SweepResult(
                run_id=run.id,
                asset_id=fleet["tehsil_down"].id,
                outcome="timeout",
                message="no answer in 2.0 s",
                elapsed_ms=4000,
            ),
            SweepResult(
                run_id=run.id,
                asset_id=fleet["csc_down"].id,
                outcome="auth_failed",
                message="unknown user name",
            ),
        ]
    )
    db.session.commit()
    return run


def test_runs_list_and_detail_filtered_by_outcome(sweep, fleet, as_role):
    client = as_role("viewer")
    body = _body(client.get("/health/runs"))
    assert f"/health/runs/{sweep.id}" in body and "950 ms" in body and "Scheduled" in body
    body = _body(client.get(f"/health/runs/{sweep.id}"))
    for key in ("hq_up", "tehsil_down", "csc_down"):
        assert fleet[key].tag in body
    assert body.index(fleet["tehsil_down"].tag) < body.index(fleet["hq_up"].tag)  # failures first
    body = _body(client.get(f"/health/runs/{sweep.id}?outcome=timeout"))
    assert fleet["tehsil_down"].tag in body and "no answer in 2.0 s" in body
    assert fleet["hq_up"].tag not in body and fleet["csc_down"].tag not in body
    body = _body(client.get(f"/health/runs/{sweep.id}?outcome=unreachable"))
    assert "No device had this outcome in this sweep." in body
    assert client.get("/health/runs/999999").status_code == 404


def test_runs_paginate(app, as_role):
    now = utcnow()
    db.session.add_all(
        SweepRun(started_at=now - timedelta(minutes=5 * n), status="finished", targets=n)
        for n in range(app.config["PAGE_SIZE"] + 5)
    )
    db.session.commit()
    client = as_role("viewer")
    first = _body(client.get("/health/runs"))
    assert first.count("/health/runs/") == app.config["PAGE_SIZE"]
    assert "?page=2" in first
    second = _body(client.get("/health/runs?page=2"))
    assert second.count("/health/runs/") == 5
    assert _body(client.get("/health/runs?page=99")).count("/health/runs/") == 0


def test_no_sweeps_yet(as_role):
    body = _body(as_role("viewer").get("/health/runs"))
    assert "No sweep has run yet." in body


def test_events_filtered_by_kind_site_and_asset(fleet, as_role):
    now = utcnow()
    db.session.add_all(
        [
            HealthEvent(asset_id=fleet["tehsil_down"].id, kind="down", at=now - timedelta(days=2)),
            HealthEvent(asset_id=fleet["csc_down"].id, kind="down", at=now - timedelta(hours=3)),
            HealthEvent(asset_id=fleet["csc_up"].id, kind="up", at=now - timedelta(hours=1)),
        ]
    )
    db.session.commit()
    client = as_role("viewer")
    body = _body(client.get("/health/events"))
    tags = re.findall(r"GON-[A-Z]{3}-\d{4}", body[body.index("<tbody>") :])
    assert tags == [fleet["csc_up"].tag, fleet["csc_down"].tag, fleet["tehsil_down"].tag]
    body = _body(client.get("/health/events?kind=down"))
    assert fleet["csc_up"].tag not in body and fleet["csc_down"].tag in body
    body = _body(client.get(f"/health/events?site={fleet['block'].id}"))
    assert fleet["tehsil_down"].tag not in body and fleet["csc_down"].tag in body
    body = _body(client.get(f"/health/events?asset={fleet['csc_up'].id}"))
    assert fleet["csc_up"].tag in body and fleet["csc_down"].tag not in body
    body = _body(client.get("/health/events?kind=sideways&site=nope"))
    assert len(re.findall(r"GON-[A-Z]{3}-\d{4}", body[body.index("<tbody>") :])) == 3
    assert "No events match." in _body(
        client.get(f"/health/events?site={fleet['municipality'].id}")
    )


# --- hostile device data ----------------------------------------------------------------


def _check_escaped(body: str, *markers: str) -> None:
    for raw in RAW_MARKERS:
        assert raw not in body, raw
    assert "&amp;lt;" not in body, "escaped twice"
    for marker in markers:
        assert escaped(marker) in body, marker


def test_device_strings_are_escaped_on_every_page(district, make_monitored, as_role):
    now = utcnow()
    asset = make_monitored(
        district["block"],
        "SWT",
        state="down",
        state_since=now - timedelta(hours=1),
        sys_name=hostile("SYSNAME"),
        sys_descr=hostile("SYSDESCR"),
        sys_location=hostile("SYSLOC"),
        sys_contact=hostile("SYSCONTACT"),
        entity_model=hostile("ENTMODEL"),
        entity_serial=hostile("ENTSERIAL"),
        last_error=hostile("LASTERROR"),
        supplies=[
            {
                "descr": hostile("SUPPLY"),
                "colour": hostile("COLOUR"),
                "level": 5,
                "max_capacity": 10,
            }
        ],
        storage=[
            {"descr": hostile("STORAGE"), "kind": "disk", "size_bytes": 100, "used_bytes": 50}
        ],
    )
    run = SweepRun(status="finished", targets=1, failed=1, message=hostile("RUNMSG"))
    db.session.add_all(
        [
            InterfaceState(
                asset_id=asset.id,
                if_index=7,
                name=hostile("IFNAME"),
                descr=hostile("IFDESCR"),
                alias=hostile("IFALIAS"),
                oper_status=1,
            ),
            HealthEvent(asset_id=asset.id, kind="down", at=now, message=hostile("EVENT")),
            run,
        ]
    )
    db.session.flush()
    db.session.add(
        SweepResult(run_id=run.id, asset_id=asset.id, outcome="error", message=hostile("RESULT"))
    )
    db.session.commit()
    client = as_role("engineer")

    body = _body(client.get(f"/assets/{asset.id}"))
    _check_escaped(
        body,
        "SYSNAME",
        "SYSDESCR",
        "SYSLOC",
        "SYSCONTACT",
        "ENTMODEL",
        "ENTSERIAL",
        "LASTERROR",
        "SUPPLY",
        "COLOUR",
        "STORAGE",
        "IFNAME",
        "IFDESCR",
        "IFALIAS",
        "EVENT",
    )
    _check_escaped(_body(client.get("/")), "LASTERROR")
    _check_escaped(_body(client.get("/health/")), "SYSNAME", "LASTERROR")
    _check_escaped(_body(client.get("/health/runs")), "RUNMSG")
    _check_escaped(_body(client.get(f"/health/runs/{run.id}")), "RUNMSG", "RESULT")
    _check_escaped(_body(client.get("/health/events")), "EVENT")
    _check_escaped(_body(client.get(f"/sites/{district['block'].id}")))


# --- formatting -------------------------------------------------------------------------


def test_duration_and_bitrate_filters(app):
    from inventory.health.views import bitrate, duration, millis

    with app.test_request_context():
        assert duration(0) == "0 seconds"
        assert duration(59) == "59 seconds"
        assert duration(61) == "1 minute 1 second"
        assert duration(3600) == "1 hour"
        assert duration(90061) == "1 day 1 hour"
        assert duration(400 * 86400 + 7200) == "400 days 2 hours"
        assert duration(None) == ""
        assert bitrate(None) == ""
        assert bitrate(950) == "950 bit/s"
        assert bitrate(12_500) == "12.5 kbit/s"
        assert bitrate(100_000_000) == "100 Mbit/s"
        assert bitrate(10_000_000_000) == "10 Gbit/s"
        assert millis(350) == "350 ms" and millis(8200) == "8.2 s" and millis(None) == ""
