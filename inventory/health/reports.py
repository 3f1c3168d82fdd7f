"""Read-side queries for the health pages: the asset panel, site and district summaries,
chart series, sweep runs and events. Nothing here writes; nothing reads the request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import aliased

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.credentials.models import CredentialProfile
from inventory.extensions import db
from inventory.health import services
from inventory.health.models import (
    AssetHealth,
    HealthEvent,
    HealthHourly,
    HealthSample,
    InterfaceHourly,
    InterfaceSample,
    InterfaceState,
    SweepResult,
    SweepRun,
)
from inventory.models_base import utcnow
from inventory.sites.models import Site
from inventory.sites.services import subtree_condition, tree_rows

STATES = services.STATES  # up, down, unknown
OUTCOMES = services.OUTCOMES  # ok, timeout, auth_failed, unreachable, error
EVENT_KINDS = (services.DOWN, services.UP)
# The site kinds the district overview lists (with their subtrees' counts).
OVERVIEW_SITE_KINDS = ("tehsil", "block", "municipality")


# --- what is monitored, and in which state ---------------------------------------------


def state_column():
    """The state of an asset, 'unknown' until its first recorded poll."""
    # A literal, not a bound parameter: PostgreSQL matches GROUP BY expressions by their
    # text, and two bound parameters would make SELECT and GROUP BY differ.
    return sa.func.coalesce(AssetHealth.state, sa.literal_column("'unknown'"))


def _monitored_select(*columns):
    """Over the assets the sweep polls (services.monitored_condition), with their state."""
    return (
        sa.select(*columns)
        .select_from(Asset)
        .join(CredentialProfile, CredentialProfile.id == Asset.credential_profile_id)
        .outerjoin(AssetHealth, AssetHealth.asset_id == Asset.id)
        .where(services.monitored_condition())
    )


def is_monitored(asset: Asset) -> bool:
    return services.is_monitored(asset.id)


@dataclass
class StateCounts:
    """How many monitored devices are up, down and unknown."""

    up: int = 0
    down: int = 0
    unknown: int = 0

    def add(self, state: str | None, count: int) -> None:
        key = state if state in STATES else "unknown"
        setattr(self, key, getattr(self, key) + count)

    def merge(self, other: StateCounts) -> None:
        for key in STATES:
            self.add(key, getattr(other, key))

    def get(self, state: str) -> int:
        return getattr(self, state)

    @property
    def total(self) -> int:
        return self.up + self.down + self.unknown


def _counts_by(key_column, where=None) -> dict[Any, StateCounts]:
    query = _monitored_select(key_column, state_column(), sa.func.count()).group_by(
        key_column, state_column()
    )
    if where is not None:
        query = query.where(where)
    counts: dict[Any, StateCounts] = {}
    for key, state, count in db.session.execute(query):
        counts.setdefault(key, StateCounts()).add(state, count)
    return counts


# --- the asset panel --------------------------------------------------------------------


@dataclass
class Supply:
    """A printer supply as shown: a percentage, or a word when the device gives none."""

    descr: str
    colour: str
    pct: float | None
    level: str  # "pct", "some" (present, amount unknown), "unknown"
    is_waste: bool = False  # a waste container: its level rises as it fills


@dataclass
class StorageRow:
    descr: str
    kind: str
    pct: float | None
    size_bytes: int | None


@dataclass
class AssetPanel:
    """Everything the health panel of one asset shows."""

    asset: Asset
    is_monitored: bool
    health: AssetHealth | None
    interfaces: list[InterfaceState]
    events: list[HealthEvent]
    supplies: list[Supply]
    storage: list[StorageRow]
    model_differs: bool = False
    serial_differs: bool = False

    @property
    def state(self) -> str:
        return self.health.state if self.health and self.health.state in STATES else "unknown"

    @property
    def polled(self) -> bool:
        return bool(self.health and self.health.last_polled_at)

    @property
    def has_device_metrics(self) -> bool:
        h = self.health
        if h is None:
            return False
        return any(
            v is not None for v in (h.cpu_pct, h.mem_pct, h.storage_pct, h.battery_pct, h.toner_pct)
        )

    @property
    def busiest_interface(self) -> InterfaceState | None:
        """The interface the traffic chart opens on: the busiest one that is up."""
        if not self.interfaces:
            return None

        def load(i: InterfaceState) -> tuple:
            return (i.oper_status == 1, (i.in_bps or 0) + (i.out_bps or 0), -i.if_index)

        return max(self.interfaces, key=load)

    @property
    def has_ups(self) -> bool:
        h = self.health
        return h is not None and any(
            v is not None for v in (h.battery_status, h.battery_pct, h.battery_minutes)
        )


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _supply(item: dict) -> Supply:
    """One stored supply; the Printer-MIB's negative levels (-1 other, -2 unknown,
    -3 some remaining) and capacities (-1 other/unlimited, -2 unknown) are kept as words."""
    level = _number(item.get("level"))
    capacity = _number(item.get("max_capacity"))
    pct = _number(item.get("pct", item.get("level_pct")))
    if pct is None and level is not None and capacity and level >= 0 and capacity > 0:
        pct = min(100.0, 100.0 * level / capacity)
    descr, colour = str(item.get("descr") or ""), str(item.get("colour") or "")
    is_waste = item.get("kind") in services.WASTE_KINDS
    if pct is not None:
        return Supply(descr, colour, max(0.0, pct), "pct", is_waste)
    word = "some" if level == -3 or (level is not None and level > 0) else "unknown"
    return Supply(descr, colour, None, word, is_waste)


def _storage(item: dict) -> StorageRow:
    pct = _number(item.get("pct", item.get("used_pct")))
    size = _number(item.get("size_bytes"))
    used = _number(item.get("used_bytes"))
    if pct is None and size and used is not None:
        pct = 100.0 * used / size
    return StorageRow(
        str(item.get("descr") or ""),
        str(item.get("kind") or ""),
        pct,
        int(size) if size is not None else None,
    )


def _differs(register: str | None, device: str | None) -> bool:
    """A device-reported model or serial that does not match the register's (when both
    are known); models match when one contains the other (HP's "LaserJet M404dn" in
    "HP LaserJet Pro M404dn")."""
    a = " ".join((register or "").split()).casefold()
    b = " ".join((device or "").split()).casefold()
    if not a or not b:
        return False
    return a != b


def _model_differs(register: str | None, device: str | None) -> bool:
    if not _differs(register, device):
        return False
    a = " ".join((register or "").split()).casefold()
    b = " ".join((device or "").split()).casefold()
    return a not in b and b not in a


def asset_panel(asset: Asset, events: int = 10) -> AssetPanel | None:
    """The health panel of an asset: None when it is neither monitored nor ever polled."""
    monitored = is_monitored(asset)
    health = asset.health
    if not monitored and not (health and health.last_polled_at):
        return None
    interfaces = list(
        db.session.scalars(
            sa.select(InterfaceState)
            .where(InterfaceState.asset_id == asset.id)
            .order_by(InterfaceState.if_index)
        )
    )
    recent = list(
        db.session.scalars(
            sa.select(HealthEvent)
            .where(HealthEvent.asset_id == asset.id)
            .order_by(HealthEvent.at.desc(), HealthEvent.id.desc())
            .limit(events)
        )
    )
    stored_supplies = (health.supplies or []) if health else []
    stored_storage = (health.storage or []) if health else []
    supplies = [_supply(s) for s in stored_supplies if isinstance(s, dict)]
    storage = [_storage(s) for s in stored_storage if isinstance(s, dict)]
    return AssetPanel(
        asset=asset,
        is_monitored=monitored,
        health=health,
        interfaces=interfaces,
        events=recent,
        supplies=supplies,
        storage=storage,
        model_differs=bool(
            health and asset.model and _model_differs(asset.model.name, health.entity_model)
        ),
        serial_differs=bool(health and _differs(asset.serial, health.entity_serial)),
    )


# --- charts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartRange:
    """A period a chart can show, and whether it reads raw samples or hourly rollups."""

    key: str
    span: timedelta
    source: str  # "raw" or "hourly"


RANGES: dict[str, ChartRange] = {
    r.key: r
    for r in (
        ChartRange("24h", timedelta(hours=24), "raw"),
        ChartRange("7d", timedelta(days=7), "raw"),
        ChartRange("30d", timedelta(days=30), "hourly"),
        ChartRange("1y", timedelta(days=365), "hourly"),
    )
}
DEFAULT_RANGE = "24h"

# Raw columns and their rollup counterparts, in the order the chart draws them.
DEVICE_SERIES = (
    ("cpu_pct", HealthSample.cpu_pct, HealthHourly.cpu_avg),
    ("mem_pct", HealthSample.mem_pct, HealthHourly.mem_avg),
    ("storage_pct", HealthSample.storage_pct, HealthHourly.storage_max),
    ("battery_pct", HealthSample.battery_pct, HealthHourly.battery_min),
    ("toner_pct", HealthSample.toner_pct, HealthHourly.toner_min),
)


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _round(value) -> float | None:
    return None if value is None else round(float(value), 2)


def _series(keys: Iterable[str], rows: list, skip_empty: bool = True) -> list[dict]:
    out = []
    for index, key in enumerate(keys, start=1):
        values = [_round(row[index]) for row in rows]
        if skip_empty and all(v is None for v in values):
            continue
        out.append({"key": key, "values": values})
    return out


def device_chart(asset_id: int, range_key: str, now: datetime | None = None) -> dict:
    """Device figures over a period as uPlot columns: times (epoch seconds) and series.

    24 hours and 7 days read the raw samples; 30 days and a year the hourly rollups
    (which also give availability: the share of polls answered in each hour).
    Series with no value in the period are left out.
    """
    chosen = RANGES[range_key]
    end = now or utcnow()
    start = end - chosen.span
    keys = [key for key, _raw, _hourly in DEVICE_SERIES]
    if chosen.source == "raw":
        rows = db.session.execute(
            sa.select(HealthSample.at, *(raw for _k, raw, _h in DEVICE_SERIES))
            .where(HealthSample.asset_id == asset_id, HealthSample.at >= start)
            .order_by(HealthSample.at)
        ).all()
        series = _series(keys, rows)
    else:
        availability = sa.case(
            (HealthHourly.polls > 0, 100.0 * HealthHourly.ok_polls / HealthHourly.polls),
            else_=None,
        )
        rows = db.session.execute(
            sa.select(HealthHourly.hour, *(h for _k, _r, h in DEVICE_SERIES), availability)
            .where(HealthHourly.asset_id == asset_id, HealthHourly.hour >= start)
            .order_by(HealthHourly.hour)
        ).all()
        series = _series([*keys, "availability_pct"], rows)
    return {
        "asset_id": asset_id,
        "kind": "device",
        "range": chosen.key,
        "source": chosen.source,
        "start": _epoch(start),
        "end": _epoch(end),
        "t": [_epoch(row[0]) for row in rows],
        "series": series,
    }


def interface_chart(
    asset_id: int, if_index: int, range_key: str, now: datetime | None = None
) -> dict:
    """In and out bit rates of one interface over a period (raw or hourly, as above);
    the hourly ranges add each hour's peaks."""
    chosen = RANGES[range_key]
    end = now or utcnow()
    start = end - chosen.span
    if chosen.source == "raw":
        rows = db.session.execute(
            sa.select(InterfaceSample.at, InterfaceSample.in_bps, InterfaceSample.out_bps)
            .where(
                InterfaceSample.asset_id == asset_id,
                InterfaceSample.if_index == if_index,
                InterfaceSample.at >= start,
            )
            .order_by(InterfaceSample.at)
        ).all()
        keys = ["in_bps", "out_bps"]
    else:
        rows = db.session.execute(
            sa.select(
                InterfaceHourly.hour,
                InterfaceHourly.in_avg,
                InterfaceHourly.out_avg,
                InterfaceHourly.in_max,
                InterfaceHourly.out_max,
            )
            .where(
                InterfaceHourly.asset_id == asset_id,
                InterfaceHourly.if_index == if_index,
                InterfaceHourly.hour >= start,
            )
            .order_by(InterfaceHourly.hour)
        ).all()
        keys = ["in_bps", "out_bps", "in_peak_bps", "out_peak_bps"]
    return {
        "asset_id": asset_id,
        "kind": "interface",
        "if_index": if_index,
        "range": chosen.key,
        "source": chosen.source,
        "start": _epoch(start),
        "end": _epoch(end),
        "t": [_epoch(row[0]) for row in rows],
        "series": _series(keys, rows, skip_empty=False) if rows else [],
    }


def interface_of(asset_id: int, if_index: int) -> InterfaceState | None:
    return db.session.get(InterfaceState, (asset_id, if_index))


# --- sites and the district -------------------------------------------------------------


@dataclass
class SiteHealth:
    """A site's monitored devices: its own, its whole subtree, and each child's subtree."""

    own: StateCounts
    subtree: StateCounts
    children: list[tuple[Site, StateCounts]]


def site_health(site: Site) -> SiteHealth:
    own = _counts_by(Asset.site_id, Asset.site_id == site.id).get(site.id, StateCounts())
    # Each site below, tagged with the child of `site` whose subtree holds it.
    branch = (
        sa.select(Site.id.label("id"), Site.id.label("branch"))
        .where(Site.parent_id == site.id)
        .cte("branch", recursive=True)
    )
    below = aliased(Site)
    branch = branch.union_all(
        sa.select(below.id, branch.c.branch).where(below.parent_id == branch.c.id)
    )
    query = (
        _monitored_select(branch.c.branch, state_column(), sa.func.count())
        .join(branch, branch.c.id == Asset.site_id)
        .group_by(branch.c.branch, state_column())
    )
    by_child: dict[int, StateCounts] = {}
    for child_id, state, count in db.session.execute(query):
        by_child.setdefault(child_id, StateCounts()).add(state, count)
    subtree = StateCounts()
    subtree.merge(own)
    children = []
    for child in site.children:
        counts = by_child.get(child.id, StateCounts())
        subtree.merge(counts)
        children.append((child, counts))
    return SiteHealth(own=own, subtree=subtree, children=children)


@dataclass
class DownRow:
    asset: Asset
    health: AssetHealth


@dataclass
class Overview:
    """The district dashboard's health section."""

    totals: StateCounts
    by_site: list[tuple[Site, int, StateCounts]]  # site, depth among the listed kinds, counts
    by_category: list[tuple[Category, StateCounts]]
    down: list[DownRow]
    last_run: SweepRun | None
    running: SweepRun | None = None
    down_more: int = 0


def _rolled_up_by_site(
    by_site: dict[int, StateCounts],
) -> tuple[list[tuple[Site, int]], dict[int, StateCounts]]:
    """Every site in tree order with its depth, and each site's subtree counts."""
    rows = tree_rows()
    parent = {site.id: site.parent_id for site, _depth in rows}
    rolled: dict[int, StateCounts] = {}
    for site_id, counts in by_site.items():
        current, guard = site_id, 0
        while current is not None and guard < 20:  # guard: a hierarchy is a few levels deep
            rolled.setdefault(current, StateCounts()).merge(counts)
            current, guard = parent.get(current), guard + 1
    return rows, rolled


def district_overview(down_limit: int = 25) -> Overview:
    by_site = _counts_by(Asset.site_id)
    totals = StateCounts()
    for counts in by_site.values():
        totals.merge(counts)
    rows, rolled = _rolled_up_by_site(by_site)
    listed = []
    top_depth = None
    for site, depth in rows:
        if site.kind not in OVERVIEW_SITE_KINDS:
            continue
        top_depth = depth if top_depth is None else min(top_depth, depth)
        listed.append((site, depth, rolled.get(site.id, StateCounts())))
    listed = [(s, d - (top_depth or 0), c) for s, d, c in listed]

    by_category_counts = _counts_by(Asset.category_id)
    categories = (
        db.session.scalars(sa.select(Category).where(Category.id.in_(list(by_category_counts))))
        if by_category_counts
        else []
    )
    by_category = sorted(
        ((c, by_category_counts[c.id]) for c in categories), key=lambda pair: pair[0].code
    )

    down_query = (
        sa.select(Asset, AssetHealth)
        .join(AssetHealth, AssetHealth.asset_id == Asset.id)
        .where(AssetHealth.state == "down")
        .order_by(AssetHealth.state_since.is_(None), AssetHealth.state_since, Asset.tag)
    )
    down = [DownRow(a, h) for a, h in db.session.execute(down_query.limit(down_limit))]
    down_more = max(0, totals.down - len(down))

    last_run = db.session.scalar(
        sa.select(SweepRun)
        .where(SweepRun.status != "running")
        .order_by(SweepRun.started_at.desc(), SweepRun.id.desc())
        .limit(1)
    )
    running = db.session.scalar(
        sa.select(SweepRun)
        .where(SweepRun.status == "running")
        .order_by(SweepRun.started_at.desc(), SweepRun.id.desc())
        .limit(1)
    )
    return Overview(
        totals=totals,
        by_site=listed,
        by_category=by_category,
        down=down,
        last_run=last_run,
        running=running,
        down_more=down_more,
    )


# --- lists ------------------------------------------------------------------------------


class RowPage(Pagination):
    """One page of a select returning several entities per row (Flask-SQLAlchemy's
    Pagination interface, which the pagination macro reads)."""

    def _query_items(self) -> list:
        query = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(db.session.execute(query).all())

    def _query_count(self) -> int:
        if 0 < len(self.items) < self.per_page or (self.page == 1 and not self.items):
            return self._query_offset + len(self.items)
        sub = self._query_args["select"].order_by(None).subquery()
        return db.session.scalar(sa.select(sa.func.count()).select_from(sub)) or 0


def _page(select, page: int, per_page: int) -> RowPage:
    return RowPage(
        page=max(page, 1),
        per_page=max(per_page, 1),
        max_per_page=None,
        error_out=False,
        select=select,
    )


@dataclass
class HealthFilter:
    """The device health list's filters (already validated)."""

    state: str = ""
    site_id: int | None = None
    category_id: int | None = None
    site_only: bool = False  # the site itself, not the sites below it


def health_page(flt: HealthFilter, page: int, per_page: int) -> RowPage:
    """Monitored assets with their state: down first (longest down first), then unknown,
    then up; rows are (Asset, AssetHealth or None)."""
    order = sa.case((state_column() == "down", 0), (state_column() == "unknown", 1), else_=2)
    query = _monitored_select(Asset, AssetHealth).order_by(
        order, AssetHealth.state_since.is_(None), AssetHealth.state_since, Asset.tag
    )
    if flt.state in STATES:
        query = query.where(state_column() == flt.state)
    if flt.site_id and flt.site_only:
        query = query.where(Asset.site_id == flt.site_id)
    elif flt.site_id:
        query = query.where(subtree_condition(Asset.site_id, flt.site_id))
    if flt.category_id:
        query = query.where(Asset.category_id == flt.category_id)
    return _page(query, page, per_page)


def runs_page(page: int, per_page: int) -> Pagination:
    return db.paginate(
        sa.select(SweepRun).order_by(SweepRun.started_at.desc(), SweepRun.id.desc()),
        page=max(page, 1),
        per_page=max(per_page, 1),
        max_per_page=None,
        error_out=False,
    )


@dataclass
class RunDetail:
    run: SweepRun
    outcomes: dict[str, int] = field(default_factory=dict)
    page: RowPage | None = None


def run_detail(run: SweepRun, outcome: str, page: int, per_page: int) -> RunDetail:
    """A run with its count per outcome and one page of its per-target results
    (rows of (SweepResult, Asset)), failures first."""
    outcomes = dict(
        db.session.execute(
            sa.select(SweepResult.outcome, sa.func.count())
            .where(SweepResult.run_id == run.id)
            .group_by(SweepResult.outcome)
        ).all()
    )
    query = (
        sa.select(SweepResult, Asset)
        .join(Asset, Asset.id == SweepResult.asset_id)
        .where(SweepResult.run_id == run.id)
        .order_by(sa.case((SweepResult.outcome == "ok", 1), else_=0), Asset.tag)
    )
    if outcome:
        query = query.where(SweepResult.outcome == outcome)
    return RunDetail(run=run, outcomes=outcomes, page=_page(query, page, per_page))


def events_page(
    kind: str, site_id: int | None, asset_id: int | None, page: int, per_page: int
) -> RowPage:
    """Down and up events, newest first; rows are (HealthEvent, Asset)."""
    query = (
        sa.select(HealthEvent, Asset)
        .join(Asset, Asset.id == HealthEvent.asset_id)
        .order_by(HealthEvent.at.desc(), HealthEvent.id.desc())
    )
    if kind in EVENT_KINDS:
        query = query.where(HealthEvent.kind == kind)
    if site_id:
        query = query.where(subtree_condition(Asset.site_id, site_id))
    if asset_id:
        query = query.where(HealthEvent.asset_id == asset_id)
    return _page(query, page, per_page)


def site_options() -> list[tuple[Site, int]]:
    """Sites for a filter, in hierarchy order with their depth."""
    return tree_rows()


def category_options() -> list[Category]:
    return list(db.session.scalars(sa.select(Category).order_by(Category.code)))
