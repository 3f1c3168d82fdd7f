#!/usr/bin/env python3
"""Measure how fast the health tables grow, through the real sweep and record path.

    .venv/bin/python scripts/bench_storage.py                  # 1,000 devices, one day, SQLite
    .venv/bin/python scripts/bench_storage.py --devices 200 --hours 2      # a quick look
    .venv/bin/python scripts/bench_storage.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres

What it does:

1. Builds a fresh database (SQLite in a temporary folder, or a database of its own on the
   PostgreSQL server named, dropped afterwards) at the head migration.
2. Registers N monitored devices in a district-like mix (switches with 26 ports of which
   about 10 are up, routers, UPS units, printers, projectors and VC endpoints) with one
   SNMP credentials profile, 2% of them dead.
3. Runs `inventory.health.sweep.run_sweep` every simulated 5 minutes (the default
   interval) for --hours, with a simulated probe in place of SNMP (so the agents are not
   what is measured): the plan, the batching, the state machine, the rates and every
   row written are the product's own.
4. Rolls the simulated hours up (the retention job), then reads the size of every health
   table with its indexes (SQLite's dbstat, PostgreSQL's pg_total_relation_size) and
   prints rows, bytes per row and bytes per day, and the projection for 1,000 devices:
   HEALTH_RAW_DAYS of raw history plus a year of hourly rollups. On PostgreSQL the
   latest-state tables are vacuumed every hour of simulated time, as autovacuum would.
5. Sweeps one more hour and times the hourly retention run (the steady-state cost).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory import create_app
from inventory.extensions import MIGRATIONS_DIR, db
from inventory.probes.base import (
    InterfaceInfo,
    Outcome,
    ProbeResult,
    SnmpData,
    StorageInfo,
    SupplyInfo,
    SystemInfo,
    UpsInfo,
)

START = datetime(2026, 1, 5, 0, 0, 30, tzinfo=UTC)
RAW_TABLES = ("sweep_runs", "sweep_results", "health_samples", "interface_samples")
HOURLY_TABLES = ("health_hourly", "interface_hourly")
STATE_TABLES = ("asset_health", "interface_states", "health_events")

# (category code, share of devices, interfaces, of which up, 64-bit counters)
MIX = (
    ("SWT", 0.35, 26, 10, True),
    ("RTR", 0.20, 6, 3, True),
    ("UPS", 0.15, 0, 0, False),
    ("PRN", 0.15, 2, 1, False),
    ("PRJ", 0.10, 2, 1, False),
    ("VCC", 0.05, 3, 1, False),
)
DEAD_SHARE = 0.02


@dataclass
class Database:
    url: str
    cleanup: Callable[[], None] = lambda: None


def sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def prepare(args) -> Database:
    if args.database_url and args.database_url.startswith("postgres"):
        admin_url = sqlalchemy_url(args.database_url)
        name = f"sampada_storage_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        url = sa.engine.make_url(admin_url).set(database=name).render_as_string(False)
        return Database(url, drop)
    folder = Path(tempfile.mkdtemp(prefix="sampada-storage-"))
    return Database(
        f"sqlite:///{folder / 'storage.sqlite3'}",
        lambda: shutil.rmtree(folder, ignore_errors=True),
    )


def seed(n_devices: int, rng: random.Random) -> dict[int, tuple]:
    """N monitored assets; returns asset id -> (kind, interfaces, up, 64-bit, dead)."""
    from inventory.assets.models import Asset
    from inventory.catalog.services import ensure_default_categories, get_category_by_code
    from inventory.credentials.services import save_profile
    from inventory.sites.services import create_site

    ensure_default_categories()
    site = create_site(
        code="GON-HQ",
        name_en="Gonda HQ",
        name_hi="गोण्डा मुख्यालय",
        kind="district_hq",
        parent_id=None,
        link_type="swan",
    )
    profile = save_profile(
        None, {"name": "bench v2c", "snmp_version": "v2c"}, {"snmp_community": "bench"}
    )
    rows, kinds = [], []
    now = datetime.now(UTC)
    for code, share, ports, up, hc in MIX:
        category = get_category_by_code(code)
        for _ in range(round(n_devices * share)):
            n = len(rows)
            rows.append(
                {
                    "tag": f"GON-{code}-{n:05d}",
                    "category_id": category.id,
                    "site_id": site.id,
                    "status": "deployed",
                    "management_address": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}",
                    "credential_profile_id": profile.id,
                    "purchase_date": date(2024, 4, 1),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            kinds.append((code, ports, up, hc, rng.random() < DEAD_SHARE))
    db.session.execute(sa.insert(Asset.__table__), rows)
    db.session.commit()
    ids = db.session.scalars(sa.select(Asset.id).order_by(Asset.id)).all()
    return dict(zip(ids, kinds, strict=True))


class SimulatedProbe:
    """Answers like the devices of the mix would, with traffic, load and supplies moving."""

    def __init__(self, devices: dict[int, tuple], rng: random.Random):
        self.devices = devices
        self.rng = rng
        self.uptime = {key: rng.randint(10_000, 10_000_000) for key in devices}
        self.octets: dict[tuple[int, int], list[int]] = {}
        self.toner = {key: rng.uniform(20, 100) for key in devices}

    def __call__(self, targets):
        results = []
        for target in targets:
            code, ports, up, hc, dead = self.devices[target.key]
            if dead:
                results.append(ProbeResult(target.key, Outcome.TIMEOUT, "no answer", 2000))
                continue
            self.uptime[target.key] += 300
            ticks = self.uptime[target.key] * 100
            speed = 1_000_000_000 if hc else 100_000_000
            interfaces = []
            for index in range(1, ports + 1):
                counters = self.octets.setdefault((target.key, index), [0, 0])
                is_up = index <= up
                if is_up:
                    for direction in (0, 1):
                        counters[direction] += int(self.rng.uniform(0, 0.05) * speed / 8 * 300)
                        if not hc:
                            counters[direction] %= 2**32
                interfaces.append(
                    InterfaceInfo(
                        index=index,
                        name=f"Gi0/{index}" if hc else f"eth{index}",
                        descr=f"GigabitEthernet0/{index}" if hc else f"Ethernet {index}",
                        alias="uplink to block office" if index == 1 else "",
                        admin_status=1,
                        oper_status=1 if is_up else 2,
                        speed_bps=speed,
                        in_octets=counters[0],
                        out_octets=counters[1],
                        counter_bits=64 if hc else 32,
                        in_errors=0,
                        out_errors=0,
                        in_discards=0,
                        out_discards=0,
                    )
                )
            data = SnmpData(
                system=SystemInfo(
                    descr=f"Simulated {code} firmware 15.2(4)M7",
                    object_id="1.3.6.1.4.1.9.1.1045",
                    uptime_ticks=ticks,
                    name=f"{code.lower()}-{target.key}",
                    location="Gonda",
                    contact="degs-gonda@example.org",
                ),
                interfaces=interfaces,
            )
            if code in ("SWT", "RTR"):
                data.cpu_loads = [self.rng.randint(1, 60)]
                data.storage = [
                    StorageInfo(1, "ram", "Processor memory", 512 * 2**20, 200 * 2**20),
                    StorageInfo(2, "disk", "flash:", 256 * 2**20, 120 * 2**20),
                ]
                data.entity_model = "WS-C2960X-24TS-L"
                data.entity_serial = f"FOC{target.key:08d}"
            if code == "UPS":
                data.ups = UpsInfo(
                    battery_status=2, minutes_remaining=45, charge_pct=self.rng.randint(90, 100)
                )
            if code == "PRN":
                self.toner[target.key] = max(0.0, self.toner[target.key] - 0.01)
                data.supplies = [
                    SupplyInfo(
                        1, "Black Toner", 3, "black", int(self.toner[target.key] * 100), 10000
                    )
                ]
            results.append(ProbeResult(target.key, Outcome.OK, elapsed_ms=15.0, data=data))
        return results


def table_sizes(dialect: str) -> dict[str, tuple[int, int]]:
    """table -> (rows, bytes including its indexes)."""
    from inventory.health import models  # noqa: F401

    names = (*RAW_TABLES, *HOURLY_TABLES, *STATE_TABLES)
    sizes = {}
    with db.engine.connect() as conn:
        if dialect == "sqlite":
            owner = {
                row[0]: row[1]
                for row in conn.execute(
                    sa.text(
                        "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
                    )
                )
            }
            pages: dict[str, int] = {}
            for name, size in conn.execute(
                sa.text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
            ):
                table = owner.get(name, name)
                pages[table] = pages.get(table, 0) + int(size)
        else:
            pages = {
                name: int(conn.scalar(sa.text("SELECT pg_total_relation_size(:t)"), {"t": name}))
                for name in names
            }
        for name in names:
            rows = conn.scalar(sa.text(f"SELECT count(*) FROM {name}"))
            sizes[name] = (int(rows), pages.get(name, 0))
    return sizes


def vacuum_state_tables() -> None:
    """What autovacuum does on a real server (the test server may run with it off): every
    poll updates the latest-state rows, and PostgreSQL keeps the old versions until then."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in ("asset_health", "interface_states", "sweep_runs"):
            conn.execute(sa.text(f"VACUUM {name}"))


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:,.0f} B"
        n /= 1024
    return str(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--interval", type=int, default=300)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    target = prepare(args)
    instance = Path(tempfile.mkdtemp(prefix="sampada-storage-instance-"))
    try:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench-secret-key",
                "SQLALCHEMY_DATABASE_URI": target.url,
                "CREDENTIALS_KEYS": [Fernet.generate_key().decode()],
                "CREDENTIALS_KEY_FILE": str(instance / "credentials.key"),
                "HEALTH_INTERVAL_SECONDS": args.interval,
            }
        )
        with app.app_context():
            from flask_migrate import upgrade

            from inventory.health.sweep import SweepSettings, run_retention, run_sweep

            upgrade(directory=MIGRATIONS_DIR)
            dialect = db.engine.dialect.name
            devices = seed(args.devices, rng)
            probe = SimulatedProbe(devices, rng)
            settings = SweepSettings.from_config(app.config)
            sweeps = int(args.hours * 3600 // args.interval)
            clock_now = [START]
            record_seconds = 0.0
            print(
                f"{len(devices)} devices on {dialect}: {sweeps} sweeps, one every "
                f"{args.interval} s ({args.hours:g} h simulated)"
            )
            for number in range(sweeps):
                began = time.perf_counter()
                summary = run_sweep(
                    trigger="schedule", probe=probe, clock=lambda: clock_now[0], settings=settings
                )
                record_seconds += time.perf_counter() - began
                if summary.targets != len(devices) or summary.status != "finished":
                    raise SystemExit(f"sweep {number}: {summary}")
                if dialect == "postgresql" and number % 12 == 11:
                    vacuum_state_tables()
                if number % 24 == 0:
                    print(
                        f"  sweep {number + 1}/{sweeps}: {summary.targets} devices, "
                        f"{summary.ok} ok, {time.perf_counter() - began:.2f} s"
                    )
                clock_now[0] += timedelta(seconds=args.interval)
            raw = table_sizes(dialect)
            began = time.perf_counter()
            retention = run_retention(clock=lambda: clock_now[0] + timedelta(minutes=1))
            retention_seconds = time.perf_counter() - began
            after = table_sizes(dialect)
            # The steady state: one more hour of sweeps, then the hourly retention run.
            for _ in range(3600 // args.interval):
                run_sweep(
                    trigger="schedule", probe=probe, clock=lambda: clock_now[0], settings=settings
                )
                clock_now[0] += timedelta(seconds=args.interval)
            began = time.perf_counter()
            hourly_run = run_retention(clock=lambda: clock_now[0] + timedelta(minutes=1))
            hourly_seconds = time.perf_counter() - began
            db.session.remove()
            db.engine.dispose()

        polls = sweeps * len(devices)
        days = args.hours / 24
        scale = 1000 / len(devices)
        print(
            f"\nRecorded {polls:,} polls in {record_seconds:.1f} s "
            f"({polls / record_seconds:,.0f} devices/s through plan + record, probe simulated); "
            f"first retention run (rollup of {retention.rollup.hours} hours) "
            f"{retention_seconds:.1f} s; an hourly run on {args.hours + 1:g} h of raw rows "
            f"(rollup of {hourly_run.rollup.hours} hours) {hourly_seconds:.1f} s"
        )
        print(f"\n{'table':<20}{'rows':>12}{'bytes':>14}{'bytes/row':>11}{'per day /1000 dev':>20}")
        daily: dict[str, float] = {}
        for name in (*RAW_TABLES, *HOURLY_TABLES, *STATE_TABLES):
            rows, size = (after if name in HOURLY_TABLES else raw)[name]
            per_row = size / rows if rows else 0
            daily[name] = size / days * scale
            growing = name in RAW_TABLES or name in HOURLY_TABLES
            print(
                f"{name:<20}{rows:>12,}{human(size):>14}{per_row:>11.0f}"
                f"{(human(daily[name]) if growing else '(constant)'):>20}"
            )
        raw_days = settings.raw_days
        hourly_days = settings.hourly_days
        raw_total = sum(daily[n] for n in RAW_TABLES) * raw_days
        hourly_total = sum(daily[n] for n in HOURLY_TABLES) * hourly_days
        state_total = sum(raw[n][1] for n in STATE_TABLES) * scale
        print(
            f"\nPer 1,000 devices at one poll every {args.interval} s:\n"
            f"  raw history, {raw_days:g} days kept:      {human(raw_total)}"
            f"  ({human(sum(daily[n] for n in RAW_TABLES))} a day)\n"
            f"  hourly rollups, {hourly_days:g} days kept: {human(hourly_total)}"
            f"  ({human(sum(daily[n] for n in HOURLY_TABLES))} a day)\n"
            f"  latest state (constant):     {human(state_total)}\n"
            f"  total after a year (steady): {human(raw_total + hourly_total + state_total)}"
        )
        return 0
    finally:
        shutil.rmtree(instance, ignore_errors=True)
        target.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
