"""Real SNMP agents on loopback for tests: Net-SNMP's snmpd and snmpsim with real recordings.

Loaded by tests/conftest.py (``pytest_plugins = ["agents"]``). Every fixture here is
session-scoped and starts real processes only when a test asks for it. Addresses are drawn
from a random 127.x.y.0/24 per session and ports are checked free, so two test runs on one
machine do not answer each other's requests. Secrets are random per session. snmpsim agents
get temporary work dirs of their own under /tmp: as root the agent runs as "nobody", which
cannot enter pytest's tmp_path.
"""

from __future__ import annotations

import bz2
import random
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import snmpsim_data

from inventory.simulator.snmpd import SnmpdFleet, V3User
from inventory.simulator.snmpsim import SnmpsimAgent, layout_by_endpoint

SNMPSIM_DATA = Path(snmpsim_data.__file__).parent / "data"
RECORDINGS = Path(__file__).resolve().parent.parent / "inventory" / "simulator" / "recordings"

# Real devices from the snmpsim-data package used by the tests, by role.
REAL_RECORDINGS = {
    "cisco": SNMPSIM_DATA / "network/switch/cisco-c3750.snmprec.bz2",
    "ups": SNMPSIM_DATA / "UPS/eaton-93e-80.snmprec.bz2",
    "ups_unknowns": SNMPSIM_DATA / "UPS/huawei-gse200m.snmprec.bz2",  # -1 charge/minutes
    "apc_pdu": SNMPSIM_DATA / "UPS/apc-8641.snmprec",  # an APC rack PDU: no UPS-MIB
    "linux": SNMPSIM_DATA / "os/linux/slackware.snmprec.bz2",
    "printer": RECORDINGS / "printer.snmprec",
    "printer_again": RECORDINGS / "printer.snmprec",  # same recording, second address
    "hostile": RECORDINGS / "hostile.snmprec",
    "broken": RECORDINGS / "broken.snmprec",
}


def session_subnet() -> str:
    """A random 127.x.y prefix for this test session (avoids other runs' agents)."""
    return f"127.{random.randint(64, 250)}.{random.randint(1, 250)}"


def free_udp_port(addresses: list[str], low: int = 20000, high: int = 60000) -> int:
    """A UDP port free on every address (checked by binding it)."""
    for _attempt in range(200):
        port = random.randint(low, high)
        sockets: list[socket.socket] = []
        try:
            for address in addresses:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind((address, port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return port
    raise RuntimeError("no free UDP port found")


def read_snmprec(path: Path) -> dict[tuple[int, ...], tuple[str, str | bytes]]:
    """A recording as {oid: (tag, value)}; hex-encoded strings ("4x") come back as bytes.
    The tests take their expected values from the recordings themselves."""
    raw = bz2.decompress(path.read_bytes()) if path.name.endswith(".bz2") else path.read_bytes()
    records: dict[tuple[int, ...], tuple[str, str | bytes]] = {}
    for line in raw.decode("latin-1").splitlines():
        if not line or line.startswith("#"):
            continue
        oid, tag, value = line.split("|", 2)
        key = tuple(int(part) for part in oid.split("."))
        if tag.endswith("x"):
            records[key] = (tag[:-1], bytes.fromhex(value))
        else:
            records[key] = (tag, value)
    return records


@dataclass
class SnmpdAgents:
    """A running snmpd fleet: addresses, port, community and v3 users (with their keys)."""

    fleet: SnmpdFleet
    addresses: list[str]
    port: int
    community: str
    sys_name: str
    users: dict[str, V3User] = field(default_factory=dict)


@pytest.fixture(scope="session")
def snmpd_agents() -> Iterator[SnmpdAgents]:
    subnet = session_subnet()
    addresses = [f"{subnet}.1", f"{subnet}.2"]
    port = free_udp_port(addresses)
    community = "c-" + secrets.token_hex(8)
    users = {
        "auth_sha": V3User(f"authsha{secrets.token_hex(2)}", "SHA", secrets.token_hex(10)),
        "priv_aes": V3User(
            f"privaes{secrets.token_hex(2)}",
            "SHA",
            secrets.token_hex(10),
            "AES",
            secrets.token_hex(10),
        ),
        "sha256_aes": V3User(
            f"sha256{secrets.token_hex(2)}",
            "SHA-256",
            secrets.token_hex(10),
            "AES",
            secrets.token_hex(10),
        ),
    }
    sys_name = "sampada-probe-test"
    fleet = SnmpdFleet(
        addresses, port=port, community=community, users=list(users.values()), sys_name=sys_name
    )
    fleet.start()
    try:
        yield SnmpdAgents(fleet, addresses, port, community, sys_name, users)
    finally:
        fleet.stop()


@dataclass
class SnmpsimAgents:
    """A running snmpsim process: one endpoint per role in REAL_RECORDINGS plus "printer_v3",
    all with one community; `users` are SNMPv3 users of every engine (SHA + AES-128 and
    SHA-256 + AES-256)."""

    agent: SnmpsimAgent
    endpoints: dict[str, tuple[str, int]]
    community: str
    users: list[V3User]


@pytest.fixture(scope="session")
def snmpsim_agents() -> Iterator[SnmpsimAgents]:
    subnet = session_subnet()
    addresses = [f"{subnet}.{n}" for n in range(1, len(REAL_RECORDINGS) + 1)]
    port = free_udp_port(addresses)
    endpoints = {
        role: (address, port) for role, address in zip(REAL_RECORDINGS, addresses, strict=True)
    }
    v3_address = f"{subnet}.{len(addresses) + 1}"
    endpoints["printer_v3"] = (v3_address, free_udp_port([v3_address]))
    community = "s-" + secrets.token_hex(6)
    users = [
        V3User(
            f"simsha{secrets.token_hex(2)}",
            "SHA",
            secrets.token_hex(10),
            "AES",
            secrets.token_hex(10),
        ),
        V3User(
            f"sim256{secrets.token_hex(2)}",
            "SHA-256",
            secrets.token_hex(10),
            "AES-256",
            secrets.token_hex(10),
        ),
    ]
    layout = Path(tempfile.mkdtemp(prefix="snmpsim-layout-"))
    layout.chmod(0o755)  # the agent runs as nobody when the tests run as root
    # One engine per recording; only the printer_v3 one also answers SNMPv3 requests without
    # a context name (default_context indexes the recording twice: kept to a small one).
    engines = layout_by_endpoint(
        layout / "real",
        {endpoints[role]: path for role, path in REAL_RECORDINGS.items()},
        community,
    ) + layout_by_endpoint(
        layout / "v3",
        {endpoints["printer_v3"]: REAL_RECORDINGS["printer"]},
        community,
        default_context=True,
    )
    agent = SnmpsimAgent(engines=engines, users=users)
    try:
        agent.start()
        yield SnmpsimAgents(agent, endpoints, community, users)
    finally:
        agent.stop()
        shutil.rmtree(layout, ignore_errors=True)


@pytest.fixture(scope="session")
def recordings_agent() -> Iterator[tuple[SnmpsimAgent, tuple[str, int]]]:
    """snmpsim serving the hand-made recordings folder as it is: one endpoint, the
    community is the file name ("printer", "hostile", "slow", "broken"). The "slow"
    recording delays inside the agent's loop, so this process is kept apart from the
    real-device one."""
    address = f"{session_subnet()}.1"
    endpoint = (address, free_udp_port([address]))
    agent = SnmpsimAgent(RECORDINGS, [endpoint])
    agent.start()
    try:
        yield agent, endpoint
    finally:
        agent.stop()
