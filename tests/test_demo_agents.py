"""The demo is alive: `inventory agents` serves real recordings on the demo assets' addresses.

The agents are started for two sites of the loaded Gonda demo (so that only a few recordings
are indexed) and read through the product's own path: the sweep (`inventory sweep`, which
plans targets from the database and probes them with inventory.probes.snmp.run_batch), with
Net-SNMP's snmpget as an independent check. The demo profiles are moved to a free port first,
so a demo running on this machine (scripts/run, port 16161) and these tests never meet.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from agents import free_udp_port

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.credentials.models import CredentialProfile
from inventory.credentials.services import read_secrets
from inventory.demo import CATALOGUE, DEMO_SNMP_PORT, SWAN_PROFILE, asset_plan
from inventory.extensions import db
from inventory.health.models import AssetHealth, SweepResult
from inventory.health.services import plan_targets
from inventory.models_base import utcnow
from inventory.probes.snmp import run_batch
from inventory.simulator.demo_agents import (
    DEMO_TROUBLE,
    RECORDINGS,
    DemoAgents,
    _records,
    plan_devices,
    recording_for,
    render,
    source_path,
)
from inventory.sites.models import Site

SITES = ("TEH-TRB", "BLK-KTB")  # small recordings only; a silent router, a dead battery
SNMP = re.compile(r"^[0-9]+(\.[0-9]+)*\|[0-9a-z]+(:numeric)?\|", re.M)


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output


def _asset(site: str, category: str, location: str) -> Asset:
    return db.session.scalars(
        sa.select(Asset)
        .join(Site, Site.id == Asset.site_id)
        .join(Category, Category.id == Asset.category_id)
        .where(Site.code == site, Category.code == category, Asset.location == location)
    ).one()


def test_every_demo_device_gets_a_recording_or_a_reason(demo):
    devices = plan_devices()
    managed = [e for e in asset_plan(date.today()) if e["fields"]["management_address"]]
    assert len(devices) == len(managed) > 150
    assert {d.access.port for d in devices} == {DEMO_SNMP_PORT}
    assert len({d.endpoint for d in devices}) == len(devices)
    silent = {d.tag: d.remark for d in devices if d.recording is None}
    assert 5 <= len(silent) <= 8, silent
    assert all(silent.values())
    # Every model with a management address has a recording; every trouble is one asset.
    for item, (code, _years, has_address, models) in CATALOGUE.items():
        if has_address:
            assert all(recording_for(m.maker, m.name, code) for m in models), item
    for site, category, location in DEMO_TROUBLE:
        _asset(site, category, location)
    counts = Counter(d.recording for d in devices)
    assert set(counts) - {None} == set(RECORDINGS)


def test_recordings_exist_and_render_as_snmprec():
    for name, recording in RECORDINGS.items():
        source = source_path(recording)
        assert source is None or source.is_file(), name
    for name in ("broadband-router", "ups-dead-battery", "projector", "printer"):
        text = render(RECORDINGS[name]).decode("latin-1")
        records = _records(text)
        assert records and all(SNMP.match(f"{o}|{t}|") for o, t, _v in records), name
        oids = [o for o, _t, _v in records]
        values = {o: (t, v) for o, t, v in records}
        if name == "broadband-router":  # its TCP connection tables are left out
            assert not [o for o in oids if o.startswith("1.3.6.1.2.1.6.13.")]
            assert "1.3.6.1.2.1.2.2.1.2.4" in values  # the rest is there (WAN1)
        if name == "ups-dead-battery":
            assert values["1.3.6.1.2.1.33.1.2.4.0"] == ("2", "9")
        # alive: the uptime ticks and the traffic of interfaces that are up grows
        assert values["1.3.6.1.2.1.1.3.0"][0] == "67:numeric", name


@pytest.fixture
def agents(demo):
    """The agents of SITES on a free port, in a work dir the agents' user can read."""
    devices = plan_devices(SITES)
    port = free_udp_port(sorted({d.address for d in devices}))
    db.session.execute(sa.update(CredentialProfile).values(snmp_port=port))
    db.session.commit()
    workdir = Path(tempfile.mkdtemp(prefix="demo-agents-"))
    running = DemoAgents(plan_devices(SITES), workdir, processes=1)
    try:
        yield running.start(timeout=120)
    finally:
        running.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _health(site: str, category: str, location: str) -> AssetHealth:
    asset = _asset(site, category, location)
    db.session.expire_all()
    return db.session.get(AssetHealth, asset.id)


def test_the_demo_devices_answer_through_the_product(app, agents, runner):
    assert {d.site for d in agents.devices} == set(SITES)
    assert agents.silent and agents.served
    # Block Katra Bazar (a leaf site): the sweep the scheduler runs, from the database.
    app.config.update(HEALTH_TIMEOUT=1.0, HEALTH_RETRIES=1)  # the silent router costs 2 s
    result = runner.invoke(args=["sweep", "--site", "BLK-KTB"])
    assert result.exit_code == 0, result.output
    outcomes = Counter(db.session.scalars(sa.select(SweepResult.outcome)))
    assert outcomes == {"ok": 5, "timeout": 1}, result.output
    router = _health("BLK-KTB", "RTR", "Server rack")  # power supply failed: no agent
    assert router.last_outcome == "timeout" and router.state != "up"
    ups = _health("BLK-KTB", "UPS", "Server rack")
    assert (ups.state, ups.sys_descr, ups.battery_pct, ups.battery_status) == (
        "up",
        "My Kert UPS",
        100,
        2,
    )
    switch = _health("BLK-KTB", "SWT", "Server rack")  # SNMPv3 authPriv, SHA/AES
    assert switch.sys_descr == "D-Link DES-3028 Fast Ethernet Switch"
    printer = _health("BLK-KTB", "PRN", "Counter 1")
    assert printer.sys_descr.startswith("HP ETHERNET MULTI-ENVIRONMENT")
    assert printer.toner_pct is not None and printer.supplies
    codec = _health("BLK-KTB", "VCC", "Meeting hall")
    assert codec.sys_descr.startswith("Linux cray")
    projector = _health("BLK-KTB", "PRJ", "Meeting hall")
    assert projector.state == "up" and "projector" in projector.sys_descr

    # Tehsil Tarabganj: a Cisco router over SNMPv3 and the UPS whose batteries are dead,
    # probed the same way (targets planned from the database, inventory.probes.snmp).
    router = _asset("TEH-TRB", "RTR", "Server rack")
    ups = _asset("TEH-TRB", "UPS", "Server rack")
    planned = plan_targets(
        db.session, now=utcnow(), default_interval=300, timeout=2.0, retries=1, due_only=False
    )
    targets = [p.target for p in planned if p.asset_id in (router.id, ups.id)]
    results = {r.key: r for r in run_batch(targets)}
    assert results[router.id].ok, results[router.id]
    system = results[router.id].data.system
    assert system.descr == "Cisco Internetwork Operating System Software"
    assert system.object_id == "1.3.6.1.4.1.9.1.366"
    assert len(results[router.id].data.interfaces) == 28
    assert results[ups.id].ok, results[ups.id]
    battery = results[ups.id].data.ups
    assert (battery.charge_pct, battery.battery_status, battery.minutes_remaining) == (9, 3, 1)

    if shutil.which("snmpget"):  # .ci/run installs Net-SNMP's tools
        _net_snmp_reads_the_same_devices_and_uptime_ticks()


def _net_snmp_reads_the_same_devices_and_uptime_ticks() -> None:
    router = _asset("TEH-TRB", "RTR", "Server rack")
    profile = router.credential_profile
    assert profile.name == SWAN_PROFILE
    keys = read_secrets(profile)
    target = f"{router.management_address}:{profile.snmp_port}"
    v3 = ["-v3", "-l", "authPriv", "-u", profile.snmp_username, "-a", "SHA"]
    v3 += ["-A", keys["snmp_auth_key"], "-x", "AES", "-X", keys["snmp_priv_key"]]

    def uptime() -> int:
        output = subprocess.run(
            ["snmpget", *v3, "-Ovqt", "-t", "3", target, "1.3.6.1.2.1.1.3.0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(output.strip())

    first = uptime()
    time.sleep(1.1)
    second = uptime()
    assert first > 250_000_000 and 100 <= second - first < 1000  # ticks: alive

    ups = _asset("TEH-TRB", "UPS", "Server rack")
    community = read_secrets(ups.credential_profile)["snmp_community"]
    output = subprocess.run(
        ["snmpget", "-v2c", "-c", community, "-Ovq", "-t", "3",
         f"{ups.management_address}:{profile.snmp_port}", "1.3.6.1.2.1.33.1.2.4.0"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert output.strip() == "9"
    wrong = subprocess.run(
        ["snmpget", "-v2c", "-c", "public", "-t", "1", "-r", "0",
         f"{ups.management_address}:{profile.snmp_port}", "1.3.6.1.2.1.1.1.0"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert wrong.returncode != 0 and "Timeout" in wrong.stderr + wrong.stdout
