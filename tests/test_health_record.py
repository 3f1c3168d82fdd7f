"""Recording sweep outcomes: state machine and events, figures, interface rates, planning.

Probe results are built here by hand, so every rule is exercised exactly; the sweeps
against real SNMP agents are in test_sweep.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from inventory.extensions import db
from inventory.health import services
from inventory.health.models import (
    AssetHealth,
    HealthEvent,
    HealthSample,
    InterfaceSample,
    InterfaceState,
    SweepResult,
    SweepRun,
)
from inventory.probes.base import (
    INTERFACES,
    PRINTER,
    SYSTEM,
    UPS,
    InterfaceInfo,
    Outcome,
    ProbeResult,
    SnmpCredentials,
    SnmpData,
    SnmpTarget,
    StorageInfo,
    SupplyInfo,
    SystemInfo,
    UpsInfo,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MIN5 = timedelta(minutes=5)
GBIT = 1_000_000_000


@pytest.fixture
def profile(app):
    from inventory.credentials.services import save_profile

    saved = save_profile(
        None,
        {"name": "Routers v2c", "snmp_version": "v2c", "snmp_port": "16161"},
        {"snmp_community": "s3cret-community"},
    )
    db.session.commit()
    return saved


@pytest.fixture
def device(make_site, make_asset, profile):
    """A monitored asset: deployed, with an address and an SNMP profile."""
    site = make_site()

    def make(category="RTR", address="127.0.0.1", **fields):
        fields.setdefault("credential_profile_id", profile.id)
        return make_asset(fields.pop("site", site), category, management_address=address, **fields)

    return make


def planned(asset, groups=services.NETWORK_GROUPS, interval=300):
    target = SnmpTarget(asset.id, asset.management_address, SnmpCredentials(), groups=groups)
    return services.PlannedTarget(asset.id, interval, target)


def ok(asset, *, uptime=100_000, interfaces=(), **data) -> ProbeResult:
    system = SystemInfo(
        descr="Cisco IOS Software, C2900", object_id="1.3.6.1.4.1.9.1.1", name="rtr-hq"
    )
    system.uptime_ticks = None if uptime is None else uptime * 100
    return ProbeResult(
        asset.id,
        Outcome.OK,
        elapsed_ms=12.5,
        data=SnmpData(system=system, interfaces=list(interfaces), **data),
    )


def fail(asset, outcome=Outcome.TIMEOUT, message="no answer after 2 tries") -> ProbeResult:
    return ProbeResult(asset.id, outcome, message, elapsed_ms=4000.0)


def record(pairs, at, down_after=2, recheck_seconds=None):
    run = services.start_run(
        db.session, trigger="manual", scope="test", holder="test", started_at=at
    )
    done = services.record_results(
        db.session,
        run.id,
        pairs,
        at=at,
        planned_at=at,
        down_after=down_after,
        recheck_seconds=recheck_seconds,
    )
    db.session.commit()
    return done


def health(asset) -> AssetHealth:
    db.session.expire_all()
    return db.session.get(AssetHealth, asset.id)


def events(asset) -> list[HealthEvent]:
    return list(
        db.session.scalars(
            sa.select(HealthEvent).where(HealthEvent.asset_id == asset.id).order_by(HealthEvent.id)
        )
    )


def iface(asset, index) -> InterfaceState:
    db.session.expire_all()
    return db.session.get(InterfaceState, (asset.id, index))


def port(index=1, *, inn=0, out=0, bits=64, speed=GBIT, oper=1, **fields) -> InterfaceInfo:
    return InterfaceInfo(
        index=index,
        name=fields.pop("name", f"Gi0/{index}"),
        in_octets=inn,
        out_octets=out,
        counter_bits=bits,
        speed_bps=speed,
        oper_status=oper,
        admin_status=1,
        **fields,
    )


# -- the state machine -------------------------------------------------------------------


def test_an_answer_records_state_figures_and_one_result(device):
    router = device("RTR")
    data = {
        "cpu_loads": [10, 30],
        "storage": [
            StorageInfo(1, "ram", "Physical memory", size_bytes=1000, used_bytes=250),
            StorageInfo(2, "disk", "/", size_bytes=2000, used_bytes=1800),
            StorageInfo(3, "disk", "/var", size_bytes=2000, used_bytes=200),
        ],
        "entity_model": "CISCO2901/K9",
        "entity_serial": "FTX1234",
    }
    done = record([(planned(router), ok(router, uptime=3600, **data))], T0)
    assert done.counts == {"ok": 1} and done.events == []
    h = health(router)
    assert (h.state, h.state_since, h.consecutive_failures) == ("up", T0, 0)
    assert (h.last_polled_at, h.last_ok_at, h.last_outcome, h.last_error) == (T0, T0, "ok", "")
    assert h.next_due_at == T0 + MIN5
    assert h.uptime_seconds == 3600 and h.sys_name == "rtr-hq"
    assert h.sys_descr.startswith("Cisco IOS") and h.entity_model == "CISCO2901/K9"
    assert (h.cpu_pct, h.mem_pct, h.storage_pct) == (20.0, 25.0, 90.0)
    assert [row["pct"] for row in h.storage] == [25.0, 90.0, 10.0]
    results = db.session.scalars(sa.select(SweepResult)).all()
    assert [(r.asset_id, r.outcome, r.elapsed_ms) for r in results] == [(router.id, "ok", 12)]
    sample = db.session.scalars(sa.select(HealthSample)).one()
    assert (sample.at, sample.cpu_pct, sample.mem_pct, sample.storage_pct) == (T0, 20, 25, 90)
    run = db.session.scalars(sa.select(SweepRun)).one()
    assert (run.ok, run.failed) == (1, 0)


def test_down_after_two_failures_then_up_with_how_long(device):
    router = device("RTR")
    item = planned(router)
    record([(item, ok(router))], T0)
    record([(item, fail(router))], T0 + MIN5)
    h = health(router)
    assert (h.state, h.consecutive_failures, h.last_outcome) == ("up", 1, "timeout")
    assert h.last_error == "no answer after 2 tries" and h.last_ok_at == T0
    assert events(router) == []

    done = record([(item, fail(router))], T0 + 2 * MIN5)
    assert done.events == [(router.id, "down")]
    h = health(router)
    assert (h.state, h.state_since, h.consecutive_failures) == ("down", T0 + 2 * MIN5, 2)
    (down,) = events(router)
    assert (down.kind, down.at) == ("down", T0 + 2 * MIN5)
    assert "timeout" in down.message and "last answered 2026-03-02 10:00 UTC" in down.message

    record([(item, fail(router, Outcome.UNREACHABLE, "port unreachable"))], T0 + 3 * MIN5)
    assert len(events(router)) == 1  # still down: no second event
    assert health(router).state_since == T0 + 2 * MIN5

    done = record([(item, ok(router))], T0 + 14 * MIN5)
    assert done.events == [(router.id, "up")]
    h = health(router)
    assert (h.state, h.state_since, h.consecutive_failures, h.last_error) == (
        "up",
        T0 + 14 * MIN5,
        0,
        "",
    )
    up = events(router)[-1]
    assert (up.kind, up.at) == ("up", T0 + 14 * MIN5)
    assert up.message == "answering again after 1 h down"


def test_down_after_is_configurable(device):
    router = device("RTR")
    record([(planned(router), fail(router))], T0, down_after=1)
    assert health(router).state == "down"
    assert [e.kind for e in events(router)] == ["down"]


def test_a_device_that_never_answered_is_unknown_then_down(device):
    printer = device("PRN")
    item = planned(printer, services.PRINTER_GROUPS)
    record([(item, fail(printer, Outcome.AUTH_FAILED, "wrong community"))], T0)
    h = health(printer)
    assert (h.state, h.last_ok_at, h.last_outcome) == ("unknown", None, "auth_failed")
    record([(item, fail(printer, Outcome.AUTH_FAILED, ""))], T0 + MIN5)
    h = health(printer)
    assert h.state == "down" and h.last_error == "authentication failed"
    assert "never answered" in events(printer)[0].message


def test_a_failure_keeps_the_last_known_figures(device):
    ups = device("UPS")
    item = planned(ups, services.UPS_GROUPS)
    battery = UpsInfo(battery_status=2, minutes_remaining=42, charge_pct=87)
    record([(item, ok(ups, ups=battery))], T0)
    record([(item, fail(ups))], T0 + MIN5)
    h = health(ups)
    assert (h.battery_pct, h.battery_status, h.battery_minutes) == (87.0, 2, 42)
    assert h.sys_name == "rtr-hq" and h.last_polled_at == T0 + MIN5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HealthSample)) == 1


def test_next_due_follows_the_category_interval(device):
    router = device("RTR")
    record([(planned(router, interval=900), ok(router))], T0)
    assert health(router).next_due_at == T0 + timedelta(minutes=15)


def test_a_failure_is_confirmed_soon_then_the_interval_applies_again(device):
    router = device("RTR")
    t0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    record([(planned(router), fail(router))], t0, recheck_seconds=60)
    first = health(router)
    assert first.state == "unknown" and first.next_due_at == t0 + timedelta(seconds=60)
    t1 = t0 + timedelta(seconds=60)
    record([(planned(router), fail(router))], t1, recheck_seconds=60)
    assert health(router).state == "down"
    assert health(router).next_due_at == t1 + timedelta(seconds=300)
    t2 = t1 + timedelta(seconds=300)
    record([(planned(router), ok(router))], t2, recheck_seconds=60)
    assert health(router).next_due_at == t2 + timedelta(seconds=300)


def test_printer_supplies_give_the_lowest_toner(device):
    printer = device("PRN")
    supplies = [
        SupplyInfo(1, "Black Toner", kind=3, colour="black", level=3000, max_capacity=10000),
        SupplyInfo(2, "Cyan Toner", kind=3, colour="cyan", level=-3, max_capacity=6000),
        SupplyInfo(3, "Waste Toner Box", kind=4, level=5, max_capacity=100),
        SupplyInfo(4, "Drum", kind=9, level=-2, max_capacity=-2),
        SupplyInfo(5, "Magenta Toner", kind=3, level=9000, max_capacity=6000),
    ]
    record([(planned(printer, services.PRINTER_GROUPS), ok(printer, supplies=supplies))], T0)
    h = health(printer)
    assert h.toner_pct == 30.0  # the waste box at 5% and the unknown levels do not count
    assert [s["pct"] for s in h.supplies] == [30.0, None, 5.0, None, 100.0]
    assert h.supplies[1]["level"] == -3  # "some remaining" is kept for the page to say so
    assert db.session.scalars(sa.select(HealthSample)).one().toner_pct == 30.0


def test_hostile_and_broken_values_are_stored_safely(device):
    router = device("RTR")
    system = SystemInfo(
        descr="<script>alert(1)</script>\x00" + "A" * 5000,
        name="bad\udcffname",
        uptime_ticks="not a number",  # wrong type
        location=None,
    )
    data = SnmpData(
        system=system,
        cpu_loads=[50, "high", 250, float("nan")],
        storage=[StorageInfo(1, "ram", size_bytes=0, used_bytes=10)],
        interfaces=[
            InterfaceInfo(index=-4),
            InterfaceInfo(index="7"),
            InterfaceInfo(index=2, alias="x" * 1000, in_octets=-5, out_octets=2**70),
            InterfaceInfo(index=2, name="duplicate"),
        ],
        ups=UpsInfo(charge_pct=140, minutes_remaining=-1),
    )
    result = ProbeResult(router.id, Outcome.OK, elapsed_ms=float("inf"), data=data)
    record([(planned(router), result)], T0)
    h = health(router)
    assert h.sys_descr.startswith("<script>alert(1)</script>AAA") and len(h.sys_descr) == 1000
    assert "\x00" not in h.sys_descr and h.sys_name == "bad?name"
    assert h.uptime_seconds is None and h.sys_location == ""
    assert (h.cpu_pct, h.mem_pct, h.battery_pct, h.battery_minutes) == (50.0, None, None, None)
    (row,) = db.session.scalars(sa.select(InterfaceState)).all()
    assert (row.if_index, row.in_octets, row.out_octets, len(row.alias)) == (2, None, None, 255)
    assert db.session.scalars(sa.select(SweepResult)).one().elapsed_ms is None


def test_unknown_outcomes_become_errors(device):
    router = device("RTR")
    done = record([(planned(router), ProbeResult(router.id, "exploded", ""))], T0)
    assert done.counts == {"error": 1}
    assert "unknown outcome" in health(router).last_error


# -- interfaces and rates ----------------------------------------------------------------


def test_rates_from_counter_deltas(device):
    switch = device("SWT")
    item = planned(switch)
    record([(item, ok(switch, uptime=1000, interfaces=[port(1, inn=10_000, out=0)]))], T0)
    first = iface(switch, 1)
    assert (first.in_bps, first.out_bps, first.in_octets) == (None, None, 10_000)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InterfaceSample)) == 0

    interfaces = [port(1, inn=10_000 + 375_000, out=3_750)]
    record([(item, ok(switch, uptime=1300, interfaces=interfaces))], T0 + MIN5)
    row = iface(switch, 1)
    assert (row.in_bps, row.out_bps) == (10_000.0, 100.0)  # 375000 * 8 / 300
    sample = db.session.scalars(sa.select(InterfaceSample)).one()
    assert (sample.if_index, sample.at, sample.in_bps, sample.out_bps) == (
        1,
        T0 + MIN5,
        10_000.0,
        100.0,
    )


def test_32_bit_wrap_64_bit_reset_and_reboot(device):
    switch = device("SWT")
    item = planned(switch)
    near = 2**32 - 1_000
    ports = [port(1, inn=near, out=near, bits=32), port(2, inn=900, out=900)]
    record([(item, ok(switch, uptime=5000, interfaces=ports))], T0)
    # Port 1 (32-bit) wrapped past zero; port 2's 64-bit counters went down: a reset.
    interfaces = [port(1, inn=2_000, out=2_000, bits=32), port(2, inn=100, out=5_000)]
    record([(item, ok(switch, uptime=5300, interfaces=interfaces))], T0 + MIN5)
    assert iface(switch, 1).in_bps == 80.0
    assert (iface(switch, 2).in_bps, iface(switch, 2).out_bps) == (None, 109.0)  # whole bit/s

    # The device rebooted (uptime went back): no rate for that interval at all.
    interfaces = [port(1, inn=50_000, out=50_000, bits=32), port(2, inn=60_000, out=60_000)]
    record([(item, ok(switch, uptime=120, interfaces=interfaces))], T0 + 2 * MIN5)
    assert (iface(switch, 1).in_bps, iface(switch, 2).out_bps) == (None, None)
    assert iface(switch, 2).in_octets == 60_000  # the new base for the next rate
    # And the interval after that is measured again.
    interfaces = [port(1, inn=80_000, out=50_000, bits=32), port(2, inn=90_000, out=60_000)]
    record([(item, ok(switch, uptime=420, interfaces=interfaces))], T0 + 3 * MIN5)
    assert (iface(switch, 1).in_bps, iface(switch, 2).in_bps) == (800.0, 800.0)


def test_64_bit_counters_near_the_top_are_exact(device):
    """NUMERIC(20,0) on SQLite would round through a float; the column keeps every bit."""
    switch = device("SWT")
    item = planned(switch)
    top = 2**64 - 10_000
    record([(item, ok(switch, uptime=100, interfaces=[port(1, inn=top, out=2**63)]))], T0)
    assert (iface(switch, 1).in_octets, iface(switch, 1).out_octets) == (top, 2**63)
    interfaces = [port(1, inn=2**64 - 625, out=2**63 + 1)]
    record([(item, ok(switch, uptime=400, interfaces=interfaces))], T0 + MIN5)
    assert iface(switch, 1).in_bps == 250.0 and iface(switch, 1).out_bps == 0.0


def test_absurd_rates_are_dropped(device):
    switch = device("SWT")
    item = planned(switch)
    fast = [port(1, inn=0, speed=10_000_000)]  # a 10 Mbit/s port
    record([(item, ok(switch, uptime=100, interfaces=fast))], T0)
    # 1 GB in 5 minutes is 26.7 Mbit/s: more than twice what the port can carry.
    interfaces = [port(1, inn=1_000_000_000, out=0, speed=10_000_000)]
    record([(item, ok(switch, uptime=400, interfaces=interfaces))], T0 + MIN5)
    assert iface(switch, 1).in_bps is None and iface(switch, 1).out_bps == 0.0


def test_interface_table_follows_the_device(device):
    switch = device("SWT")
    item = planned(switch)
    ports = [port(1), port(2), port(3, oper=2)]
    record([(item, ok(switch, uptime=100, interfaces=ports))], T0)
    assert {r.if_index for r in db.session.scalars(sa.select(InterfaceState))} == {1, 2, 3}
    ports = [port(1, inn=300), port(3, inn=300, oper=2, alias="uplink <b>")]
    record([(item, ok(switch, uptime=400, interfaces=ports))], T0 + MIN5)
    rows = {r.if_index: r for r in db.session.scalars(sa.select(InterfaceState))}
    assert set(rows) == {1, 3} and rows[3].alias == "uplink <b>"
    # Both have rates; only the port that is up keeps history.
    assert rows[3].in_bps == 8.0
    assert [s.if_index for s in db.session.scalars(sa.select(InterfaceSample))] == [1]
    # An answer without interfaces (a UPS, or a walk that came back empty) keeps the table.
    record([(item, ok(switch, uptime=700))], T0 + 2 * MIN5)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InterfaceState)) == 2


def test_counter_rate_rules():
    rate = services.counter_rate
    assert rate(0, 3_000, bits=64, seconds=300) == 80.0
    assert rate(2**32 - 100, 200, bits=32, seconds=300) == 8.0
    assert rate(2**32 - 100, 200, bits=32, seconds=7200) is None  # may have wrapped twice
    assert rate(500, 200, bits=64, seconds=300) is None  # a 64-bit counter was reset
    assert rate(None, 200, bits=64, seconds=300) is None
    assert rate(0, 200, bits=64, seconds=None) is None
    assert rate(0, 10**9, bits=64, seconds=1, speed_bps=10**9) is None  # 8 Gbit/s on 1 Gbit/s
    assert rate(0, 10**8, bits=64, seconds=1, speed_bps=10**9) == 8e8


def test_poll_gap_rules():
    gap = services.poll_gap_seconds
    assert gap(None, None, T0, 100) is None
    assert gap(T0, 1000, T0 + MIN5, 1297) == 297.0  # the device's clock
    assert gap(T0, 1000, T0 + MIN5, 900) is None  # went back: rebooted
    assert gap(T0, 1000, T0 + MIN5, 1000) == 300.0  # frozen uptime: the sweep's clock
    assert gap(T0, 1000, T0 + timedelta(hours=2), 1100) is None  # restarted in between
    assert gap(T0, None, T0 + MIN5, None) == 300.0
    assert gap(T0, 1000, T0, 1000) is None


# -- batches, runs and planning ------------------------------------------------------------


def test_a_batch_writes_one_result_per_target_with_bulk_statements(app, device):
    assets = [device("SWT", f"127.0.0.{i}") for i in range(1, 31)]
    pairs = []
    for n, asset in enumerate(assets):
        result = ok(asset, interfaces=[port(1), port(2)]) if n % 3 else fail(asset)
        pairs.append((planned(asset), result))
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        done = record(pairs, T0)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert done.counts == {"ok": 20, "timeout": 10}
    results = db.session.execute(sa.select(SweepResult.asset_id, SweepResult.outcome)).all()
    assert sorted(a for a, _ in results) == sorted(a.id for a in assets)
    # A handful of statements for 30 devices and 40 interfaces, not one per row.
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) <= 12, writes
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InterfaceState)) == 40


def test_planning_picks_monitored_due_assets(app, device, make_site, profile):
    from inventory.catalog.services import get_category_by_code
    from inventory.credentials.services import save_profile

    hq = make_site("PLAN-HQ")
    block = make_site("PLAN-BLK", "block", hq)
    other = make_site("PLAN-OTH")
    no_snmp = save_profile(None, {"name": "SSH only", "snmp_version": "none"}, {})
    v3 = save_profile(
        None,
        {
            "name": "Switches v3",
            "snmp_version": "v3",
            "snmp_username": "sampada",
            "snmp_auth_protocol": "sha",
            "snmp_priv_protocol": "aes",
        },
        {"snmp_auth_key": "auth-key-123", "snmp_priv_key": "priv-key-123"},
    )
    db.session.commit()
    router = device("RTR", "10.1.1.1", site=hq)
    switch = device("SWT", "10.1.1.2", site=block, credential_profile_id=v3.id)
    printer = device("PRN", "10.1.1.3", site=other)
    ups = device("UPS", "10.1.1.4", site=hq, status="under_repair")
    device("RTR", "", site=hq)  # no address
    device("RTR", "10.1.1.6", site=hq, credential_profile_id=None)
    device("RTR", "10.1.1.7", site=hq, credential_profile_id=no_snmp.id)
    device("RTR", "10.1.1.8", site=hq, status="in_store")
    device("RTR", "10.1.1.9", site=hq, status="condemned")
    get_category_by_code("PRN").poll_interval_seconds = 900
    db.session.commit()

    def plan(**scope):
        return services.plan_targets(
            db.session, now=T0, default_interval=300, timeout=1.5, retries=2, **scope
        )

    items = {item.asset_id: item for item in plan()}
    assert set(items) == {router.id, switch.id, printer.id, ups.id}
    assert items[printer.id].interval_seconds == 900 and items[router.id].interval_seconds == 300
    assert items[printer.id].target.groups == {SYSTEM, PRINTER, INTERFACES}
    assert items[ups.id].target.groups == {SYSTEM, UPS}
    assert items[switch.id].target.groups == services.NETWORK_GROUPS
    target = items[router.id].target
    assert (target.address, target.port, target.timeout, target.retries) == (
        "10.1.1.1",
        16161,
        1.5,
        2,
    )
    assert target.credentials.community == "s3cret-community"
    v3_creds = items[switch.id].target.credentials
    assert (v3_creds.version, v3_creds.username, v3_creds.auth_protocol) == ("v3", "sampada", "sha")
    assert (v3_creds.auth_key, v3_creds.priv_protocol, v3_creds.priv_key) == (
        "auth-key-123",
        "aes",
        "priv-key-123",
    )
    assert "s3cret" not in repr(target)  # secrets stay out of reprs and logs

    # Polled a minute ago: not due; a scope polls regardless.
    record([(items[router.id], ok(router))], T0 - timedelta(minutes=1))
    assert {i.asset_id for i in plan()} == {switch.id, printer.id, ups.id}
    assert services.count_due(db.session, T0) == 3
    assert services.count_due(db.session, T0 + MIN5) == 4
    assert [i.asset_id for i in plan(asset_id=router.id, due_only=False)] == [router.id]
    in_hq = {i.asset_id for i in plan(site_id=hq.id, due_only=False)}
    assert in_hq == {router.id, switch.id, ups.id}  # the block below HQ included


def test_unreadable_credentials_fail_their_targets_only(app, device):
    router = device("RTR", "10.1.1.1")
    app.config["CREDENTIALS_KEYS"] = [Fernet.generate_key().decode()]  # the key was replaced
    (item,) = services.plan_targets(db.session, now=T0, default_interval=300, timeout=1, retries=0)
    assert item.asset_id == router.id and item.target is None
    assert "cannot be read" in item.error
    # Recorded as an error result, but a broken key is not the device being down.
    for minutes in (0, 5, 10):
        result = ProbeResult(router.id, Outcome.ERROR, item.error)
        record([(item, result)], T0 + timedelta(minutes=minutes))
    h = health(router)
    assert (h.state, h.consecutive_failures, h.last_outcome) == ("unknown", 0, "error")
    assert "cannot be read" in h.last_error and h.next_due_at == T0 + timedelta(minutes=15)
    assert events(router) == []


def test_mark_due_now(device):
    router = device("RTR")
    services.mark_due_now(db.session, router.id, T0)
    db.session.commit()
    assert health(router).next_due_at == T0 and health(router).state == "unknown"
    record([(planned(router), ok(router))], T0)
    services.mark_due_now(db.session, router.id, T0 + MIN5)
    db.session.commit()
    assert health(router).next_due_at == T0 + MIN5 and health(router).state == "up"


def test_format_duration():
    f = services.format_duration
    assert [f(5), f(60 * 12), f(3600), f(3600 + 300), f(86400 * 2 + 3600 * 4), f(86400)] == [
        "5 s",
        "12 min",
        "1 h",
        "1 h 5 min",
        "2 d 4 h",
        "1 d",
    ]
