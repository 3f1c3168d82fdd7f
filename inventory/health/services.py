"""Health rules: which devices are due, recording a sweep's outcomes, rates, retention, the lease.

Everything here takes an explicit SQLAlchemy session (the sweep runs on sessions of its
own, never on a web request's), flushes or executes but never commits: the orchestrator
in `inventory.health.sweep` commits once per batch.
"""

from __future__ import annotations

import math
import os
import secrets as _secrets
import socket
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.choices import AssetStatus, CategoryGroup, SnmpVersion
from inventory.credentials.models import CredentialProfile
from inventory.extensions import db
from inventory.health.models import (
    AssetHealth,
    HealthEvent,
    HealthHourly,
    HealthSample,
    InterfaceHourly,
    InterfaceSample,
    InterfaceState,
    Lease,
    SweepResult,
    SweepRun,
)
from inventory.models_base import utcnow
from inventory.probes.base import (
    ENTITY,
    HOST,
    INTERFACES,
    PRINTER,
    SYSTEM,
    UPS,
    Outcome,
    ProbeResult,
    SnmpCredentials,
    SnmpData,
    SnmpTarget,
)

SWEEP_LEASE = "sweep"
RETENTION_LEASE = "retention"
FREE = datetime(1970, 1, 1, tzinfo=UTC)  # the expiry of a lease nobody holds

UP, DOWN, UNKNOWN = "up", "down", "unknown"
STATES = (UP, DOWN, UNKNOWN)

RUNNING, FINISHED, FAILED, ABANDONED = "running", "finished", "failed", "abandoned"
SCHEDULE, MANUAL, POLL_NOW = "schedule", "manual", "poll_now"

OUTCOMES = tuple(o.value for o in Outcome)

# Assets that are out in the field; in store and condemned ones are not polled.
MONITORED_STATUSES = (
    AssetStatus.DEPLOYED.value,
    AssetStatus.UNDER_REPAIR.value,
    AssetStatus.NON_FUNCTIONAL.value,
)

MIN_INTERVAL_SECONDS = 30

# What each kind of device is asked for (the system group always).
NETWORK_GROUPS = frozenset({SYSTEM, INTERFACES, ENTITY, HOST})
PRINTER_GROUPS = frozenset({SYSTEM, PRINTER, INTERFACES})
UPS_GROUPS = frozenset({SYSTEM, UPS})
HOST_GROUPS = frozenset({SYSTEM, INTERFACES, HOST})
BASIC_GROUPS = frozenset({SYSTEM, INTERFACES})

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
COUNTER64_MAX = 2**64 - 1

# A 32-bit octet counter wraps every 34 s at 1 Gbit/s; over a long gap it may have
# wrapped more than once, so no rate is computed from counters older than this.
MAX_32BIT_GAP_SECONDS = 3600

# prtMarkerSuppliesType values: toner and ink (what "toner %" means) and waste containers
# (whose level rises as they fill, so they are left out of the lowest-supply figure).
TONER_KINDS = frozenset({3, 5, 6, 7, 21})
WASTE_KINDS = frozenset({4, 8, 14, 24, 26})

JSON_LIST_LIMIT = 50


class HealthError(ValueError):
    """A health request that cannot be carried out; the message is shown as is."""


# -- small value guards: probe data comes from devices and may be anything -----------------


def clean_text(value: Any, limit: int) -> str:
    """A string safe for any column: no NUL (PostgreSQL refuses it), valid UTF-8, cut to limit."""
    if value is None:
        return ""
    if type(value) is str and len(value) <= limit and value.isascii() and "\x00" not in value:
        return value  # the common case, kept cheap: most of a sweep's strings are like this
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit]


def _int(value: Any, low: int = 0, high: int = INT64_MAX) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def _pct(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > 100:
        return None
    return round(number, 1)


def _ratio_pct(used: int | None, size: int | None) -> float | None:
    if used is None or not size:
        return None
    return _pct(100.0 * used / size)


def format_duration(seconds: float) -> str:
    """A short English duration: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


# -- the lease -----------------------------------------------------------------------------


def new_holder() -> str:
    """Who takes a lease: host, process and a random part (two sweeps in one process differ)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{_secrets.token_hex(4)}"


def _insert_ignore(session: Session, table: sa.Table, values: dict) -> None:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two supported databases are above
        raise HealthError(f"unsupported database {name}")
    session.execute(insert(table).values(**values).on_conflict_do_nothing())


def acquire_lease(
    session: Session, name: str, holder: str, seconds: float, now: datetime | None = None
) -> bool:
    """Take the named lease if it is free or expired (or already ours). Atomic on SQLite and
    PostgreSQL: the row is made once, then taken by one conditional UPDATE, which the
    database serialises. Commit right after, in a transaction that did nothing before."""
    now = now or utcnow()
    table = Lease.__table__
    _insert_ignore(session, table, {"name": name, "holder": "", "expires_at": FREE})
    taken = session.execute(
        sa.update(table)
        .where(
            table.c.name == name,
            sa.or_(table.c.expires_at <= now, table.c.holder == holder),
        )
        .values(holder=holder, expires_at=now + timedelta(seconds=seconds))
    )
    return taken.rowcount == 1


def renew_lease(
    session: Session, name: str, holder: str, seconds: float, now: datetime | None = None
) -> bool:
    """Push our lease's expiry on; False when it is no longer ours (it expired and was taken)."""
    now = now or utcnow()
    table = Lease.__table__
    renewed = session.execute(
        sa.update(table)
        .where(table.c.name == name, table.c.holder == holder)
        .values(expires_at=now + timedelta(seconds=seconds))
    )
    return renewed.rowcount == 1


def release_lease(session: Session, name: str, holder: str) -> bool:
    """Give the lease up (only if it is still ours): free for anyone at once."""
    table = Lease.__table__
    released = session.execute(
        sa.update(table)
        .where(table.c.name == name, table.c.holder == holder)
        .values(holder="", expires_at=FREE)
    )
    return released.rowcount == 1


def lease_holder(session: Session, name: str, now: datetime | None = None) -> Lease | None:
    """The lease if someone holds it now, else None."""
    now = now or utcnow()
    lease = session.get(Lease, name)
    if lease is None or not lease.holder or lease.expires_at <= now:
        return None
    return lease


# -- runs ----------------------------------------------------------------------------------


def abandon_stale_runs(session: Session, holder: str, now: datetime | None = None) -> int:
    """Runs still "running" under another holder: that process died (we hold the lease now)."""
    table = SweepRun.__table__
    result = session.execute(
        sa.update(table)
        .where(table.c.status == RUNNING, table.c.holder != holder)
        .values(
            status=ABANDONED,
            message="The process running this sweep stopped; its lease expired.",
        )
    )
    return result.rowcount


def start_run(
    session: Session, *, trigger: str, scope: str, holder: str, started_at: datetime, message=""
) -> SweepRun:
    run = SweepRun(
        started_at=started_at,
        status=RUNNING,
        trigger=trigger,
        scope=clean_text(scope, 80),
        holder=clean_text(holder, 120),
        message=clean_text(message, 500),
    )
    session.add(run)
    session.flush()
    return run


def set_run_targets(session: Session, run_id: int, targets: int) -> None:
    table = SweepRun.__table__
    session.execute(sa.update(table).where(table.c.id == run_id).values(targets=targets))


def finish_run(
    session: Session, run_id: int, *, status: str, finished_at: datetime, message: str = ""
) -> SweepRun:
    """Close the run; its ok/failed counts are recounted from its results."""
    run = session.get(SweepRun, run_id)
    counts = outcome_counts(session, run_id)
    run.ok = counts.get(Outcome.OK.value, 0)
    run.failed = sum(counts.values()) - run.ok
    run.status = status
    run.finished_at = finished_at
    run.duration_ms = max(0, int((finished_at - run.started_at).total_seconds() * 1000))
    if message:
        run.message = clean_text(message, 500)
    session.flush()
    return run


def outcome_counts(session: Session, run_id: int) -> dict[str, int]:
    table = SweepResult.__table__
    rows = session.execute(
        sa.select(table.c.outcome, sa.func.count())
        .where(table.c.run_id == run_id)
        .group_by(table.c.outcome)
    )
    return {outcome: int(count) for outcome, count in rows}


def last_run(session: Session | None = None) -> SweepRun | None:
    """The newest sweep (for the dashboard)."""
    session = session or db.session
    return session.scalar(sa.select(SweepRun).order_by(SweepRun.id.desc()).limit(1))


# -- planning ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedTarget:
    """One asset of a sweep. `target` is None when it cannot be probed (`error` says why)."""

    asset_id: int
    interval_seconds: int
    target: SnmpTarget | None
    error: str = ""


def groups_for(category_code: str, category_group: str) -> frozenset[str]:
    """What to ask a device of this category for."""
    code = (category_code or "").upper()
    if code == "PRN":
        return PRINTER_GROUPS
    if code == "UPS":
        return UPS_GROUPS
    if category_group == CategoryGroup.NETWORKING.value:
        return NETWORK_GROUPS
    if code in ("DSK", "LAP"):
        return HOST_GROUPS
    return BASIC_GROUPS


def snmp_credentials(profile: CredentialProfile, secrets: dict[str, str]) -> SnmpCredentials:
    return SnmpCredentials(
        version=profile.snmp_version,
        community=secrets.get("snmp_community", ""),
        username=profile.snmp_username or "",
        auth_protocol=profile.snmp_auth_protocol or "none",
        auth_key=secrets.get("snmp_auth_key", ""),
        priv_protocol=profile.snmp_priv_protocol or "none",
        priv_key=secrets.get("snmp_priv_key", ""),
    )


def monitored_condition():
    """The assets the sweep polls: in the field, with an address and an SNMP profile."""
    return sa.and_(
        Asset.management_address != "",
        Asset.status.in_(MONITORED_STATUSES),
        CredentialProfile.snmp_version != SnmpVersion.NONE.value,
    )


def _plan_query(
    *, now: datetime, site_id: int | None, asset_id: int | None, due_only: bool
) -> sa.Select:
    query = (
        sa.select(
            Asset.id,
            Asset.management_address,
            Asset.credential_profile_id,
            Category.code,
            Category.group,
            Category.poll_interval_seconds,
        )
        .join(Category, Category.id == Asset.category_id)
        .join(CredentialProfile, CredentialProfile.id == Asset.credential_profile_id)
        .outerjoin(AssetHealth, AssetHealth.asset_id == Asset.id)
        .where(monitored_condition())
    )
    if asset_id is not None:
        query = query.where(Asset.id == asset_id)
    if site_id is not None:
        from inventory.sites.services import subtree_condition

        query = query.where(subtree_condition(Asset.site_id, site_id))
    if due_only:
        query = query.where(
            sa.or_(AssetHealth.next_due_at.is_(None), AssetHealth.next_due_at <= now)
        )
    return query.order_by(Asset.id)


def count_due(session: Session, now: datetime | None = None) -> int:
    """How many monitored assets are due now (the scheduler's cheap look before a sweep)."""
    query = _plan_query(now=now or utcnow(), site_id=None, asset_id=None, due_only=True)
    return session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))


def plan_targets(
    session: Session,
    *,
    now: datetime,
    default_interval: int,
    timeout: float,
    retries: int,
    site_id: int | None = None,
    asset_id: int | None = None,
    due_only: bool = True,
) -> list[PlannedTarget]:
    """The targets of a sweep, credentials decrypted (each profile once)."""
    from inventory.credentials.services import read_secrets

    rows = session.execute(
        _plan_query(now=now, site_id=site_id, asset_id=asset_id, due_only=due_only)
    ).all()
    profile_ids = {row.credential_profile_id for row in rows}
    credentials: dict[int, SnmpCredentials | str] = {}
    ports: dict[int, int] = {}
    if profile_ids:
        for profile in session.scalars(
            sa.select(CredentialProfile).where(CredentialProfile.id.in_(profile_ids))
        ):
            ports[profile.id] = profile.snmp_port or 161
            try:
                credentials[profile.id] = snmp_credentials(profile, read_secrets(profile))
            except Exception as exc:  # a broken key fails these targets, not the sweep
                credentials[profile.id] = clean_text(
                    f"credentials of profile {profile.name!r} cannot be read: {exc}", 500
                )
    planned = []
    for row in rows:
        interval = max(MIN_INTERVAL_SECONDS, int(row.poll_interval_seconds or default_interval))
        creds = credentials[row.credential_profile_id]
        if isinstance(creds, str):
            planned.append(PlannedTarget(row.id, interval, None, creds))
            continue
        target = SnmpTarget(
            key=row.id,
            address=row.management_address.strip(),
            credentials=creds,
            port=ports[row.credential_profile_id],
            timeout=float(timeout),
            retries=int(retries),
            groups=groups_for(row.code, row.group),
        )
        planned.append(PlannedTarget(row.id, interval, target))
    return planned


# -- rates ---------------------------------------------------------------------------------


def poll_gap_seconds(
    prev_at: datetime | None,
    prev_uptime: int | None,
    at: datetime,
    uptime: int | None,
) -> float | None:
    """Seconds between two polls of a device, or None when it restarted in between.

    The device's own clock (sysUpTime) measures the gap best; the sweep's clock is used
    when uptime is missing or frozen (some agents serve a constant), or disagrees wildly.
    """
    if prev_at is None:
        return None
    wall = (at - prev_at).total_seconds()
    if wall <= 0:
        return None
    if uptime is not None and prev_uptime is not None:
        if uptime < prev_uptime:
            return None  # rebooted: counters started again from zero
        device = uptime - prev_uptime
        if device > 0:
            if 0.5 * wall <= device <= 1.5 * wall:
                return float(device)
            if device < 0.5 * wall and wall - device > 30:
                return None  # up for less time than since the last poll: it restarted
    return wall


def counter_rate(
    previous: int | None,
    current: int | None,
    *,
    bits: int,
    seconds: float | None,
    speed_bps: int | None = None,
) -> float | None:
    """Bits per second from two octet-counter readings, or None when no honest rate exists.

    A 32-bit counter that went down has wrapped (once: gaps over an hour are refused);
    a 64-bit counter does not wrap in practice, so going down means it was reset. Rates
    above twice the interface speed are impossible and dropped.
    """
    if previous is None or current is None or not seconds or seconds <= 0:
        return None
    delta = current - previous
    if delta < 0:
        if bits != 32 or seconds > MAX_32BIT_GAP_SECONDS:
            return None
        delta += 2**32
    rate = delta * 8 / seconds
    if speed_bps and speed_bps > 0 and rate > 2 * speed_bps:
        return None
    # Whole bits per second: finer is noise, and SQLite stores a whole REAL in fewer bytes.
    return float(round(rate))


# -- recording -----------------------------------------------------------------------------


def device_figures(data: SnmpData) -> dict[str, Any]:
    """The AssetHealth figures from one successful poll (all guarded against bad values)."""
    loads = [p for p in (_pct(v) for v in data.cpu_loads or []) if p is not None]
    storage_rows = []
    ram_used = ram_size = 0
    disk_pcts = []
    for item in list(data.storage or [])[:200]:
        size = _int(getattr(item, "size_bytes", None))
        used = _int(getattr(item, "used_bytes", None))
        kind = clean_text(getattr(item, "kind", ""), 16)
        pct = _ratio_pct(used, size)
        if kind == "ram" and size and used is not None:
            ram_size += size
            ram_used += used
        if kind == "disk" and pct is not None:
            disk_pcts.append(pct)
        if len(storage_rows) < JSON_LIST_LIMIT:
            storage_rows.append(
                {
                    "descr": clean_text(getattr(item, "descr", ""), 120),
                    "kind": kind,
                    "size_bytes": size,
                    "used_bytes": used,
                    "pct": pct,
                }
            )
    supplies = []
    for item in list(data.supplies or [])[:JSON_LIST_LIMIT]:
        level = _int(getattr(item, "level", None), -3, INT32_MAX)
        capacity = _int(getattr(item, "max_capacity", None), -3, INT32_MAX)
        pct = None
        if level is not None and capacity and level >= 0 and capacity > 0:
            pct = round(min(100.0, 100.0 * level / capacity), 1)
        supplies.append(
            {
                "index": _int(getattr(item, "index", None), 0, INT32_MAX),
                "descr": clean_text(getattr(item, "descr", ""), 120),
                "kind": _int(getattr(item, "kind", None), 0, INT32_MAX),
                "colour": clean_text(getattr(item, "colour", ""), 40),
                "level": level,  # -3 means "some remaining", -2 unknown, -1 other
                "max_capacity": capacity,
                "pct": pct,
            }
        )
    toner = [s["pct"] for s in supplies if s["pct"] is not None and s["kind"] in TONER_KINDS]
    if not toner:
        toner = [
            s["pct"] for s in supplies if s["pct"] is not None and s["kind"] not in WASTE_KINDS
        ]
    ups = data.ups
    system = data.system
    ticks = _int(getattr(system, "uptime_ticks", None))
    return {
        "uptime_seconds": ticks // 100 if ticks is not None else None,
        "sys_name": clean_text(getattr(system, "name", ""), 255),
        "sys_descr": clean_text(getattr(system, "descr", ""), 1000),
        "sys_object_id": clean_text(getattr(system, "object_id", ""), 255),
        "sys_location": clean_text(getattr(system, "location", ""), 255),
        "sys_contact": clean_text(getattr(system, "contact", ""), 255),
        "entity_model": clean_text(data.entity_model, 255),
        "entity_serial": clean_text(data.entity_serial, 255),
        "cpu_pct": round(sum(loads) / len(loads), 1) if loads else None,
        "mem_pct": _ratio_pct(ram_used, ram_size) if ram_size else None,
        "storage_pct": max(disk_pcts) if disk_pcts else None,
        "battery_pct": _pct(getattr(ups, "charge_pct", None)) if ups else None,
        "battery_status": _int(getattr(ups, "battery_status", None), 0, INT32_MAX) if ups else None,
        "battery_minutes": _int(getattr(ups, "minutes_remaining", None), 0, INT32_MAX)
        if ups
        else None,
        "toner_pct": min(toner) if toner else None,
        "supplies": supplies,
        "storage": storage_rows,
    }


_FAILURE_TEXT = {
    Outcome.TIMEOUT.value: "no answer",
    Outcome.AUTH_FAILED.value: "authentication failed",
    Outcome.UNREACHABLE.value: "unreachable",
    Outcome.ERROR.value: "error",
}

_SAMPLE_FIELDS = ("cpu_pct", "mem_pct", "storage_pct", "battery_pct", "toner_pct")
_HEALTH_FIGURES = (
    "uptime_seconds",
    "sys_name",
    "sys_descr",
    "sys_object_id",
    "sys_location",
    "sys_contact",
    "entity_model",
    "entity_serial",
    "cpu_pct",
    "mem_pct",
    "storage_pct",
    "battery_pct",
    "battery_status",
    "battery_minutes",
    "toner_pct",
    "supplies",
    "storage",
)


def normalise(result: ProbeResult) -> tuple[str, str]:
    """The stored outcome and message of a probe result (unknown outcomes become errors)."""
    try:
        outcome = Outcome(result.outcome).value
    except ValueError:
        return Outcome.ERROR.value, clean_text(f"unknown outcome {result.outcome!r}", 500)
    message = clean_text(result.message, 500)
    if outcome != Outcome.OK.value and not message:
        message = _FAILURE_TEXT[outcome]
    return outcome, message


@dataclass
class BatchRecord:
    """What one recorded batch changed (counts by outcome, events written)."""

    counts: Counter = field(default_factory=Counter)
    events: list[tuple[int, str]] = field(default_factory=list)
    health_samples: int = 0
    interface_samples: int = 0


def _interfaces(
    asset_id: int,
    data: SnmpData,
    previous: dict[int, Any],
    *,
    at: datetime,
    uptime: int | None,
) -> tuple[list[dict], list[dict], list[dict], list[int]]:
    """(inserts, updates, samples, removed if_index) for one device's interface table."""
    inserts, updates, samples = [], [], []
    seen: set[int] = set()
    for info in list(data.interfaces or [])[:10000]:
        index = _int(getattr(info, "index", None), 1, INT32_MAX)
        if index is None or index in seen:
            continue
        seen.add(index)
        bits = 64 if getattr(info, "counter_bits", 32) == 64 else 32
        in_octets = _int(getattr(info, "in_octets", None), 0, COUNTER64_MAX)
        out_octets = _int(getattr(info, "out_octets", None), 0, COUNTER64_MAX)
        speed = _int(getattr(info, "speed_bps", None), 0, INT64_MAX)
        oper = _int(getattr(info, "oper_status", None), 0, INT32_MAX)
        prev = previous.get(index)
        in_bps = out_bps = None
        if prev is not None and prev.counter_bits == bits:
            gap = poll_gap_seconds(prev.counters_at, prev.uptime_seconds, at, uptime)
            in_bps = counter_rate(
                prev.in_octets, in_octets, bits=bits, seconds=gap, speed_bps=speed
            )
            out_bps = counter_rate(
                prev.out_octets, out_octets, bits=bits, seconds=gap, speed_bps=speed
            )
        row = {
            "name": clean_text(getattr(info, "name", ""), 255),
            "descr": clean_text(getattr(info, "descr", ""), 255),
            "alias": clean_text(getattr(info, "alias", ""), 255),
            "admin_status": _int(getattr(info, "admin_status", None), 0, INT32_MAX),
            "oper_status": oper,
            "speed_bps": speed,
            "counter_bits": bits,
            "in_octets": in_octets,
            "out_octets": out_octets,
            "counters_at": at,
            "uptime_seconds": uptime,
            "in_bps": in_bps,
            "out_bps": out_bps,
            "in_errors": _int(getattr(info, "in_errors", None), 0, COUNTER64_MAX),
            "out_errors": _int(getattr(info, "out_errors", None), 0, COUNTER64_MAX),
            "in_discards": _int(getattr(info, "in_discards", None), 0, COUNTER64_MAX),
            "out_discards": _int(getattr(info, "out_discards", None), 0, COUNTER64_MAX),
            "updated_at": at,
        }
        if prev is None:
            inserts.append({"asset_id": asset_id, "if_index": index, **row})
        else:
            updates.append({"_asset": asset_id, "_index": index, **row})
        # History only for interfaces that are up: a down port carries no traffic to chart.
        if (in_bps is not None or out_bps is not None) and oper in (1, None):
            samples.append(
                {
                    "asset_id": asset_id,
                    "if_index": index,
                    "at": at,
                    "in_bps": in_bps,
                    "out_bps": out_bps,
                }
            )
    removed = [index for index in previous if index not in seen] if seen else []
    return inserts, updates, samples, removed


def record_results(
    session: Session,
    run_id: int,
    items: Sequence[tuple[PlannedTarget, ProbeResult]],
    *,
    at: datetime,
    planned_at: datetime,
    down_after: int = 2,
    recheck_seconds: int | None = None,
    not_polled: frozenset[int] | set[int] = frozenset(),
) -> BatchRecord:
    """Write one batch of a sweep's outcomes with a handful of bulk statements.

    Every item gets its SweepResult. An answer updates the device's figures, interfaces
    and history; a failure only its state, so the last known figures stay. After
    `down_after` failures in a row the device is down (a "down" event); the first answer
    after that brings it up (an "up" event saying how long it was down).

    Targets the sweep itself could not poll (credentials that cannot be decrypted, asset
    ids in `not_polled`: the probe crashed or returned nothing for them) get their error
    result and their next due time, but no failure is counted against the device: a
    broken key file must not report the whole district down.
    """
    record = BatchRecord()
    if not items:
        return record
    down_after = max(1, int(down_after))
    health_t = AssetHealth.__table__
    iface_t = InterfaceState.__table__
    ids = [planned.asset_id for planned, _ in items]
    previous = {
        row.asset_id: row
        for row in session.execute(sa.select(health_t).where(health_t.c.asset_id.in_(ids)))
    }
    with_interfaces = [
        planned.asset_id
        for planned, result in items
        if result.ok and result.data is not None and result.data.interfaces
    ]
    previous_ifaces: dict[int, dict[int, Any]] = {}
    if with_interfaces:
        for row in session.execute(
            sa.select(iface_t).where(iface_t.c.asset_id.in_(with_interfaces))
        ):
            previous_ifaces.setdefault(row.asset_id, {})[row.if_index] = row

    results, inserts, ok_updates, failed_updates, skipped_updates = [], [], [], [], []
    events, samples = [], []
    if_inserts, if_updates, if_samples, if_removed = [], [], [], []
    for planned, result in items:
        asset_id = planned.asset_id
        outcome, message = normalise(result)
        elapsed = result.elapsed_ms
        if not isinstance(elapsed, int | float) or not math.isfinite(elapsed):
            elapsed = None
        results.append(
            {
                "run_id": run_id,
                "asset_id": asset_id,
                "outcome": outcome,
                "message": message,
                "elapsed_ms": int(min(max(elapsed, 0), INT32_MAX)) if elapsed is not None else None,
            }
        )
        record.counts[outcome] += 1
        prev = previous.get(asset_id)
        prev_state = prev.state if prev is not None else UNKNOWN
        prev_since = prev.state_since if prev is not None else None
        prev_failures = prev.consecutive_failures if prev is not None else 0
        base = {
            "last_polled_at": at,
            "last_outcome": outcome,
            "next_due_at": planned_at + timedelta(seconds=planned.interval_seconds),
        }
        if planned.target is None or asset_id in not_polled:
            row = {
                "last_outcome": outcome,
                "last_error": message,
                "next_due_at": base["next_due_at"],
            }
            if prev is None:
                inserts.append({"asset_id": asset_id, "state": UNKNOWN, **row})
            else:
                skipped_updates.append({"_asset": asset_id, **row})
        elif outcome == Outcome.OK.value:
            data = result.data or SnmpData()
            figures = device_figures(data)
            if prev_state == DOWN:
                down_for = format_duration((at - prev_since).total_seconds()) if prev_since else "?"
                events.append(
                    {
                        "asset_id": asset_id,
                        "kind": UP,
                        "at": at,
                        "message": f"answering again after {down_for} down",
                    }
                )
                record.events.append((asset_id, UP))
            row = {
                **base,
                **figures,
                "state": UP,
                "state_since": prev_since if prev_state == UP and prev_since else at,
                "consecutive_failures": 0,
                "last_ok_at": at,
                "last_error": "",
            }
            if any(figures[name] is not None for name in _SAMPLE_FIELDS):
                samples.append(
                    {"asset_id": asset_id, "at": at, **{n: figures[n] for n in _SAMPLE_FIELDS}}
                )
            if data.interfaces:
                ins, upd, smp, gone = _interfaces(
                    asset_id,
                    data,
                    previous_ifaces.get(asset_id, {}),
                    at=at,
                    uptime=figures["uptime_seconds"],
                )
                if_inserts += ins
                if_updates += upd
                if_samples += smp
                if_removed += [{"_asset": asset_id, "_index": index} for index in gone]
            if prev is None:
                inserts.append({"asset_id": asset_id, **row})
            else:
                ok_updates.append({"_asset": asset_id, **row})
        else:
            failures = prev_failures + 1
            state, since = prev_state, prev_since
            if failures >= down_after and prev_state != DOWN:
                state, since = DOWN, at
                last_ok = prev.last_ok_at if prev is not None else None
                seen = (
                    f"last answered {last_ok:%Y-%m-%d %H:%M} UTC" if last_ok else "never answered"
                )
                events.append(
                    {
                        "asset_id": asset_id,
                        "kind": DOWN,
                        "at": at,
                        "message": clean_text(
                            f"{failures} failed polls ({outcome}: {message}); {seen}", 500
                        ),
                    }
                )
                record.events.append((asset_id, DOWN))
            row = {
                **base,
                "state": state,
                "state_since": since or at,
                "consecutive_failures": failures,
                "last_error": message,
            }
            if recheck_seconds and state != DOWN:
                # Not down yet: confirm soon instead of a whole interval later.
                seconds = min(planned.interval_seconds, recheck_seconds)
                row["next_due_at"] = planned_at + timedelta(seconds=seconds)
            if prev is None:
                inserts.append({"asset_id": asset_id, "last_ok_at": None, **row})
            else:
                failed_updates.append({"_asset": asset_id, **row})

    session.execute(sa.insert(SweepResult.__table__), results)
    if inserts:
        # Rows of one INSERT must share their keys: answers bring figures, failures do not.
        by_keys: dict[tuple, list[dict]] = {}
        for row in inserts:
            by_keys.setdefault(tuple(sorted(row)), []).append(row)
        for rows in by_keys.values():
            session.execute(sa.insert(health_t), rows)
    by_asset = health_t.c.asset_id == sa.bindparam("_asset")
    for updates in (ok_updates, failed_updates, skipped_updates):
        if updates:
            session.execute(sa.update(health_t).where(by_asset), updates)
    if events:
        session.execute(sa.insert(HealthEvent.__table__), events)
    if samples:
        session.execute(sa.insert(HealthSample.__table__), samples)
    by_interface = sa.and_(
        iface_t.c.asset_id == sa.bindparam("_asset"), iface_t.c.if_index == sa.bindparam("_index")
    )
    if if_removed:
        session.execute(sa.delete(iface_t).where(by_interface), if_removed)
    if if_updates:
        session.execute(sa.update(iface_t).where(by_interface), if_updates)
    if if_inserts:
        session.execute(sa.insert(iface_t), if_inserts)
    if if_samples:
        session.execute(sa.insert(InterfaceSample.__table__), if_samples)
    ok = record.counts.get(Outcome.OK.value, 0)
    runs = SweepRun.__table__
    session.execute(
        sa.update(runs)
        .where(runs.c.id == run_id)
        .values(ok=runs.c.ok + ok, failed=runs.c.failed + (len(items) - ok))
    )
    record.health_samples = len(samples)
    record.interface_samples = len(if_samples)
    return record


def record_unpolled(
    session: Session, run_id: int, items: Iterable[tuple[int, str]], outcome: str = "error"
) -> int:
    """Results for targets of a run that were not polled or not recorded (asset id, why).

    The device's state is left alone, so it stays due for the next sweep.
    """
    rows = [
        {
            "run_id": run_id,
            "asset_id": asset_id,
            "outcome": outcome,
            "message": clean_text(why, 500),
            "elapsed_ms": None,
        }
        for asset_id, why in items
    ]
    if not rows:
        return 0
    session.execute(sa.insert(SweepResult.__table__), rows)
    runs = SweepRun.__table__
    session.execute(
        sa.update(runs).where(runs.c.id == run_id).values(failed=runs.c.failed + len(rows))
    )
    return len(rows)


def recorded_asset_ids(session: Session, run_id: int) -> set[int]:
    table = SweepResult.__table__
    return set(session.scalars(sa.select(table.c.asset_id).where(table.c.run_id == run_id)))


def mark_due_now(session: Session, asset_id: int, now: datetime | None = None) -> None:
    """Make the next scheduler tick poll this asset."""
    now = now or utcnow()
    table = AssetHealth.__table__
    updated = session.execute(
        sa.update(table).where(table.c.asset_id == asset_id).values(next_due_at=now)
    )
    if updated.rowcount == 0:
        _insert_ignore(
            session,
            table,
            {
                "asset_id": asset_id,
                "state": UNKNOWN,
                "consecutive_failures": 0,
                "last_outcome": "",
                "last_error": "",
                "next_due_at": now,
                "sys_name": "",
                "sys_descr": "",
                "sys_object_id": "",
                "sys_location": "",
                "sys_contact": "",
                "entity_model": "",
                "entity_serial": "",
                "supplies": [],
                "storage": [],
            },
        )


# -- retention -----------------------------------------------------------------------------


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_bucket(session: Session, column):
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.date_trunc("hour", sa.func.timezone("UTC", column))
    return sa.func.strftime("%Y-%m-%d %H:00:00", column)


def epoch_seconds(session: Session, column):
    """A UTC datetime column as whole seconds since 1970 (an integer in both databases)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.extract("epoch", column), sa.BigInteger)
    return sa.cast(sa.func.strftime("%s", column), sa.Integer)


def as_hour(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _avg(total, count):
    return round(total / count, 2) if count else None


@dataclass
class RollupCounts:
    hours: int = 0
    health_rows: int = 0
    interface_rows: int = 0

    def add(self, other: RollupCounts) -> None:
        self.hours += other.hours
        self.health_rows += other.health_rows
        self.interface_rows += other.interface_rows


def rollup_start(session: Session) -> datetime | None:
    """Where rolling up starts: the newest hour already rolled up (it is recomputed: it may
    have been rolled while a sweep was still writing it), else the oldest raw row."""
    newest = session.scalar(sa.select(sa.func.max(HealthHourly.__table__.c.hour)))
    if newest is not None:
        return newest
    oldest = [
        session.scalar(sa.select(sa.func.min(SweepRun.__table__.c.started_at))),
        session.scalar(sa.select(sa.func.min(HealthSample.__table__.c.at))),
        session.scalar(sa.select(sa.func.min(InterfaceSample.__table__.c.at))),
    ]
    oldest = [moment for moment in oldest if moment is not None]
    return floor_hour(min(oldest)) if oldest else None


_EMPTY_HOUR = {
    "polls": 0,
    "ok_polls": 0,
    "cpu_avg": None,
    "cpu_max": None,
    "mem_avg": None,
    "mem_max": None,
    "storage_max": None,
    "battery_min": None,
    "toner_min": None,
}


def _float(value, digits: int) -> float | None:
    return round(float(value), digits) if value is not None else None


def rollup_window(session: Session, start: datetime, end: datetime) -> RollupCounts:
    """Roll the raw rows of the hours in [start, end) up into HealthHourly/InterfaceHourly.

    Polls and answers per hour come from the sweep results (availability), figures from
    the samples. Each hour found is recomputed from its raw rows and replaces what was
    stored, so running this again never counts twice. Raw rows are only ever deleted at
    hour boundaries (`raw_cutoff`), so an hour that has raw rows has all of them, and an
    hour whose raw rows are gone is not touched.
    """
    counts = RollupCounts()
    hourly = HealthHourly.__table__
    iface_hourly = InterfaceHourly.__table__
    runs = SweepRun.__table__
    results = SweepResult.__table__
    samples = HealthSample.__table__
    isamples = InterfaceSample.__table__

    bucket = hour_bucket(session, runs.c.started_at)
    polls_query = (
        sa.select(
            results.c.asset_id,
            bucket.label("hour"),
            sa.func.count().label("polls"),
            sa.func.sum(sa.case((results.c.outcome == Outcome.OK.value, 1), else_=0)).label("ok"),
        )
        .join(runs, runs.c.id == results.c.run_id)
        .where(runs.c.started_at >= start, runs.c.started_at < end)
        .group_by(results.c.asset_id, bucket)
    )
    s_bucket = hour_bucket(session, samples.c.at)
    figures_query = (
        sa.select(
            samples.c.asset_id,
            s_bucket.label("hour"),
            sa.func.avg(samples.c.cpu_pct).label("cpu_avg"),
            sa.func.max(samples.c.cpu_pct).label("cpu_max"),
            sa.func.avg(samples.c.mem_pct).label("mem_avg"),
            sa.func.max(samples.c.mem_pct).label("mem_max"),
            sa.func.max(samples.c.storage_pct).label("storage_max"),
            sa.func.min(samples.c.battery_pct).label("battery_min"),
            sa.func.min(samples.c.toner_pct).label("toner_min"),
        )
        .where(samples.c.at >= start, samples.c.at < end)
        .group_by(samples.c.asset_id, s_bucket)
    )
    rows: dict[tuple[int, datetime], dict] = {}
    for row in session.execute(polls_query):
        key = (row.asset_id, as_hour(row.hour))
        rows.setdefault(key, {"asset_id": key[0], "hour": key[1], **_EMPTY_HOUR}).update(
            polls=int(row.polls), ok_polls=int(row.ok or 0)
        )
    for row in session.execute(figures_query):
        key = (row.asset_id, as_hour(row.hour))
        target = rows.setdefault(key, {"asset_id": key[0], "hour": key[1], **_EMPTY_HOUR})
        target.update(
            cpu_avg=_float(row.cpu_avg, 1),
            cpu_max=_float(row.cpu_max, 1),
            mem_avg=_float(row.mem_avg, 1),
            mem_max=_float(row.mem_max, 1),
            storage_max=_float(row.storage_max, 1),
            battery_min=_float(row.battery_min, 1),
            toner_min=_float(row.toner_min, 1),
        )
    hours = sorted({hour for _, hour in rows})
    if hours:
        session.execute(sa.delete(hourly).where(hourly.c.hour.in_(hours)))
        values = list(rows.values())
        for i in range(0, len(values), 1000):
            session.execute(sa.insert(hourly), values[i : i + 1000])
    counts.health_rows = len(rows)

    i_bucket = hour_bucket(session, isamples.c.at)
    iface_query = (
        sa.select(
            isamples.c.asset_id,
            isamples.c.if_index,
            i_bucket.label("hour"),
            sa.func.count().label("samples"),
            sa.func.avg(isamples.c.in_bps).label("in_avg"),
            sa.func.max(isamples.c.in_bps).label("in_max"),
            sa.func.avg(isamples.c.out_bps).label("out_avg"),
            sa.func.max(isamples.c.out_bps).label("out_max"),
        )
        .where(isamples.c.at >= start, isamples.c.at < end)
        .group_by(isamples.c.asset_id, isamples.c.if_index, i_bucket)
    )
    iface_rows = [
        {
            "asset_id": row.asset_id,
            "if_index": row.if_index,
            "hour": as_hour(row.hour),
            "samples": int(row.samples),
            "in_avg": _float(row.in_avg, 0),
            "in_max": _float(row.in_max, 0),
            "out_avg": _float(row.out_avg, 0),
            "out_max": _float(row.out_max, 0),
        }
        for row in session.execute(iface_query)
    ]
    iface_hours = sorted({row["hour"] for row in iface_rows})
    if iface_hours:
        session.execute(sa.delete(iface_hourly).where(iface_hourly.c.hour.in_(iface_hours)))
        for i in range(0, len(iface_rows), 1000):
            session.execute(sa.insert(iface_hourly), iface_rows[i : i + 1000])
    counts.interface_rows = len(iface_rows)
    counts.hours = len(set(hours) | set(iface_hours))
    return counts


ROLLUP_WINDOW = timedelta(hours=24)


def rollup_windows(session: Session, now: datetime) -> list[tuple[datetime, datetime]]:
    """The windows of finished hours still to roll up, a day at most each."""
    start = rollup_start(session)
    end = floor_hour(now)
    windows = []
    while start is not None and start < end:
        windows.append((start, min(end, start + ROLLUP_WINDOW)))
        start = windows[-1][1]
    return windows


def rollup_hours(session: Session, *, now: datetime | None = None) -> RollupCounts:
    """Roll up every finished hour not rolled up yet (the orchestrator commits per window)."""
    counts = RollupCounts()
    for start, end in rollup_windows(session, now or utcnow()):
        counts.add(rollup_window(session, start, end))
    return counts


def delete_raw_before(session: Session, cutoff: datetime, limit: int = 5000) -> int:
    """Delete up to `limit` rows of raw history older than cutoff (call until it returns 0).

    Sweep runs go with their results, oldest first, a few runs at a time.
    """
    deleted = 0
    for table in (HealthSample.__table__, InterfaceSample.__table__):
        ids = sa.select(table.c.id).where(table.c.at < cutoff).limit(limit).scalar_subquery()
        deleted += session.execute(sa.delete(table).where(table.c.id.in_(ids))).rowcount
        if deleted >= limit:
            return deleted
    runs = SweepRun.__table__
    results = SweepResult.__table__
    old_runs = list(
        session.scalars(
            sa.select(runs.c.id)
            .where(runs.c.started_at < cutoff, runs.c.status != RUNNING)
            .order_by(runs.c.id)
            .limit(max(1, limit // 1000))
        )
    )
    if old_runs:
        deleted += session.execute(
            sa.delete(results).where(results.c.run_id.in_(old_runs))
        ).rowcount
        deleted += session.execute(sa.delete(runs).where(runs.c.id.in_(old_runs))).rowcount
    return deleted


def delete_hourly_before(session: Session, cutoff: datetime) -> int:
    deleted = session.execute(
        sa.delete(HealthHourly.__table__).where(HealthHourly.__table__.c.hour < cutoff)
    ).rowcount
    deleted += session.execute(
        sa.delete(InterfaceHourly.__table__).where(InterfaceHourly.__table__.c.hour < cutoff)
    ).rowcount
    return deleted


def delete_events_before(session: Session, cutoff: datetime) -> int:
    """Down/up events are kept as long as the hourly history."""
    return session.execute(
        sa.delete(HealthEvent.__table__).where(HealthEvent.__table__.c.at < cutoff)
    ).rowcount


def raw_cutoff(now: datetime, raw_days: float) -> datetime:
    """Raw history before this instant may go (an hour boundary, see rollup_hours)."""
    return floor_hour(now - timedelta(days=raw_days))


# -- poll now (for the asset page) ---------------------------------------------------------


@dataclass(frozen=True)
class PollNowResult:
    """What "poll now" did. `code`: polled, queued or not_monitored (for translated text);
    `message` is an English sentence; `outcome` is the poll's outcome when it ran."""

    ran: bool
    code: str
    message: str
    outcome: str | None = None
    run_id: int | None = None


def is_monitored(asset_id: int, session: Session | None = None) -> bool:
    session = session or db.session
    query = (
        sa.select(Asset.id)
        .join(CredentialProfile, CredentialProfile.id == Asset.credential_profile_id)
        .where(Asset.id == asset_id, monitored_condition())
    )
    return session.scalar(query) is not None


def poll_now(asset_id: int, actor: Any | None = None) -> PollNowResult:
    """Poll one asset at once when no sweep is running, else make it due for the next tick.

    The poll runs as a one-asset sweep (trigger "poll_now") on database sessions of its
    own, committed there; the caller's session is only flushed (the queued case writes
    AssetHealth.next_due_at through it, for the caller to commit). Call it before the
    request has written anything: on SQLite a pending write would block the sweep's.
    """
    from inventory.health.sweep import run_sweep

    if not is_monitored(asset_id):
        return PollNowResult(
            False,
            "not_monitored",
            "This asset is not monitored: it needs a management address, an SNMP "
            "credentials profile and a deployed, under-repair or non-functional status.",
        )
    who = getattr(actor, "username", "") or ""
    summary = run_sweep(trigger=POLL_NOW, asset_id=asset_id, requested_by=who)
    if summary.status == "busy":
        mark_due_now(db.session, asset_id)
        db.session.flush()
        return PollNowResult(
            False,
            "queued",
            "A sweep is running now; this asset will be polled on the next scheduler tick.",
        )
    outcome = next(iter(summary.counts), None) if summary.counts else None
    if summary.status != FINISHED:
        return PollNowResult(
            True, "failed", f"The poll did not finish: {summary.message}", outcome, summary.run_id
        )
    return PollNowResult(True, "polled", f"Polled: {outcome}.", outcome, summary.run_id)
