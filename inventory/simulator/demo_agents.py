"""The Gonda demo's devices, alive: real SNMP recordings on the demo assets' 127.20.x.y addresses.

`inventory agents` reads the demo assets from the database (management address, credentials
profile, make and model), gives each one a real device recording, leaves a few deliberately
silent, and serves them all with snmpsim (inventory.simulator.snmpsim) on each profile's SNMP
port until Ctrl+C, with the demo's other peers beside them (demo_peers.py: the projectors over
PJLink, the VC endpoints' TCP ports, the SSH router). `inventory agents --list` prints who
gets what. `scripts/run` starts it beside the web server and the scheduler.

Which recording (RECORDINGS, MODELS): the recordings come from the snmpsim-data package
(real devices, anonymised: sysName "DUMSYS-nn"), except the printer (ours, in
recordings/) and the projector (made below). snmpsim-data has no APC UPS (its apc-* files
are rack PDUs) and no video-conferencing codec, so the APC units read as an Eaton 93E
(UPS-MIB) and the codecs, which run embedded Linux, as a small Linux host. Projectors
answer SNMP with MIB-II only (the system group and one Ethernet port, illustrative values
written here), as a networked projector's own agent does; lamp and input state come with
PJLink later.

Alive: recordings are still photographs, so each is served with snmpsim's `numeric`
variation on sysUpTime (it ticks) and on the octet counters of interfaces that are up (they
grow at the average rate the recording shows since its boot), so uptime and traffic charts
move. Restarting the agents restarts those counters, which the sweep sees as a reboot.

Every device of one recording is served by one snmpsim engine (its own engine ID), so they
share a sysName; each engine answers the v1/v2c communities and SNMPv3 users of the demo
profiles that use it. DEMO_TROUBLE makes some devices silent (no agent: the dashboard shows
them down) or gives them a worse recording. Assets in store or condemned are switched off.
"""

from __future__ import annotations

import bz2
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

HERE = Path(__file__).parent
OWN_RECORDINGS = HERE / "recordings"
DEFAULT_PROCESSES = 2  # snmpsim is single-threaded; two processes use both cores of a small box


# --- the recordings ----------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """A device recording: `source` is "snmpsim-data:<path>", "own:<file in recordings/>"
    or "made:<name>" (written below). `drop` leaves out OID subtrees nobody polls that are
    too big to index quickly; `values` replaces single records (OID -> "tag|value")."""

    about: str
    source: str
    drop: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()


RECORDINGS: dict[str, Recording] = {
    "cisco-router": Recording(
        "Cisco IOS router, 28 interfaces",
        "snmpsim-data:network/router/cisco-unmarked-0.snmprec.bz2",
    ),
    "cisco-access-switch": Recording(
        "Cisco Catalyst 3750G-12S, IOS 12.2(50)SE5, 19 interfaces, ENTITY-MIB serials",
        "snmpsim-data:network/switch/cisco-c3750.snmprec.bz2",
    ),
    "cisco-core-switch": Recording(
        "Cisco Catalyst 3560, IOS 12.2(55)SE3, 57 interfaces",
        "snmpsim-data:network/switch/cisco-c3560.snmprec.bz2",
    ),
    "dlink-switch": Recording(
        "D-Link DES-3028 Fast Ethernet switch, 32 interfaces",
        "snmpsim-data:network/switch/dlink-des3038.snmprec.bz2",
    ),
    "fortigate": Recording(
        "Fortinet FortiGate (a 3000D by its serial), 26 interfaces; its table of 441,000 "
        "open IP sessions left out: it alone takes a minute to index",
        "snmpsim-data:network/firewall/fortinet-xcu.snmprec.bz2",
        drop=("1.3.6.1.4.1.12356.101.11",),
    ),
    "broadband-router": Recording(
        "Linux broadband gateway (LAN1-3, WAN1-3), HOST-RESOURCES; its tables of open TCP "
        "connections left out (8,000 rows nobody polls)",
        "snmpsim-data:os/linux/unknown-002.snmprec.bz2",
        drop=("1.3.6.1.2.1.6.13", "1.3.6.1.2.1.6.19"),
    ),
    "4g-router": Recording(
        "Embedded Linux wireless router (Ubiquiti, mips), 9 interfaces",
        "snmpsim-data:network/wifi/ubiquiti-m5.snmprec.bz2",
    ),
    "ups-eaton": Recording(
        "Eaton 93E UPS, UPS-MIB: battery normal, 100 %, 1,092 minutes",
        "snmpsim-data:UPS/eaton-93e-80.snmprec.bz2",
    ),
    "ups-netagent": Recording(
        "UPS with a Phoenixtec-type SNMP card, UPS-MIB: battery normal, 100 %",
        "snmpsim-data:UPS/phoenixtec-power.snmprec.bz2",
    ),
    "ups-istars": Recording(
        "UPS with an iStars SNMP card (EA9080), UPS-MIB: battery normal, 100 %",
        "snmpsim-data:UPS/eastpower-istars-swv053.snmprec.bz2",
    ),
    "ups-dead-battery": Recording(
        "the iStars UPS with the battery group a dead battery reports: low, 9 %, 1 minute",
        "snmpsim-data:UPS/eastpower-istars-swv053.snmprec.bz2",
        values=(
            ("1.3.6.1.2.1.33.1.2.1.0", "2|3"),  # upsBatteryStatus: batteryLow
            ("1.3.6.1.2.1.33.1.2.3.0", "2|1"),  # upsEstimatedMinutesRemaining
            ("1.3.6.1.2.1.33.1.2.4.0", "2|9"),  # upsEstimatedChargeRemaining
        ),
    ),
    "linux-host": Recording(
        "Linux host (2 CPUs, eth0), HOST-RESOURCES: the codecs run embedded Linux",
        "snmpsim-data:os/linux/slackware.snmprec.bz2",
    ),
    "printer": Recording(
        "HP Color LaserJet Pro M454dn with Printer-MIB supplies (this project's recording)",
        "own:printer.snmprec",
    ),
    "projector": Recording(
        "network projector, MIB-II only: system group and one Ethernet port (made here)",
        "made:projector",
    ),
}

# (maker, model) of the demo catalogue -> recording
MODELS: dict[tuple[str, str], str] = {
    ("Cisco", "1941/K9"): "cisco-router",
    ("Cisco", "ISR 4221/K9"): "cisco-router",
    ("Cisco", "ISR 4331/K9"): "cisco-router",
    ("TP-Link", "ER605"): "broadband-router",
    ("D-Link", "DSR-250"): "broadband-router",
    ("TP-Link", "Archer MR600"): "4g-router",
    ("D-Link", "DWR-M921"): "4g-router",
    ("Cisco", "Catalyst 2960X-24TS-L"): "cisco-access-switch",
    ("Cisco", "Catalyst 1000-24T-4G-L"): "cisco-access-switch",
    ("Cisco", "Catalyst 9200L-24T-4G-E"): "cisco-core-switch",
    ("D-Link", "DGS-1210-28"): "dlink-switch",
    ("Fortinet", "FortiGate 60F"): "fortigate",
    ("APC", "Smart-UPS SRV3KI (with AP9641 card)"): "ups-eaton",
    ("Microtek", "Online UPS 3 kVA (with SNMP card)"): "ups-netagent",
    ("V-Guard", "Online UPS 2 kVA (with SNMP card)"): "ups-istars",
    ("Poly", "Group 310"): "linux-host",
    ("Poly", "G7500"): "linux-host",
    ("Poly", "Group 500"): "linux-host",
    ("Cisco", "Webex Codec Plus"): "linux-host",
}
# Any other make or model with a management address: by category.
CATEGORIES: dict[str, str] = {
    "RTR": "cisco-router",
    "SWT": "cisco-access-switch",
    "FWL": "fortigate",
    "UPS": "ups-eaton",
    "PRN": "printer",
    "PRJ": "projector",
    "VCC": "linux-host",
}

# (site code, category code, location) -> what is wrong: None = no agent (the device is
# silent), else a recording that tells the trouble. The first ones match the notes the demo
# register has for them; the last two are outages the register does not know about yet,
# which is what monitoring is for.
DEMO_TROUBLE: dict[tuple[str, str, str], tuple[str | None, str]] = {
    ("BLK-KTB", "RTR", "Server rack"): (None, "power supply failed"),
    ("BLK-PSP", "VCC", "Meeting hall"): (None, "with the AMC engineer"),
    ("BLK-CHP", "PRN", "Counter 1"): (None, "under repair"),
    ("TEH-TRB", "UPS", "Server rack"): ("ups-dead-battery", "batteries dead"),
    ("CSC-BBJ-01", "RTR", "Counter 1"): (None, "4G router not answering"),
    ("MUN-CLG", "UPS", "Network cabinet"): (None, "UPS network card not answering"),
}
SWITCHED_OFF = ("in_store", "condemned")

# The projector: what a projector's built-in agent answers in MIB-II. Illustrative values.
_PROJECTOR = """\
1.3.6.1.2.1.1.1.0|4|Network projector (Sampada demo recording: MIB-II only)
1.3.6.1.2.1.1.2.0|6|0.0
1.3.6.1.2.1.1.3.0|67|86400000
1.3.6.1.2.1.1.4.0|4|
1.3.6.1.2.1.1.5.0|4|PROJECTOR
1.3.6.1.2.1.1.6.0|4|
1.3.6.1.2.1.1.7.0|2|72
1.3.6.1.2.1.2.1.0|2|1
1.3.6.1.2.1.2.2.1.1.1|2|1
1.3.6.1.2.1.2.2.1.2.1|4|eth0
1.3.6.1.2.1.2.2.1.3.1|2|6
1.3.6.1.2.1.2.2.1.4.1|2|1500
1.3.6.1.2.1.2.2.1.5.1|66|100000000
1.3.6.1.2.1.2.2.1.6.1|4x|3889dc0a1b2c
1.3.6.1.2.1.2.2.1.7.1|2|1
1.3.6.1.2.1.2.2.1.8.1|2|1
1.3.6.1.2.1.2.2.1.9.1|67|0
1.3.6.1.2.1.2.2.1.10.1|65|2183306
1.3.6.1.2.1.2.2.1.11.1|65|20554
1.3.6.1.2.1.2.2.1.13.1|65|0
1.3.6.1.2.1.2.2.1.14.1|65|0
1.3.6.1.2.1.2.2.1.16.1|65|1675874
1.3.6.1.2.1.2.2.1.17.1|65|16390
1.3.6.1.2.1.2.2.1.19.1|65|0
1.3.6.1.2.1.2.2.1.20.1|65|0
1.3.6.1.2.1.31.1.1.1.1.1|4|eth0
1.3.6.1.2.1.31.1.1.1.15.1|66|100
1.3.6.1.2.1.31.1.1.1.18.1|4|
"""


# --- reading and reshaping recordings -----------------------------------------------------

_RECORD = re.compile(r"^[0-9]+(?:\.[0-9]+)*\|[0-9a-z]+(?::[a-z]+)?\|")
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
IF_SPEED, IF_OPER = "1.3.6.1.2.1.2.2.1.5.", "1.3.6.1.2.1.2.2.1.8."
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15."
# (32-bit counter column, its 64-bit counterpart)
OCTETS = (
    ("1.3.6.1.2.1.2.2.1.10.", "1.3.6.1.2.1.31.1.1.1.6."),
    ("1.3.6.1.2.1.2.2.1.16.", "1.3.6.1.2.1.31.1.1.1.10."),
)


def source_path(recording: Recording) -> Path | None:
    """The file a recording is read from (None for the ones made here)."""
    kind, _, name = recording.source.partition(":")
    if kind == "snmpsim-data":
        import snmpsim_data

        return Path(snmpsim_data.__file__).parent / "data" / name
    if kind == "own":
        return OWN_RECORDINGS / name
    return None


def _read_source(recording: Recording) -> str:
    path = source_path(recording)
    if path is None:
        return _PROJECTOR
    if path.suffix == ".bz2":
        return bz2.decompress(path.read_bytes()).decode("latin-1")
    return path.read_bytes().decode("latin-1")


def _records(text: str) -> list[list[str]]:
    """[oid, tag, value] per record; a line that starts no record continues the value."""
    out: list[list[str]] = []
    for line in text.splitlines():
        if _RECORD.match(line):
            out.append(line.split("|", 2))
        elif out:
            out[-1][2] += "\n" + line
    return out


def _in_subtree(oid: str, roots: Iterable[str]) -> bool:
    return any(oid == root or oid.startswith(root + ".") for root in roots)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _liven(records: list[list[str]]) -> None:
    """sysUpTime ticks; octet counters of interfaces that are up grow (snmpsim `numeric`)."""
    plain = {oid: value for oid, tag, value in records if ":" not in tag}
    uptime_s = (_int(plain.get(SYS_UPTIME)) or 0) / 100
    for record in records:
        oid, tag, value = record
        if ":" in tag or _int(value) is None:
            continue
        if oid in (SYS_UPTIME, HR_SYSTEM_UPTIME) and tag == "67":
            record[1:] = [f"{tag}:numeric", f"rate=100,initial={value},wrap=1"]
            continue
        for column32, column64 in OCTETS:
            if not (oid.startswith(column32) or oid.startswith(column64)):
                continue
            index = oid.rsplit(".", 1)[1]
            if plain.get(IF_OPER + index) != "1" or uptime_s <= 0:
                break
            total = _int(plain.get(column64 + index))  # the 64-bit count is the true one
            if total is None:
                total = _int(value) or 0
            speed = _int(plain.get(IF_HIGH_SPEED + index))
            speed_bps = speed * 1_000_000 if speed else _int(plain.get(IF_SPEED + index)) or 0
            rate = min(total / uptime_s, speed_bps / 8 * 0.3) if speed_bps else total / uptime_s
            if rate >= 1:
                record[1:] = [f"{tag}:numeric", f"rate={int(rate)},initial={value},wrap=1"]
            break


def render(recording: Recording) -> bytes:
    """The recording as served: subtrees dropped, values replaced, uptime and traffic alive."""
    records = [
        r for r in _records(_read_source(recording)) if not _in_subtree(r[0], recording.drop)
    ]
    replaced = dict(recording.values)
    for record in records:
        if record[0] in replaced:
            record[1:] = replaced[record[0]].split("|", 1)
    _liven(records)
    return "".join(f"{oid}|{tag}|{value}\n" for oid, tag, value in records).encode("latin-1")


# --- which asset gets what ----------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """How the sweep talks to a device (from its credentials profile). Secrets not in repr."""

    version: str
    port: int
    community: str = field(default="", repr=False)
    user: str = ""
    auth_protocol: str = "none"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "none"
    priv_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class DemoDevice:
    asset_id: int
    tag: str
    site: str
    category: str
    model: str
    address: str
    access: Access
    recording: str | None  # None: no agent
    remark: str = ""  # why it is silent or in trouble

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.address, self.access.port


def recording_for(maker: str, model: str, category: str) -> str | None:
    return MODELS.get((maker, model)) or CATEGORIES.get(category)


def _access(profile) -> Access:
    from inventory.credentials.services import read_secrets

    secrets = read_secrets(profile)
    return Access(
        version=profile.snmp_version,
        port=int(profile.snmp_port or 161),
        community=secrets.get("snmp_community", ""),
        user=profile.snmp_username or "",
        auth_protocol=profile.snmp_auth_protocol or "none",
        auth_key=secrets.get("snmp_auth_key", ""),
        priv_protocol=profile.snmp_priv_protocol or "none",
        priv_key=secrets.get("snmp_priv_key", ""),
    )


def plan_devices(sites: Sequence[str] = ()) -> list[DemoDevice]:
    """Every asset with a loopback management address and an SNMP profile (of `sites`, when
    given), with its recording, or None and the reason when it is to stay silent."""
    import sqlalchemy as sa

    from inventory.assets.models import Asset
    from inventory.credentials.models import CredentialProfile
    from inventory.extensions import db
    from inventory.sites.models import Site

    query = (
        sa.select(Asset)
        .join(CredentialProfile, CredentialProfile.id == Asset.credential_profile_id)
        .join(Site, Site.id == Asset.site_id)
        .where(Asset.management_address != "", CredentialProfile.snmp_version != "none")
        .order_by(Asset.id)
    )
    if sites:
        query = query.where(Site.code.in_(list(sites)))
    loopback = ipaddress.IPv4Network("127.0.0.0/8")
    profiles: dict[int, Access] = {}
    devices = []
    for asset in db.session.scalars(query).unique():
        try:
            if ipaddress.ip_address(asset.management_address.strip()) not in loopback:
                continue  # a real device: never simulated
        except ValueError:
            continue
        if asset.credential_profile_id not in profiles:
            profiles[asset.credential_profile_id] = _access(asset.credential_profile)
        maker = asset.model.manufacturer.name if asset.model else ""
        model = asset.model.name if asset.model else ""
        recording = recording_for(maker, model, asset.category.code)
        remark = "" if recording else "no recording for this kind of device"
        trouble = DEMO_TROUBLE.get((asset.site.code, asset.category.code, asset.location))
        if trouble:
            recording, remark = trouble
        if asset.status in SWITCHED_OFF:
            recording, remark = None, f"switched off ({asset.status.replace('_', ' ')})"
        devices.append(
            DemoDevice(
                asset_id=asset.id,
                tag=asset.tag,
                site=asset.site.code,
                category=asset.category.code,
                model=f"{maker} {model}".strip(),
                address=asset.management_address.strip(),
                access=profiles[asset.credential_profile_id],
                recording=recording,
                remark=remark,
            )
        )
    return devices


# --- serving them ------------------------------------------------------------------------


def _rendered(name: str, folder: Path) -> tuple[Path, int, int]:
    """The recording rendered into `folder` (again only when its source, its settings or this
    module changed): its path, how many records and interfaces it has."""
    recording = RECORDINGS[name]
    source = source_path(recording)
    key = hashlib.sha256(Path(__file__).read_bytes())
    key.update(repr(recording).encode())
    if source is not None:
        info = source.stat()
        key.update(f"{source}|{info.st_size}|{info.st_mtime_ns}".encode())
    path, stamp = folder / f"{name}.snmprec", folder / f"{name}.json"
    try:
        known = json.loads(stamp.read_text())
        if known["key"] == key.hexdigest() and path.exists():
            return path, known["records"], known["interfaces"]
    except (OSError, ValueError, KeyError):
        pass
    data = render(recording)
    records, interfaces = data.count(b"\n"), data.count(b"\n1.3.6.1.2.1.2.2.1.1.")
    folder.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.chmod(0o644)
    temporary.replace(path)  # a new file: the engines' links to the old one are renewed
    stamp.write_text(
        json.dumps({"key": key.hexdigest(), "records": records, "interfaces": interfaces})
    )
    return path, records, interfaces


def _link(source: Path, target: Path) -> None:
    """`target` becomes the same file as `source` (a hard link: snmpsim names a symlinked
    recording after its target). Left alone when it already is, so its index stays valid."""
    if target.exists() and os.path.samefile(source, target):
        return
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


class DemoAgents:
    """snmpsim processes serving the devices that have a recording; start() / stop()."""

    def __init__(self, devices: Sequence[DemoDevice], workdir: Path | str, processes: int = 2):
        self.devices = list(devices)
        self.workdir = Path(workdir)
        self.processes = max(1, int(processes))
        self.agents: list = []
        self.started_in: float | None = None
        self._work: dict[Path, tuple[int, int]] = {}
        served = [d for d in self.devices if d.recording]
        endpoints = Counter(d.endpoint for d in served)
        twice = [f"{a}:{p}" for (a, p), n in endpoints.items() if n > 1]
        if twice:
            raise ValueError(f"two devices on one address and port: {', '.join(twice[:5])}")
        for device in served:
            if device.access.version == "v3" and device.access.user == "":
                raise ValueError(f"{device.tag}: SNMPv3 profile without a user")

    @property
    def served(self) -> list[DemoDevice]:
        return [d for d in self.devices if d.recording]

    @property
    def silent(self) -> list[DemoDevice]:
        return [d for d in self.devices if not d.recording]

    def _users(self):
        from inventory.simulator.snmpd import V3User

        users: dict[str, V3User] = {}
        for device in self.served:
            access = device.access
            if access.version != "v3" or access.user in users:
                continue
            users[access.user] = V3User(
                access.user,
                auth_protocol=access.auth_protocol if access.auth_protocol != "none" else "",
                auth_key=access.auth_key if access.auth_protocol != "none" else "",
                priv_protocol=access.priv_protocol if access.priv_protocol != "none" else "",
                priv_key=access.priv_key if access.priv_protocol != "none" else "",
            )
        return list(users.values())

    def _layout(self) -> list:
        """One folder (one snmpsim engine) per recording, with a data file per community
        that reads it and `self` for SNMPv3 (the empty context name)."""
        from inventory.simulator.snmpsim import Engine

        by_recording: dict[str, list[DemoDevice]] = defaultdict(list)
        for device in self.served:
            by_recording[device.recording].append(device)
        engines = []
        for name in sorted(by_recording):
            devices = by_recording[name]
            folder = (self.workdir / "data" / name).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o755)  # snmpsim run by root drops to nobody, who must read it
            wanted = set()
            for device in devices:
                access = device.access
                if access.version == "v3":
                    wanted.add("self")
                elif re.fullmatch(r"[A-Za-z0-9._@#%+-]+", access.community):
                    wanted.add(access.community)
                else:
                    raise ValueError(f"{device.tag}: community must be a plain word to simulate")
            rendered, records, interfaces = _rendered(name, self.workdir / "recordings")
            # what the engine costs: values read per sweep, records indexed at start
            self._work[folder] = (len(devices) * (30 + 14 * interfaces), len(wanted) * records)
            for stem in wanted:
                _link(rendered, folder / f"{stem}.snmprec")
            for old in folder.iterdir():
                if old.name.removesuffix(".snmprec") not in wanted:
                    old.unlink()
            engines.append(Engine(folder, tuple(sorted({d.endpoint for d in devices}))))
        return engines

    def _split(self, engines: list) -> list[list]:
        """Engines dealt to the processes, biggest first, so that each process gets about
        as much of the polling (values read per sweep) and of the start-up indexing (records);
        stable, so each process's index cache stays valid from one run to the next."""
        count = min(self.processes, len(engines))
        totals = [sum(w[i] for w in self._work.values()) or 1 for i in (0, 1)]

        def share(engine) -> float:
            return sum(w / t for w, t in zip(self._work[engine.data_dir], totals, strict=True))

        shares: list[list] = [[] for _ in range(count)]
        loads = [0.0] * count
        for engine in sorted(engines, key=lambda e: (-share(e), str(e.data_dir))):
            lightest = loads.index(min(loads))
            shares[lightest].append(engine)
            loads[lightest] += share(engine)
        return shares

    def _warm_up(self, timeout: float) -> None:
        """One GET of sysDescr per data file, through the product's probe: snmpsim opens a
        recording's index on its first request (seconds for the big ones), better now than
        during the first sweep; and it proves each recording answers its community or user."""
        from inventory.probes.base import SYSTEM, Outcome, SnmpCredentials, SnmpTarget
        from inventory.probes.snmp import run_batch

        firsts: dict[tuple[str, str], DemoDevice] = {}
        for device in self.served:
            way = "v3" if device.access.version == "v3" else device.access.community
            firsts.setdefault((device.recording, way), device)
        targets = []
        for number, device in enumerate(firsts.values()):
            a = device.access
            credentials = SnmpCredentials(
                version=a.version,
                community=a.community,
                username=a.user,
                auth_protocol=a.auth_protocol,
                auth_key=a.auth_key,
                priv_protocol=a.priv_protocol,
                priv_key=a.priv_key,
            )
            targets.append(
                SnmpTarget(
                    number,
                    device.address,
                    credentials,
                    port=a.port,
                    timeout=timeout,
                    retries=0,
                    groups=frozenset({SYSTEM}),
                )
            )
        devices = list(firsts.values())
        failed = [
            f"{devices[r.key].tag} ({devices[r.key].recording}): {r.outcome} {r.message}"
            for r in run_batch(targets, concurrency=len(targets))
            if r.outcome is not Outcome.OK
        ]
        if failed:
            raise RuntimeError(f"recordings not answering: {'; '.join(failed)}")

    def start(self, timeout: float = 180.0) -> DemoAgents:
        from inventory.simulator.snmpsim import SnmpsimAgent

        began = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        engines = self._layout()
        for folder in (self.workdir, self.workdir / "data"):
            folder.chmod(0o755)  # snmpsim run by root drops to nobody, who must read the layout
        users = self._users()
        self.agents = [
            SnmpsimAgent(
                engines=share,
                users=users,
                workdir=self.workdir / f"process{n}",
                cache_dir=self.workdir / "cache",  # one index per data file: no two share one
            )
            for n, share in enumerate(self._split(engines))
        ]
        errors: list[BaseException] = []

        def start(agent) -> None:
            try:
                agent.start(timeout=timeout)
            except BaseException as exc:  # reported below, after every start has returned
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(agent,)) for agent in self.agents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            self.stop()
            raise RuntimeError(f"the simulated agents did not start: {errors[0]}") from errors[0]
        try:
            self._warm_up(timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    @property
    def running(self) -> bool:
        return bool(self.agents) and all(agent.running for agent in self.agents)

    def stop(self) -> None:
        for agent in self.agents:
            agent.stop()
        self.agents = []

    def __enter__(self) -> DemoAgents:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- `inventory agents` ------------------------------------------------------------------


def describe(devices: Sequence[DemoDevice]) -> list[str]:
    lines = []
    for d in devices:
        what = d.recording or "SILENT"
        if d.remark:
            what += f" ({d.remark})"
        lines.append(f"{d.address + ':' + str(d.access.port):<21} {d.tag:<14} {d.site:<10} "
                     f"{d.model[:38]:<38} {what}")  # fmt: skip
    return lines


@click.command("agents")
@click.option("--list", "list_only", is_flag=True, help="Print who gets which recording; exit.")
@click.option("--site", "sites", multiple=True, help="Only the devices of this site (code).")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data layout, index cache and logs [default: instance/demo-agents].",
)
@click.option("--processes", default=DEFAULT_PROCESSES, show_default=True, type=int)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Created once every agent answers, removed on exit (scripts/run waits for it).",
)
@with_appcontext
def agents_command(
    list_only: bool,
    sites: tuple[str, ...],
    workdir: Path | None,
    processes: int,
    ready_file: Path | None,
) -> None:
    """Serve the demo devices (SNMP, PJLink, VC, SSH) on their 127.x addresses until Ctrl+C."""
    from inventory.simulator.demo_peers import DemoPeers, describe_peers, plan_peers

    devices = plan_devices(sites)
    planned = plan_peers(sites)
    if list_only:
        for line in describe(devices) + describe_peers(planned):
            click.echo(line)
        return
    if ready_file is not None:
        ready_file.unlink(missing_ok=True)
    workdir = workdir or Path(current_app.instance_path) / "demo-agents"
    agents = DemoAgents(devices, workdir, processes)
    peers = DemoPeers(planned, workdir)
    if not agents.served:
        click.echo("No assets with 127.x management addresses: no devices to simulate.")
        return
    low = sorted({d.access.port for d in agents.served if d.access.port < 1024})
    if low and os.geteuid() != 0:
        raise click.ClickException(
            f"port {low[0]} needs root: give the profiles a port above 1023 (the demo's "
            "profiles use 16161; a database loaded before they did keeps 161)."
        )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        try:
            agents.start()
            peers.start()
        except RuntimeError as exc:  # a port taken, a recording that does not answer
            if stop.is_set():  # stopped while starting: the agents went first
                return
            raise click.ClickException(str(exc)) from exc
        ports = sorted({d.access.port for d in agents.served})
        click.echo(
            f"Simulated devices: {len(agents.served)} SNMP agents on 127.x port "
            f"{', '.join(map(str, ports))} ({len({d.recording for d in agents.served})} "
            f"recordings, {len(agents.agents)} snmpsim processes), ready in "
            f"{agents.started_in:.1f} s; silent on purpose:"
        )
        for device in agents.silent:
            click.echo(f"  {device.tag} {device.site} {device.address}: {device.remark}")
        click.echo(f"Also simulated: {peers.summary()}.")
        for warning in peers.warnings:
            click.echo(f"warning: {warning}", err=True)
        if ready_file is not None:
            ready_file.write_text(f"{os.getpid()}\n")
        while not stop.wait(1.0):
            if not agents.running:
                logs = " | ".join(a.log_text()[-300:] for a in agents.agents if not a.running)
                raise click.ClickException(f"a simulated agent process ended: {logs}")
            if not peers.running:
                raise click.ClickException("a simulated PJLink, VC or SSH peer ended")
    finally:
        peers.stop()
        agents.stop()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
