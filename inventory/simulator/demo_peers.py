"""The Gonda demo's other peers: PJLink projectors, VC endpoints and the SSH router.

`inventory agents` (demo_agents.py) starts them beside the SNMP agents, with the same
lifetime, for the demo assets with a loopback management address; `plan_peers` says who
gets what and `inventory agents --list` prints it. Assets in store or condemned are
switched off.

- PJLink: every projector in the field is served by pjlink-advance's emulator
  (inventory.simulator.pjlink, in its own Python 3.13 venv) at its address and PJLINK_PORT.
  DEMO_PROJECTORS gives a few of them trouble (a fused lamp, overheating, a lamp near its
  end) or use (the Collectorate hall's, on, class 2); the rest are class 1, off, without
  errors, with lamp hours drawn from the asset tag, the tag as their name and the register's
  make and model. No Python 3.13 for the emulator: a warning, and no projectors.
- VC: every deployed VC codec (category VCC) accepts TCP connections, and closes them, at
  each of VC_PORTS from 1024 up (443 would need root): what the reachability check tries.
  One asyncio loop in a thread. A codec DEMO_TROUBLE silences (Paraspur's) gets none.
- SSH: each device managed over SSH as cisco_ios is a fake-switches Cisco IOS switch at its
  address and port, with its credentials profile's SSH user and password (which is the
  enable password too), so the nightly configuration backup works. One child process
  (``python -m inventory.simulator.demo_peers --fake-switches``) runs them through the
  library's classes: the package's own launcher is broken on Python 3. No fake-switches
  installed: a warning, and no SSH peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import ipaddress
import json
import re
import select
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from inventory.devices.demo import demo_lamp_hours
from inventory.simulator.pjlink import EmulatorUnavailable, PjlinkEmulators, ProjectorSpec

PJLINK, VC, SSH = "PJLink", "VC", "SSH"
START_TIMEOUT = 30.0

# Site code -> (what its projector reports beyond the defaults, why). One projector a site.
DEMO_PROJECTORS: dict[str, tuple[dict, str]] = {
    "BLK-BLS": ({"lamps": [4900], "errors": {"lamp": "error"}}, "lamp fused"),
    "BLK-ITY": ({"errors": {"temperature": "error", "fan": "error"}}, "overheated, fan failed"),
    "TEH-CLG": ({"lamps": [3950], "errors": {"lamp": "warning"}}, "lamp near its end"),
    "GON-COL": ({"pj_class": 2, "power": "on"}, "in use in the meeting hall"),
}
# How makers name themselves over PJLink (INF1), where not as in the register.
PJLINK_MAKERS = {"Epson": "EPSON"}
FAKE_SWITCH_MODEL = "cisco_generic"  # fake-switches' Cisco IOS


@dataclass(frozen=True)
class Peer:
    """One simulated device: what it is (PJLINK, VC or SSH), where, and what it answers."""

    kind: str
    tag: str
    site: str
    address: str
    ports: tuple[int, ...]
    about: str
    projector: ProjectorSpec | None = field(default=None, compare=False)
    username: str = ""
    password: str = field(default="", repr=False)


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip()) in ipaddress.IPv4Network("127.0.0.0/8")
    except ValueError:
        return False


def projector_of(asset, password: str = "") -> tuple[ProjectorSpec, str]:
    """The emulated projector of an asset, and why it is in trouble ("" when it is not)."""
    maker = asset.model.manufacturer.name if asset.model else ""
    settings, remark = DEMO_PROJECTORS.get(asset.site.code, ({}, ""))
    hours = demo_lamp_hours(asset.tag)  # where the demo's recorded history ends
    spec = ProjectorSpec(
        pj_class=1,
        password=password or None,
        power="off",
        lamps=[hours],
        errors={},
        name=asset.tag,
        manufacturer=PJLINK_MAKERS.get(maker, maker)[:32],
        model=(asset.model.name if asset.model else "")[:32],
        serial=(asset.serial or "")[:32],
    )
    return replace(spec, **settings), remark


def plan_peers(sites: Sequence[str] = ()) -> list[Peer]:
    """The PJLink, VC and SSH peers of the demo assets (of `sites`, when given), with the
    ports of the app's configuration."""
    import sqlalchemy as sa
    from flask import current_app

    from inventory.assets.models import Asset
    from inventory.catalog.models import Category
    from inventory.choices import AssetStatus, CategoryGroup, SshDeviceType
    from inventory.credentials.services import read_secrets
    from inventory.extensions import db
    from inventory.netconfig.models import SshDevice
    from inventory.simulator.demo_agents import DEMO_TROUBLE, SWITCHED_OFF
    from inventory.sites.models import Site

    pjlink_port = int(current_app.config["PJLINK_PORT"])
    vc_ports = tuple(p for p in map(int, current_app.config["VC_PORTS"]) if p >= 1024)
    query = (
        sa.select(Asset)
        .join(Site, Site.id == Asset.site_id)
        .join(Category, Category.id == Asset.category_id)
        .where(Asset.management_address != "", Asset.status.not_in(SWITCHED_OFF))
        .order_by(Asset.id)
    )
    if sites:
        query = query.where(Site.code.in_(list(sites)))
    peers: list[Peer] = []
    for asset in db.session.scalars(query):
        address, site = asset.management_address.strip(), asset.site.code
        if not _loopback(address):
            continue  # a real device: never simulated
        if asset.category.group == CategoryGroup.PROJECTOR.value:
            profile = asset.credential_profile
            password = read_secrets(profile).get("pjlink_password", "") if profile else ""
            spec, remark = projector_of(asset, password)
            about = f"class {spec.pj_class}, {spec.power}, lamp {max(spec.lamps)} h"
            about += f" ({remark})" if remark else ""
            peers.append(Peer(PJLINK, asset.tag, site, address, (pjlink_port,), about, spec))
        elif asset.category.code == "VCC" and asset.status == AssetStatus.DEPLOYED.value:
            silent = DEMO_TROUBLE.get((site, "VCC", asset.location), ("", ""))[0] is None
            if vc_ports and not silent:
                peers.append(Peer(VC, asset.tag, site, address, vc_ports, "codec: accepts TCP"))
    query = (
        sa.select(SshDevice)
        .join(Asset, Asset.id == SshDevice.asset_id)
        .join(Site, Site.id == Asset.site_id)
        .where(
            SshDevice.device_type == SshDeviceType.CISCO_IOS.value,
            Asset.status.not_in(SWITCHED_OFF),
        )
        .order_by(Asset.id)
    )
    if sites:
        query = query.where(Site.code.in_(list(sites)))
    for device in db.session.scalars(query):
        asset, profile = device.asset, device.asset.credential_profile
        address = asset.management_address.strip()
        if not _loopback(address) or profile is None or not profile.ssh_username:
            continue
        password = read_secrets(profile).get("ssh_password", "")
        about = f"Cisco IOS (fake-switches), user {profile.ssh_username}"
        peers.append(
            Peer(SSH, asset.tag, asset.site.code, address, (int(device.port),), about,
                 username=profile.ssh_username, password=password)
        )  # fmt: skip
    return peers


def describe_peers(peers: Sequence[Peer]) -> list[str]:
    return [
        f"{p.address + ':' + ','.join(map(str, p.ports)):<26} {p.tag:<14} {p.site:<10} "
        f"{p.kind:<6} {p.about}"
        for p in peers
    ]


# --- serving them ------------------------------------------------------------------------


class VcListeners:
    """TCP listeners that accept each connection and close it, in one asyncio loop run by
    a thread of its own; start() returns once every one listens (or raises OSError)."""

    def __init__(self, endpoints: Iterable[tuple[str, int]]) -> None:
        self.endpoints = sorted(set(endpoints))
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error = ""

    def start(self, timeout: float = START_TIMEOUT) -> VcListeners:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error:
            self.stop()
            raise OSError(self._error or "the VC listeners did not start")
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    async def _serve(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        servers = []
        try:
            for host, port in self.endpoints:
                try:
                    servers.append(await asyncio.start_server(_hang_up, host, port))
                except OSError as exc:
                    self._error = f"{host}:{port}: {exc}"
                    return
            self._ready.set()
            await self._stopping.wait()
        finally:
            self._ready.set()
            for server in servers:
                server.close()
                await server.wait_closed()


def _hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


class DemoPeers:
    """The peers of `plan_peers`, served: start() / stop(). A peer kind that cannot run here
    (no PJLink emulator, no fake-switches) is left out with a line in `warnings`; an address
    or port taken raises RuntimeError."""

    def __init__(
        self, peers: Sequence[Peer], workdir: Path | str, pjlink_python: str | None = None
    ) -> None:
        self.peers = list(peers)
        self.workdir = Path(workdir)
        self.pjlink_python = pjlink_python  # default: the emulator's venv, made when missing
        self.warnings: list[str] = []
        self.served: Counter = Counter()
        self.projectors: PjlinkEmulators | None = None
        self.vc: VcListeners | None = None
        self.switches: subprocess.Popen[str] | None = None
        self._log = None
        self._started = False

    def of(self, kind: str) -> list[Peer]:
        return [p for p in self.peers if p.kind == kind]

    def start(self, timeout: float = START_TIMEOUT) -> DemoPeers:
        try:
            self._start_projectors()
            vc = self.of(VC)
            if vc:
                try:
                    self.vc = VcListeners((p.address, port) for p in vc for port in p.ports)
                    self.vc.start(timeout)
                except OSError as exc:
                    raise RuntimeError(f"VC endpoints: cannot listen on {exc}") from exc
                self.served[VC] = len(vc)
            self._start_switches(timeout)
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def _start_projectors(self) -> None:
        peers = self.of(PJLINK)
        if not peers:
            return
        fleet = PjlinkEmulators(
            {p.tag: p.projector for p in peers},
            binds={p.tag: (p.address, p.ports[0]) for p in peers},
            python=self.pjlink_python,
        )
        try:
            fleet.start()
        except EmulatorUnavailable as exc:
            self.warnings.append(f"projectors not simulated: {' '.join(str(exc).split())}")
            return
        except ValueError as exc:
            raise RuntimeError(f"PJLink projectors: cannot listen on {exc}") from exc
        self.projectors = fleet
        self.served[PJLINK] = len(peers)

    def _start_switches(self, timeout: float) -> None:
        peers = self.of(SSH)
        if not peers:
            return
        if importlib.util.find_spec("fake_switches") is None:
            self.warnings.append(
                "SSH routers not simulated: fake-switches is not installed (scripts/run "
                "installs it: pip install --no-deps fake-switches==1.5.0)"
            )
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = (self.workdir / "fake-switches.log").open("w")
        self.switches = subprocess.Popen(
            [sys.executable, "-m", "inventory.simulator.demo_peers", "--fake-switches"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        switches = [
            {"address": p.address, "port": p.ports[0], "hostname": _hostname(p.tag),
             "username": p.username, "password": p.password}
            for p in peers
        ]  # fmt: skip
        self.switches.stdin.write(json.dumps(switches) + "\n")  # secrets not on the command line
        self.switches.stdin.flush()
        ready, _, _ = select.select([self.switches.stdout], [], [], timeout)
        answer = json.loads((self.switches.stdout.readline() if ready else "") or "{}")
        if not answer.get("ok"):
            log = (self.workdir / "fake-switches.log").read_text()[-500:]
            raise RuntimeError(f"SSH routers: {answer.get('error') or 'no answer'} {log}".strip())
        self.served[SSH] = len(peers)

    @property
    def running(self) -> bool:
        """Started, and every peer process and thread that was started is still there."""
        return (
            self._started
            and (self.projectors is None or self.projectors.running)
            and (self.vc is None or self.vc.running)
            and (self.switches is None or self.switches.poll() is None)
        )

    def summary(self) -> str:
        """How many of each kind are served, e.g. "PJLink: 21 projectors (port 4352), ..."."""
        parts = []
        for kind, what in ((PJLINK, "projector"), (VC, "endpoint"), (SSH, "device")):
            count = self.served[kind]
            ports = sorted({port for p in self.of(kind) for port in p.ports})
            if count:
                parts.append(f"{kind}: {count} {what}{'s' * (count != 1)} "
                             f"(TCP {', '.join(map(str, ports))})")  # fmt: skip
        return ", ".join(parts) or "no PJLink, VC or SSH peers"

    def stop(self) -> None:
        if self.projectors is not None:
            self.projectors.stop()
            self.projectors = None
        if self.vc is not None:
            self.vc.stop()
            self.vc = None
        process, self.switches = self.switches, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # the child stops when its stdin closes
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.served.clear()
        self._started = False

    def __enter__(self) -> DemoPeers:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _hostname(tag: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", tag)


# --- the fake-switches child process -------------------------------------------------------


def _serve_switches() -> None:  # pragma: no cover - runs in the child
    """Read the switches (one JSON line), serve them, say {"ok": true}, stop at stdin's end."""
    from fake_switches import switch_factory
    from fake_switches.transports.ssh_service import SwitchSshService
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the parent; it closes stdin
    factory = switch_factory.SwitchFactory()
    try:
        for switch in json.loads(sys.stdin.readline()):
            # The enable password stays a str (compared with the typed line); the login's bytes.
            core = factory.get(FAKE_SWITCH_MODEL, switch["hostname"], switch["password"])
            SwitchSshService(
                ip=switch["address"],
                port=switch["port"],
                switch_core=core,
                users={switch["username"]: switch["password"].encode()},
            ).hook_to_reactor(reactor)
    except CannotListenError as exc:
        print(json.dumps({"error": f"cannot listen on {exc.interface}:{exc.port}"}), flush=True)
        return
    print(json.dumps({"ok": True}), flush=True)

    def wait_for_eof() -> None:
        sys.stdin.read()
        reactor.callFromThread(reactor.stop)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    reactor.run(installSignalHandlers=False)


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--fake-switches"]:
        _serve_switches()
    else:
        sys.exit("usage: python -m inventory.simulator.demo_peers --fake-switches")
