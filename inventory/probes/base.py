"""What a probe is given (a Target) and what it gives back (a ProbeResult).

Probes know nothing of Flask or the database. Device errors are results, never
exceptions; secrets never appear in results, reprs or logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    AUTH_FAILED = "auth_failed"
    UNREACHABLE = "unreachable"
    ERROR = "error"
    HOST_KEY_CHANGED = "host_key_changed"  # SSH: the server presented another host key


@dataclass(frozen=True, slots=True)
class SnmpCredentials:
    """v1/v2c community or a v3 user. The secret fields are left out of repr()."""

    version: str = "v2c"  # "v1", "v2c" or "v3"
    community: str = field(default="", repr=False)
    username: str = ""
    auth_protocol: str = "none"  # none, md5, sha, sha256, sha512
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "none"  # none, des, aes, aes256
    priv_key: str = field(default="", repr=False)


# What to collect: the system group always; the rest by device kind.
SYSTEM = "system"
INTERFACES = "interfaces"
HOST = "host"  # HOST-RESOURCES: CPU load, storage and memory
PRINTER = "printer"  # Printer-MIB supplies
UPS = "ups"  # UPS-MIB battery
ENTITY = "entity"  # ENTITY-MIB model and serial
ALL_GROUPS = frozenset({SYSTEM, INTERFACES, HOST, PRINTER, UPS, ENTITY})
# The lean standard health set for frequent sweeps: one GET of the system group, ifNumber,
# hrSystemUptime, hrSystemProcesses and upsEstimatedChargeRemaining, plus one GETBULK of
# ifOperStatus, ifInOctets and ifOutOctets (32-bit). A fuller group given alongside wins.
HEALTH = "health"
HEALTH_GROUPS = frozenset({SYSTEM, HEALTH})


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """One device to poll: `key` is the caller's id for it (the asset id)."""

    key: int
    address: str
    credentials: SnmpCredentials
    port: int = 161
    timeout: float = 2.0
    retries: int = 1
    groups: frozenset[str] = ALL_GROUPS


@dataclass(slots=True)
class SystemInfo:
    descr: str = ""
    object_id: str = ""
    uptime_ticks: int | None = None  # hundredths of a second (sysUpTime)
    name: str = ""
    location: str = ""
    contact: str = ""


@dataclass(slots=True)
class InterfaceInfo:
    index: int
    name: str = ""
    descr: str = ""
    alias: str = ""
    admin_status: int | None = None  # 1 up, 2 down, 3 testing
    oper_status: int | None = None  # 1 up, 2 down, ... 7 lowerLayerDown
    speed_bps: int | None = None  # ifHighSpeed * 1e6 where present, else ifSpeed
    in_octets: int | None = None
    out_octets: int | None = None
    counter_bits: int = 32  # 64 when the ifHC* counters were read
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None


@dataclass(slots=True)
class StorageInfo:
    index: int
    kind: str  # "ram", "virtual", "disk", "other" (from hrStorageType)
    descr: str = ""
    size_bytes: int | None = None
    used_bytes: int | None = None

    @property
    def used_pct(self) -> float | None:
        if not self.size_bytes or self.used_bytes is None:
            return None
        return round(100.0 * self.used_bytes / self.size_bytes, 1)


@dataclass(slots=True)
class SupplyInfo:
    """A printer supply. level/max_capacity keep the MIB's negative special values:
    -1 other, -2 unknown, -3 "some remaining" (level) / unlimited."""

    index: int
    descr: str = ""
    kind: int | None = None  # prtMarkerSuppliesType (3 toner, 4 wasteToner, 5 ink, ...)
    colour: str = ""
    level: int | None = None
    max_capacity: int | None = None

    @property
    def level_pct(self) -> float | None:
        if self.level is None or self.max_capacity is None:
            return None
        if self.level < 0 or self.max_capacity <= 0:
            return None
        return round(min(100.0, 100.0 * self.level / self.max_capacity), 1)


@dataclass(slots=True)
class UpsInfo:
    battery_status: int | None = None  # 1 unknown, 2 normal, 3 low, 4 depleted
    seconds_on_battery: int | None = None
    minutes_remaining: int | None = None
    charge_pct: int | None = None
    output_source: int | None = None  # 3 normal, 5 battery, ...


@dataclass(slots=True)
class SnmpData:
    system: SystemInfo = field(default_factory=SystemInfo)
    interfaces: list[InterfaceInfo] = field(default_factory=list)
    cpu_loads: list[int] = field(default_factory=list)  # hrProcessorLoad per CPU
    storage: list[StorageInfo] = field(default_factory=list)
    supplies: list[SupplyInfo] = field(default_factory=list)
    ups: UpsInfo | None = None
    entity_model: str = ""
    entity_serial: str = ""
    host_uptime_ticks: int | None = None  # hrSystemUptime: the OS's, not the agent's, uptime
    process_count: int | None = None  # hrSystemProcesses
    varbinds: int = 0  # how many values were received


@dataclass(slots=True)
class ProbeResult:
    """The outcome for one target of one run: always exactly one per target."""

    key: int
    outcome: Outcome
    message: str = ""
    elapsed_ms: float = 0.0
    data: SnmpData | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK
