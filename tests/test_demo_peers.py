"""The demo's projectors, VC endpoints and SSH router answer the product's own jobs.

The Gonda demo is loaded, the peers of a few sites are started (inventory.simulator.
demo_peers: pjlink-advance's emulator, TCP listeners, fake-switches) on free ports, so a demo
running on this machine (scripts/run: 4352, 5060, 1720, 2222) never meets them, and the
scheduler's jobs poll them from the database: pjlink-poll, vc-reachability and a
configuration fetch of the SSH router. What they record is what the VC-readiness board reads.
"""

from __future__ import annotations

import random
import socket
import sys

import pytest
import sqlalchemy as sa

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.devices.jobs import pjlink_poll, vc_reachability
from inventory.devices.models import ProjectorSample, ProjectorState, VcReachability
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.netconfig.models import ConfigVersion
from inventory.netconfig.services import fetch_now, manage_device
from inventory.simulator.demo_peers import PJLINK, SSH, VC, DemoPeers, plan_peers
from inventory.simulator.pjlink import PjlinkEmulators, ProjectorSpec
from inventory.sites.models import Site

SITES = ("TEH-CLG", "BLK-BLS", "BLK-ITY", "BLK-PSP", "BLK-KTB", "GON-EGC", "GON-COL")


def free_tcp_port(addresses: list[str]) -> int:
    """A TCP port free on every address (checked by binding it)."""
    for _attempt in range(200):
        port = random.randint(20000, 60000)
        sockets: list[socket.socket] = []
        try:
            for address in addresses:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind((address, port))
            return port
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free TCP port")


def _asset(site: str, category: str, status: str | None = None) -> Asset:
    query = (
        sa.select(Asset)
        .join(Site, Site.id == Asset.site_id)
        .join(Category, Category.id == Asset.category_id)
        .where(Site.code == site, Category.code == category)
    )
    if status:
        query = query.where(Asset.status == status)
    return db.session.scalars(query).one()


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    addresses = list(
        db.session.scalars(
            sa.select(Asset.management_address)
            .join(Site, Site.id == Asset.site_id)
            .where(Site.code.in_(SITES), Asset.management_address != "")
        )
    )
    ports: list[int] = []
    while len(ports) < 4:
        port = free_tcp_port(addresses)
        if port not in ports:
            ports.append(port)
    pjlink, sip, h323, ssh = ports
    # 443 needs root: never served, and the check still finds the codecs by the others.
    app.config.update(
        PJLINK_PORT=pjlink, VC_PORTS=[sip, h323, 443], PJLINK_TIMEOUT=3.0, VC_TIMEOUT=2.0
    )
    # The SWAN router of the e-Governance cell, managed over SSH (as the demo does from H2 on).
    manage_device(_asset("GON-EGC", "RTR"), "cisco_ios", port=ssh)
    db.session.commit()
    return {"pjlink": pjlink, "vc": [sip, h323], "ssh": ssh}


def test_demo_peers_answer_the_product_jobs(app, runner, demo, tmp_path):
    peers = plan_peers(SITES)
    kinds = {(p.kind, p.site) for p in peers}
    assert (VC, "BLK-PSP") not in kinds  # its codec is with the AMC engineer: silent
    assert (VC, "BLK-KTB") in kinds and (PJLINK, "BLK-PSP") in kinds
    assert (PJLINK, "GON-EGC") not in kinds  # the cell's spare projector is in store
    assert [(p.site, p.ports) for p in peers if p.kind == SSH] == [("GON-EGC", (demo["ssh"],))]
    assert all(p.ports == tuple(demo["vc"]) for p in peers if p.kind == VC)  # no 443
    listed = runner.invoke(args=["agents", "--list", *(f"--site={s}" for s in SITES)])
    assert listed.exit_code == 0, listed.output
    assert "lamp fused" in listed.output and "Cisco IOS (fake-switches)" in listed.output

    with DemoPeers(peers, tmp_path) as running:
        assert running.warnings == []
        assert running.served == {PJLINK: 6, VC: 5, SSH: 1}, running.summary()
        assert running.running
        now = utcnow()
        assert pjlink_poll(now).endswith(", 6 answered")
        assert vc_reachability(now).endswith(", 5 reachable")
        router = _asset("GON-EGC", "RTR")
        check = fetch_now(router, timeout=20.0)
        db.session.commit()
    assert not running.running
    for peer in peers:  # stopped: nothing listens any more
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((peer.address, peer.ports[0]), timeout=2).close()

    def projector(site: str) -> tuple[ProjectorState, ProjectorSample]:
        asset = _asset(site, "PRJ")
        sample = db.session.scalars(
            sa.select(ProjectorSample).where(
                ProjectorSample.asset_id == asset.id, ProjectorSample.at >= now
            )  # the demo's recorded history lies before
        ).one()
        return db.session.get(ProjectorState, asset.id), sample

    state, sample = projector("BLK-BLS")  # lamp fused
    assert (state.outcome, state.power, state.lamp_hours) == ("ok", "off", 4900)
    assert state.problems == {"lamp": "error"} and sample.worst_error == "error"
    state, sample = projector("BLK-ITY")  # overheated
    assert state.problems == {"temperature": "error", "fan": "error"}
    assert (state.outcome, state.power, sample.worst_error) == ("ok", "off", "error")
    state, sample = projector("TEH-CLG")  # lamp near its end: still ready
    assert (state.lamp_hours, state.problems, sample.worst_error) == (
        3950,
        {"lamp": "warning"},
        "warning",
    )
    state, _ = projector("GON-COL")  # the DM's hall projector, in use
    assert (state.power, state.pjlink_class, state.manufacturer) == ("on", "2", "EPSON")
    assert state.model == "EB-L520U" and state.lamps[0]["on"] is True
    for site in ("BLK-PSP", "BLK-KTB"):  # every other one answers without errors
        state, sample = projector(site)
        asset = _asset(site, "PRJ")
        assert (state.outcome, state.power, state.problems) == ("ok", "off", {})
        assert sample.worst_error == "ok" and 300 <= state.lamp_hours <= 3500
        assert state.name == asset.tag
        assert (state.manufacturer, state.model) == (
            {"Epson": "EPSON"}.get(asset.model.manufacturer.name, "BenQ"),
            asset.model.name,
        )
    # The projectors of the sites not started were polled too, and did not answer.
    answered = set(
        db.session.scalars(sa.select(ProjectorState.asset_id).where(ProjectorState.outcome == "ok"))
    )
    assert len(answered) == 6 < db.session.scalar(sa.select(sa.func.count(ProjectorState.asset_id)))

    for site in ("TEH-CLG", "BLK-BLS", "BLK-ITY", "BLK-KTB", "GON-COL"):
        reach = db.session.get(VcReachability, _asset(site, "VCC").id)
        assert reach.reachable and sorted(reach.open_ports) == sorted(demo["vc"]), site
    paraspur = db.session.get(VcReachability, _asset("BLK-PSP", "VCC").id)
    assert not paraspur.reachable and paraspur.open_ports == []

    assert check.outcome == "ok", check.error
    assert check.hostname == router.tag
    [version] = db.session.scalars(
        sa.select(ConfigVersion).where(ConfigVersion.asset_id == router.id)
    ).all()
    assert f"hostname {router.tag}" in version.text


def test_peers_that_cannot_run_are_left_out_with_a_warning(app, demo, tmp_path):
    peers = [p for p in plan_peers(("BLK-KTB",)) if p.kind == PJLINK]
    assert len(peers) == 1
    # An interpreter without pjlink-advance: the emulator never answers.
    with DemoPeers(peers, tmp_path, pjlink_python=sys.executable) as running:
        assert running.served == {} and running.running
        [warning] = running.warnings
        assert warning.startswith("projectors not simulated: ") and "\n" not in warning


def test_an_address_taken_is_an_error():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        fleet = PjlinkEmulators({"hall": ProjectorSpec()}, binds={"hall": ("127.0.0.1", port)})
        with pytest.raises(ValueError, match=f"hall on 127.0.0.1:{port}"):
            fleet.start()
        assert not fleet.running
