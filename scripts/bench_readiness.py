#!/usr/bin/env python3
"""Benchmark the VC-readiness board at district scale, through the app and against the bare SQL.

    .venv/bin/python scripts/bench_readiness.py                    # 200 offices, 30 days, SQLite
    .venv/bin/python scripts/bench_readiness.py --offices 23       # Gonda's size
    .venv/bin/python scripts/bench_readiness.py --offices 60 --days 7 --requests 10
    .venv/bin/python scripts/bench_readiness.py --profile          # + where a page's time goes
    .venv/bin/python scripts/bench_readiness.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres

What it does:

1. Builds a fresh database (SQLite in a temporary folder; with --database-url pointing at a
   PostgreSQL server it creates a database of its own there and drops it afterwards) and
   brings it to the head migration, as a deployment would (scripts/bench_register.py's
   helpers).
2. Seeds it with bulk Core inserts (no service calls), repeatably (--seed): an HQ, tehsils
   under it and blocks and municipalities under those, --offices of them in all (Gonda has 23,
   a big UP district about 60, a whole division about 200), plus --cscs CSC sites under each
   block and municipality (the board reads the whole site tree). Each office has a VC codec
   (VCC), a display (DSP), a projector (PRJ), a router (RTR) and a UPS, all deployed and all but
   the display with a 127.x management address; the latest-state rows (VcReachability,
   ProjectorState, AssetHealth of router and UPS); and --days of history as the live jobs
   record it: a VcCheck per codec and a ProjectorSample per projector every 5 minutes
   (VC_EVERY_SECONDS, PJLINK_EVERY_SECONDS: 288 a day), a HealthHourly per UPS per hour, a
   few down/up HealthEvents per router (some before the window), a few outages, projector
   faults and low batteries, and a few critical tickets (and some ordinary ones).
   Then the hourly roll-ups the board reads (VcHourly, ProjectorHourly), as production has
   them: by default (--hourly roll-up) with inventory.devices.services.roll_up_hours() from
   the first hour of the raw rows, timed on its own ("roll-up of N raw rows into M device
   hours"; what migration 0009's backfill does in one statement per table); with --hourly
   bulk counted in Python from the same random draws and bulk-inserted instead (the same
   rows: tests/test_bench_readiness.py compares the two at a small size).
3. Signs in as a viewer with the Flask test client (in process) and times, --requests times
   each after one warm-up: GET /vc/ (the board page), services.board() without and with
   history inside a request context, GET /vc/<site> (an office's page); what a job run pays
   after recording: roll_up_hours() for the newest hour of the seeded data alone (as the jobs
   call it, and from the hour before it: a whole hour's readings, the most a run at minute
   59 rolls up), each with its commit; and two baselines replayed straight through the DB
   driver: "bare SQL: history queries", the very statements office_histories() sent (the
   hourly tables, the health events, the hourly battery figures, the tickets), and "bare
   SQL: GROUP BY raw rows (before 0009)", the same with the hourly GROUP BYs over vc_checks
   and projector_samples that the board ran before the roll-ups instead of the hourly
   tables. p50, p95 and max in ms, and each row's p50 over the bare SQL's p50; each
   baseline's time is also split by table.

Nothing asserts a time (there is no --check): the figures are for reading. Timings on a
shared machine are noisy: run it twice before believing a single figure, and read the load
average the script prints at the start and the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_register import (
    VILLAGES,
    Recorder,
    make_app,
    make_viewer,
    pct,
    prepare_database,
    upgrade_schema,
)

from inventory.extensions import db
from inventory.health.services import floor_hour

STEP = timedelta(seconds=300)  # VC_EVERY_SECONDS and PJLINK_EVERY_SECONDS
PER_DAY = 288
HOUR = timedelta(hours=1)
OFFICES_PER_TEHSIL = 23 / 4  # Gonda: 4 tehsils with 16 blocks and 3 municipalities
CHUNK = 20_000
ZONE = ZoneInfo("Asia/Kolkata")
VC_PORTS = [5060, 1720, 443]
VC_OPEN = [5060, 1720]
FAULT_KEYS = ("fan", "lamp", "temperature", "cover", "filter", "other")
# Tables whose rows the seeding reports, in this order
TABLES = (
    "sites",
    "assets",
    "vc_reachability",
    "projector_states",
    "asset_health",
    "vc_checks",
    "projector_samples",
    "health_hourly",
    "health_events",
    "tickets",
)


# --- seeding ----------------------------------------------------------------------------


@dataclass
class Seeder:
    rng: random.Random
    now: datetime
    days: int
    rows: Counter = field(default_factory=Counter)
    buffers: dict[str, list[dict]] = field(default_factory=dict)
    # --hourly bulk: {hourly table: {(asset id, UTC hour): [readings, good]}}
    hourly: dict[str, dict[tuple[int, datetime], list[int]]] | None = None

    def reading(self, table: str, asset_id: int, at: datetime, good: bool) -> None:
        """Count a raw reading into its device hour (only with --hourly bulk)."""
        if self.hourly is None:
            return
        hour = at.replace(minute=0, second=0, microsecond=0)  # `at` is in UTC
        counts = self.hourly.setdefault(table, {}).setdefault((asset_id, hour), [0, 0])
        counts[0] += 1
        counts[1] += good

    def add(self, table: sa.Table, row: dict) -> None:
        buffer = self.buffers.setdefault(table.name, [])
        buffer.append(row)
        if len(buffer) >= CHUNK:
            self.flush(table)

    def flush(self, table: sa.Table) -> None:
        buffer = self.buffers.get(table.name)
        if buffer:
            db.session.execute(sa.insert(table), buffer)
            self.rows[table.name] += len(buffer)
            buffer.clear()

    def intervals(
        self, count: tuple[int, int], hours: tuple[float, float], ongoing: float = 0.0
    ) -> list[tuple[datetime, datetime | None]]:
        """A few random stretches in the window (from, until or None = still so); with the
        probability `ongoing` the last one has not ended."""
        found = []
        span = self.days * 24 * 3600
        for _ in range(self.rng.randint(*count)):
            began = self.now - timedelta(seconds=self.rng.uniform(0, span))
            found.append((began, began + timedelta(hours=self.rng.uniform(*hours))))
        if self.rng.random() < ongoing:
            found.append((self.now - timedelta(hours=self.rng.uniform(0.5, 30)), None))
        return sorted(found, key=lambda i: i[0])


def _inside(at: datetime, stretches: list[tuple[datetime, datetime | None]]) -> bool:
    return any(a <= at and (b is None or at < b) for a, b in stretches)


def _marks(grid: list[datetime], stretches) -> bytearray:
    """1 for each grid time (newest first) inside one of the stretches."""
    marks = bytearray(len(grid))
    if not stretches:
        return marks
    newest = grid[0]
    for began, ended in stretches:
        # grid[k] = newest - k * STEP; inside when began <= grid[k] < ended
        k_first = 0 if ended is None else max(0, -(-(newest - ended) // STEP))
        if ended is not None and newest - k_first * STEP >= ended:
            k_first += 1
        k_last = min(len(grid) - 1, (newest - began) // STEP)
        for k in range(k_first, k_last + 1):
            marks[k] = 1
    return marks


def layout(n_offices: int, cscs: int) -> list[tuple[str, int | None]]:
    """(kind, parent index) per site: the HQ, tehsils, blocks and municipalities, CSCs."""
    sites: list[tuple[str, int | None]] = [("district_hq", None)]
    n_tehsils = max(1, round(n_offices / OFFICES_PER_TEHSIL))
    tehsils = []
    for _ in range(min(n_tehsils, n_offices)):
        tehsils.append(len(sites))
        sites.append(("tehsil", 0))
    for i in range(n_offices - len(tehsils)):
        kind = "municipality" if i % 7 == 6 else "block"
        parent = len(sites)
        sites.append((kind, tehsils[i % len(tehsils)]))
        sites.extend(("csc", parent) for _ in range(cscs))
    return sites


def seed(
    n_offices: int, days: int, cscs: int, rng: random.Random, hourly: str = "roll-up"
) -> Seeder:
    """The district, its VC parts, their latest state and `days` of history (Core inserts);
    with hourly="bulk" also the hourly roll-ups, counted from the same draws."""
    from flask import current_app

    from inventory.assets.models import Asset
    from inventory.assets.services import _render_tag
    from inventory.catalog.models import Category
    from inventory.catalog.services import ensure_default_categories
    from inventory.devices.models import ProjectorSample, ProjectorState, VcCheck, VcReachability
    from inventory.health.models import AssetHealth, HealthEvent, HealthHourly
    from inventory.sites.models import Site
    from inventory.tickets.models import Ticket

    now = datetime.now(UTC)
    s = Seeder(rng, now, days, hourly={} if hourly == "bulk" else None)
    ensure_default_categories()
    db.session.commit()
    categories = {c.code: c.id for c in db.session.scalars(sa.select(Category))}

    # Sites
    labels = {"district_hq": "HQ", "tehsil": "TEH", "block": "BLK", "municipality": "NPP"}
    sites, offices = [], []
    numbers: Counter = Counter()
    for site_id, (kind, parent) in enumerate(layout(n_offices, cscs), 1):
        numbers[kind] += 1
        n = numbers[kind]
        village = VILLAGES[rng.randrange(len(VILLAGES))]
        name = {
            "district_hq": ("Bench district HQ", "बेंच जिला मुख्यालय"),
            "tehsil": (f"{village} tehsil {n}", f"{village} तहसील {n}"),
            "block": (f"{village} block {n}", f"{village} विकास खण्ड {n}"),
            "municipality": (f"{village} nagar palika {n}", f"{village} नगर पालिका {n}"),
            "csc": (f"CSC {village} {n}", f"जनसेवा केन्द्र {village} {n}"),
        }[kind]
        sites.append(
            {
                "id": site_id,
                "code": f"{labels.get(kind, 'CSC')}-{n:05d}",
                "name_en": name[0],
                "name_hi": name[1],
                "kind": kind,
                "parent_id": None if parent is None else parent + 1,
                "address": f"{name[0]}, Uttar Pradesh",
                "contact_name": "",
                "contact_phone": "",
                "link_type": "swan" if kind != "csc" else "broadband",
                "notes": "",
                "vc_expected": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        if kind in ("tehsil", "block", "municipality"):
            offices.append(site_id)
    for row in sites:
        s.add(Site.__table__, row)
    s.flush(Site.__table__)

    # Parts: codec, display, projector, router, UPS per office
    pattern = current_app.config["TAG_PATTERN"]
    district = current_app.config["DISTRICT_CODE"]
    asset_id = 0
    parts: dict[int, dict[str, int]] = {}
    for number, site_id in enumerate(offices, 1):
        parts[site_id] = {}
        for code in ("VCC", "DSP", "PRJ", "RTR", "UPS"):
            asset_id += 1
            parts[site_id][code] = asset_id
            address = (
                ""
                if code == "DSP"
                else f"127.{20 + asset_id // 62500}."
                + (f"{asset_id // 250 % 250}.{asset_id % 250 + 1}")
            )
            tag = _render_tag(pattern, number, {"district": district, "category": code}).upper()
            s.add(
                Asset.__table__,
                {
                    "id": asset_id,
                    "tag": tag,
                    "category_id": categories[code],
                    "model_id": None,
                    "serial": f"BENCH{asset_id:07d}",
                    "status": "deployed",
                    "site_id": site_id,
                    "location": "Meeting hall",
                    "custodian": "",
                    "supplier": "",
                    "order_reference": "",
                    "budget_head": "",
                    "amc_vendor": "",
                    "management_address": address,
                    "notes": "",
                    "created_at": now,
                    "updated_at": now,
                },
            )
    s.flush(Asset.__table__)

    # The 5-minute grid, newest first: now - 1 s, now - 1 s - 5 min, ...
    grid = [now - timedelta(seconds=1) - k * STEP for k in range(days * PER_DAY)]
    lit = [(t.astimezone(ZONE).weekday() < 5 and 10 <= t.astimezone(ZONE).hour < 13) for t in grid]
    hours = [
        now.replace(minute=0, second=0, microsecond=0) - h * HOUR for h in range(days * 24 + 1)
    ]

    for site_id, office in parts.items():
        # VC codec: a few outages, now and then one still going on
        codec = office["VCC"]
        down = s.intervals((0, 4), (0.5, 10), ongoing=0.05)
        marks = _marks(grid, down)
        jitter = timedelta(seconds=rng.randrange(240))
        last_ok = None
        for k, at in enumerate(grid):
            ok = not marks[k]
            if ok and last_ok is None:
                last_ok = at - jitter
            s.add(
                VcCheck.__table__,
                {
                    "asset_id": codec,
                    "at": at - jitter,
                    "reachable": ok,
                    "open_ports": VC_OPEN if ok else [],
                },
            )
            s.reading("vc_hourly", codec, at - jitter, ok)
        reachable_now = not marks[0]
        s.add(
            VcReachability.__table__,
            {
                "asset_id": codec,
                "checked_at": grid[0] - jitter,
                "reachable": reachable_now,
                "ports": VC_PORTS,
                "open_ports": VC_OPEN if reachable_now else [],
                "last_reachable_at": last_ok,
                "error": "" if reachable_now else "timeout",
            },
        )

        # Projector: silent in power cuts, sometimes an error-level fault for a while
        projector = office["PRJ"]
        silent = _marks(grid, s.intervals((0, 3), (1, 8)))
        fault_stretches = s.intervals((0, 1), (6, 72), ongoing=0.04) if rng.random() < 0.3 else []
        faulty = _marks(grid, fault_stretches)
        warning = rng.random() < 0.1
        lamp_base, lit_polls = rng.randint(300, 4500), 0
        jitter = timedelta(seconds=rng.randrange(240))
        samples = []
        for k in range(len(grid) - 1, -1, -1):  # oldest first: the lamp hours grow
            power = "on" if lit[k] and not faulty[k] else "off"
            lit_polls += power == "on"
            lamp = lamp_base + lit_polls // 12
            if silent[k]:
                samples.append((k, "timeout", None, None, None))
            else:
                level = "error" if faulty[k] else "warning" if warning else "ok"
                samples.append((k, "ok", power, lamp, level))
        last_ok = None
        for k, outcome, power, hours_lit, level in samples:
            s.add(
                ProjectorSample.__table__,
                {
                    "asset_id": projector,
                    "at": grid[k] - jitter,
                    "outcome": outcome,
                    "power": power,
                    "lamp_hours": hours_lit,
                    "worst_error": level,
                },
            )
            good = outcome == "ok" and level != "error"
            s.reading("projector_hourly", projector, grid[k] - jitter, good)
            if outcome == "ok":
                last_ok = grid[k] - jitter
        k, outcome, power, _hours, level = samples[-1]
        errors = dict.fromkeys(FAULT_KEYS, "ok")
        if level == "error":
            errors["lamp"] = "error"
        elif level == "warning":
            errors["lamp"] = "warning"
        s.add(
            ProjectorState.__table__,
            {
                "asset_id": projector,
                "polled_at": grid[0] - jitter,
                "outcome": outcome,
                "last_ok_at": last_ok,
                "power": power or "off",
                "lamp_hours": lamp,
                "lamps": [{"hours": lamp, "on": power == "on"}],
                "errors": errors,
                "input": "31",
                "name": f"PRJ {site_id}",
                "manufacturer": "EPSON",
                "model": "EB-X51",
                "pjlink_class": "1",
                "error": "" if outcome == "ok" else "timeout: no answer",
            },
        )

        # Router: down/up events (one outage may predate the window), its health now
        router = office["RTR"]
        outages = s.intervals((0, 4), (0.3, 12), ongoing=0.04)
        if rng.random() < 0.3:
            began = now - timedelta(days=days + rng.uniform(1, 10))
            outages.insert(0, (began, began + timedelta(hours=rng.uniform(1, 6))))
        merged: list[tuple[datetime, datetime | None]] = []
        for began, ended in outages:
            if merged and (merged[-1][1] is None or began <= merged[-1][1]):
                last_began, last_ended = merged[-1]
                longer = None if ended is None or last_ended is None else max(ended, last_ended)
                merged[-1] = (last_began, longer)
            else:
                merged.append((began, ended))
        for began, ended in merged:
            s.add(
                HealthEvent.__table__,
                {
                    "asset_id": router,
                    "kind": "down",
                    "at": began,
                    "message": "3 failed polls (timeout: no answer)",
                },
            )
            if ended is not None and ended < now:
                s.add(
                    HealthEvent.__table__,
                    {"asset_id": router, "kind": "up", "at": ended, "message": "answering again"},
                )
        router_down = bool(merged) and (merged[-1][1] is None or merged[-1][1] > now)
        since = merged[-1][0] if router_down else (merged[-1][1] if merged else now - HOUR * 24)
        health = {
            "state_since": since,
            "consecutive_failures": 3 if router_down else 0,
            "last_polled_at": now - timedelta(seconds=rng.randrange(300)),
            "next_due_at": now + timedelta(seconds=rng.randrange(300)),
        }
        s.add(
            AssetHealth.__table__,
            {
                "asset_id": router,
                "state": "down" if router_down else "up",
                "last_ok_at": since if router_down else health["last_polled_at"],
                "last_outcome": "timeout" if router_down else "ok",
                "last_error": "timeout: no answer" if router_down else "",
                "battery_pct": None,
                "battery_status": None,
                "battery_minutes": None,
                "sys_name": f"rtr-{site_id}",
                **health,
            },
        )

        # UPS: an hourly row per hour, a few hours of low battery, a few low now
        ups = office["UPS"]
        low = s.intervals((0, 2), (1, 4))
        low_now = rng.random() < 0.04
        for hour in hours:
            weak = _inside(hour, low) or (low_now and hour == hours[0])
            draw = rng.random()  # one draw either way: the stream stays the same at any hour
            s.add(
                HealthHourly.__table__,
                {
                    "asset_id": ups,
                    "hour": hour,
                    "polls": 12,
                    "ok_polls": 12,
                    "battery_min": float(20 + int(draw * 26) if weak else 95 + int(draw * 6)),
                },
            )
        s.add(
            AssetHealth.__table__,
            {
                "asset_id": ups,
                "state": "up",
                "last_ok_at": health["last_polled_at"],
                "last_outcome": "ok",
                "last_error": "",
                "battery_pct": 30.0 if low_now else 100.0,
                "battery_status": 3 if low_now else 2,
                "battery_minutes": 6 if low_now else 45,
                "sys_name": f"ups-{site_id}",
                **health,
            },
        )

        # Tickets: a critical one now and then (a few still open), ordinary ones too
        for priority, chance in (("critical", 0.25), ("critical", 0.04), ("normal", 0.6)):
            if rng.random() >= chance:
                continue
            still_open = priority == "critical" and chance < 0.1
            code = rng.choice(["VCC", "PRJ", "RTR", "UPS"])
            opened = now - timedelta(hours=rng.uniform(1, days * 24))
            resolved = None if still_open else min(now, opened + HOUR * rng.uniform(2, 48))
            s.add(
                Ticket.__table__,
                {
                    "site_id": site_id,
                    "asset_id": office[code],
                    "title": f"{code} fault at office {site_id}",
                    "description": "",
                    "category": "vc",
                    "priority": priority,
                    "status": "open" if still_open else "closed",
                    "reporter_kind": "system",
                    "opened_at": opened,
                    "due_at": opened + timedelta(days=2),
                    "resolved_at": resolved,
                    "closed_at": resolved,
                    "cause": "",
                    "open_key": None,
                    "repair_marked": False,
                    "vendor_engineer": "",
                    "created_at": opened,
                    "updated_at": resolved or opened,
                },
            )

    for name, counts in (s.hourly or {}).items():
        table = db.metadata.tables[name]
        for (asset, hour), (readings, good) in counts.items():
            s.add(table, {"asset_id": asset, "hour": hour, "readings": readings, "good": good})
    for table in db.metadata.sorted_tables:
        s.flush(table)
    s.rows["sites"], s.rows["assets"] = len(sites), asset_id
    if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences on
        for table in ("sites", "assets"):
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            )
    db.session.commit()
    return s


def first_hour(s: Seeder) -> datetime:
    """The hour of the oldest raw reading seeded (jitter is under 4 minutes)."""
    oldest = s.now - timedelta(seconds=1) - (s.days * PER_DAY - 1) * STEP - timedelta(minutes=4)
    return floor_hour(oldest)


def roll_up(s: Seeder) -> tuple[int, float]:
    """The hourly tables as production has them: roll_up_hours() from the first hour of the
    raw rows, committed; returns the device hours written and the seconds it took."""
    from inventory.devices.services import roll_up_hours

    start = time.perf_counter()
    written = roll_up_hours(first_hour(s))
    db.session.commit()
    return written, time.perf_counter() - start


def analyze(tables: tuple[str, ...] = ()) -> None:
    """Planner statistics (PostgreSQL: and the visibility map) for the tables, or all."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f"VACUUM ANALYZE {', '.join(tables)}"))
    else:
        with db.engine.begin() as conn:
            for table in tables or ("",):
                conn.execute(sa.text(f"ANALYZE {table}"))


def hourly_rows() -> dict[str, set[tuple[int, datetime, int, int]]]:
    """What the hourly tables hold, per table."""
    from inventory.devices.models import ProjectorHourly, VcHourly

    return {
        model.__tablename__: {
            tuple(row)
            for row in db.session.execute(
                sa.select(model.asset_id, model.hour, model.readings, model.good)
            )
        }
        for model in (VcHourly, ProjectorHourly)
    }


# --- measuring --------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    ms: list[float] = field(default_factory=list)
    queries: int = 0


def _time(fn: Callable[[], None], n: int, recorder: Recorder) -> Row:
    row = Row("")
    with recorder.recording() as statements:  # the warm-up: also counts the statements
        fn()
    row.queries = len(statements)
    for _ in range(n):
        start = time.perf_counter()
        fn()
        row.ms.append((time.perf_counter() - start) * 1000)
    return row


# The tables of the history queries, now (the roll-ups) and before 0009 (the raw rows)
HISTORY_TABLES = (
    "vc_hourly",
    "projector_hourly",
    "vc_checks",
    "projector_samples",
    "health_events",
    "health_hourly",
    "tickets",
)
BARE = "bare SQL: history queries"
BARE_RAW = "bare SQL: GROUP BY raw rows (before 0009)"


def _table_of(statement: str) -> str:
    lowered = statement.lower()
    for table in HISTORY_TABLES:
        if f"from {table}" in lowered:
            return table
    return "other"


def replay(raw, statements: list[tuple[str, object]], per_table: dict[str, list[float]]) -> None:
    """Run the statements straight through the DB-API cursor, fetching every row."""
    cursor = raw.cursor()
    try:
        for statement, parameters in statements:
            start = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            per_table[_table_of(statement)].append((time.perf_counter() - start) * 1000)
    finally:
        cursor.close()
    raw.rollback()


def time_bare(name: str, statements: list[tuple[str, object]], n: int) -> tuple[Row, dict]:
    """The statements replayed n times after one warm-up; the run's time and per table."""
    per_table: dict[str, list[float]] = {t: [] for t in (*HISTORY_TABLES, "other")}
    row = Row(name, queries=len(statements))
    raw = db.engine.raw_connection()
    try:
        replay(raw, statements, {t: [] for t in per_table})  # warm-up
        for _ in range(n):
            start = time.perf_counter()
            replay(raw, statements, per_table)
            row.ms.append((time.perf_counter() - start) * 1000)
    finally:
        raw.close()
    return row, per_table


def raw_group_bys(offices: list, rules, now: datetime) -> None:
    """Send the history's hourly GROUP BYs over the raw checks and polls as the board ran them
    before the roll-ups (migration 0009), for the same parts and hours; the rows unused."""
    from inventory.devices.models import ProjectorHourly, VcHourly
    from inventory.devices.services import GOOD_READING
    from inventory.health.services import hour_bucket
    from inventory.readiness import services

    start, end = services.window_start(rules, now), floor_hour(now) + HOUR
    for hourly, part in ((VcHourly, services.ENDPOINT), (ProjectorHourly, services.PROJECTOR)):
        raw, good = GOOD_READING[hourly]
        ids = [a.id for o in offices for a in o.parts[part]]
        bucket = hour_bucket(db.session, raw.at)
        db.session.execute(
            sa.select(
                raw.asset_id,
                bucket.label("hour"),
                sa.func.count(),
                sa.func.sum(sa.case((good(), 1), else_=0)),
            )
            .where(raw.asset_id.in_(ids), raw.at >= start, raw.at < end)
            .group_by(raw.asset_id, bucket)
        ).all()


def _get(client, urls: Iterator[str]) -> Callable[[], None]:
    def run() -> None:
        url = next(urls)
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    return run


def _cycle(items: list) -> Iterator:
    while True:
        yield from items


def readings_since(since: datetime) -> int:
    """Raw checks and polls recorded from `since` on."""
    from inventory.devices.models import ProjectorSample, VcCheck

    return sum(
        db.session.scalar(sa.select(sa.func.count()).select_from(m).where(m.at >= since))
        for m in (VcCheck, ProjectorSample)
    )


def measure(app, client, recorder: Recorder, n: int, rng: random.Random, newest: datetime):
    """The timed rows, each baseline's time per table, and the board's verdicts. `newest`:
    the hour of the newest seeded readings, which the roll-up rows recompute."""
    from inventory.devices.services import roll_up_hours
    from inventory.models_base import utcnow
    from inventory.readiness import services

    rules = services.Rules.from_config(app.config)

    def call_board(history: bool) -> Callable[[], None]:
        def run() -> None:
            # a request context of its own, as a view has: a fresh session each time
            with app.test_request_context():
                services.board(rules, utcnow(), history=history)

        return run

    def job_roll_up(since: datetime) -> Callable[[], None]:
        def run() -> None:
            # what a job run adds after recording: the roll-up and its share of the commit
            with app.app_context():
                roll_up_hours(since)
                db.session.commit()

        return run

    with app.test_request_context():
        board = services.board(rules, utcnow(), history=True)
        verdicts = Counter(o.state for o in board.offices)
        known = [o.history.pct for o in board.offices if o.history.pct is not None]
        verdicts["mean_pct"] = round(sum(known) / len(known), 1) if known else 0
        site_ids = [o.site.id for o in board.offices]
        verdicts["this_hour"] = readings_since(newest)
        verdicts["two_hours"] = readings_since(newest - HOUR)
    office_urls = [f"/vc/{i}" for i in rng.sample(site_ids, min(len(site_ids), 25))]

    rows = []
    for name, fn in (
        ("board page  GET /vc/", _get(client, _cycle(["/vc/"]))),
        ("board(), now only", call_board(False)),
        ("board() with history", call_board(True)),
        ("office page GET /vc/<site>", _get(client, _cycle(office_urls))),
        ("roll_up_hours(this hour)", job_roll_up(newest)),
        ("roll_up_hours(from hour before)", job_roll_up(newest - HOUR)),
    ):
        row = _time(fn, n, recorder)
        row.name = name
        rows.append(row)

    # The baselines: the statements office_histories() sends, without the Python around
    # them, and the same with the raw GROUP BYs the board sent before the roll-ups
    with app.test_request_context():
        now = utcnow()
        offices = services.board(rules, now, history=False).offices
        with recorder.recording() as statements:
            services.office_histories(offices, rules, now)
        statements = list(statements)
        with recorder.recording() as group_bys:
            raw_group_bys(offices, rules, now)
        group_bys = list(group_bys)
    rolled = ("vc_hourly", "projector_hourly")
    before = group_bys + [st for st in statements if _table_of(st[0]) not in rolled]
    splits = {}
    with app.app_context():
        for name, sent in ((BARE, statements), (BARE_RAW, before)):
            row, splits[name] = time_bare(name, sent, n)
            rows.append(row)
    return rows, splits, verdicts


def print_table(rows: list[Row], splits: dict[str, dict[str, list[float]]], n: int) -> None:
    bare50 = pct(next(r for r in rows if r.name == BARE).ms, 0.5)
    width = max(len(r.name) for r in rows)
    header = (
        f"{'what':<{width}} {'qry':>4} | {'p50':>8} {'p95':>8} {'max':>8} | {'p50 / bare SQL':>14}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        p50, p95, top = pct(row.ms, 0.5), pct(row.ms, 0.95), max(row.ms)
        ratio = p50 / bare50 if bare50 > 0 else float("inf")
        print(
            f"{row.name:<{width}} {row.queries:>4} | {p50:8.1f} {p95:8.1f} {top:8.1f} |"
            f" {ratio:14.2f}"
        )
    with_history = next(r for r in rows if r.name == "board() with history")
    print(
        f"\nboard() with history / bare SQL (p50): "
        f"{pct(with_history.ms, 0.5) / bare50 if bare50 > 0 else float('inf'):.2f}"
    )
    print("Split by table, ms per run (median statement x statements per run):")
    for name, per_table in splits.items():
        parts = [
            f"{table} {pct(times, 0.5) * len(times) / n:.1f}"
            for table, times in per_table.items()
            if times
        ]
        print(f"  {name}: {', '.join(parts)}")
    print(
        f"\nms per call, {n} calls per row after one warm-up. Pages: Flask test client in"
        " process, signed in as a viewer\n(session check, board(), template). board(): in a"
        " request context of its own. roll_up_hours(): for the\nnewest seeded hour (and from"
        " the hour before it) in an app context, with its commit. bare SQL: the\nstatements"
        " office_histories() sent (before 0009: with the raw GROUP BYs instead of the hourly"
        " tables),\nreplayed through the bare DB driver with every row fetched. qry:"
        " statements per call."
    )


def profile(client, top: int) -> None:
    """Where one board page's time goes."""
    profiler = cProfile.Profile()
    profiler.enable()
    response = client.get("/vc/")
    profiler.disable()
    if response.status_code != 200:
        raise SystemExit(f"/vc/ answered {response.status_code}")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        print(f"\n--- one GET /vc/, by {order} ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


def describe(dialect: str, offices: int, days: int, n: int) -> None:
    engine = db.engine.dialect.server_version_info or ()
    print(
        f"{offices} offices, {days} days of history; {n} calls per row. {dialect}"
        f" {'.'.join(map(str, engine))}, Python {platform.python_version()},"
        f" {platform.platform()}, load average"
        f" {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offices", type=int, default=200, help="offices that join the VC")
    parser.add_argument("--days", type=int, default=30, help="days of recorded history")
    parser.add_argument("--cscs", type=int, default=25, help="CSC sites under each block")
    parser.add_argument("--requests", type=int, default=20, help="timed calls per row")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server's admin URL (a database is created there and dropped), or "
        "an SQLite URL to use as it is (it must be empty)",
    )
    parser.add_argument("--seed", type=int, default=20261201, help="random seed")
    parser.add_argument(
        "--hourly",
        choices=("roll-up", "bulk"),
        default="roll-up",
        help="fill the hourly tables with roll_up_hours() (timed) or bulk-insert them from"
        " the seeding's own counts",
    )
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=30,
        default=0,
        metavar="N",
        help="also profile one board page (cProfile) and print the top N functions",
    )
    parser.set_defaults(keep=None)  # bench_register.prepare_database reads it
    args = parser.parse_args(argv)
    if min(args.offices, args.days, args.requests) < 1 or args.cscs < 0:
        parser.error("--offices, --days and --requests must be at least 1")
    rng = random.Random(args.seed)

    target = prepare_database(args)
    instance = Path(tempfile.mkdtemp(prefix="sampada-bench-instance-"))
    try:
        app = make_app(target.url, instance)
        with app.app_context():
            dialect = db.engine.dialect.name
            upgrade_schema()
            start = time.perf_counter()
            seeder = seed(args.offices, args.days, args.cscs, rng, hourly=args.hourly)
            analyze()
            took = time.perf_counter() - start
            seeded = seeder.rows
            print(f"Seeded on {dialect} in {took:.1f} s ({sum(seeded.values()):,} rows):")
            print("  " + ", ".join(f"{t} {seeded[t]:,}" for t in TABLES))
            raw_rows = seeded["vc_checks"] + seeded["projector_samples"]
            if args.hourly == "roll-up":
                hours, took = roll_up(seeder)
                print(
                    f"roll-up of {raw_rows:,} raw rows into {hours:,} hours:"
                    f" {took:.1f} s (roll_up_hours() from the first hour, with its commit)"
                )
            else:
                hours = seeded["vc_hourly"] + seeded["projector_hourly"]
                print(f"{raw_rows:,} raw rows counted into {hours:,} hours (bulk, not timed)")
            analyze(("vc_hourly", "projector_hourly"))
            client = make_viewer(app)
            recorder = Recorder(db.engine)
            describe(dialect, args.offices, args.days, args.requests)
            db.session.remove()
        newest = floor_hour(seeder.now)
        rows, per_table, verdicts = measure(
            app, client, recorder, args.requests, rng, newest=newest
        )
        print(
            f"The board now: {verdicts['ready']} ready, {verdicts['not_ready']} not ready,"
            f" {verdicts['unknown']} cannot tell; mean readiness over the days"
            f" {verdicts['mean_pct']} %."
        )
        print(
            f"The newest hour ({newest:%H:00} UTC, seeded up to minute {seeder.now.minute})"
            f" holds {verdicts['this_hour']:,} raw readings; with the hour before it"
            f" {verdicts['two_hours']:,}.\n"
        )
        print_table(rows, per_table, args.requests)
        if args.profile:
            profile(client, args.profile)
        print(
            f"Load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on"
            f" {os.cpu_count()} CPUs. On a shared machine the figures are noisy: run it twice."
        )
        with app.app_context():
            db.engine.dispose()
    finally:
        target.cleanup()
        shutil.rmtree(instance, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
