"""A fleet of real Net-SNMP agents (Debian's snmpd) listening on 127.x loopback addresses.

One snmpd process accepts about 40 listening addresses, so a fleet of N addresses runs
ceil(N / per_process) processes. Every agent answers v1/v2c with `community` and SNMPv3
with the users given (authNoPriv and authPriv).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SNMPD = "/usr/sbin/snmpd"


@dataclass(frozen=True)
class V3User:
    name: str
    auth_protocol: str = "SHA"  # MD5, SHA, SHA-256, SHA-512
    auth_key: str = ""
    priv_protocol: str = ""  # "" for authNoPriv, else DES or AES
    priv_key: str = ""


def loopback_addresses(count: int, first: str = "127.30.0.1") -> list[str]:
    """`count` consecutive addresses inside 127.0.0.0/8, skipping .0 and .255 host parts."""
    start = ipaddress.IPv4Address(first)
    if start not in ipaddress.IPv4Network("127.0.0.0/8"):
        raise ValueError("simulated agents live on loopback only")
    out: list[str] = []
    current = int(start)
    while len(out) < count:
        address = ipaddress.IPv4Address(current)
        if address not in ipaddress.IPv4Network("127.0.0.0/8"):
            raise ValueError("ran out of loopback addresses")
        if str(address).split(".")[-1] not in ("0", "255"):
            out.append(str(address))
        current += 1
    return out


@dataclass
class SnmpdFleet:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    addresses: list[str]
    port: int = 16100
    community: str = "public"
    users: list[V3User] = field(default_factory=list)
    per_process: int = 40
    sys_name: str = "sim-agent"
    workdir: Path | None = None
    _processes: list[subprocess.Popen] = field(default_factory=list, init=False)
    _owned_dir: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        for address in self.addresses:
            if ipaddress.ip_address(address) not in ipaddress.IPv4Network("127.0.0.0/8"):
                raise ValueError(f"{address} is not a loopback address")

    def _config(self, addresses: list[str]) -> str:
        listen = ",".join(f"udp:{a}:{self.port}" for a in addresses)
        lines = [
            f"agentAddress {listen}",
            f"rocommunity {self.community} 127.0.0.0/8",
            f"sysName {self.sys_name}",
            "sysLocation Simulated rack, loopback",
            "sysContact sampada-tests@localhost",
            "sysServices 72",
            "dontLogTCPWrappersConnects yes",
        ]
        for user in self.users:
            create = f'createUser {user.name} {user.auth_protocol} "{user.auth_key}"'
            if user.priv_protocol:
                create += f' {user.priv_protocol} "{user.priv_key}"'
            lines.append(create)
            lines.append(f"rouser {user.name} {'priv' if user.priv_protocol else 'auth'}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 15.0) -> SnmpdFleet:
        if not Path(SNMPD).exists():
            raise RuntimeError("snmpd is not installed (apt-get install snmpd snmp)")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="snmpd-fleet-"))
            self._owned_dir = True
        chunks = [
            self.addresses[i : i + self.per_process]
            for i in range(0, len(self.addresses), self.per_process)
        ]
        for number, chunk in enumerate(chunks):
            folder = self.workdir / f"agent{number}"
            folder.mkdir(parents=True, exist_ok=True)
            conf = folder / "snmpd.conf"
            conf.write_text(self._config(chunk))
            env = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder)}
            self._processes.append(
                subprocess.Popen(
                    [
                        SNMPD,
                        "-f",
                        "-C",
                        "-c",
                        str(conf),
                        "-Lf",
                        str(folder / "log"),
                        "-p",
                        str(folder / "pid"),
                        "-I",
                        "-smux,mteTrigger,mteTriggerConf",
                    ],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        self._wait_ready(chunks, timeout)
        return self

    def _wait_ready(self, chunks: list[list[str]], timeout: float) -> None:
        """Ready when every process's log says it has bound its addresses."""
        deadline = time.monotonic() + timeout
        assert self.workdir is not None
        for number, process in enumerate(self._processes):
            log = self.workdir / f"agent{number}" / "log"
            while True:
                if process.poll() is not None:
                    text = log.read_text() if log.exists() else ""
                    self.stop()
                    raise RuntimeError(f"snmpd exited: {text[-500:]}")
                if log.exists() and "NET-SNMP version" in log.read_text():
                    break
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("snmpd did not start in time")
                time.sleep(0.05)

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        if self._owned_dir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> SnmpdFleet:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
