"""VC readiness: which offices can join the District Magistrate's video conference now, why
the others cannot, and how ready each was hour by hour over the last days.

Everything here is computed from what was recorded; nothing is guessed or stored:

- the register: an office's parts are the assets in the field (deployed, under repair,
  non-functional) at its site and at the office-kind sites below it. Its VC endpoints are
  the categories VC_ENDPOINT_CATEGORIES; its displays VC_DISPLAY_CATEGORIES plus the
  projector group; its network the networking group; its UPS units VC_UPS_CATEGORIES.
- now: the latest reachability check of each endpoint (VcReachability), PJLink poll of each
  projector (ProjectorState), health state of each network device and UPS (AssetHealth),
  and the open tickets of priority critical on any of those parts.
- the past, hour by hour: whether every check or poll of that hour was good (VcHourly,
  ProjectorHourly: the devices module's hourly roll-up of VcCheck and ProjectorSample), the
  down/up events of the network devices (HealthEvent), the lowest UPS charge of the hour
  (HealthHourly.battery_min) and the critical tickets open in that hour. The past is judged
  with the parts the office has in the register today and each ticket's priority as it is
  now: a part added or removed, or a priority changed, counts for the past days too.

An office is READY when a VC endpoint in service answers, a display works (a display in
service, which is not monitored, or a projector whose last poll answered without an
error-level fault), no network device is down, no UPS battery is low and no critical ticket
is open on those parts. It is NOT READY as soon as one of those fails, with every reason
listed; UNKNOWN when nothing failed but something could not be told (not checked yet, the
last check too old, no management address).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.choices import AssetStatus, CategoryGroup, TicketPriority, TicketStatus
from inventory.devices.models import ProjectorHourly, ProjectorState, VcHourly, VcReachability
from inventory.extensions import db
from inventory.health.models import AssetHealth, HealthEvent, HealthHourly
from inventory.health.services import as_hour, epoch_seconds, floor_hour
from inventory.sites.models import Site, joins_vc
from inventory.tickets.models import Ticket

READY, NOT_READY, UNKNOWN = "ready", "not_ready", "unknown"
STATES = (NOT_READY, UNKNOWN, READY)  # worst first
IN_FIELD = (
    AssetStatus.DEPLOYED.value,
    AssetStatus.UNDER_REPAIR.value,
    AssetStatus.NON_FUNCTIONAL.value,
)
OPEN_TICKET_STATUSES = tuple(s.value for s in TicketStatus if s.is_open)
BATTERY_LOW_STATUSES = (3, 4)  # UPS-MIB upsBatteryStatus batteryLow, batteryDepleted
HOUR = timedelta(hours=1)

# The parts of an office
ENDPOINT, DISPLAY, PROJECTOR, NETWORK, UPS = "endpoint", "display", "projector", "network", "ups"


@dataclass(frozen=True)
class Rules:
    """The settings the board follows (from the app config; see config.py VC_*)."""

    expected_kinds: tuple[str, ...] = ("tehsil", "block", "municipality")
    endpoint_categories: tuple[str, ...] = ("VCC",)
    display_categories: tuple[str, ...] = ("DSP",)
    ups_categories: tuple[str, ...] = ("UPS",)
    ups_min_charge_pct: float = 50
    ups_min_minutes: int = 15
    max_age: timedelta = timedelta(minutes=30)
    history_days: int = 30
    timezone: str = "Asia/Kolkata"

    @classmethod
    def from_config(cls, config) -> Rules:
        return cls(
            expected_kinds=tuple(config["VC_EXPECTED_KINDS"]),
            endpoint_categories=tuple(c.upper() for c in config["VC_ENDPOINT_CATEGORIES"]),
            display_categories=tuple(c.upper() for c in config["VC_DISPLAY_CATEGORIES"]),
            ups_categories=tuple(c.upper() for c in config["VC_UPS_CATEGORIES"]),
            ups_min_charge_pct=float(config["VC_UPS_MIN_CHARGE_PCT"]),
            ups_min_minutes=int(config["VC_UPS_MIN_MINUTES"]),
            max_age=timedelta(seconds=float(config["VC_READING_MAX_AGE_SECONDS"])),
            history_days=int(config["VC_HISTORY_DAYS"]),
            timezone=config["BABEL_DEFAULT_TIMEZONE"],
        )

    def part_of(self, category_code: str, group: str) -> str | None:
        code = (category_code or "").upper()
        if code in self.endpoint_categories:
            return ENDPOINT
        if code in self.display_categories:
            return DISPLAY
        if group == CategoryGroup.PROJECTOR.value:
            return PROJECTOR
        if code in self.ups_categories:
            return UPS
        if group == CategoryGroup.NETWORKING.value:
            return NETWORK
        if group == CategoryGroup.VC.value:
            return "vc_other"  # cameras, microphones: only their critical tickets count
        return None

    def battery_low(self, status: int | None, pct: float | None, minutes: int | None) -> bool:
        """Low by the UPS's own battery status, its charge, or its minutes of backup. Zero
        minutes counts as not reported: many SNMP cards say 0 while on mains power."""
        return (
            (status in BATTERY_LOW_STATUSES)
            or (pct is not None and pct < self.ups_min_charge_pct)
            or (bool(minutes) and minutes < self.ups_min_minutes)
        )


@dataclass(frozen=True)
class Reason:
    """Why an office is not ready (or a note on a part that still works)."""

    code: str  # no_endpoint, endpoint, no_display, display, network, ups, ticket, unchecked
    text: str
    asset: Asset | None = None
    ticket: Ticket | None = None
    since: datetime | None = None


@dataclass
class DayReadiness:
    day: date
    ready_hours: int = 0
    known_hours: int = 0

    @property
    def pct(self) -> float | None:
        return round(100 * self.ready_hours / self.known_hours, 1) if self.known_hours else None


@dataclass
class History:
    """Readiness hour by hour (UTC hours) and per local day over the window."""

    start: datetime
    hours: list[tuple[datetime, str]]  # (hour start, READY/NOT_READY/UNKNOWN)
    days: list[DayReadiness]

    @property
    def ready_hours(self) -> int:
        return sum(d.ready_hours for d in self.days)

    @property
    def known_hours(self) -> int:
        return sum(d.known_hours for d in self.days)

    @property
    def pct(self) -> float | None:
        known = self.known_hours
        return round(100 * self.ready_hours / known, 1) if known else None


@dataclass
class Office:
    site: Site
    tehsil: Site | None
    covered: list[int] = field(default_factory=list)  # its site and office-kind sites below
    parts: dict[str, list[Asset]] = field(default_factory=lambda: defaultdict(list))
    reasons: list[Reason] = field(default_factory=list)
    unknowns: list[Reason] = field(default_factory=list)
    notes: list[Reason] = field(default_factory=list)
    history: History | None = None

    @property
    def state(self) -> str:
        if self.reasons:
            return NOT_READY
        if self.unknowns:
            return UNKNOWN
        return READY

    @property
    def part_ids(self) -> list[int]:
        return [a.id for assets in self.parts.values() for a in assets]


@dataclass
class Board:
    offices: list[Office]
    at: datetime
    rules: Rules
    # the latest readings, by asset id (for showing them beside the verdict)
    reach: dict = field(default_factory=dict)
    polls: dict = field(default_factory=dict)
    health: dict = field(default_factory=dict)

    def count(self, state: str) -> int:
        return sum(1 for o in self.offices if o.state == state)

    @property
    def ready(self) -> int:
        return self.count(READY)

    @property
    def total(self) -> int:
        return len(self.offices)


# --- which offices, and their parts -------------------------------------------------------


def _tree() -> tuple[dict[int, sa.Row], dict[int, list[sa.Row]]]:
    """The site tree as light rows (a district has thousands of sites, mostly CSCs)."""
    rows = db.session.execute(
        sa.select(Site.id, Site.parent_id, Site.kind, Site.vc_expected, Site.name_en)
    ).all()
    sites = {row.id: row for row in rows}
    children: dict[int, list[sa.Row]] = defaultdict(list)
    for row in rows:
        if row.parent_id:
            children[row.parent_id].append(row)
    return sites, children


def _joins(row, rules: Rules) -> bool:
    return joins_vc(row.kind, row.vc_expected, rules.expected_kinds)


def _path(site, sites: dict) -> list:
    path = [site]
    seen = {site.id}
    while path[-1].parent_id and path[-1].parent_id in sites and path[-1].parent_id not in seen:
        path.append(sites[path[-1].parent_id])
        seen.add(path[-1].id)
    return list(reversed(path))


def expected_offices(rules: Rules, site_ids: Iterable[int] | None = None) -> list[Office]:
    """The offices that join the VC (all, or those of `site_ids`), in the order of the site
    tree (a tehsil, then its blocks and municipalities), with the sites each one covers."""
    sites, children = _tree()
    wanted = set(site_ids) if site_ids is not None else None
    found = []  # (sort key, site id, tehsil id, covered site ids)
    for row in sites.values():
        if not _joins(row, rules) or (wanted is not None and row.id not in wanted):
            continue
        path = _path(row, sites)
        tehsil = next((s.id for s in path if s.kind == "tehsil"), None)
        key = tuple(s.name_en.casefold() for s in path)
        found.append((key, row.id, tehsil, _covered_sites(row, children, rules)))
    found.sort(key=lambda item: item[0])
    ids = {site_id for _key, site_id, _t, _c in found} | {t for _k, _s, t, _c in found if t}
    objects = {s.id: s for s in db.session.scalars(sa.select(Site).where(Site.id.in_(ids)))}
    return [
        Office(objects[site_id], objects.get(tehsil), covered=covered)
        for _key, site_id, tehsil, covered in found
    ]


def _covered_sites(site, children: dict, rules: Rules) -> list[int]:
    """The office's own site and the office-kind sites below it that do not join themselves."""
    covered, stack = [site.id], list(children.get(site.id, []))
    while stack:
        site = stack.pop()
        if site.kind == "office" and not _joins(site, rules):
            covered.append(site.id)
            stack.extend(children.get(site.id, []))
    return covered


def _load_parts(offices: list[Office], rules: Rules) -> None:
    owner: dict[int, Office] = {}
    for office in offices:
        for site_id in office.covered:
            owner.setdefault(site_id, office)
    if not owner:
        return
    assets = db.session.scalars(
        sa.select(Asset)
        .join(Category, Category.id == Asset.category_id)
        .where(Asset.site_id.in_(list(owner)), Asset.status.in_(IN_FIELD))
        .order_by(Asset.tag)
    ).all()
    for asset in assets:
        part = rules.part_of(asset.category.code, asset.category.group)
        if part:
            owner[asset.site_id].parts[part].append(asset)


def _by_asset(model, ids: list[int]) -> dict[int, object]:
    if not ids:
        return {}
    return {
        row.asset_id: row
        for row in db.session.scalars(sa.select(model).where(model.asset_id.in_(ids)))
    }


def _critical_tickets(ids: list[int]) -> dict[int, list[Ticket]]:
    found: dict[int, list[Ticket]] = defaultdict(list)
    if not ids:
        return found
    for ticket in db.session.scalars(
        sa.select(Ticket)
        .where(
            Ticket.asset_id.in_(ids),
            Ticket.priority == TicketPriority.CRITICAL.value,
            Ticket.status.in_(OPEN_TICKET_STATUSES),
        )
        .order_by(Ticket.opened_at)
    ):
        found[ticket.asset_id].append(ticket)
    return found


def _count_in_store(offices: list[Office], rules: Rules) -> dict[int, int]:
    """Endpoints in store at each office's site (to say "one is in store")."""
    ids = [o.site.id for o in offices]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Asset.site_id, sa.func.count())
        .join(Category, Category.id == Asset.category_id)
        .where(
            Asset.site_id.in_(ids),
            Asset.status == AssetStatus.IN_STORE.value,
            sa.func.upper(Category.code).in_(rules.endpoint_categories),
        )
        .group_by(Asset.site_id)
    ).all()
    return {site_id: int(count) for site_id, count in rows}


# --- now ----------------------------------------------------------------------------------


def _part_name(part: str) -> str:
    return {ENDPOINT: _("VC endpoint"), DISPLAY: _("Display"), PROJECTOR: _("Projector")}[part]


def _gate(part: str, asset: Asset, read_at: datetime | None, rules: Rules, now: datetime):
    """What every monitored part must pass before its reading counts: in service, an
    address, a reading, a fresh one. Returns ("bad" or "unknown", Reason), ("unmonitored",
    None) for a part without a management address, or ("read", None)."""
    name, tag = _part_name(part), asset.tag
    code = ENDPOINT if part == ENDPOINT else DISPLAY
    if asset.status != AssetStatus.DEPLOYED.value:
        status = AssetStatus.label_of(asset.status)
        text = _("%(part)s %(tag)s is %(status)s.", part=name, tag=tag, status=status)
        return "bad", Reason(code, text, asset)
    if not asset.management_address:
        return "unmonitored", None
    if read_at is None:
        text = _("%(part)s %(tag)s has not been checked yet.", part=name, tag=tag)
        return "unknown", Reason("unchecked", text, asset)
    if now - read_at > rules.max_age:
        text = _("%(part)s %(tag)s: the last reading is too old.", part=name, tag=tag)
        return "unknown", Reason("unchecked", text, asset, since=read_at)
    return "read", None


def _endpoint_now(office: Office, reach: dict, rules: Rules, now: datetime, in_store: int) -> None:
    """Ready when one endpoint in service answered its last (fresh) reachability check."""
    if not office.parts[ENDPOINT]:
        text = _("No VC endpoint in service here.")
        if in_store:
            text += " " + _("%(n)d in store, not installed.", n=in_store)
        office.reasons.append(Reason("no_endpoint", text))
        return
    bad, unknown = [], []
    for asset in office.parts[ENDPOINT]:
        state: VcReachability | None = reach.get(asset.id)
        gate, reason = _gate(ENDPOINT, asset, state.checked_at if state else None, rules, now)
        if gate == "unmonitored":
            text = _(
                "VC endpoint %(tag)s has no management address: its reachability is not checked.",
                tag=asset.tag,
            )
            unknown.append(Reason("unchecked", text, asset))
        elif reason is not None:
            (bad if gate == "bad" else unknown).append(reason)
        elif not state.reachable:
            text = _("VC endpoint %(tag)s is unreachable.", tag=asset.tag)
            bad.append(Reason(ENDPOINT, text, asset, since=state.last_reachable_at))
        else:
            return  # one endpoint that answers is enough
    office.unknowns.extend(unknown)
    (office.notes if unknown else office.reasons).extend(bad)


def _display_now(office: Office, polls: dict, rules: Rules, now: datetime) -> None:
    """Ready when a display is in service (displays are not monitored) or a projector in
    service answered its last (fresh) PJLink poll with no error-level fault; projectors
    without a management address count as the register says."""
    displays, projectors = office.parts[DISPLAY], office.parts[PROJECTOR]
    if not displays and not projectors:
        office.reasons.append(Reason("no_display", _("No display or projector registered here.")))
        return
    working, bad, unknown = False, [], []
    for asset in displays:
        gate, reason = _gate(DISPLAY, asset, None, rules, now)
        if gate == "bad":
            bad.append(reason)
        else:
            working = True  # in service; nothing polls a display
    for asset in projectors:
        state: ProjectorState | None = polls.get(asset.id)
        gate, reason = _gate(PROJECTOR, asset, state.polled_at if state else None, rules, now)
        levels = state.problems if state is not None and state.ok else {}
        warnings = sorted(k for k, v in levels.items() if v == "warning")
        faults = sorted(k for k, v in levels.items() if v == "error")
        if warnings:
            what = ", ".join(_fault_label(w) for w in warnings)
            text = _("Projector %(tag)s warns: %(what)s.", tag=asset.tag, what=what)
            office.notes.append(Reason(DISPLAY, text, asset))
        if gate == "unmonitored":
            working = True
        elif reason is not None:
            (bad if gate == "bad" else unknown).append(reason)
        elif not state.ok:
            text = _("Projector %(tag)s does not answer PJLink.", tag=asset.tag)
            bad.append(Reason(DISPLAY, text, asset, since=state.last_ok_at))
        elif faults:
            what = ", ".join(_fault_label(f) for f in faults)
            text = _("Projector %(tag)s reports a fault: %(what)s.", tag=asset.tag, what=what)
            bad.append(Reason(DISPLAY, text, asset))
        else:
            working = True
    if working:
        office.notes.extend(bad)
    elif unknown:
        office.unknowns.extend(unknown)
        office.notes.extend(bad)
    else:
        office.reasons.append(Reason("no_display", _("No working display or projector.")))
        office.reasons.extend(bad)


def _fault_label(key: str) -> str:
    labels = {
        "fan": _("fan"),
        "lamp": _("lamp"),
        "temperature": _("temperature"),
        "cover": _("cover open"),
        "filter": _("filter"),
        "other": _("other"),
    }
    return labels.get(key, _("other"))


def _network_now(office: Office, health: dict) -> None:
    for asset in office.parts[NETWORK]:
        state: AssetHealth | None = health.get(asset.id)
        if state is not None and state.state == "down":
            office.reasons.append(
                Reason(
                    "network",
                    _("Network link down: %(tag)s does not answer.", tag=asset.tag),
                    asset,
                    since=state.state_since,
                )
            )


def _ups_now(office: Office, health: dict, rules: Rules) -> None:
    for asset in office.parts[UPS]:
        state: AssetHealth | None = health.get(asset.id)
        if state is None:
            continue
        if rules.battery_low(state.battery_status, state.battery_pct, state.battery_minutes):
            figures = []
            if state.battery_pct is not None:
                figures.append(_("%(pct)d %% charge", pct=round(state.battery_pct)))
            if state.battery_minutes:
                figures.append(_("%(n)d min of backup", n=state.battery_minutes))
            if figures:
                text = _(
                    "UPS %(tag)s battery low: %(figures)s.",
                    tag=asset.tag,
                    figures=", ".join(figures),
                )
            else:
                text = _("UPS %(tag)s battery low.", tag=asset.tag)
            office.reasons.append(Reason(UPS, text, asset))


def _tickets_now(office: Office, tickets: dict[int, list[Ticket]]) -> None:
    for asset_id in office.part_ids:
        for ticket in tickets.get(asset_id, ()):
            office.reasons.append(
                Reason(
                    "ticket",
                    _("Critical ticket open: %(title)s", title=ticket.title),
                    ticket.asset,
                    ticket=ticket,
                    since=ticket.opened_at,
                )
            )


def board(
    rules: Rules,
    now: datetime,
    *,
    site_ids: Iterable[int] | None = None,
    history: bool = True,
) -> Board:
    """Every expected office (or those of `site_ids`) with its readiness now and, when
    `history`, over the last rules.history_days days."""
    offices = expected_offices(rules, site_ids)
    _load_parts(offices, rules)
    ids = [i for o in offices for i in o.part_ids]
    endpoint_ids = [a.id for o in offices for a in o.parts[ENDPOINT]]
    projector_ids = [a.id for o in offices for a in o.parts[PROJECTOR]]
    health_ids = [a.id for o in offices for p in (NETWORK, UPS) for a in o.parts[p]]
    reach = _by_asset(VcReachability, endpoint_ids)
    polls = _by_asset(ProjectorState, projector_ids)
    health = _by_asset(AssetHealth, health_ids)
    tickets = _critical_tickets(ids)
    in_store = _count_in_store(offices, rules)
    for office in offices:
        _endpoint_now(office, reach, rules, now, in_store.get(office.site.id, 0))
        _display_now(office, polls, rules, now)
        _network_now(office, health)
        _ups_now(office, health, rules)
        _tickets_now(office, tickets)
    if history:
        histories = office_histories(offices, rules, now)
        for office in offices:
            office.history = histories[office.site.id]
    return Board(offices, now, rules, reach, polls, health)


# --- the past, hour by hour ---------------------------------------------------------------


def window_start(rules: Rules, now: datetime) -> datetime:
    """The first hour of the window: local midnight history_days - 1 days ago (as a UTC
    hour), so the window is whole local days plus today so far."""
    zone = ZoneInfo(rules.timezone)
    first_day = now.astimezone(zone).date() - timedelta(days=rules.history_days - 1)
    midnight = datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone)
    return floor_hour(midnight.astimezone(UTC))


def _hours_all_good(model, ids: list[int], start: datetime, end: datetime) -> dict:
    """{asset_id: {hour: whether every reading of that hour was good}} for the hours in
    [start, end), from the hourly roll-up (VcHourly or ProjectorHourly)."""
    found: dict[int, dict[datetime, bool]] = defaultdict(dict)
    if not ids:
        return found
    # The hour as a number of seconds: a device-hour is a row, 200 offices' month is 290,000
    # rows, and a datetime made per row costs more than the query. One datetime per hour.
    hours = {int(h.timestamp()): h for h in _hour_range(start, end)}
    rows = db.session.execute(
        sa.select(
            model.asset_id, epoch_seconds(db.session, model.hour), model.readings == model.good
        ).where(model.asset_id.in_(ids), model.hour >= start, model.hour < end, model.readings > 0)
    )
    for asset_id, seconds, all_good in rows:
        found[asset_id][hours[int(seconds)]] = bool(all_good)
    return found


def _hour_range(start: datetime, end: datetime) -> list[datetime]:
    hours, hour = [], start
    while hour < end:
        hours.append(hour)
        hour += HOUR
    return hours


def _down_intervals(ids: list[int], start: datetime, end: datetime) -> dict[int, list]:
    """[(down from, up at or None)] per network device, from its down/up events (the state at
    `start` comes from its last event before it)."""
    intervals: dict[int, list] = defaultdict(list)
    if not ids:
        return intervals
    last_before = (
        sa.select(HealthEvent.asset_id, sa.func.max(HealthEvent.at).label("at"))
        .where(HealthEvent.asset_id.in_(ids), HealthEvent.at < start)
        .group_by(HealthEvent.asset_id)
        .subquery()
    )
    earlier = db.session.execute(
        sa.select(HealthEvent.asset_id, HealthEvent.at, HealthEvent.kind).join(
            last_before,
            sa.and_(
                last_before.c.asset_id == HealthEvent.asset_id, last_before.c.at == HealthEvent.at
            ),
        )
    ).all()
    within = db.session.execute(
        sa.select(HealthEvent.asset_id, HealthEvent.at, HealthEvent.kind)
        .where(HealthEvent.asset_id.in_(ids), HealthEvent.at >= start, HealthEvent.at < end)
        .order_by(HealthEvent.asset_id, HealthEvent.at, HealthEvent.id)
    ).all()
    events: dict[int, list] = defaultdict(list)
    for asset_id, at, kind in [*earlier, *within]:
        events[asset_id].append((at, kind))
    for asset_id, rows in events.items():
        down_from = None
        for at, kind in sorted(rows, key=lambda r: r[0]):
            if kind == "down" and down_from is None:
                down_from = at
            elif kind == "up" and down_from is not None:
                intervals[asset_id].append((down_from, at))
                down_from = None
        if down_from is not None:
            intervals[asset_id].append((down_from, None))
    return intervals


def _low_battery_hours(ids: list[int], start: datetime, rules: Rules) -> dict[int, set]:
    """{asset_id: the hours whose lowest charge was under VC_UPS_MIN_CHARGE_PCT}."""
    low: dict[int, set] = defaultdict(set)
    if not ids:
        return low
    rows = db.session.execute(
        sa.select(HealthHourly.asset_id, HealthHourly.hour).where(
            HealthHourly.asset_id.in_(ids),
            HealthHourly.hour >= start,
            HealthHourly.battery_min < rules.ups_min_charge_pct,
        )
    ).all()
    for asset_id, hour in rows:
        low[asset_id].add(as_hour(hour))
    return low


def _ticket_intervals(ids: list[int], start: datetime, end: datetime) -> dict[int, list]:
    """[(opened, ended or None)] of the critical tickets on each part in the window."""
    found: dict[int, list] = defaultdict(list)
    if not ids:
        return found
    for ticket in db.session.scalars(
        sa.select(Ticket).where(
            Ticket.asset_id.in_(ids),
            Ticket.priority == TicketPriority.CRITICAL.value,
            Ticket.opened_at < end,
        )
    ):
        ended = ticket.resolved_at or ticket.closed_at
        if ended is None or ended > start:
            found[ticket.asset_id].append((ticket.opened_at, ended))
    return found


def _hours_of(interval: tuple, start: datetime, end: datetime) -> Iterable[datetime]:
    """The hours in [start, end) that the interval (from, to or None) overlaps."""
    began, ended = interval
    hour = max(floor_hour(began), start)
    stop = end if ended is None else min(ended, end)
    while hour < stop:
        yield hour
        hour += HOUR


class _OfficeHours:
    """One office's parts and readings, reduced to what decides an hour."""

    def __init__(self, office: Office, data: dict, start: datetime, end: datetime) -> None:
        parts = office.parts
        deployed = AssetStatus.DEPLOYED.value
        # nothing to join with, or nothing to show the VC on: not ready in any hour
        self.always_bad = not parts[ENDPOINT] or not (parts[DISPLAY] or parts[PROJECTOR])
        self.bad_hours: set[datetime] = set()
        for asset in parts[NETWORK]:
            for interval in data["down"].get(asset.id, ()):
                self.bad_hours.update(_hours_of(interval, start, end))
        for asset in parts[UPS]:
            self.bad_hours.update(data["low"].get(asset.id, ()))
        for asset_id in office.part_ids:
            for interval in data["tickets"].get(asset_id, ()):
                self.bad_hours.update(_hours_of(interval, start, end))
        self.endpoints = [data["vc"].get(a.id, {}) for a in parts[ENDPOINT]]
        self.projectors = [data["pj"].get(a.id, {}) for a in parts[PROJECTOR]]
        self.unmonitored_display = any(a.status == deployed for a in parts[DISPLAY]) or any(
            a.status == deployed and not a.management_address for a in parts[PROJECTOR]
        )

    def state(self, hour: datetime) -> str:
        """READY, NOT_READY or UNKNOWN in this hour (see the module docstring): an endpoint
        that answered every check of the hour, and a display in service that nobody polls or
        a projector whose polls of the hour were all good."""
        if self.always_bad or hour in self.bad_hours:
            return NOT_READY
        checked = [r[hour] for r in self.endpoints if hour in r]
        endpoint_ok = any(checked)
        if checked and not endpoint_ok:
            return NOT_READY
        polled = [r[hour] for r in self.projectors if hour in r]
        display_ok = self.unmonitored_display or any(polled)
        if polled and not display_ok:
            return NOT_READY
        return READY if endpoint_ok and display_ok else UNKNOWN


def office_histories(offices: list[Office], rules: Rules, now: datetime) -> dict[int, History]:
    """Each office's readiness for every hour of the window, and per local day."""
    start, end = window_start(rules, now), floor_hour(now) + HOUR
    parts = lambda part: [a.id for o in offices for a in o.parts[part]]  # noqa: E731
    all_ids = [i for o in offices for i in o.part_ids]
    data = {
        "vc": _hours_all_good(VcHourly, parts(ENDPOINT), start, end),
        "pj": _hours_all_good(ProjectorHourly, parts(PROJECTOR), start, end),
        "down": _down_intervals(parts(NETWORK), start, end),
        "low": _low_battery_hours(parts(UPS), start, rules),
        "tickets": _ticket_intervals(all_ids, start, end),
    }
    zone = ZoneInfo(rules.timezone)
    hours = _hour_range(start, end)
    # an hour belongs to the local day of its middle (IST is UTC+5:30)
    day_of = [(h + HOUR / 2).astimezone(zone).date() for h in hours]
    first_day = now.astimezone(zone).date() - timedelta(days=rules.history_days - 1)
    result = {}
    for office in offices:
        days = {
            first_day + timedelta(days=n): DayReadiness(first_day + timedelta(days=n))
            for n in range(rules.history_days)
        }
        judge = _OfficeHours(office, data, start, end)
        states = []
        for hour, day in zip(hours, day_of, strict=True):
            state = judge.state(hour)
            states.append((hour, state))
            cell = days.get(day)
            if cell is None or state == UNKNOWN:
                continue
            cell.known_hours += 1
            cell.ready_hours += state == READY
        result[office.site.id] = History(start, states, list(days.values()))
    return result


def summary(rules: Rules, now: datetime) -> dict[str, int]:
    """How many offices are ready, not ready and unknown now (for the overview page)."""
    current = board(rules, now, history=False)
    return {state: current.count(state) for state in STATES} | {"total": current.total}
