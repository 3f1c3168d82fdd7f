"""Preventive maintenance: plan rules, which assets a plan covers, when each is due, and
opening the ticket once ahead of the due date.

The cycle, per asset in a plan's scope (PlanState):

1. The first due date is the plan's `first_due_date` when that is today or later, otherwise
   `interval_days` after the asset came into the plan. A counter plan's first threshold is
   the next multiple of `counter_interval` above the asset's reading.
2. `run_plan` (the hourly job, or "run now") opens one ticket when today reaches the due
   date minus `lead_days` (counter plans: when the reading reaches the threshold minus
   `counter_margin`), with reporter_kind "system" and cause "pm:<plan id>". Tickets'
   `open_key` makes a second open ticket for the same asset and plan impossible, even for
   two runs at the same moment; while the occurrence's ticket is pending nothing new opens.
3. When that ticket is closed, the next due date is the close date + `interval_days`
   (counter plans: the reading at close + `counter_interval`). The tickets side calls
   `plan_ticket_closed(ticket)` on closing; the job also notices a closed ticket by itself,
   so a missed call only delays the move until the next run. A cancelled ticket skips the
   occurrence the same way without counting as done. A reopened ticket is followed again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.catalog.models import AssetModel, Category
from inventory.choices import (
    AssetStatus,
    PmCounter,
    PmTrigger,
    TicketCategory,
    TicketPriority,
    TicketStatus,
)
from inventory.extensions import db
from inventory.health.models import AssetHealth, HealthSample
from inventory.health.reports import RowPage
from inventory.maintenance.models import MaintenancePlan, PlanState
from inventory.models_base import utcnow
from inventory.sites.models import Site
from inventory.sites.services import ancestors, subtree_condition
from inventory.tickets.models import Ticket
from inventory.vendors.models import Vendor
from inventory.vendors.services import local_date


class MaintenanceError(ValueError):
    """A plan that breaks a rule; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


PLAN_FIELDS = (
    "name",
    "category_id",
    "model_id",
    "asset_id",
    "site_id",
    "trigger",
    "interval_days",
    "first_due_date",
    "counter",
    "counter_interval",
    "counter_margin",
    "lead_days",
    "ticket_title",
    "ticket_description",
    "ticket_category",
    "priority",
    "vendor_id",
    "notes",
)
SCHEDULE_FIELDS = (
    "trigger",
    "interval_days",
    "first_due_date",
    "counter",
    "counter_interval",
    "category_id",
    "model_id",
    "asset_id",
    "site_id",
)
# Assets out in the field get maintenance; those in store or condemned do not.
PM_STATUSES = (
    AssetStatus.DEPLOYED.value,
    AssetStatus.UNDER_REPAIR.value,
    AssetStatus.NON_FUNCTIONAL.value,
)
PLACEHOLDERS = ("plan", "asset", "site", "category", "model", "due", "counter", "reading")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_]+)\}")
MAX_INTERVAL_DAYS = 3650
MAX_LEAD_DAYS = 365
MAX_COUNTER = 10**12
FINISHED = (TicketStatus.CLOSED.value, TicketStatus.CANCELLED.value)

DEFAULT_TITLE = "{plan}: {asset}"
DEFAULT_DESCRIPTION = "Preventive maintenance of {asset} ({model}) at {site}, due {due}."


# --- counters from the health side ------------------------------------------------------

_NOT_FIGURES = {"id", "asset_id", "consecutive_failures", "battery_status"}


def _figure_column(model, name: str):
    """The numeric column `name` of a health model, or None when it has no such figure."""
    if name in _NOT_FIGURES:
        return None
    column = model.__table__.columns.get(name)
    if column is None or column.foreign_keys:
        return None
    kind = column.type
    kind = getattr(kind, "impl", kind)  # TypeDecorators (Counter64) by what they store
    if isinstance(kind, sa.Integer | sa.Float | sa.Numeric):
        return column
    return None


def counter_is_readable(counter: str) -> bool:
    """Whether the health side stores a figure of this name today."""
    return any(_figure_column(model, counter) is not None for model in (AssetHealth, HealthSample))


def latest_counter(asset_id: int, counter: str) -> float | None:
    """The asset's latest reading of a counter (lamp_hours, page_count, ...), or None.

    The health side keeps each device's latest figures on its AssetHealth row and the raw
    history in HealthSample. A counter is read from the AssetHealth column of that name
    when there is one and it holds a value, otherwise from the newest HealthSample that has
    it. Lamp hours come from the projector's latest PJLink poll (devices.ProjectorState:
    the most of any lamp) when there is one. A name nothing records reads as None.
    """
    if counter == PmCounter.LAMP_HOURS.value:
        from inventory.devices.services import latest_lamp_hours

        hours = latest_lamp_hours(asset_id)
        if hours is not None:
            return float(hours)
    column = _figure_column(AssetHealth, counter)
    if column is not None:
        value = db.session.scalar(sa.select(column).where(AssetHealth.asset_id == asset_id))
        if value is not None:
            return float(value)
    column = _figure_column(HealthSample, counter)
    if column is not None:
        value = db.session.scalar(
            sa.select(column)
            .where(HealthSample.asset_id == asset_id, column.is_not(None))
            .order_by(HealthSample.at.desc(), HealthSample.id.desc())
            .limit(1)
        )
        if value is not None:
            return float(value)
    return None


def counter_label(counter: str) -> str:
    return str(PmCounter.label_of(counter)) if counter else ""


# --- the plan's rules -------------------------------------------------------------------


def _int_or_none(value: Any, field: str, message: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise MaintenanceError(message, field) from exc


def _apply(plan: MaintenancePlan, fields: dict) -> None:
    for key in PLAN_FIELDS:
        if key not in fields:
            continue
        value = fields[key]
        if key in ("category_id", "model_id", "asset_id", "site_id", "vendor_id"):
            value = _int_or_none(value, key, _("Choose from the list.")) or None
        elif key in ("interval_days", "counter_interval", "counter_margin", "lead_days"):
            value = _int_or_none(value, key, _("Enter a whole number."))
        elif key in ("name", "counter", "ticket_title", "ticket_description", "notes"):
            value = (
                (value or "").strip()
                if isinstance(value, str)
                else ("" if value is None else value)
            )
        setattr(plan, key, value)
    if plan.counter_margin is None:
        plan.counter_margin = 0
    if plan.lead_days is None:
        plan.lead_days = 0


def _check_template(text: str, field: str) -> None:
    unknown = sorted({name for name in PLACEHOLDER_RE.findall(text) if name not in PLACEHOLDERS})
    if unknown:
        raise MaintenanceError(
            _(
                "Unknown placeholder %(names)s. You can use %(known)s.",
                names=", ".join("{" + n + "}" for n in unknown),
                known=", ".join("{" + n + "}" for n in PLACEHOLDERS),
            ),
            field,
        )


def _check(plan: MaintenancePlan, vendor_before: int | None) -> None:
    if not plan.name:
        raise MaintenanceError(_("A plan needs a name."), "name")
    if len(plan.name) > 120:
        raise MaintenanceError(_("The name is too long (at most 120 characters)."), "name")
    targets = [t for t in (plan.category_id, plan.model_id, plan.asset_id) if t]
    if len(targets) != 1:
        raise MaintenanceError(
            _("Choose exactly one of a category, a model or an asset for the plan."), "target"
        )
    if plan.category_id and db.session.get(Category, plan.category_id) is None:
        raise MaintenanceError(_("That category does not exist."), "category_id")
    if plan.model_id and db.session.get(AssetModel, plan.model_id) is None:
        raise MaintenanceError(_("That model does not exist."), "model_id")
    if plan.asset_id and db.session.get(Asset, plan.asset_id) is None:
        raise MaintenanceError(_("That asset does not exist."), "asset_id")
    if plan.site_id:
        if plan.asset_id:
            raise MaintenanceError(
                _("A plan for one asset cannot also be limited to a site."), "site_id"
            )
        if db.session.get(Site, plan.site_id) is None:
            raise MaintenanceError(_("That site does not exist."), "site_id")
    if plan.trigger == PmTrigger.INTERVAL.value:
        if plan.interval_days is None or not (1 <= plan.interval_days <= MAX_INTERVAL_DAYS):
            raise MaintenanceError(
                _("Repeat every 1 to %(max)d days.", max=MAX_INTERVAL_DAYS), "interval_days"
            )
        if not (0 <= plan.lead_days <= MAX_LEAD_DAYS):
            raise MaintenanceError(
                _("Open the ticket 0 to %(max)d days ahead.", max=MAX_LEAD_DAYS), "lead_days"
            )
        if plan.lead_days >= plan.interval_days:
            raise MaintenanceError(
                _("The ticket must open fewer days ahead than the plan repeats."), "lead_days"
            )
        plan.counter, plan.counter_interval, plan.counter_margin = "", None, 0
    elif plan.trigger == PmTrigger.COUNTER.value:
        if not plan.counter or not (
            plan.counter in PmCounter.values() or counter_is_readable(plan.counter)
        ):
            raise MaintenanceError(_("Choose the counter the plan follows."), "counter")
        if plan.counter_interval is None or not (0 < plan.counter_interval <= MAX_COUNTER):
            raise MaintenanceError(
                _("Enter how many units of the counter between services (more than zero)."),
                "counter_interval",
            )
        if not (0 <= plan.counter_margin < plan.counter_interval):
            raise MaintenanceError(
                _("The margin must be zero or more and less than the interval."),
                "counter_margin",
            )
        plan.interval_days, plan.first_due_date, plan.lead_days = None, None, 0
    else:
        raise MaintenanceError(_("Choose when the plan is due."), "trigger")
    if plan.priority not in TicketPriority.values():
        raise MaintenanceError(_("Choose a priority."), "priority")
    if plan.ticket_category not in TicketCategory.values():
        raise MaintenanceError(_("Choose a ticket category."), "ticket_category")
    if not plan.ticket_title:
        raise MaintenanceError(_("The ticket needs a title."), "ticket_title")
    if len(plan.ticket_title) > 200:
        raise MaintenanceError(_("The title is too long (at most 200 characters)."), "ticket_title")
    _check_template(plan.ticket_title, "ticket_title")
    _check_template(plan.ticket_description, "ticket_description")
    if plan.vendor_id:
        vendor = db.session.get(Vendor, plan.vendor_id)
        if vendor is None:
            raise MaintenanceError(_("That vendor does not exist."), "vendor_id")
        if not vendor.active and plan.vendor_id != vendor_before:
            raise MaintenanceError(
                _("%(name)s is inactive and cannot be given new work.", name=vendor.name),
                "vendor_id",
            )


def create_plan(**fields) -> MaintenancePlan:
    plan = MaintenancePlan(
        active=True,
        trigger=PmTrigger.INTERVAL.value,
        lead_days=7,
        counter="",
        counter_margin=0,
        ticket_title=DEFAULT_TITLE,
        ticket_description="",
        ticket_category=TicketCategory.OTHER.value,
        priority=TicketPriority.NORMAL.value,
        notes="",
    )
    with db.session.no_autoflush:
        _apply(plan, fields)
        _check(plan, None)
    db.session.add(plan)
    db.session.flush()
    return plan


def update_plan(plan: MaintenancePlan, today: date | None = None, **fields) -> MaintenancePlan:
    """Change a plan. When its schedule or scope changes, the assets with no pending ticket
    get their next due worked out again (from when the work was last done, else as new)."""
    before = {key: getattr(plan, key) for key in SCHEDULE_FIELDS}
    vendor_before = plan.vendor_id
    with db.session.no_autoflush:
        _apply(plan, fields)
        _check(plan, vendor_before)
    db.session.flush()
    if any(getattr(plan, key) != value for key, value in before.items()):
        reschedule(plan, today or local_date(utcnow()))
    return plan


def set_plan_active(plan: MaintenancePlan, active: bool) -> MaintenancePlan:
    plan.active = bool(active)
    db.session.flush()
    return plan


def delete_plan(plan: MaintenancePlan) -> None:
    """Delete the plan and its bookkeeping; tickets it opened stay as they are."""
    db.session.delete(plan)
    db.session.flush()


# --- scope ------------------------------------------------------------------------------


def scope_condition(plan: MaintenancePlan):
    """WHERE over Asset: the assets the plan applies to."""
    conditions = [Asset.status.in_(PM_STATUSES)]
    if plan.asset_id:
        conditions.append(Asset.id == plan.asset_id)
    elif plan.model_id:
        conditions.append(Asset.model_id == plan.model_id)
    else:
        conditions.append(Asset.category_id == plan.category_id)
    if plan.site_id and not plan.asset_id:
        conditions.append(subtree_condition(Asset.site_id, plan.site_id))
    return sa.and_(*conditions)


def scope_count(plan: MaintenancePlan) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Asset).where(scope_condition(plan))
    )


def plans_for_asset(asset: Asset) -> list[tuple[MaintenancePlan, PlanState | None]]:
    """The plans whose scope takes in the asset (active ones first), with its state."""
    sites = [s.id for s in ancestors(asset.site)] + [asset.site_id]
    target = sa.or_(
        MaintenancePlan.asset_id == asset.id,
        sa.and_(
            MaintenancePlan.asset_id.is_(None),
            sa.or_(
                MaintenancePlan.category_id == asset.category_id,
                sa.and_(
                    MaintenancePlan.model_id.is_not(None),
                    MaintenancePlan.model_id == asset.model_id,
                ),
            ),
            sa.or_(MaintenancePlan.site_id.is_(None), MaintenancePlan.site_id.in_(sites)),
        ),
    )
    rows = db.session.execute(
        sa.select(MaintenancePlan, PlanState)
        .outerjoin(
            PlanState,
            sa.and_(PlanState.plan_id == MaintenancePlan.id, PlanState.asset_id == asset.id),
        )
        .where(target)
        .order_by(MaintenancePlan.active.desc(), MaintenancePlan.name)
    ).all()
    return [(row[0], row[1]) for row in rows]


def plan_assets_page(plan: MaintenancePlan, page: int, per_page: int):
    """The assets in scope with their state (soonest due first), one page."""
    query = (
        sa.select(Asset, PlanState)
        .outerjoin(PlanState, sa.and_(PlanState.asset_id == Asset.id, PlanState.plan_id == plan.id))
        .where(scope_condition(plan))
    )
    if plan.is_counter:
        query = query.order_by(Asset.tag)
    else:
        query = query.order_by(
            PlanState.next_due_date.is_(None), PlanState.next_due_date, Asset.tag
        )
    return RowPage(
        page=max(page, 1),
        per_page=max(per_page, 1),
        max_per_page=None,
        error_out=False,
        select=query,
    )


# --- due dates --------------------------------------------------------------------------


def _first_due_date(plan: MaintenancePlan, today: date) -> date:
    if plan.first_due_date and plan.first_due_date >= today:
        return plan.first_due_date
    return today + timedelta(days=plan.interval_days)


def _next_threshold(plan: MaintenancePlan, reading: float) -> float:
    return float((math.floor(reading / plan.counter_interval) + 1) * plan.counter_interval)


def _new_state(plan: MaintenancePlan, asset_id: int, today: date, now: datetime) -> PlanState:
    state = PlanState(plan_id=plan.id, asset_id=asset_id, created_at=now)
    _schedule_fresh(plan, state, today, now)
    return state


def _schedule_fresh(plan: MaintenancePlan, state: PlanState, today: date, now: datetime) -> None:
    if plan.is_counter:
        state.next_due_date = None
        reading = latest_counter(state.asset_id, plan.counter)
        state.next_due_counter = _next_threshold(plan, reading) if reading is not None else None
        if reading is not None:
            state.last_reading, state.last_reading_at = reading, now
    else:
        state.next_due_counter = None
        if state.last_done_at is not None:
            state.next_due_date = local_date(state.last_done_at) + timedelta(
                days=plan.interval_days
            )
        else:
            state.next_due_date = _first_due_date(plan, today)


def reschedule(plan: MaintenancePlan, today: date) -> int:
    """Work out the next due again for every asset with no pending ticket."""
    now = utcnow()
    states = db.session.scalars(
        sa.select(PlanState).where(PlanState.plan_id == plan.id, PlanState.ticket_id.is_(None))
    ).all()
    for state in states:
        _schedule_fresh(plan, state, today, now)
    db.session.flush()
    return len(states)


def _advance(plan: MaintenancePlan, state: PlanState, ticket: Ticket) -> None:
    """Move the next due on from a closed (or cancelled) ticket."""
    closed_at = ticket.closed_at or ticket.updated_at or utcnow()
    if ticket.status == TicketStatus.CLOSED.value:
        state.last_done_at = closed_at
    if plan.is_counter:
        reading = latest_counter(state.asset_id, plan.counter)
        if reading is not None:
            state.last_reading, state.last_reading_at = reading, utcnow()
            state.next_due_counter = float(reading + plan.counter_interval)
        else:
            state.next_due_counter = float((state.next_due_counter or 0) + plan.counter_interval)
    else:
        state.next_due_date = local_date(closed_at) + timedelta(days=plan.interval_days)
    state.ticket_id = None
    state.last_ticket_id = ticket.id
    state.last_closed_at = closed_at


def plan_ticket_closed(ticket: Ticket) -> bool:
    """Call when a ticket is closed or cancelled: if a maintenance plan opened it, the
    plan's next due for that asset moves on (from the close date). Safe to call for any
    ticket and more than once. Flushes; the caller commits. True if a due date moved."""
    if not (ticket.cause or "").startswith("pm:") or ticket.asset_id is None:
        return False
    if ticket.status not in FINISHED:
        return False
    try:
        plan_id = int(ticket.cause[3:])
    except ValueError:
        return False
    state = db.session.scalar(
        sa.select(PlanState).where(
            PlanState.plan_id == plan_id, PlanState.asset_id == ticket.asset_id
        )
    )
    if state is None or not _follow(state.plan, state, ticket):
        return False
    db.session.flush()
    return True


def _follow(plan: MaintenancePlan, state: PlanState, ticket: Ticket | None) -> bool:
    """Bring the state up to date with its ticket; True when the next due moved."""
    if ticket is None:
        state.ticket_id = None
        return False
    if ticket.id not in (state.ticket_id, state.last_ticket_id):
        return False
    if ticket.status not in FINISHED:
        if state.ticket_id is None and ticket.id == state.last_ticket_id:
            state.ticket_id = ticket.id  # reopened: pending again, its closing counts
        return False
    closed_at = ticket.closed_at or ticket.updated_at
    if state.ticket_id is None and state.last_closed_at == closed_at:
        return False  # already moved on from this closing
    _advance(plan, state, ticket)
    return True


# --- running a plan ---------------------------------------------------------------------


@dataclass
class PlanRun:
    plan_id: int
    opened: list[int] = field(default_factory=list)  # ticket ids
    adopted: int = 0  # tickets already open for the same asset and plan
    advanced: int = 0
    started: int = 0  # assets newly in the plan
    refused: list[str] = field(default_factory=list)  # tickets the ticket service refused


def _values(plan: MaintenancePlan, asset: Asset, state: PlanState, reading) -> dict[str, str]:
    if plan.is_counter:
        due = f"{state.next_due_counter:g} {counter_label(plan.counter)}"
    else:
        due = state.next_due_date.strftime("%d-%m-%Y") if state.next_due_date else ""
    return {
        "plan": plan.name,
        "asset": asset.tag,
        "site": f"{asset.site.name_en} ({asset.site.code})",
        "category": asset.category.name_en if asset.category else "",
        "model": str(asset.model) if asset.model else "",
        "due": due,
        "counter": counter_label(plan.counter),
        "reading": f"{reading:g}" if reading is not None else "",
    }


def render_text(template: str, values: dict[str, str]) -> str:
    """Fill {placeholders} by plain substitution (no format machinery on user text)."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template or "")


def _open(
    plan: MaintenancePlan, asset: Asset, state: PlanState, reading, now: datetime, result: PlanRun
) -> None:
    """Open the occurrence's ticket (or follow the one already open for the asset and plan).

    tickets.services.raise_for_cause settles races (two runs at once, on SQLite and
    PostgreSQL) through the unique open_key and tells the managers of the new ticket.
    """
    from inventory.tickets import services as tickets

    existing = tickets.open_ticket_for_cause(asset.id, plan.cause)
    if existing is None:
        values = _values(plan, asset, state, reading)
        try:
            with db.session.begin_nested():
                ticket = tickets.raise_for_cause(
                    asset,
                    cause=plan.cause,
                    title=render_text(plan.ticket_title, values)[:200],
                    description=render_text(plan.ticket_description, values),
                    category=plan.ticket_category,
                    priority=plan.priority,
                    now=now,
                )
                vendor = plan.vendor
                new = ticket is not None and ticket.vendor_id is None and not ticket.assignee_id
                if new and vendor is not None and vendor.active:
                    tickets.assign(ticket, vendor=vendor, now=now)
        except ValueError as exc:  # the ticket service refused (TicketError): report, go on
            result.refused.append(f"{asset.tag}: {exc}")
            return
        if ticket is None:
            return
        if ticket.opened_at == now:
            result.opened.append(ticket.id)
        else:
            result.adopted += 1
    else:
        ticket = existing
        result.adopted += 1
    state.ticket_id = state.last_ticket_id = ticket.id


def _is_due(plan: MaintenancePlan, state: PlanState, today: date, reading) -> bool:
    if plan.is_counter:
        if reading is None or state.next_due_counter is None:
            return False
        return reading >= state.next_due_counter - (plan.counter_margin or 0)
    if state.next_due_date is None:
        return False
    return today >= state.next_due_date - timedelta(days=plan.lead_days or 0)


def run_plan(plan: MaintenancePlan, now: datetime | None = None) -> PlanRun:
    """Bring one plan up to date: new assets get a due date, closed tickets move due dates
    on, and each asset that is due gets its one ticket. Flushes; the caller commits.
    Running it again at once changes nothing."""
    now = now or utcnow()
    today = local_date(now)
    result = PlanRun(plan_id=plan.id)
    if db.session.get_bind().dialect.name == "sqlite":
        # Take SQLite's one write lock before reading, so that a second run at the same
        # moment waits for this one and then reads what it wrote (instead of failing on a
        # stale read). PostgreSQL needs nothing: the unique keys below settle a race there.
        db.session.execute(sa.text("DELETE FROM maintenance_plan_states WHERE 1 = 0"))
    states = {
        s.asset_id: s
        for s in db.session.scalars(sa.select(PlanState).where(PlanState.plan_id == plan.id))
    }
    # Follow the tickets of every state (in scope or not) first.
    followed = sa.func.coalesce(PlanState.ticket_id, PlanState.last_ticket_id)
    tickets = {
        t.id: t
        for t in db.session.scalars(
            sa.select(Ticket)
            .join(PlanState, Ticket.id == followed)
            .where(PlanState.plan_id == plan.id)
        )
    }
    for state in states.values():
        ticket_id = state.ticket_id or state.last_ticket_id
        if ticket_id is not None and _follow(plan, state, tickets.get(ticket_id)):
            result.advanced += 1
    if not plan.active:
        db.session.flush()
        return result
    in_scope = list(db.session.scalars(sa.select(Asset.id).where(scope_condition(plan))))
    for asset_id in in_scope:
        if asset_id not in states:
            try:
                with db.session.begin_nested():
                    state = _new_state(plan, asset_id, today, now)
                    db.session.add(state)
                    db.session.flush()
            except sa.exc.IntegrityError:  # another run made it at the same moment
                state = db.session.scalar(
                    sa.select(PlanState).where(
                        PlanState.plan_id == plan.id, PlanState.asset_id == asset_id
                    )
                )
                if state is None:
                    continue
            else:
                result.started += 1
            states[asset_id] = state
    for asset_id in in_scope:
        state = states[asset_id]
        if state.ticket_id is not None:
            continue
        reading = None
        if plan.is_counter:
            reading = latest_counter(asset_id, plan.counter)
            if reading is not None and reading != state.last_reading:
                state.last_reading, state.last_reading_at = reading, now
            if reading is not None and state.next_due_counter is None:
                state.next_due_counter = _next_threshold(plan, reading)
        if not _is_due(plan, state, today, reading):
            continue
        _open(plan, db.session.get(Asset, asset_id), state, reading, now, result)
    db.session.flush()
    return result


def active_plan_ids() -> list[int]:
    return list(
        db.session.scalars(
            sa.select(MaintenancePlan.id)
            .where(MaintenancePlan.active.is_(True))
            .order_by(MaintenancePlan.id)
        )
    )


def plan_ids_with_pending() -> list[int]:
    """Inactive plans that still wait on tickets (their closing must still move due dates)."""
    return list(
        db.session.scalars(
            sa.select(PlanState.plan_id)
            .join(MaintenancePlan)
            .where(PlanState.ticket_id.is_not(None), MaintenancePlan.active.is_(False))
            .distinct()
        )
    )


# --- lists ------------------------------------------------------------------------------


@dataclass
class PlanFilter:
    q: str = ""
    trigger: str = ""
    active: str = "yes"  # "yes", "no", "" (all)


def plan_query(flt: PlanFilter):
    query = sa.select(MaintenancePlan)
    if flt.q:
        from inventory.vendors.services import like_pattern

        query = query.where(
            sa.func.lower(MaintenancePlan.name).like(like_pattern(flt.q.lower()), escape="\\")
        )
    if flt.trigger in PmTrigger.values():
        query = query.where(MaintenancePlan.trigger == flt.trigger)
    if flt.active == "yes":
        query = query.where(MaintenancePlan.active.is_(True))
    elif flt.active == "no":
        query = query.where(MaintenancePlan.active.is_(False))
    return query.order_by(MaintenancePlan.name, MaintenancePlan.id)


@dataclass
class PlanSummary:
    in_scope: int = 0
    pending: int = 0  # tickets open for the plan
    due_soon: int = 0  # interval plans: due within 30 days; counter plans: none


def plan_summaries(plans: list[MaintenancePlan], today: date) -> dict[int, PlanSummary]:
    summaries: dict[int, PlanSummary] = {}
    if not plans:
        return summaries
    ids = [p.id for p in plans]
    pending = dict(
        db.session.execute(
            sa.select(PlanState.plan_id, sa.func.count())
            .where(PlanState.plan_id.in_(ids), PlanState.ticket_id.is_not(None))
            .group_by(PlanState.plan_id)
        ).all()
    )
    soon = dict(
        db.session.execute(
            sa.select(PlanState.plan_id, sa.func.count())
            .where(
                PlanState.plan_id.in_(ids),
                PlanState.ticket_id.is_(None),
                PlanState.next_due_date <= today + timedelta(days=30),
            )
            .group_by(PlanState.plan_id)
        ).all()
    )
    for plan in plans:
        summaries[plan.id] = PlanSummary(
            in_scope=scope_count(plan),
            pending=pending.get(plan.id, 0),
            due_soon=soon.get(plan.id, 0),
        )
    return summaries


def target_label(plan: MaintenancePlan, locale: str = "en") -> str:
    if plan.asset is not None:
        return plan.asset.tag
    if plan.model is not None:
        return str(plan.model)
    if plan.category is not None:
        return plan.category.name(locale)
    return ""
