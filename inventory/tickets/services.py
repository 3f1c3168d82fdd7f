"""Tickets: opening (by people, QR scans and the system), the workflow, comments, attachments,
the SLA, who may do what, and the list query. Views, the phone pages, the health job and
preventive maintenance call these; they flush, never commit.

The workflow is one table, TRANSITIONS (from status -> the statuses it may move to):

    open --assign--> assigned --start--> in_progress <--> waiting
    assigned / in_progress / waiting --resolve--> resolved --close--> closed
    resolved / closed --reopen--> assigned (when someone is assigned) or open
    open / assigned / in_progress / waiting --cancel--> cancelled (final)

`assign()` moves open <-> assigned; `move()` does the rest; anything else raises TicketError
with a message saying why. The due date is fixed when the ticket opens (opened_at + the SLA
days of its priority); changing the priority keeps it unless `recompute_due=True` is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from inventory.assets.models import Asset
from inventory.audit.models import ChangeLog
from inventory.auth.models import User
from inventory.choices import (
    AssetStatus,
    ReporterKind,
    Role,
    TicketCategory,
    TicketPriority,
    TicketStatus,
)
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.sites.models import Site
from inventory.sites.services import descendant_ids, subtree_condition
from inventory.tickets.models import Ticket, TicketAttachment, TicketComment, TicketSla
from inventory.vendors.models import Vendor

OPEN_STATUSES = [s.value for s in TicketStatus if s.is_open]

OPEN = TicketStatus.OPEN.value
ASSIGNED = TicketStatus.ASSIGNED.value
IN_PROGRESS = TicketStatus.IN_PROGRESS.value
WAITING = TicketStatus.WAITING.value
RESOLVED = TicketStatus.RESOLVED.value
CLOSED = TicketStatus.CLOSED.value
CANCELLED = TicketStatus.CANCELLED.value

# The workflow: from each status, the statuses a ticket may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({ASSIGNED, CANCELLED}),
    ASSIGNED: frozenset({OPEN, IN_PROGRESS, RESOLVED, CANCELLED}),
    IN_PROGRESS: frozenset({WAITING, RESOLVED, CANCELLED}),
    WAITING: frozenset({IN_PROGRESS, RESOLVED, CANCELLED}),
    RESOLVED: frozenset({CLOSED, OPEN, ASSIGNED}),
    CLOSED: frozenset({OPEN, ASSIGNED}),
    CANCELLED: frozenset(),
}

HEALTH_DOWN = "health:down"  # the cause of tickets the health job opens
TITLE_MAX = 200
DESCRIPTION_MAX = 10000
COMMENT_MAX = 5000
VENDOR_ENGINEER_MAX = 120


class TicketError(ValueError):
    """A ticket change that breaks a rule; the message is shown to the user as is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class TicketPermissionError(TicketError):
    """The user may not do this to this ticket (the views answer 403 with the message)."""


# -- the SLA ---------------------------------------------------------------------------------


def _configured_days(priority: str) -> int:
    table = current_app.config.get("TICKET_SLA_DAYS") or {}
    return int(table.get(priority, current_app.config.get("TICKET_SLA_DEFAULT_DAYS", 7)))


def sla_table() -> dict[str, int]:
    """Days allowed per priority: what an administrator set, else the configuration."""
    stored = dict(db.session.execute(sa.select(TicketSla.priority, TicketSla.days)).all())
    return {p: int(stored.get(p, _configured_days(p))) for p in TicketPriority.values()}


def sla_days(priority: str) -> int:
    """Days allowed for a ticket of this priority (the SLA table, else TICKET_SLA_DAYS,
    else TICKET_SLA_DEFAULT_DAYS, default 7)."""
    stored = db.session.scalar(sa.select(TicketSla.days).where(TicketSla.priority == priority))
    return int(stored) if stored is not None else _configured_days(priority)


def due_for(priority: str, opened_at: datetime) -> datetime:
    return opened_at + timedelta(days=sla_days(priority))


SLA_MAX_DAYS = 365


def set_sla(days_by_priority: dict[str, int]) -> int:
    """Store the days per priority (administrators). Returns how many values changed.
    Tickets already open keep their due dates."""
    changed = 0
    for priority, days in days_by_priority.items():
        if priority not in TicketPriority.values():
            raise TicketError(_("Unknown priority."))
        if days is None or not 1 <= int(days) <= SLA_MAX_DAYS:
            raise TicketError(
                _("Give between 1 and %(max)d days for each priority.", max=SLA_MAX_DAYS),
                priority,
            )
        row = db.session.scalar(sa.select(TicketSla).where(TicketSla.priority == priority))
        if row is None:
            if int(days) != _configured_days(priority):
                db.session.add(TicketSla(priority=priority, days=int(days)))
                changed += 1
        elif row.days != int(days):
            row.days = int(days)
            changed += 1
    db.session.flush()
    return changed


# -- who may do what ------------------------------------------------------------------------

# Work on a ticket: its assigned engineer, or any manager.
WORK_ACTIONS = frozenset({"edit", "comment", "attach", "start", "wait", "resume", "resolve"})
# Decisions about a ticket: managers and administrators.
MANAGER_ACTIONS = frozenset({"assign", "close", "cancel", "reopen", "recompute_due"})


def permitted(user: User | None, action: str, ticket: Ticket | None = None) -> bool:
    """May `user` do `action` (to `ticket`)? The one place the ticket rules of roles live.

    view: everybody signed in; create: engineers and up; work (edit, comment, attach, start,
    wait, resume, resolve): the engineer the ticket is assigned to, and managers; assign,
    close, cancel, reopen, recompute the due date: managers; the SLA: administrators.
    """
    if user is None or not getattr(user, "is_active", False):
        return False
    if action == "view":
        return True
    if action == "create":
        return user.has_role(Role.ENGINEER)
    if action == "configure_sla":
        return user.has_role(Role.ADMIN)
    if action in MANAGER_ACTIONS:
        return user.has_role(Role.MANAGER)
    if action in WORK_ACTIONS:
        if user.has_role(Role.MANAGER):
            return True
        return (
            user.has_role(Role.ENGINEER)
            and ticket is not None
            and ticket.assignee_id is not None
            and ticket.assignee_id == user.id
        )
    raise ValueError(f"unknown ticket action {action!r}")


def require(user: User | None, action: str, ticket: Ticket | None = None) -> None:
    """Raise TicketPermissionError unless permitted(user, action, ticket)."""
    if permitted(user, action, ticket):
        return
    if action in WORK_ACTIONS and user is not None and user.has_role(Role.ENGINEER):
        raise TicketPermissionError(
            _("Only the engineer this ticket is assigned to, or a manager, can do that.")
        )
    if action in MANAGER_ACTIONS:
        raise TicketPermissionError(_("Only a manager can do that."))
    raise TicketPermissionError(_("You do not have permission to do that."))


# -- opening ---------------------------------------------------------------------------------


def open_key_for(asset_id: int, cause: str) -> str:
    return f"{asset_id}:{cause}"


def _text(value: str | None, limit: int, field: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise TicketError(_("This field is required."), field)
    if len(value) > limit:
        raise TicketError(_("At most %(n)d characters.", n=limit), field)
    return value


def _check_choice(value: str, choice, field: str) -> str:
    if value not in choice.values():
        raise TicketError(_("Not a valid choice."), field)
    return value


def _check_place(site: Site | None, asset: Asset | None) -> None:
    if site is None:
        raise TicketError(_("Choose a site."), "site_id")
    if (
        asset is not None
        and asset.site_id != site.id
        and asset.site_id not in descendant_ids(site.id)
    ):
        raise TicketError(
            _(
                "The asset %(tag)s is at another site; choose its site or one above it.",
                tag=asset.tag,
            ),
            "asset_id",
        )


def open_ticket(
    *,
    site,
    title: str,
    asset=None,
    description: str = "",
    category: str = TicketCategory.HARDWARE.value,
    priority: str = TicketPriority.NORMAL.value,
    reporter=None,
    reporter_kind: str = ReporterKind.USER.value,
    cause: str = "",
    now: datetime | None = None,
) -> Ticket:
    """A new open ticket, added and flushed (the caller commits).

    site is required (the asset's site when only an asset is given); the asset must be at the
    site or at a site below it. With an asset and a cause, the ticket takes the open_key that
    keeps a second one for the same asset and cause from opening (IntegrityError on flush;
    use raise_for_cause for that case). Raises TicketError on bad input.
    """
    if asset is not None and site is None:
        site = asset.site
    _check_place(site, asset)
    title = _text(title, TITLE_MAX, "title", required=True)
    description = _text(description, DESCRIPTION_MAX, "description")
    _check_choice(category, TicketCategory, "category")
    _check_choice(priority, TicketPriority, "priority")
    _check_choice(reporter_kind, ReporterKind, "reporter_kind")
    now = now or utcnow()
    ticket = Ticket(
        site=site,
        asset=asset,
        title=title,
        description=description,
        category=category,
        priority=priority,
        status=OPEN,
        reporter=reporter,
        reporter_kind=reporter_kind,
        opened_at=now,
        due_at=due_for(priority, now),
        cause=cause,
        open_key=open_key_for(asset.id, cause) if (asset is not None and cause) else None,
    )
    db.session.add(ticket)
    db.session.flush()
    return ticket


def open_tickets_for_asset(asset_id: int) -> list[Ticket]:
    """The asset's tickets that still need work, newest first."""
    query = (
        sa.select(Ticket)
        .where(Ticket.asset_id == asset_id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
    )
    return list(db.session.scalars(query))


def open_tickets_for_site(site_id: int, limit: int = 20) -> tuple[list[Ticket], int]:
    """Open tickets at the site and the sites below it, soonest due first, and their count."""
    condition = sa.and_(
        subtree_condition(Ticket.site_id, site_id), Ticket.status.in_(OPEN_STATUSES)
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(condition))
    rows = db.session.scalars(
        sa.select(Ticket).where(condition).order_by(Ticket.due_at, Ticket.id).limit(limit)
    )
    return list(rows), total or 0


def open_ticket_for_cause(asset_id: int, cause: str) -> Ticket | None:
    """The ticket open for this asset and cause, if any."""
    return db.session.scalar(
        sa.select(Ticket).where(Ticket.open_key == open_key_for(asset_id, cause))
    )


def _take_write_lock() -> None:
    """On SQLite, begin the write transaction now, before anything is read.

    SQLite has one writer at a time. A transaction that has read and then tries to write
    while another writer commits fails at once ("database is locked": its snapshot is
    stale) instead of waiting; one that asks for the write lock first simply waits its
    turn (busy timeout) and then reads what the other committed. PostgreSQL needs nothing:
    the unique open_key and the SAVEPOINT below settle a race there.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.text("DELETE FROM tickets WHERE 1 = 0"))


def _managers() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.is_active.is_(True), User.role.in_([Role.MANAGER.value, Role.ADMIN.value]))
            .order_by(User.id)
        )
    )


def raise_for_cause(
    asset: Asset,
    *,
    cause: str,
    title: str,
    description: str = "",
    category: str = TicketCategory.HARDWARE.value,
    priority: str = TicketPriority.NORMAL.value,
    now: datetime | None = None,
) -> Ticket | None:
    """Open a system ticket for (asset, cause) unless one is open; return the open one.

    Safe when two callers (two sweeps, two schedulers) run it at the same moment on separate
    connections: the insert runs in a SAVEPOINT and the unique open_key lets only one ticket
    in; the loser gets the winner's ticket. Managers are notified of a new ticket
    ("ticket_auto_opened"). Returns None only if the winner's ticket cannot be seen (it was
    closed again in between). Flushes, never commits.
    """
    if not cause:
        raise ValueError("raise_for_cause needs a cause")
    existing = open_ticket_for_cause(asset.id, cause)
    if existing is not None:
        return existing
    site = asset.site
    _take_write_lock()
    existing = open_ticket_for_cause(asset.id, cause)
    if existing is not None:
        return existing
    try:
        with db.session.begin_nested():
            ticket = open_ticket(
                site=site,
                asset=asset,
                title=title[:TITLE_MAX],
                description=description[:DESCRIPTION_MAX],
                category=category,
                priority=priority,
                reporter_kind=ReporterKind.SYSTEM.value,
                cause=cause,
                now=now,
            )
    except sa.exc.IntegrityError:
        return open_ticket_for_cause(asset.id, cause)
    _notify(
        _managers(),
        ticket,
        kind="ticket_auto_opened",
        subject=_l("%(number)s opened by the system: %(title)s", number=ticket.number, title=title),
        body=_l(
            "%(number)s was opened automatically for %(tag)s at %(site)s: %(title)s",
            number=ticket.number,
            tag=asset.tag,
            site=site.name_en,
            title=title,
        ),
    )
    return ticket


def note_recovery(
    asset: Asset, *, cause: str, message: str, since: datetime | None = None
) -> TicketComment | None:
    """Add a system comment to the ticket open for (asset, cause); the ticket stays open.

    `since` (when the device came back) names the recovery: a second call for the same
    recovery, by this job or a concurrent one, adds nothing. Returns the comment, or None
    when no ticket is open for the cause or the recovery was already noted.
    """
    ticket = open_ticket_for_cause(asset.id, cause)
    if ticket is None:
        return None
    key = f"recovered:{cause}:{(since or utcnow()).isoformat()}"[:120]

    def noted() -> bool:
        return (
            db.session.scalar(
                sa.select(TicketComment.id).where(
                    TicketComment.ticket_id == ticket.id, TicketComment.event_key == key
                )
            )
            is not None
        )

    if noted():
        return None
    _take_write_lock()
    if noted():
        return None
    try:
        with db.session.begin_nested():
            comment = add_comment(ticket, author=None, body=message, is_system=True, event_key=key)
    except sa.exc.IntegrityError:
        return None
    return comment


# -- notifications ---------------------------------------------------------------------------


def _notify(users: list[User], ticket: Ticket, *, kind: str, subject, body) -> None:
    """In-app notification and queued email (written in this transaction; sending happens
    later from the outbox, so it never blocks or fails a save)."""
    from inventory.notifications.services import notify, ticket_path

    if not users:
        return
    notify(
        users,
        kind=kind,
        subject=subject,
        body=body,
        url=ticket_path(ticket.id),
        ticket_id=ticket.id,
    )


# -- changing a ticket -----------------------------------------------------------------------


def local_date(moment: datetime) -> str:
    """A UTC moment as the society's local date (dd-mm-yyyy)."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return moment.astimezone(zone).strftime("%d-%m-%Y")


def _label(status: str) -> str:
    return str(TicketStatus.label_of(status)).lower()


def reopen_target(ticket: Ticket) -> str:
    """Where a reopened ticket goes: back to its assignee, else to the open queue."""
    return ASSIGNED if ticket.has_assignee else OPEN


def refusal(current: str, target: str) -> str:
    """Why the workflow refuses this move, in words for the user."""
    if current == CANCELLED:
        return _("A cancelled ticket cannot be changed; open a new ticket if the fault is back.")
    if current == target:
        return _("The ticket is already %(status)s.", status=_label(current))
    if current in (RESOLVED, CLOSED) and target in OPEN_STATUSES:
        return _(
            "A %(status)s ticket cannot move to %(target)s; reopen it first.",
            status=_label(current),
            target=_label(target),
        )
    return _(
        "A ticket that is %(status)s cannot move to %(target)s.",
        status=_label(current),
        target=_label(target),
    )


def can_move(ticket: Ticket, target: str) -> bool:
    """Does the workflow table allow this move (people's permissions aside)?"""
    return target in TRANSITIONS.get(ticket.status, frozenset())


def _annotate_asset_history(asset: Asset, ticket: Ticket) -> None:
    """Put the ticket number into the change-log row the asset's status change just wrote."""
    row = db.session.scalar(
        sa.select(ChangeLog)
        .where(ChangeLog.object_type == "assets", ChangeLog.object_id == asset.id)
        .order_by(ChangeLog.id.desc())
        .limit(1)
    )
    if row is not None and "status" in (row.changes or {}):
        row.changes = {**row.changes, "ticket": [None, ticket.number]}


def _set_asset_status(ticket: Ticket, status: str) -> bool:
    from inventory.assets.services import AssetError, update_asset

    asset = ticket.asset
    if asset is None or asset.status == status:
        return False
    if asset.status == AssetStatus.CONDEMNED.value:
        raise TicketError(
            _("The asset %(tag)s is condemned; its status is left as it is.", tag=asset.tag),
            "mark_asset",
        )
    try:
        update_asset(asset, status=status)
    except AssetError as exc:
        raise TicketError(str(exc), "mark_asset") from exc
    _annotate_asset_history(asset, ticket)
    return True


def _restore_open_key(ticket: Ticket) -> None:
    if ticket.asset_id is None or not ticket.cause:
        ticket.open_key = None
        return
    key = open_key_for(ticket.asset_id, ticket.cause)
    other = db.session.scalar(
        sa.select(Ticket).where(Ticket.open_key == key, Ticket.id != ticket.id)
    )
    if other is not None:
        raise TicketError(
            _(
                "%(other)s is already open for the same asset and cause; "
                "work on that ticket instead of reopening this one.",
                other=other.number,
            )
        )
    ticket.open_key = key


def move(
    ticket: Ticket,
    target: str,
    *,
    actor: User | None = None,
    note: str = "",
    mark_asset: bool = False,
    now: datetime | None = None,
) -> Ticket:
    """Move the ticket to `target` if the workflow allows it; record a note as a comment.

    mark_asset: moving to in_progress or waiting sets the asset "under repair"; resolving or
    cancelling sets it back to "deployed" (when it is under repair). Both go through the
    asset service, so the asset's history records them, with the ticket number.
    `actor` is checked against the permission rules when given (None: the system).
    """
    current = ticket.status
    if target not in TicketStatus.values():
        raise TicketError(_("Unknown status."))
    if actor is not None:
        require(actor, _action_for(current, target), ticket)
    if not can_move(ticket, target):
        raise TicketError(refusal(current, target))
    reopening = current in (RESOLVED, CLOSED) and target in (OPEN, ASSIGNED)
    if reopening and target != reopen_target(ticket):
        raise TicketError(
            _("A reopened ticket goes back to its assignee, or to the open queue if it has none.")
        )
    if target == ASSIGNED and not ticket.has_assignee:
        raise TicketError(_("Choose who works on it first: a staff member or a vendor."))
    if target == OPEN and not reopening and ticket.has_assignee:
        raise TicketError(_("Remove the assignee to put the ticket back in the open queue."))
    note = _text(note, COMMENT_MAX, "note")
    now = now or utcnow()
    if reopening:
        _restore_open_key(ticket)
        ticket.resolved_at = None
        ticket.closed_at = None
    ticket.status = target
    if target == RESOLVED:
        ticket.resolved_at = now
    elif target == CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif target == CANCELLED:
        ticket.closed_at = now
        ticket.resolved_at = None
    if not TicketStatus(target).is_open:
        ticket.open_key = None
    if mark_asset and ticket.asset is not None:
        if target in (IN_PROGRESS, WAITING):
            if _set_asset_status(ticket, AssetStatus.UNDER_REPAIR.value):
                ticket.repair_marked = True
        elif (
            target in (RESOLVED, CANCELLED)
            and ticket.asset.status == AssetStatus.UNDER_REPAIR.value
        ):
            _set_asset_status(ticket, AssetStatus.DEPLOYED.value)
            ticket.repair_marked = False
    db.session.flush()
    if target in (CLOSED, CANCELLED) and ticket.cause.startswith("pm:"):
        # A preventive-maintenance ticket done (or skipped): the plan's next due date moves.
        from inventory.maintenance.services import plan_ticket_closed

        plan_ticket_closed(ticket)
    if note:
        add_comment(ticket, author=actor, body=note, now=now)
    return ticket


def reopen(
    ticket: Ticket, *, actor: User | None = None, note: str = "", now: datetime | None = None
) -> Ticket:
    """Back to work: to its assignee (assigned) or to the open queue (open)."""
    if ticket.status not in (RESOLVED, CLOSED):
        if ticket.status == CANCELLED:
            raise TicketError(refusal(CANCELLED, OPEN))
        raise TicketError(_("Only a resolved or closed ticket can be reopened."))
    return move(ticket, reopen_target(ticket), actor=actor, note=note, now=now)


def _action_for(current: str, target: str) -> str:
    """The permission an (allowed) move needs."""
    if current in (RESOLVED, CLOSED) and target in (OPEN, ASSIGNED):
        return "reopen"
    if target in (OPEN, ASSIGNED):
        return "assign"
    return {
        IN_PROGRESS: "resume" if current == WAITING else "start",
        WAITING: "wait",
        RESOLVED: "resolve",
        CLOSED: "close",
        CANCELLED: "cancel",
    }[target]


@dataclass(frozen=True)
class Move:
    """One button of the ticket page: the action, where it goes, its label."""

    action: str
    target: str
    label: Any
    offers_asset: bool  # show "mark the asset under repair / back to deployed"


ACTION_LABELS = {
    "start": _l("Start work"),
    "wait": _l("Wait for vendor/parts"),
    "resume": _l("Resume work"),
    "resolve": _l("Resolve"),
    "close": _l("Close"),
    "reopen": _l("Reopen"),
}


def available_moves(ticket: Ticket, user: User | None) -> list[Move]:
    """The status changes this user may make now (assign and cancel have their own pages)."""
    moves = []
    for target in sorted(TRANSITIONS.get(ticket.status, ()), key=TicketStatus.values().index):
        action = _action_for(ticket.status, target)
        if action in ("assign", "cancel"):
            continue
        if action == "reopen" and target != reopen_target(ticket):
            continue
        if action == "start" and not ticket.has_assignee:
            continue
        if not permitted(user, action, ticket):
            continue
        offers_asset = ticket.asset is not None and (
            (target in (IN_PROGRESS, WAITING) and ticket.asset.status != "under_repair")
            or (target == RESOLVED and ticket.asset.status == "under_repair")
        )
        moves.append(Move(action, target, ACTION_LABELS[action], offers_asset))
    return moves


def assignable_users() -> list[User]:
    """Staff a ticket can be assigned to: active engineers, managers and administrators."""
    roles = [Role.ENGINEER.value, Role.MANAGER.value, Role.ADMIN.value]
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.is_active.is_(True), User.role.in_(roles))
            .order_by(User.full_name, User.username)
        )
    )


def assign(
    ticket: Ticket,
    *,
    assignee: User | None = None,
    vendor: Vendor | None = None,
    vendor_engineer: str = "",
    actor: User | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Ticket:
    """Set who works on the ticket: a staff user (engineer or above), a vendor (with the
    vendor's engineer's name), or both; nobody puts an assigned ticket back in the open queue.

    open -> assigned when someone is named; assigned -> open when nobody is. A ticket in
    progress or waiting keeps its status (it needs somebody: removing everyone is refused).
    A newly named staff user is notified ("ticket_assigned") unless they assigned themselves.
    """
    if actor is not None:
        require(actor, "assign", ticket)
    if not ticket.is_open:
        raise TicketError(_("Only an open ticket can be assigned; reopen it first."))
    if assignee is not None and (not assignee.is_active or not assignee.has_role(Role.ENGINEER)):
        raise TicketError(
            _("Only an active engineer, manager or administrator can be assigned."), "assignee_id"
        )
    if vendor is not None and not vendor.active and vendor.id != ticket.vendor_id:
        raise TicketError(_("The vendor %(name)s is inactive.", name=vendor.name), "vendor_id")
    vendor_engineer = _text(vendor_engineer, VENDOR_ENGINEER_MAX, "vendor_engineer")
    if vendor is None and vendor_engineer:
        raise TicketError(_("Choose the vendor the engineer works for."), "vendor_id")
    named = assignee is not None or vendor is not None
    if not named and ticket.status in (IN_PROGRESS, WAITING):
        raise TicketError(
            _("A ticket being worked on needs someone: choose another assignee instead.")
        )
    previous_assignee = ticket.assignee_id
    ticket.assignee = assignee
    ticket.assignee_id = assignee.id if assignee is not None else None
    ticket.vendor = vendor
    ticket.vendor_id = vendor.id if vendor is not None else None
    ticket.vendor_engineer = vendor_engineer if vendor is not None else ""
    if named and ticket.status == OPEN:
        ticket.status = ASSIGNED
    elif not named and ticket.status == ASSIGNED:
        ticket.status = OPEN
    db.session.flush()
    note = _text(note, COMMENT_MAX, "note")
    if note:
        add_comment(ticket, author=actor, body=note, now=now)
    self_assigned = actor is not None and assignee is not None and assignee.id == actor.id
    if assignee is not None and assignee.id != previous_assignee and not self_assigned:
        _notify(
            [assignee],
            ticket,
            kind="ticket_assigned",
            subject=_l(
                "%(number)s assigned to you: %(title)s", number=ticket.number, title=ticket.title
            ),
            body=_l(
                "%(number)s at %(site)s is assigned to you. Due %(due)s. %(title)s",
                number=ticket.number,
                site=ticket.site.name_en,
                due=local_date(ticket.due_at),
                title=ticket.title,
            ),
        )
    return ticket


def update_ticket(
    ticket: Ticket,
    *,
    actor: User | None = None,
    recompute_due: bool = False,
    **fields,
) -> Ticket:
    """Change what the ticket is about: title, description, category, priority, site, asset.

    The due date stays as it was fixed at opening unless recompute_due (managers): then it is
    opened_at + the SLA days of the (new) priority.
    """
    if actor is not None:
        require(actor, "edit", ticket)
        if recompute_due:
            require(actor, "recompute_due", ticket)
    with db.session.no_autoflush:
        if "title" in fields:
            ticket.title = _text(fields["title"], TITLE_MAX, "title", required=True)
        if "description" in fields:
            ticket.description = _text(fields["description"], DESCRIPTION_MAX, "description")
        if "category" in fields:
            ticket.category = _check_choice(fields["category"], TicketCategory, "category")
        if "priority" in fields:
            ticket.priority = _check_choice(fields["priority"], TicketPriority, "priority")
        site = ticket.site
        asset = ticket.asset
        if "site_id" in fields:
            site = db.session.get(Site, fields["site_id"]) if fields["site_id"] else None
        if "asset_id" in fields:
            asset = db.session.get(Asset, fields["asset_id"]) if fields["asset_id"] else None
            if fields["asset_id"] and asset is None:
                raise TicketError(_("Unknown asset."), "asset_id")
        _check_place(site, asset)
        ticket.site = site
        ticket.site_id = site.id
        ticket.asset = asset
        ticket.asset_id = asset.id if asset is not None else None
        if ticket.is_open and ticket.cause and asset is not None:
            key = open_key_for(asset.id, ticket.cause)
            if key != ticket.open_key:
                other = db.session.scalar(sa.select(Ticket.id).where(Ticket.open_key == key))
                if other is not None:
                    raise TicketError(
                        _("Another open ticket has the same asset and cause."), "asset_id"
                    )
                ticket.open_key = key
        elif ticket.is_open:
            ticket.open_key = None
        if recompute_due:
            ticket.due_at = due_for(ticket.priority, ticket.opened_at)
    db.session.flush()
    return ticket


# -- comments and attachments ----------------------------------------------------------------


def add_comment(
    ticket: Ticket,
    *,
    author: User | None,
    body: str,
    is_system: bool = False,
    event_key: str | None = None,
    now: datetime | None = None,
) -> TicketComment:
    """A note on the ticket (any status: a closed ticket can still be annotated)."""
    body = _text(body, COMMENT_MAX, "body", required=True)
    comment = TicketComment(
        ticket_id=ticket.id,
        author=author,
        body=body,
        is_system=is_system,
        event_key=event_key,
        created_at=now or utcnow(),
    )
    db.session.add(comment)
    db.session.flush()
    return comment


ATTACHMENT_KINDS = ("image", "pdf")


def add_attachment(ticket: Ticket, upload, *, actor: User | None = None) -> TicketAttachment:
    """Store a photo or PDF (inventory.files checks type and size) and attach it.

    Raises inventory.files.services.FileError (a ValueError) or TicketError with a message.
    """
    from inventory.files.services import store_upload

    limit = int(current_app.config.get("TICKET_ATTACHMENTS_MAX", 20))
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TicketAttachment)
        .where(TicketAttachment.ticket_id == ticket.id)
    )
    if count >= limit:
        raise TicketError(_("A ticket holds at most %(n)d attachments.", n=limit), "file")
    stored = store_upload(
        upload,
        kinds=ATTACHMENT_KINDS,
        max_bytes=int(current_app.config.get("TICKET_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)),
        uploaded_by=actor,
    )
    attachment = TicketAttachment(ticket_id=ticket.id, file=stored, uploaded_by=actor)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def attachments_of(ticket_id: int) -> list[TicketAttachment]:
    return list(
        db.session.scalars(
            sa.select(TicketAttachment)
            .where(TicketAttachment.ticket_id == ticket_id)
            .order_by(TicketAttachment.id)
        )
    )


# -- the timeline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the ticket's history: a recorded change, a comment or an attachment."""

    at: datetime
    kind: str  # "change", "comment", "attachment"
    who: str
    change: ChangeLog | None = None
    comment: TicketComment | None = None
    attachment: TicketAttachment | None = None


def timeline(ticket: Ticket, limit: int = 500) -> list[TimelineEntry]:
    """Every change (from the change log), comment and attachment, oldest first."""
    entries: list[tuple[tuple, TimelineEntry]] = []
    changes = db.session.scalars(
        sa.select(ChangeLog)
        .where(ChangeLog.object_type == Ticket.__tablename__, ChangeLog.object_id == ticket.id)
        .order_by(ChangeLog.id)
        .limit(limit)
    )
    changes = list(changes)
    actor_ids = {row.actor_id for row in changes if row.actor_id is not None}
    names = {
        user.id: user.display_name
        for user in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))
    }
    for row in changes:
        who = names.get(row.actor_id, row.actor_name) if row.actor_id else _("System")
        entries.append(
            (
                (row.created_at, 0, row.id),
                TimelineEntry(row.created_at, "change", who, change=row),
            )
        )
    comments = db.session.scalars(
        sa.select(TicketComment)
        .where(TicketComment.ticket_id == ticket.id)
        .order_by(TicketComment.id)
        .limit(limit)
    )
    for c in comments:
        who = _("System") if c.is_system else (c.author.display_name if c.author else "—")
        entries.append(
            ((c.created_at, 1, c.id), TimelineEntry(c.created_at, "comment", who, comment=c))
        )
    for a in attachments_of(ticket.id):
        who = a.uploaded_by.display_name if a.uploaded_by else "—"
        entries.append(
            ((a.created_at, 2, a.id), TimelineEntry(a.created_at, "attachment", who, attachment=a))
        )
    entries.sort(key=lambda pair: pair[0])
    return [entry for _key, entry in entries]


# -- the list --------------------------------------------------------------------------------

VIEWS = ("open", "overdue", "mine", "reported", "all")


@dataclass
class TicketFilter:
    """What a ticket list is narrowed to (the list page, the site and vendor links)."""

    view: str = "open"  # open, overdue, mine (assigned to me), reported (by me), all
    q: str = ""
    status: str = ""
    priority: str = ""
    category: str = ""
    site_id: int | None = None  # with the sites below it
    vendor_id: int | None = None
    assignee_id: int | None = None
    asset_id: int | None = None
    overdue: bool = False
    sort: str = "due"
    descending: bool = False


PRIORITY_RANK = sa.case(
    {p: i for i, p in enumerate(TicketPriority.values())}, value=Ticket.priority, else_=-1
)
STATUS_RANK = sa.case(
    {s: i for i, s in enumerate(TicketStatus.values())}, value=Ticket.status, else_=-1
)
SORTS = {
    "number": Ticket.id,
    "opened": Ticket.opened_at,
    "due": Ticket.due_at,
    "priority": PRIORITY_RANK,
    "status": STATUS_RANK,
    "site": Site.name_en,
    "updated": Ticket.updated_at,
    "title": Ticket.title,
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def ticket_conditions(flt: TicketFilter, *, user: User | None = None, now: datetime | None = None):
    now = now or utcnow()
    conditions: list = []
    view = flt.view if flt.view in VIEWS else "open"
    if view == "open":
        conditions.append(Ticket.status.in_(OPEN_STATUSES))
    elif view == "overdue":
        conditions += [Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < now]
    elif view == "mine":
        conditions += [
            Ticket.assignee_id == (user.id if user else -1),
            Ticket.status.in_(OPEN_STATUSES),
        ]
    elif view == "reported":
        conditions.append(Ticket.reporter_id == (user.id if user else -1))
    if flt.q:
        needle = flt.q.strip()
        number = needle.upper().removeprefix("T-").lstrip("0")
        like = _like(needle)
        matches = [Ticket.title.ilike(like, escape="\\")]
        if number.isdigit():
            matches.append(Ticket.id == int(number))
        asset_match = sa.select(Asset.id).where(Asset.tag.ilike(like, escape="\\"))
        matches.append(Ticket.asset_id.in_(asset_match))
        conditions.append(sa.or_(*matches))
    if flt.status in TicketStatus.values():
        conditions.append(Ticket.status == flt.status)
    if flt.priority in TicketPriority.values():
        conditions.append(Ticket.priority == flt.priority)
    if flt.category in TicketCategory.values():
        conditions.append(Ticket.category == flt.category)
    if flt.site_id:
        conditions.append(subtree_condition(Ticket.site_id, flt.site_id))
    if flt.vendor_id:
        conditions.append(Ticket.vendor_id == flt.vendor_id)
    if flt.assignee_id:
        conditions.append(Ticket.assignee_id == flt.assignee_id)
    if flt.asset_id:
        conditions.append(Ticket.asset_id == flt.asset_id)
    if flt.overdue:
        conditions += [Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < now]
    return conditions


def ticket_query(
    flt: TicketFilter, *, user: User | None = None, now: datetime | None = None
) -> sa.Select:
    """The SELECT behind a ticket list: filters, then the whitelisted sort (id breaks ties)."""
    query = sa.select(Ticket).where(*ticket_conditions(flt, user=user, now=now))
    sort = flt.sort if flt.sort in SORTS else "due"
    if sort == "site":
        query = query.join(Site, Site.id == Ticket.site_id)
    order = SORTS[sort]
    if flt.descending:
        return query.order_by(order.desc(), Ticket.id.desc())
    return query.order_by(order.asc(), Ticket.id.asc())


def view_counts(user: User | None, now: datetime | None = None) -> dict[str, int]:
    """How many tickets each tab of the list holds (for the tab labels)."""
    counts = {}
    for view in VIEWS:
        query = (
            sa.select(sa.func.count())
            .select_from(Ticket)
            .where(*ticket_conditions(TicketFilter(view=view), user=user, now=now))
        )
        counts[view] = db.session.scalar(query) or 0
    return counts
