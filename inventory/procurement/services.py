"""Procurement requests: drafting, the approval workflow, the order, the receipt status, who may
do what, and the list queries. Views, the demo and the receipt module call these; they flush,
never commit.

The workflow is one table, TRANSITIONS (an action -> the statuses it starts from and the
status it leads to):

    draft --submit--> submitted --approve (level by level)--> approved --order--> ordered
    submitted --reject (a reason is required)--> rejected (final; copy it into a new draft)
    ordered --(receipts)--> partly_received --(receipts)--> received --close--> closed
    partly_received --close (a reason is required: the rest will not come)--> closed
    draft / submitted / approved / ordered --cancel (a reason is required)--> cancelled (final)

A request that has received anything (partly received or received) can no longer be
cancelled: the goods are in the register. Receive the rest and close it, or close it short
with the reason (the vendor cannot supply the rest), so that no request is left stuck.

Approval: the active ApprovalLevels in `position` order. Submitting puts the request at the
first active level (`current_level_position`); an approval there moves it to the next active
level, and the approval at the last level makes it approved. Only the people named at the
level waiting may decide there ("the approver role", whatever their role otherwise); nobody
decides on a request they requested themselves (not even an administrator), and one person
decides at one level of a request only, so two levels mean two people.

Roles (permitted()): everybody signed in sees requests; engineers and up draft, and edit and
cancel their own drafts; managers edit and submit anyone's draft, record the order, cancel
until something is received, and close; approvers decide at their level; administrators keep
the budget heads and the approval levels.

Received quantities belong to the receipt module: `received_by_line(request_id)` of
inventory.procurement.receiving, imported lazily (nothing received while it is absent);
`refresh_receipt_status(request)` moves an ordered request to partly received or received.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from inventory.auth.models import User
from inventory.catalog.models import AssetModel, Category
from inventory.choices import (
    NotificationKind,
    ProcurementAction,
    ProcurementAttachmentKind,
    ProcurementStatus,
    Role,
)
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.procurement.models import (
    ApprovalAction,
    ApprovalLevel,
    BudgetHead,
    LineDestination,
    ProcurementRequest,
    ProcurementSequence,
    RequestAttachment,
    RequestLine,
    approval_level_users,
)
from inventory.sites.models import Site
from inventory.sites.services import subtree_condition
from inventory.vendors.models import Vendor

DRAFT = ProcurementStatus.DRAFT.value
SUBMITTED = ProcurementStatus.SUBMITTED.value
APPROVED = ProcurementStatus.APPROVED.value
REJECTED = ProcurementStatus.REJECTED.value
ORDERED = ProcurementStatus.ORDERED.value
PARTLY_RECEIVED = ProcurementStatus.PARTLY_RECEIVED.value
RECEIVED = ProcurementStatus.RECEIVED.value
CLOSED = ProcurementStatus.CLOSED.value
CANCELLED = ProcurementStatus.CANCELLED.value

# The workflow: action -> (the statuses it may start from, the status it leads to).
# "approve" leads to approved only at the last level; before that the request stays submitted
# and moves on to the next level. The receipt statuses are set by refresh_receipt_status.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({DRAFT}), SUBMITTED),
    "approve": (frozenset({SUBMITTED}), APPROVED),
    "reject": (frozenset({SUBMITTED}), REJECTED),
    "order": (frozenset({APPROVED}), ORDERED),
    "cancel": (frozenset({DRAFT, SUBMITTED, APPROVED, ORDERED}), CANCELLED),
    "close": (frozenset({PARTLY_RECEIVED, RECEIVED}), CLOSED),
}
RECEIPT_STATUSES = frozenset({ORDERED, PARTLY_RECEIVED, RECEIVED})
FINAL_STATUSES = frozenset({REJECTED, CLOSED, CANCELLED})

# The budget view's stages: which statuses count as requested, sanctioned and ordered.
REQUESTED_STATUSES = (SUBMITTED, APPROVED, ORDERED, PARTLY_RECEIVED, RECEIVED, CLOSED)
SANCTIONED_STATUSES = (APPROVED, ORDERED, PARTLY_RECEIVED, RECEIVED, CLOSED)
ORDERED_STATUSES = (ORDERED, PARTLY_RECEIVED, RECEIVED, CLOSED)

TITLE_MAX = 200
JUSTIFICATION_MAX = 10000
REMARK_MAX = 5000
DESCRIPTION_MAX = 300
# The received assets carry the order reference and the budget head's name in the register's
# own columns (64 and 100 characters), so the request takes no longer values.
ORDER_REFERENCE_MAX = 64
NAME_MAX = 100
LEVEL_NAME_MAX = 80
LINES_MAX = 50
DESTINATIONS_MAX = 100
QUANTITY_MAX = 100000
COST_MAX = Decimal("9999999999.99")  # Numeric(12, 2)

DEFAULT_BUDGET_HEADS = (
    ("DeGS fund", "डीईजीएस निधि"),
    ("Share of CSC user charges", "सीएससी उपयोगकर्ता शुल्क का अंश"),
    ("e-District project", "ई-डिस्ट्रिक्ट परियोजना"),
    ("Digital India", "डिजिटल इंडिया"),
)

FY_RE = re.compile(r"^(\d{4})-(\d{2})$")


class ProcurementError(ValueError):
    """A procurement change that breaks a rule; the message is shown to the user as is.

    `field` names the form field at fault when there is one; `errors` lists every problem
    found as (field or None, message) when several were found at once (the lines).
    """

    def __init__(self, message: str, field: str | None = None, errors=None):
        super().__init__(message)
        self.field = field
        self.errors: list[tuple[str | None, str]] = list(errors or [(field, message)])


class ProcurementPermissionError(ProcurementError):
    """The user may not do this to this request (the views answer 403 with the message)."""


# -- time and the financial year -------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_today(now: datetime | None = None) -> date:
    """Today in the society's time zone (Asia/Kolkata)."""
    return (now or utcnow()).astimezone(_zone()).date()


def financial_year_of(day: date) -> str:
    """The Indian financial year (1 April - 31 March) of a day: 31-03-2027 -> "2026-27"."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def current_financial_year(now: datetime | None = None) -> str:
    return financial_year_of(local_today(now))


def valid_financial_year(text: str | None) -> bool:
    match = FY_RE.match(text or "")
    if not match:
        return False
    start, end = int(match.group(1)), int(match.group(2))
    return 2000 <= start <= 2099 and end == (start + 1) % 100


def financial_year_bounds(financial_year: str) -> tuple[date, date]:
    """First and last day of a financial year ("2026-27" -> 1-4-2026, 31-3-2027)."""
    start = int(financial_year[:4])
    return date(start, 4, 1), date(start + 1, 3, 31)


def financial_year_choices(*extra: str, now: datetime | None = None) -> list[str]:
    """Recent financial years, newest first: the next one, this one and four before, plus
    any year requests already use and `extra` ones."""
    start = int(current_financial_year(now)[:4])
    years = {f"{y}-{(y + 1) % 100:02d}" for y in range(start - 4, start + 2)}
    years.update(db.session.scalars(sa.select(ProcurementRequest.financial_year).distinct()).all())
    years.update(y for y in extra if valid_financial_year(y))
    return sorted(years, reverse=True)


# -- budget heads ----------------------------------------------------------------------------


def budget_heads(active_only: bool = False, keep: int | None = None) -> list[BudgetHead]:
    """Budget heads in their order; active only (and `keep`, a head a request already names)."""
    query = sa.select(BudgetHead).order_by(BudgetHead.position, BudgetHead.name)
    if active_only:
        query = query.where(sa.or_(BudgetHead.active.is_(True), BudgetHead.id == (keep or 0)))
    return list(db.session.scalars(query))


def ensure_default_budget_heads() -> int:
    """Add the usual heads (DeGS fund, CSC user charges, e-District, Digital India) when the
    list is empty; returns how many were added (0 once an administrator has any head)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(BudgetHead)):
        return 0
    for position, (name, name_hi) in enumerate(DEFAULT_BUDGET_HEADS, start=1):
        db.session.add(BudgetHead(name=name, name_hi=name_hi, position=position))
    db.session.flush()
    return len(DEFAULT_BUDGET_HEADS)


def _text(value: str | None, limit: int, field_name: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ProcurementError(_("This field is required."), field_name)
    if len(value) > limit:
        raise ProcurementError(_("At most %(n)d characters.", n=limit), field_name)
    return value


def save_budget_head(
    head: BudgetHead | None,
    *,
    name: str,
    name_hi: str = "",
    active: bool = True,
    position: int | None = None,
) -> BudgetHead:
    """Create (head None) or change a budget head. Names are unique, ignoring case."""
    name = _text(name, NAME_MAX, "name", required=True)
    name_hi = _text(name_hi, NAME_MAX, "name_hi")
    clash = db.session.scalar(
        sa.select(BudgetHead.id).where(
            sa.func.lower(BudgetHead.name) == name.lower(),
            BudgetHead.id != (head.id if head is not None else 0),
        )
    )
    if clash is not None:
        raise ProcurementError(
            _("There is already a budget head named %(name)s.", name=name), "name"
        )
    if position is None:
        position = (
            head.position
            if head is not None
            else (db.session.scalar(sa.select(sa.func.max(BudgetHead.position))) or 0) + 1
        )
    if head is None:
        head = BudgetHead()
        db.session.add(head)
    head.name = name
    head.name_hi = name_hi
    head.active = bool(active)
    head.position = int(position)
    db.session.flush()
    return head


# -- approval levels -------------------------------------------------------------------------


def approval_levels(active_only: bool = False) -> list[ApprovalLevel]:
    query = sa.select(ApprovalLevel).order_by(ApprovalLevel.position)
    if active_only:
        query = query.where(ApprovalLevel.active.is_(True))
    return list(db.session.scalars(query))


def level_at(position: int | None) -> ApprovalLevel | None:
    if position is None:
        return None
    return db.session.scalar(sa.select(ApprovalLevel).where(ApprovalLevel.position == position))


def next_active_level(after: int | None) -> ApprovalLevel | None:
    """The first active level with a position above `after` (None: the first of all)."""
    query = sa.select(ApprovalLevel).where(ApprovalLevel.active.is_(True))
    if after is not None:
        query = query.where(ApprovalLevel.position > after)
    return db.session.scalar(query.order_by(ApprovalLevel.position).limit(1))


def awaited_level(request: ProcurementRequest) -> ApprovalLevel | None:
    """The level whose decision a submitted request waits for (None for other statuses)."""
    if request.status != SUBMITTED or request.current_level_position is None:
        return None
    level = level_at(request.current_level_position)
    if level is not None and level.active:
        return level
    return next_active_level(request.current_level_position)


def _waiting_at(position: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ProcurementRequest)
        .where(
            ProcurementRequest.status == SUBMITTED,
            ProcurementRequest.current_level_position == position,
        )
    )


def save_level(
    level: ApprovalLevel | None,
    *,
    position: int,
    name: str,
    name_hi: str = "",
    active: bool = True,
    approver_ids: Iterable[int] = (),
) -> ApprovalLevel:
    """Create (level None) or change an approval level and who approves at it.

    Positions are unique. While requests wait at a level its position cannot change; it can
    be deactivated only when a later active level takes them over (they move on to it).
    """
    name = _text(name, LEVEL_NAME_MAX, "name", required=True)
    name_hi = _text(name_hi, LEVEL_NAME_MAX, "name_hi")
    try:
        position = int(position)
    except (TypeError, ValueError):
        raise ProcurementError(_("Give the level's position as a number."), "position") from None
    if not 1 <= position <= 99:
        raise ProcurementError(_("The position must be between 1 and 99."), "position")
    clash = db.session.scalar(
        sa.select(ApprovalLevel).where(
            ApprovalLevel.position == position,
            ApprovalLevel.id != (level.id if level is not None else 0),
        )
    )
    if clash is not None:
        raise ProcurementError(
            _("Level %(name)s already has position %(n)d.", name=clash.name, n=position),
            "position",
        )
    ids = sorted({int(i) for i in approver_ids if i})
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []
    if len(users) != len(ids):
        raise ProcurementError(_("Choose approvers from the list."), "approver_ids")
    waiting = _waiting_at(level.position) if level is not None else 0
    if level is not None and waiting:
        if position != level.position:
            raise ProcurementError(
                _(
                    "%(n)d requests are waiting for a decision at this level, so its position "
                    "cannot change now.",
                    n=waiting,
                ),
                "position",
            )
        if level.active and not active:
            successor = next_active_level(level.position)
            if successor is None:
                raise ProcurementError(
                    _(
                        "%(n)d requests are waiting for a decision at this level and no later "
                        "level is active to take them over. Add or activate a later level first.",
                        n=waiting,
                    ),
                    "active",
                )
            for request in db.session.scalars(
                sa.select(ProcurementRequest).where(
                    ProcurementRequest.status == SUBMITTED,
                    ProcurementRequest.current_level_position == level.position,
                )
            ):
                request.current_level_position = successor.position
                _notify_approvers(request, successor)
    if level is None:
        level = ApprovalLevel()
        db.session.add(level)
    level.position = position
    level.name = name
    level.name_hi = name_hi
    level.active = bool(active)
    level.approvers = users
    db.session.flush()
    return level


def levels_of(user: User | None) -> list[ApprovalLevel]:
    """The active levels at which `user` is named an approver."""
    if user is None or getattr(user, "id", None) is None:
        return []
    return list(
        db.session.scalars(
            sa.select(ApprovalLevel)
            .join(approval_level_users, approval_level_users.c.level_id == ApprovalLevel.id)
            .where(approval_level_users.c.user_id == user.id, ApprovalLevel.active.is_(True))
            .order_by(ApprovalLevel.position)
        )
    )


# -- who may do what -------------------------------------------------------------------------

REQUESTER_ACTIONS = frozenset({"edit", "cancel"})  # on one's own draft, for engineers
MANAGER_ACTIONS = frozenset({"submit", "order", "close"})


def _active(user) -> bool:
    return user is not None and getattr(user, "is_active", False) and user.id is not None


def permitted(user: User | None, action: str, request: ProcurementRequest | None = None) -> bool:
    """May `user` do `action` (to `request`)? The one place the role rules live.

    view: everybody signed in; create, copy, attach: engineers and up; edit: the requester
    (engineer+) on their own draft, managers on any draft; cancel: the requester on their own
    draft, managers until something is received; submit, order, close: managers; approve and
    reject: the approvers named at the level waiting, never the requester; configure:
    administrators. The workflow (which status allows what) is checked separately.
    """
    if not _active(user):
        return False
    if action == "view":
        return True
    if action in ("create", "copy", "attach"):
        return user.has_role(Role.ENGINEER)
    if action == "configure":
        return user.has_role(Role.ADMIN)
    if action in MANAGER_ACTIONS:
        return user.has_role(Role.MANAGER)
    if action in REQUESTER_ACTIONS:
        if user.has_role(Role.MANAGER):
            return True
        return (
            user.has_role(Role.ENGINEER)
            and request is not None
            and request.requester_id == user.id
            and request.status == DRAFT
        )
    if action in ("approve", "reject"):
        if request is None or request.requester_id == user.id:
            return False
        level = awaited_level(request)
        return level is not None and level.is_approver(user) and not _decided_before(request, user)
    raise ValueError(f"unknown procurement action {action!r}")


def _decided_before(request: ProcurementRequest, user: User) -> ApprovalAction | None:
    """The user's approval of this request at an earlier level, in this round of approval."""
    if request.submitted_at is None:
        return None
    return db.session.scalar(
        sa.select(ApprovalAction)
        .where(
            ApprovalAction.request_id == request.id,
            ApprovalAction.actor_id == user.id,
            ApprovalAction.action == ProcurementAction.APPROVED.value,
            ApprovalAction.created_at >= request.submitted_at,
        )
        .limit(1)
    )


def _approval_refusal(user: User, request: ProcurementRequest) -> str:
    """Why `user` may not decide on the request now (it is submitted)."""
    if request.requester_id == user.id:
        return _(
            "You cannot approve or reject your own request %(number)s; another approver "
            "must decide.",
            number=request.number,
        )
    level = awaited_level(request)
    if level is None:
        return _(
            "No active approval level is left to decide on %(number)s; an administrator "
            "must configure one.",
            number=request.number,
        )
    earlier = _decided_before(request, user)
    if earlier is not None and level.is_approver(user):
        return _(
            "You already approved %(number)s at level %(earlier)s; another approver must "
            "decide at level %(level)s.",
            number=request.number,
            earlier=earlier.level_name,
            level=level.name,
        )
    names = ", ".join(u.display_name for u in level.approvers) or _("nobody yet")
    return _(
        "%(number)s is waiting for level %(level)s; only its approvers (%(names)s) can decide.",
        number=request.number,
        level=level.name,
        names=names,
    )


def require(user: User | None, action: str, request: ProcurementRequest | None = None) -> None:
    """Raise ProcurementPermissionError unless permitted(user, action, request)."""
    if permitted(user, action, request):
        return
    if action in ("approve", "reject") and _active(user) and request is not None:
        raise ProcurementPermissionError(_approval_refusal(user, request))
    if action in MANAGER_ACTIONS:
        raise ProcurementPermissionError(_("Only a manager can do that."))
    if action in REQUESTER_ACTIONS and _active(user) and user.has_role(Role.ENGINEER):
        raise ProcurementPermissionError(
            _("Only the requester (while it is a draft) or a manager can do that.")
        )
    if action == "configure":
        raise ProcurementPermissionError(_("Only an administrator can do that."))
    raise ProcurementPermissionError(_("You do not have permission to do that."))


# -- the workflow table ----------------------------------------------------------------------

ACTION_WORDS = {
    "submit": _l("submitted"),
    "approve": _l("approved"),
    "reject": _l("rejected"),
    "order": _l("ordered"),
    "cancel": _l("cancelled"),
    "close": _l("closed"),
}


def _status_word(status: str) -> str:
    return str(ProcurementStatus.label_of(status)).lower()


def can(request: ProcurementRequest, action: str) -> bool:
    """Does the workflow table allow `action` from the request's status (people aside)?"""
    sources, _target = TRANSITIONS[action]
    return request.status in sources


def refusal(request: ProcurementRequest, action: str) -> str:
    """Why the workflow refuses `action` on the request now, in words for the user."""
    status = request.status
    number = request.number
    if status == CANCELLED:
        return _(
            "%(number)s was cancelled and cannot be changed; copy it into a new draft instead.",
            number=number,
        )
    if status == REJECTED:
        return _(
            "%(number)s was rejected and cannot be changed; copy it into a new draft, "
            "change what is needed and submit that.",
            number=number,
        )
    if status == CLOSED:
        return _("%(number)s is closed and cannot be changed.", number=number)
    if action == "cancel" and status in (PARTLY_RECEIVED, RECEIVED):
        return _(
            "Goods have already been received against %(number)s, so it can no longer be "
            "cancelled. Receive the rest and close it.",
            number=number,
        )
    if action == "submit":
        return _("%(number)s has already been submitted.", number=number)
    if action in ("approve", "reject"):
        return _(
            "Only a submitted request can be approved or rejected; %(number)s is %(status)s.",
            number=number,
            status=_status_word(status),
        )
    if action == "order":
        if status in (DRAFT, SUBMITTED):
            return _(
                "%(number)s is not approved yet; the order can be recorded once every "
                "approval level has approved it.",
                number=number,
            )
        return _("The order of %(number)s is already recorded.", number=number)
    if action == "close":
        return _(
            "Only a request whose goods have been received can be closed; %(number)s is "
            "%(status)s.",
            number=number,
            status=_status_word(status),
        )
    if action == "edit":
        return _(
            "Only a draft can be edited; %(number)s is %(status)s.",
            number=number,
            status=_status_word(status),
        )
    return _(
        "A request that is %(status)s cannot be %(action)s.",
        status=_status_word(status),
        action=str(ACTION_WORDS.get(action, action)),
    )


def _check_move(request: ProcurementRequest, action: str) -> None:
    if not can(request, action):
        raise ProcurementError(refusal(request, action))


def available_actions(request: ProcurementRequest, user: User | None) -> list[str]:
    """The workflow actions the page offers this user now (allowed by the table and the
    roles): a subset of submit, approve, reject, order, cancel, close, edit, copy."""
    actions = []
    if request.status == DRAFT and permitted(user, "edit", request):
        actions.append("edit")
    for action in ("submit", "approve", "reject", "order", "cancel", "close"):
        if can(request, action) and permitted(user, action, request):
            actions.append(action)
    if request.status != DRAFT and permitted(user, "copy", request):
        actions.append("copy")
    return actions


def _record(
    request: ProcurementRequest,
    action: ProcurementAction,
    *,
    actor: User | None,
    remark: str = "",
    level: ApprovalLevel | None = None,
    now: datetime | None = None,
) -> ApprovalAction:
    step = ApprovalAction(
        request=request,
        action=action.value,
        level_position=level.position if level is not None else None,
        level_name=level.name if level is not None else "",
        actor_id=getattr(actor, "id", None),
        remark=remark,
        created_at=now or utcnow(),
    )
    db.session.add(step)
    return step


# -- numbers ---------------------------------------------------------------------------------


def _next_sequence(financial_year: str) -> int:
    """Atomically take the next request number of a year (UPDATE ... RETURNING)."""
    statement = (
        sa.update(ProcurementSequence)
        .where(ProcurementSequence.financial_year == financial_year)
        .values(last_value=ProcurementSequence.last_value + 1)
        .returning(ProcurementSequence.last_value)
    )
    value = db.session.execute(statement).scalar()
    if value is not None:
        return value
    try:
        with db.session.begin_nested():
            db.session.add(ProcurementSequence(financial_year=financial_year, last_value=0))
    except sa.exc.IntegrityError:
        pass  # another writer created it first
    return db.session.execute(statement).scalar_one()


def next_number(financial_year: str) -> str:
    while True:
        number = f"PR-{financial_year}-{_next_sequence(financial_year):04d}"
        taken = db.session.scalar(
            sa.select(ProcurementRequest.id).where(ProcurementRequest.number == number)
        )
        if taken is None:
            return number


# -- drafting --------------------------------------------------------------------------------


@dataclass
class LineIn:
    """One line as typed: what, how many, the estimate and where they go ([(site_id, qty)])."""

    category_id: int | None
    quantity: int | None
    estimated_unit_cost: Decimal | str | None
    destinations: list[tuple[int | None, int | None]] = field(default_factory=list)
    model_id: int | None = None
    description: str = ""


@dataclass
class CleanLine:
    category: Category
    model: AssetModel | None
    description: str
    quantity: int
    estimated_unit_cost: Decimal
    destinations: list[tuple[Site, int]]


def parse_money(value) -> Decimal | None:
    """A rupee amount (commas and a ₹ sign allowed) as a Decimal with 2 places, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        amount = value
    else:
        text = str(value).replace(",", "").replace("₹", "").replace("Rs.", "").strip()
        if not text:
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(text) from None
    if not amount.is_finite():
        raise ValueError(str(value))
    return amount.quantize(Decimal("0.01"))


def _clean_lines(lines: list[LineIn]) -> list[CleanLine]:
    """Every line checked; all problems reported at once ("Line 2: ...")."""
    errors: list[tuple[str | None, str]] = []
    cleaned: list[CleanLine] = []
    if not lines:
        raise ProcurementError(
            _("Add at least one line: what to buy, how many and where."), "lines"
        )
    if len(lines) > LINES_MAX:
        raise ProcurementError(_("At most %(n)d lines per request.", n=LINES_MAX), "lines")
    for index, line in enumerate(lines, start=1):
        where = f"lines-{index - 1}"

        def problem(message, suffix, index=index, where=where):
            errors.append(
                (f"{where}-{suffix}", _("Line %(n)d: %(problem)s", n=index, problem=message))
            )

        category = db.session.get(Category, line.category_id) if line.category_id else None
        if category is None:
            problem(_("choose a category."), "category_id")
        model = db.session.get(AssetModel, line.model_id) if line.model_id else None
        if line.model_id and model is None:
            problem(_("choose a model from the list."), "model_id")
        elif model is not None and category is not None and model.category_id != category.id:
            problem(
                _(
                    "the model %(model)s is not a %(category)s.",
                    model=model.name,
                    category=category.name_en,
                ),
                "model_id",
            )
        description = (line.description or "").strip()
        if len(description) > DESCRIPTION_MAX:
            problem(
                _("the description is longer than %(n)d characters.", n=DESCRIPTION_MAX),
                "description",
            )
        quantity = line.quantity
        if quantity is None or not isinstance(quantity, int) or not 1 <= quantity <= QUANTITY_MAX:
            problem(
                _("the quantity must be a whole number from 1 to %(n)d.", n=QUANTITY_MAX),
                "quantity",
            )
            quantity = None
        try:
            cost = parse_money(line.estimated_unit_cost)
        except ValueError:
            cost = None
            problem(_("the estimated unit cost is not an amount."), "estimated_unit_cost")
        else:
            if cost is None:
                problem(_("give the estimated unit cost."), "estimated_unit_cost")
            elif cost < 0 or cost > COST_MAX:
                problem(
                    _("the estimated unit cost must be between 0 and %(max)s.", max=COST_MAX),
                    "estimated_unit_cost",
                )
                cost = None
        destinations: list[tuple[Site, int]] = []
        seen: set[int] = set()
        given = [(s, q) for s, q in line.destinations if s or q]
        if not given:
            problem(
                _("say where they go: at least one destination site and its quantity."),
                "destinations",
            )
        if len(given) > DESTINATIONS_MAX:
            problem(_("at most %(n)d destinations.", n=DESTINATIONS_MAX), "destinations")
            given = []
        for site_id, qty in given:
            site = db.session.get(Site, site_id) if site_id else None
            if site is None:
                problem(_("choose the destination site for each quantity."), "destinations")
                continue
            if site.id in seen:
                problem(
                    _("%(site)s is named twice; give it once with the total.", site=site.code),
                    "destinations",
                )
                continue
            seen.add(site.id)
            if qty is None or not isinstance(qty, int) or qty < 1:
                problem(
                    _("the quantity for %(site)s must be at least 1.", site=site.code),
                    "destinations",
                )
                continue
            destinations.append((site, qty))
        if quantity is not None and destinations and len(destinations) == len(given):
            spread = sum(q for _s, q in destinations)
            if spread != quantity:
                problem(
                    _(
                        "the destinations add up to %(spread)d but the quantity is %(quantity)d.",
                        spread=spread,
                        quantity=quantity,
                    ),
                    "destinations",
                )
        if category is not None and quantity is not None and cost is not None:
            cleaned.append(CleanLine(category, model, description, quantity, cost, destinations))
    if errors:
        raise ProcurementError(errors[0][1], errors[0][0], errors=errors)
    return cleaned


def _check_header(title, justification, budget_head_id, financial_year, keep_head=None):
    errors = []

    def check(fn):
        try:
            return fn()
        except ProcurementError as exc:
            errors.extend(exc.errors)
            return None

    title = check(lambda: _text(title, TITLE_MAX, "title", required=True))
    justification = check(lambda: _text(justification, JUSTIFICATION_MAX, "justification"))
    head = db.session.get(BudgetHead, budget_head_id) if budget_head_id else None
    if head is None:
        errors.append(("budget_head_id", _("Choose a budget head.")))
    elif not head.active and head.id != keep_head:
        errors.append(
            ("budget_head_id", _("The budget head %(name)s is no longer in use.", name=head.name))
        )
    if not valid_financial_year(financial_year):
        errors.append(("financial_year", _("Give the financial year as 2026-27 (April to March).")))
    return title, justification, head, errors


def _apply_lines(request: ProcurementRequest, cleaned: list[CleanLine]) -> None:
    """Make the request's lines these ones, changing rows in place where they exist (so the
    history shows what changed rather than every line deleted and added again)."""
    existing = list(request.lines)
    for index, clean in enumerate(cleaned):
        if index < len(existing):
            line = existing[index]
        else:
            line = RequestLine()
            request.lines.append(line)
        line.position = index + 1
        line.category = clean.category
        line.model = clean.model
        line.description = clean.description
        line.quantity = clean.quantity
        line.estimated_unit_cost = clean.estimated_unit_cost
        by_site = {d.site_id: d for d in line.destinations}
        wanted = {site.id for site, _q in clean.destinations}
        for dest in list(line.destinations):
            if dest.site_id not in wanted:
                line.destinations.remove(dest)
        for site, qty in clean.destinations:
            dest = by_site.get(site.id)
            if dest is None:
                line.destinations.append(LineDestination(site=site, quantity=qty))
            elif dest.quantity != qty:
                dest.quantity = qty
    for line in existing[len(cleaned) :]:
        request.lines.remove(line)


def create_request(
    *,
    requester: User,
    title: str,
    budget_head_id: int | None,
    lines: list[LineIn],
    justification: str = "",
    financial_year: str | None = None,
    now: datetime | None = None,
) -> ProcurementRequest:
    """A new draft with its lines, added and flushed; its number is given now, from the
    financial year it is created in. Raises ProcurementError (with every problem) on bad input."""
    now = now or utcnow()
    financial_year = (financial_year or current_financial_year(now)).strip()
    title, justification, head, errors = _check_header(
        title, justification, budget_head_id, financial_year
    )
    try:
        cleaned = _clean_lines(lines)
    except ProcurementError as exc:
        errors.extend(exc.errors)
    if errors:
        raise ProcurementError(errors[0][1], errors[0][0], errors=errors)
    request = ProcurementRequest(
        number=next_number(current_financial_year(now)),
        title=title,
        justification=justification,
        requester=requester,
        budget_head=head,
        financial_year=financial_year,
        status=DRAFT,
    )
    db.session.add(request)
    _apply_lines(request, cleaned)
    db.session.flush()
    _record(request, ProcurementAction.CREATED, actor=requester, now=now)
    db.session.flush()
    return request


def update_request(
    request: ProcurementRequest,
    *,
    title: str,
    budget_head_id: int | None,
    lines: list[LineIn],
    justification: str = "",
    financial_year: str | None = None,
    actor: User | None = None,
) -> ProcurementRequest:
    """Change a draft (its header and lines). Only drafts change; `actor` is checked when given."""
    if actor is not None:
        require(actor, "edit", request)
    if request.status != DRAFT:
        raise ProcurementError(refusal(request, "edit"))
    financial_year = (financial_year or request.financial_year).strip()
    title, justification, head, errors = _check_header(
        title, justification, budget_head_id, financial_year, keep_head=request.budget_head_id
    )
    try:
        cleaned = _clean_lines(lines)
    except ProcurementError as exc:
        errors.extend(exc.errors)
    if errors:
        raise ProcurementError(errors[0][1], errors[0][0], errors=errors)
    request.title = title
    request.justification = justification
    request.budget_head = head
    request.financial_year = financial_year
    _apply_lines(request, cleaned)
    db.session.flush()
    return request


def copy_request(
    source: ProcurementRequest, *, actor: User, now: datetime | None = None
) -> ProcurementRequest:
    """A new draft with the same title, justification, budget head and lines, requested by
    `actor` in the current financial year (a rejected request is changed and sent again
    this way). Inactive categories' lines are copied as they are; the draft can be edited."""
    require(actor, "copy", source)
    now = now or utcnow()
    head_id = source.budget_head_id
    if source.budget_head is not None and not source.budget_head.active:
        replacement = next(iter(budget_heads(active_only=True)), None)
        head_id = replacement.id if replacement is not None else head_id
    copy = ProcurementRequest(
        number=next_number(current_financial_year(now)),
        title=source.title,
        justification=source.justification,
        requester=actor,
        budget_head_id=head_id,
        financial_year=current_financial_year(now),
        status=DRAFT,
    )
    db.session.add(copy)
    for line in source.lines:
        copy.lines.append(
            RequestLine(
                position=line.position,
                category_id=line.category_id,
                model_id=line.model_id,
                description=line.description,
                quantity=line.quantity,
                estimated_unit_cost=line.estimated_unit_cost,
                destinations=[
                    LineDestination(site_id=d.site_id, quantity=d.quantity)
                    for d in line.destinations
                ],
            )
        )
    db.session.flush()
    _record(
        copy,
        ProcurementAction.CREATED,
        actor=actor,
        remark=_("Copied from %(number)s.", number=source.number),
        now=now,
    )
    _record(
        source,
        ProcurementAction.COPIED,
        actor=actor,
        remark=_("Copied into %(number)s.", number=copy.number),
        now=now,
    )
    db.session.flush()
    return copy


# -- the workflow ----------------------------------------------------------------------------


def _remark(value: str | None, required_message: str | None = None) -> str:
    value = (value or "").strip()
    if required_message and not value:
        raise ProcurementError(required_message, "remark")
    if len(value) > REMARK_MAX:
        raise ProcurementError(_("At most %(n)d characters.", n=REMARK_MAX), "remark")
    return value


def submit(
    request: ProcurementRequest,
    *,
    actor: User,
    remark: str = "",
    now: datetime | None = None,
) -> ProcurementRequest:
    """Send a draft for approval: it waits at the first active level.

    Refused when the draft has no lines, when no approval level is configured, or when a
    level names nobody but the requester (the request could never be approved)."""
    require(actor, "submit", request)
    _check_move(request, "submit")
    remark = _remark(remark)
    if not request.lines:
        raise ProcurementError(_("Add at least one line before submitting."))
    for line in request.lines:
        if sum(d.quantity for d in line.destinations) != line.quantity:
            raise ProcurementError(
                _(
                    "Line %(n)d: the destinations do not add up to the quantity; edit the draft.",
                    n=line.position,
                )
            )
    levels = approval_levels(active_only=True)
    if not levels:
        raise ProcurementError(
            _(
                "No approval levels are configured, so nobody could approve this request. "
                "An administrator must set them up under Procurement settings first."
            )
        )
    for level in levels:
        deciders = [u for u in level.approvers if u.is_active and u.id != request.requester_id]
        if not deciders:
            raise ProcurementError(
                _(
                    "Nobody other than the requester can approve at level %(level)s; an "
                    "administrator must name an approver there first.",
                    level=level.name,
                )
            )
    now = now or utcnow()
    request.status = SUBMITTED
    request.submitted_at = now
    request.approved_at = None
    request.rejection_reason = ""
    request.current_level_position = levels[0].position
    _record(request, ProcurementAction.SUBMITTED, actor=actor, remark=remark, now=now)
    db.session.flush()
    _notify_approvers(request, levels[0])
    return request


def _decision_checks(request: ProcurementRequest, actor: User, action: str) -> ApprovalLevel:
    _check_move(request, action)
    require(actor, action, request)
    level = awaited_level(request)
    assert level is not None  # permitted() made sure
    return level


def approve(
    request: ProcurementRequest,
    *,
    actor: User,
    remark: str = "",
    now: datetime | None = None,
) -> ProcurementRequest:
    """The approval of the level waiting. The request moves on to the next active level, or
    becomes approved after the last one (the requester is told)."""
    if request.status == SUBMITTED and _active(actor) and request.requester_id == actor.id:
        raise ProcurementPermissionError(_approval_refusal(actor, request))
    level = _decision_checks(request, actor, "approve")
    remark = _remark(remark)
    now = now or utcnow()
    _record(request, ProcurementAction.APPROVED, actor=actor, remark=remark, level=level, now=now)
    following = next_active_level(level.position)
    if following is not None:
        request.current_level_position = following.position
        db.session.flush()
        _notify_approvers(request, following)
        return request
    request.status = APPROVED
    request.approved_at = now
    request.current_level_position = None
    db.session.flush()
    _notify_requester(
        request,
        subject=_l("%(number)s approved: %(title)s", number=request.number, title=request.title),
        body=_l(
            "Your procurement request %(number)s (%(title)s) has been approved at every level.",
            number=request.number,
            title=request.title,
        ),
    )
    return request


def reject(
    request: ProcurementRequest,
    *,
    actor: User,
    reason: str,
    now: datetime | None = None,
) -> ProcurementRequest:
    """Reject at the level waiting; a reason is required. Rejected is final (copy the request
    into a new draft to try again); the requester is told."""
    if request.status == SUBMITTED and _active(actor) and request.requester_id == actor.id:
        raise ProcurementPermissionError(_approval_refusal(actor, request))
    level = _decision_checks(request, actor, "reject")
    reason = _remark(reason, _("Give the reason for rejecting the request."))
    now = now or utcnow()
    _record(request, ProcurementAction.REJECTED, actor=actor, remark=reason, level=level, now=now)
    request.status = REJECTED
    request.rejection_reason = reason
    request.current_level_position = None
    db.session.flush()
    _notify_requester(
        request,
        subject=_l("%(number)s rejected: %(title)s", number=request.number, title=request.title),
        body=_l(
            "Your procurement request %(number)s (%(title)s) was rejected at level %(level)s: "
            "%(reason)s",
            number=request.number,
            title=request.title,
            level=level.name,
            reason=reason,
        ),
    )
    return request


def record_order(
    request: ProcurementRequest,
    *,
    actor: User,
    order_reference: str,
    vendor_id: int | None,
    order_date: date | None,
    actual_costs: dict[int, Decimal | str | None],
    remark: str = "",
    now: datetime | None = None,
) -> ProcurementRequest:
    """The order placed (GeM or otherwise): its reference, the vendor, the date and the actual
    unit cost of every line. All problems are reported at once."""
    require(actor, "order", request)
    _check_move(request, "order")
    now = now or utcnow()
    errors: list[tuple[str | None, str]] = []
    reference = (order_reference or "").strip()
    if not reference:
        errors.append(
            ("order_reference", _("Give the order reference (for example the GeM order ID)."))
        )
    elif len(reference) > ORDER_REFERENCE_MAX:
        errors.append(("order_reference", _("At most %(n)d characters.", n=ORDER_REFERENCE_MAX)))
    vendor = db.session.get(Vendor, vendor_id) if vendor_id else None
    if vendor is None:
        errors.append(("vendor_id", _("Choose the vendor the order was placed with.")))
    if order_date is None:
        errors.append(("order_date", _("Give the order date.")))
    elif order_date > local_today(now):
        errors.append(("order_date", _("The order date cannot be in the future.")))
    elif request.approved_at is not None and order_date < local_today(request.approved_at):
        errors.append(
            (
                "order_date",
                _(
                    "The order date cannot be before the approval (%(day)s).",
                    day=local_today(request.approved_at).strftime("%d-%m-%Y"),
                ),
            )
        )
    costs: dict[int, Decimal] = {}
    for line in request.lines:
        try:
            cost = parse_money(actual_costs.get(line.id))
        except ValueError:
            cost = None
            errors.append(
                (
                    f"cost-{line.id}",
                    _("Line %(n)d: the actual unit cost is not an amount.", n=line.position),
                )
            )
            continue
        if cost is None:
            errors.append(
                (f"cost-{line.id}", _("Line %(n)d: give the actual unit cost.", n=line.position))
            )
        elif cost < 0 or cost > COST_MAX:
            errors.append(
                (
                    f"cost-{line.id}",
                    _(
                        "Line %(n)d: the actual unit cost must be between 0 and %(max)s.",
                        n=line.position,
                        max=COST_MAX,
                    ),
                )
            )
        else:
            costs[line.id] = cost
    try:
        remark = _remark(remark)
    except ProcurementError as exc:
        errors.extend(exc.errors)
    if errors:
        raise ProcurementError(errors[0][1], errors[0][0], errors=errors)
    request.order_reference = reference
    request.vendor = vendor
    request.order_date = order_date
    for line in request.lines:
        line.actual_unit_cost = costs[line.id]
    request.status = ORDERED
    request.ordered_at = now
    _record(
        request,
        ProcurementAction.ORDERED,
        actor=actor,
        remark=remark
        or _("Order %(reference)s with %(vendor)s.", reference=reference, vendor=vendor.name),
        now=now,
    )
    db.session.flush()
    return request


def cancel(
    request: ProcurementRequest,
    *,
    actor: User,
    reason: str,
    now: datetime | None = None,
) -> ProcurementRequest:
    """Cancel before anything is received; a reason is required. Cancelled is final."""
    _check_move(request, "cancel")
    require(actor, "cancel", request)
    reason = _remark(reason, _("Give the reason for cancelling the request."))
    now = now or utcnow()
    request.status = CANCELLED
    request.cancelled_at = now
    request.current_level_position = None
    _record(request, ProcurementAction.CANCELLED, actor=actor, remark=reason, now=now)
    db.session.flush()
    return request


def close(
    request: ProcurementRequest,
    *,
    actor: User,
    remark: str = "",
    now: datetime | None = None,
) -> ProcurementRequest:
    """Close a received request (the file is done), or a partly received one short: then
    the remark must say why the rest will not come."""
    require(actor, "close", request)
    _check_move(request, "close")
    remark = _remark(
        remark,
        _("Say why the rest of the order will not be received.")
        if request.status == PARTLY_RECEIVED
        else None,
    )
    now = now or utcnow()
    request.status = CLOSED
    request.closed_at = now
    _record(request, ProcurementAction.CLOSED, actor=actor, remark=remark, now=now)
    db.session.flush()
    return request


# -- receipts (the receipt module's figures) -------------------------------------------------


def received_quantities(request_id: int) -> dict[int, int]:
    """Units received per line id, from the receipt module (empty while it is absent)."""
    try:
        from inventory.procurement.receiving import received_by_line
    except ImportError:
        return {}
    return {int(k): int(v) for k, v in (received_by_line(request_id) or {}).items()}


def received_quantity(line: RequestLine) -> int:
    return received_quantities(line.request_id).get(line.id, 0)


def refresh_receipt_status(
    request: ProcurementRequest, *, actor: User | None = None, now: datetime | None = None
) -> str:
    """Set an ordered request's status from what has been received: nothing -> ordered,
    some -> partly received, every unit of every line -> received (received_at set).
    Each change is recorded as a step. Other statuses are left alone. Returns the status."""
    if request.status not in RECEIPT_STATUSES:
        return request.status
    received = received_quantities(request.id)
    total = sum(received.get(line.id, 0) for line in request.lines)
    complete = bool(request.lines) and all(
        received.get(line.id, 0) >= line.quantity for line in request.lines
    )
    if complete:
        target = RECEIVED
    elif total > 0:
        target = PARTLY_RECEIVED
    else:
        target = ORDERED
    if target == request.status:
        return target
    now = now or utcnow()
    request.status = target
    request.received_at = now if target == RECEIVED else None
    if target in (PARTLY_RECEIVED, RECEIVED):
        action = ProcurementAction(target)
        _record(request, action, actor=actor, now=now)
    db.session.flush()
    return target


# -- attachments -----------------------------------------------------------------------------


def add_attachment(
    request: ProcurementRequest, upload, *, kind: str, actor: User
) -> RequestAttachment:
    """Attach a quotation, sanction letter or other paper (JPEG/PNG/WebP/PDF, at most
    PROCUREMENT_ATTACHMENT_MAX_BYTES). Not on closed or cancelled requests."""
    from inventory.files.services import store_upload

    require(actor, "attach", request)
    if request.status in (CLOSED, CANCELLED):
        raise ProcurementError(
            _(
                "%(number)s is %(status)s; nothing more can be attached.",
                number=request.number,
                status=_status_word(request.status),
            )
        )
    if kind not in ProcurementAttachmentKind.values():
        raise ProcurementError(_("Not a valid choice."), "kind")
    limit = int(current_app.config.get("PROCUREMENT_ATTACHMENTS_MAX", 30))
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RequestAttachment)
        .where(RequestAttachment.request_id == request.id)
    )
    if count >= limit:
        raise ProcurementError(_("At most %(n)d files can be attached to a request.", n=limit))
    stored = store_upload(
        upload,
        kinds=("image", "pdf"),
        max_bytes=int(current_app.config.get("PROCUREMENT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)),
        uploaded_by=actor,
    )
    attachment = RequestAttachment(
        request=request, stored_file_id=stored.id, kind=kind, uploaded_by_id=actor.id
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


# -- notifications ---------------------------------------------------------------------------


def request_path(request_id: int) -> str:
    """The request page's path, whether or not the views are registered."""
    from werkzeug.routing import BuildError

    try:
        return current_app.url_map.bind("localhost").build(
            "procurement.detail", {"request_id": request_id}
        )
    except BuildError:
        return f"/procurement/{request_id}"


def _notify_approvers(request: ProcurementRequest, level: ApprovalLevel) -> None:
    from inventory.notifications.services import notify

    users = [u for u in level.approvers if u.id != request.requester_id]
    if not users:
        return
    notify(
        users,
        kind=NotificationKind.PROCUREMENT_APPROVAL.value,
        subject=_l(
            "%(number)s waits for your approval (%(level)s): %(title)s",
            number=request.number,
            level=level.name,
            title=request.title,
        ),
        body=_l(
            "Procurement request %(number)s (%(title)s, estimated %(total)s) waits for a "
            "decision at level %(level)s.",
            number=request.number,
            title=request.title,
            total=str(request.estimated_total),
            level=level.name,
        ),
        url=request_path(request.id),
        dedupe_key=f"pr:{request.id}:{level.position}:{request.submitted_at.isoformat()}",
    )


def _notify_requester(request: ProcurementRequest, *, subject, body) -> None:
    from inventory.notifications.services import notify

    if request.requester is None:
        return
    notify(
        [request.requester],
        kind=NotificationKind.PROCUREMENT_DECIDED.value,
        subject=subject,
        body=body,
        url=request_path(request.id),
    )


# -- lists -----------------------------------------------------------------------------------


@dataclass
class RequestFilter:
    q: str = ""
    status: str = ""
    budget_head_id: int | None = None
    financial_year: str = ""
    site_id: int | None = None  # a destination at this site or below it
    requester_id: int | None = None
    sort: str = "number"
    descending: bool = True


SORTS = {
    "number": ProcurementRequest.id,
    "title": ProcurementRequest.title,
    "status": ProcurementRequest.status,
    "year": ProcurementRequest.financial_year,
    "updated": ProcurementRequest.updated_at,
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def request_query(flt: RequestFilter):
    """The list's SELECT: filters, then the sort (newest first by default)."""
    query = sa.select(ProcurementRequest)
    if flt.q:
        pattern = _like(flt.q.strip())
        query = query.where(
            sa.or_(
                sa.func.lower(ProcurementRequest.number).like(pattern, escape="\\"),
                sa.func.lower(ProcurementRequest.title).like(pattern, escape="\\"),
                sa.func.lower(ProcurementRequest.order_reference).like(pattern, escape="\\"),
            )
        )
    if flt.status:
        query = query.where(ProcurementRequest.status == flt.status)
    if flt.budget_head_id:
        query = query.where(ProcurementRequest.budget_head_id == flt.budget_head_id)
    if flt.financial_year:
        query = query.where(ProcurementRequest.financial_year == flt.financial_year)
    if flt.requester_id:
        query = query.where(ProcurementRequest.requester_id == flt.requester_id)
    if flt.site_id:
        destined = (
            sa.select(RequestLine.request_id)
            .join(LineDestination, LineDestination.line_id == RequestLine.id)
            .where(subtree_condition(LineDestination.site_id, flt.site_id))
        )
        query = query.where(ProcurementRequest.id.in_(destined))
    column = SORTS.get(flt.sort, ProcurementRequest.id)
    order = column.desc() if flt.descending else column.asc()
    return query.order_by(order, ProcurementRequest.id.desc())


def waiting_query(user: User | None):
    """Submitted requests waiting at a level where `user` is an approver (never their own),
    oldest submission first."""
    positions = [level.position for level in levels_of(user)]
    if not positions:
        return None
    return (
        sa.select(ProcurementRequest)
        .where(
            ProcurementRequest.status == SUBMITTED,
            ProcurementRequest.current_level_position.in_(positions),
            ProcurementRequest.requester_id != user.id,
        )
        .order_by(ProcurementRequest.submitted_at, ProcurementRequest.id)
    )


def waiting_for(user: User | None) -> list[ProcurementRequest]:
    """waiting_query's requests that `user` may decide on now (not the ones they approved at an
    earlier level)."""
    query = waiting_query(user)
    if query is None:
        return []
    return [r for r in db.session.scalars(query) if permitted(user, "approve", r)]


def waiting_count(user: User | None) -> int:
    """How many requests wait for the user's decision (the nav's count; two small queries)."""
    query = waiting_query(user)
    if query is None:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    )


# -- the page's history ----------------------------------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "step" or "change"
    who: str
    step: ApprovalAction | None = None
    change: object | None = None


def timeline(request: ProcurementRequest) -> list[TimelineEntry]:
    """The workflow steps and the change log of the request, its lines and their destinations,
    oldest first."""
    from inventory.audit.models import ChangeLog

    entries = [
        TimelineEntry(
            at=step.created_at,
            kind="step",
            who=step.actor.display_name if step.actor else _("System"),
            step=step,
        )
        for step in request.actions
    ]
    prefix = f"{request.number} · "
    changes = db.session.scalars(
        sa.select(ChangeLog)
        .where(
            sa.or_(
                sa.and_(
                    ChangeLog.object_type == ProcurementRequest.__tablename__,
                    ChangeLog.object_id == request.id,
                ),
                sa.and_(
                    ChangeLog.object_type.in_(
                        (RequestLine.__tablename__, LineDestination.__tablename__)
                    ),
                    ChangeLog.object_label.startswith(prefix, autoescape=True),
                ),
            )
        )
        .order_by(ChangeLog.id)
    )
    for change in changes:
        entries.append(
            TimelineEntry(at=change.created_at, kind="change", who=change.actor_name, change=change)
        )
    entries.sort(key=lambda e: (e.at, 0 if e.kind == "step" else 1))
    return entries
