"""30 days of recorded history for the demo's VC-readiness board (called from inventory.demo).

`load_demo_history(now)` writes what the live jobs would have recorded over the last 30
days at the offices that join the District Magistrate's VC (sites of kind tehsil, block and
municipality), once: only while the vc_checks table is empty, so a second `inventory demo`
adds nothing. Every hour before `now` (the current hour itself is left to the live jobs):

- one VcCheck per VC endpoint in the field (category VCC, with a management address):
  reachable on 5060 and 1720, except Paraspur's codec (silent for the last 6 days) and a
  few evening outages of 2-10 hours at offices drawn by random.Random("gonda-history");
- one ProjectorSample per projector in the field: answering, power "on" 10:00-13:00 local
  time on weekdays (the lamp hours grow then, up to today's value), no errors, except
  Itiyathok (error for the last 2 days), Belsar (lamp fused: error for the last 3 days,
  4900 hours) and Colonelganj tehsil (lamp warning, 3950 hours);
- one HealthHourly per UPS with a management address: 12 polls answered, battery 95-100 %,
  except Tarabganj tehsil's (9 % for the last 10 days);
- and Katra Bazar's router's HealthEvents: down 12 days ago, up 8 hours later, down again
  3 days ago (still down), worded as inventory.health.services writes them.

The latest-state rows (VcReachability, ProjectorState, AssetHealth) are not written: the
live jobs make them. Rows go in with bulk INSERTs in chunks (about 50,000 rows).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.choices import CategoryGroup
from inventory.devices.models import ProjectorSample, VcCheck
from inventory.devices.services import MONITORED_STATUSES, roll_up_hours
from inventory.extensions import db
from inventory.health.models import HealthEvent, HealthHourly
from inventory.health.services import format_duration
from inventory.sites.models import Site

HISTORY_DAYS = 30
HISTORY_HOURS = 24 * HISTORY_DAYS
HOUR = timedelta(hours=1)
OFFICE_KINDS = ("tehsil", "block", "municipality")
CHUNK = 5000

# VC endpoints: the ports that answer (those of VC_PORTS a non-root peer can serve).
VC_OPEN_PORTS = [5060, 1720]
VC_SILENT = {"BLK-PSP": 6}  # site -> days its codec has been unreachable, until now
OUTAGE_SEED = "gonda-history"
OUTAGE_OFFICES = 8  # offices with a few short outages
OUTAGES_PER_OFFICE = (2, 18)  # so that their 30 days read about 85-97 %
OUTAGE_HOURS = (2, 10)
EVENING = (17, 21)  # local start hours of most outages (power cuts, the link after office)

# Projectors: lit on weekdays from 10:00 to 13:00 local time (the morning review).
LAMP_ON_HOURS = (10, 13)
# site -> (worst error level, for the last N days); power is off while it is an error
PROJECTOR_FAULTS = {
    "BLK-ITY": ("error", 2),  # temperature and fan errors
    "BLK-BLS": ("error", 3),  # lamp fused
    "TEH-CLG": ("warning", HISTORY_DAYS),  # lamp near its end
}
PROJECTOR_LAMP_HOURS = {"BLK-BLS": 4900, "TEH-CLG": 3950}  # today's value, else from the tag

# Katra Bazar's router: (days ago it went down, hours until it answered again or None).
ROUTER_SITE = "BLK-KTB"
ROUTER_OUTAGES = ((12, 8), (3, None))
DOWN_MINUTES_PAST_HOUR = (23, 41)  # when the sweep saw it (not on the hour)

# UPS units: site -> (battery_min %, for the last N days)
UPS_LOW = {"TEH-TRB": (9.0, 10)}
POLLS_PER_HOUR = 12  # HEALTH_INTERVAL_SECONDS 300


def demo_lamp_hours(tag: str) -> int:
    """Today's lamp hours of a demo projector: a number 300-3500 fixed by its asset tag (the
    same as the simulated projector's, inventory/simulator/demo_peers.py)."""
    return 300 + int(hashlib.sha256(tag.encode()).hexdigest(), 16) % 3201


def _offices() -> list:
    """The field devices with a management address at the VC offices, by site."""
    return db.session.execute(
        sa.select(
            Asset.id,
            Asset.tag,
            Site.code.label("site"),
            Category.code.label("category"),
            Category.group,
        )
        .join(Site, Site.id == Asset.site_id)
        .join(Category, Category.id == Asset.category_id)
        .where(
            Site.kind.in_(OFFICE_KINDS),
            Asset.status.in_(MONITORED_STATUSES),
            Asset.management_address != "",
        )
        .order_by(Site.code, Asset.id)
    ).all()


def outage_hours(offices: list[str], now: datetime, zone: ZoneInfo) -> dict[str, set[int]]:
    """Deterministic short outages: office -> the hours (k of now - k hours) it was down."""
    rng = random.Random(OUTAGE_SEED)
    today = now.astimezone(zone).date()
    outages: dict[str, set[int]] = {}
    for code in rng.sample(sorted(offices), min(OUTAGE_OFFICES, len(offices))):
        down = outages.setdefault(code, set())
        for _ in range(rng.randint(*OUTAGES_PER_OFFICE)):
            day = today - timedelta(days=rng.randint(1, HISTORY_DAYS - 2))
            hour = rng.randint(*EVENING) if rng.random() < 0.8 else rng.randint(0, 23)
            length = rng.randint(*OUTAGE_HOURS)
            start = datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)
            # the hourly checks at or after start and before start + length
            first = (now - start) // HOUR  # now - first hours is the first check at or after it
            last = first - length + 1
            down.update(k for k in range(max(last, 1), min(first, HISTORY_HOURS) + 1))
    return outages


def _vc_checks(codecs: list, hours: list[datetime], now: datetime, zone: ZoneInfo) -> list[dict]:
    outages = outage_hours(sorted({c.site for c in codecs} - set(VC_SILENT)), now, zone)
    rows = []
    for codec in codecs:
        silent_hours = 24 * VC_SILENT.get(codec.site, 0)
        down = outages.get(codec.site, set())
        for i, at in enumerate(hours):
            k = len(hours) - i  # at = now - k hours
            reachable = k > silent_hours and k not in down
            rows.append(
                {
                    "asset_id": codec.id,
                    "at": at,
                    "reachable": reachable,
                    "open_ports": VC_OPEN_PORTS if reachable else [],
                }
            )
    return rows


def _lit(local: datetime) -> bool:
    return local.weekday() < 5 and LAMP_ON_HOURS[0] <= local.hour < LAMP_ON_HOURS[1]


def _projector_samples(projectors: list, hours: list[datetime], zone: ZoneInfo) -> list[dict]:
    rows = []
    local = [at.astimezone(zone) for at in hours]
    for projector in projectors:
        level, days = PROJECTOR_FAULTS.get(projector.site, ("ok", 0))
        fault_from = len(hours) - 24 * days  # index of the first hour with the fault
        power = [
            "on" if _lit(when) and not (level == "error" and i >= fault_from) else "off"
            for i, when in enumerate(local)
        ]
        lamp = PROJECTOR_LAMP_HOURS.get(projector.site) or demo_lamp_hours(projector.tag)
        lamp -= power.count("on")  # it grows by an hour for each hour lit, up to today's
        for i, at in enumerate(hours):
            lamp += power[i] == "on"
            rows.append(
                {
                    "asset_id": projector.id,
                    "at": at,
                    "outcome": "ok",
                    "power": power[i],
                    "lamp_hours": lamp,
                    "worst_error": level if i >= fault_from else "ok",
                }
            )
    return rows


def _ups_hours(ups_units: list, hours: list[datetime]) -> list[dict]:
    existing = set(
        db.session.execute(
            sa.select(HealthHourly.asset_id, HealthHourly.hour).where(
                HealthHourly.asset_id.in_([u.id for u in ups_units]),
                HealthHourly.hour >= hours[0],
            )
        ).all()
    )
    rows = []
    for ups in ups_units:
        rng = random.Random(f"{OUTAGE_SEED}:{ups.tag}")
        low, days = UPS_LOW.get(ups.site, (None, 0))
        low_from = len(hours) - 24 * days
        for i, hour in enumerate(hours):
            battery = 100.0 if rng.random() < 0.85 else float(rng.randint(95, 99))
            if low is not None and i >= low_from:
                battery = low
            if (ups.id, hour) in existing:
                continue
            rows.append(
                {
                    "asset_id": ups.id,
                    "hour": hour,
                    "polls": POLLS_PER_HOUR,
                    "ok_polls": POLLS_PER_HOUR,
                    "battery_min": battery,
                }
            )
    return rows


def _router_events(router_id: int, now: datetime) -> list[dict]:
    """Down/up events worded as inventory.health.services.record_batch writes them."""
    if db.session.scalar(sa.select(HealthEvent.id).where(HealthEvent.asset_id == router_id)):
        return []
    failures = int(current_app.config["HEALTH_DOWN_AFTER"])
    recheck = int(current_app.config["HEALTH_RECHECK_SECONDS"])
    interval = int(current_app.config["HEALTH_INTERVAL_SECONDS"])
    rows = []
    for (days, up_after), minutes in zip(ROUTER_OUTAGES, DOWN_MINUTES_PAST_HOUR, strict=True):
        down_at = now - timedelta(days=days, minutes=-minutes)
        last_ok = down_at - timedelta(seconds=interval + (failures - 1) * recheck)
        rows.append(
            {
                "asset_id": router_id,
                "kind": "down",
                "at": down_at,
                "message": f"{failures} failed polls (timeout: no answer); "
                f"last answered {last_ok:%Y-%m-%d %H:%M} UTC",
            }
        )
        if up_after is not None:
            rows.append(
                {
                    "asset_id": router_id,
                    "kind": "up",
                    "at": down_at + timedelta(hours=up_after),
                    "message": f"answering again after {format_duration(up_after * 3600)} down",
                }
            )
    return rows


def _insert(table: sa.Table, rows: list[dict]) -> int:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(table), rows[start : start + CHUNK])
    return len(rows)


def load_demo_history(now: datetime) -> Counter:
    """Write the 30 days before `now` (an hour, UTC) unless VC checks exist; flushes only.

    Returns the rows written per table (empty when there was history already).
    """
    made: Counter = Counter()
    if db.session.scalar(sa.select(VcCheck.id).limit(1)) is not None:
        return made
    db.session.flush()
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    hours = [now - k * HOUR for k in range(HISTORY_HOURS, 0, -1)]  # oldest first
    devices = _offices()
    codecs = [d for d in devices if d.category == "VCC"]
    projectors = [d for d in devices if d.group == CategoryGroup.PROJECTOR.value]
    ups_units = [d for d in devices if d.category == "UPS"]
    router = next((d for d in devices if d.site == ROUTER_SITE and d.category == "RTR"), None)
    made["VC checks"] = _insert(VcCheck.__table__, _vc_checks(codecs, hours, now, zone))
    made["projector samples"] = _insert(
        ProjectorSample.__table__, _projector_samples(projectors, hours, zone)
    )
    if ups_units:
        made["UPS hourly figures"] = _insert(HealthHourly.__table__, _ups_hours(ups_units, hours))
    if router is not None:
        made["health events"] = _insert(HealthEvent.__table__, _router_events(router.id, now))
    if hours:  # as the jobs do after recording
        made["device hours rolled up"] = roll_up_hours(hours[0])
    return +made
