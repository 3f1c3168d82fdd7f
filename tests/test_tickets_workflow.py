"""The ticket workflow: every legal transition, every illegal one refused with a message, the
timestamps and open_key each move sets or clears, assignment, and the asset under repair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
import sqlalchemy as sa

from inventory.audit.models import ChangeLog
from inventory.audit.services import acting_as
from inventory.extensions import db
from inventory.tickets import services
from inventory.tickets.models import Ticket, TicketComment
from inventory.tickets.services import (
    ASSIGNED,
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    OPEN,
    RESOLVED,
    TRANSITIONS,
    WAITING,
    TicketError,
    TicketPermissionError,
)

T0 = datetime(2025, 3, 3, 4, 30, tzinfo=UTC)


@pytest.fixture
def world(district, make_asset, make_user):
    asset = make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"), serial="WF-1")
    return {
        "site": district["block"],
        "asset": asset,
        "engineer": make_user("engineer", username="eng-asha"),
        "other": make_user("engineer", username="eng-ravi"),
        "manager": make_user("manager", username="mgr-sunil"),
        "viewer": make_user("viewer", username="view-dm"),
    }


@pytest.fixture
def new_ticket(world):
    def make(**fields) -> Ticket:
        ticket = services.open_ticket(
            site=fields.pop("site", world["site"]),
            asset=fields.pop("asset", world["asset"]),
            title=fields.pop("title", "Projector shows no picture"),
            now=fields.pop("now", T0),
            **fields,
        )
        db.session.commit()
        return ticket

    return make


# The path from a new ticket to each status, as the manager walks it.
PATHS = {
    OPEN: [],
    ASSIGNED: ["assign"],
    IN_PROGRESS: ["assign", IN_PROGRESS],
    WAITING: ["assign", IN_PROGRESS, WAITING],
    RESOLVED: ["assign", IN_PROGRESS, RESOLVED],
    CLOSED: ["assign", IN_PROGRESS, RESOLVED, CLOSED],
    CANCELLED: [CANCELLED],
}


def bring(ticket: Ticket, status: str, world, *, assignee="engineer") -> Ticket:
    for step in PATHS[status]:
        if step == "assign":
            services.assign(ticket, assignee=world[assignee], actor=world["manager"])
        else:
            services.move(ticket, step, actor=world["manager"], now=T0 + timedelta(hours=1))
    db.session.commit()
    assert ticket.status == status
    return ticket


def test_the_table_is_the_issue_workflow():
    assert TRANSITIONS[OPEN] == {ASSIGNED, CANCELLED}
    assert TRANSITIONS[ASSIGNED] == {OPEN, IN_PROGRESS, RESOLVED, CANCELLED}
    assert TRANSITIONS[IN_PROGRESS] == {WAITING, RESOLVED, CANCELLED}
    assert TRANSITIONS[WAITING] == {IN_PROGRESS, RESOLVED, CANCELLED}
    assert TRANSITIONS[RESOLVED] == {CLOSED, OPEN, ASSIGNED}
    assert TRANSITIONS[CLOSED] == {OPEN, ASSIGNED}
    assert TRANSITIONS[CANCELLED] == frozenset()


LEGAL = sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets)


@pytest.mark.parametrize(("start", "target"), LEGAL)
def test_every_legal_transition(world, new_ticket, start, target):
    ticket = bring(new_ticket(), start, world)
    when = T0 + timedelta(days=2)
    manager = world["manager"]
    if start in (OPEN, ASSIGNED) and target in (OPEN, ASSIGNED):
        # open <-> assigned is what assigning someone or nobody does
        services.assign(
            ticket, assignee=world["engineer"] if target == ASSIGNED else None, actor=manager
        )
    elif start in (RESOLVED, CLOSED) and target in (OPEN, ASSIGNED):
        if target == OPEN:
            # Reopening goes to the open queue when nobody is assigned any more (the
            # assignee's account was deleted: the foreign key is SET NULL).
            ticket.assignee = None
            db.session.flush()
        services.reopen(ticket, actor=manager, note="Fault is back", now=when)
    else:
        services.move(ticket, target, actor=manager, note=f"to {target}", now=when)
    db.session.commit()
    db.session.refresh(ticket)
    assert ticket.status == target
    if target == RESOLVED:
        assert ticket.resolved_at == when
        assert ticket.closed_at is None
    elif target == CLOSED:
        assert ticket.closed_at == when
        assert ticket.resolved_at == T0 + timedelta(hours=1)
    elif target == CANCELLED:
        assert ticket.closed_at == when
        assert ticket.resolved_at is None
    else:
        assert ticket.resolved_at is None
        assert ticket.closed_at is None


ILLEGAL = sorted((a, b) for a, b in product(TRANSITIONS, repeat=2) if b not in TRANSITIONS[a])


@pytest.mark.parametrize(("start", "target"), ILLEGAL)
def test_every_illegal_transition_is_refused(world, new_ticket, start, target):
    ticket = bring(new_ticket(), start, world)
    with pytest.raises(TicketError) as caught:
        services.move(ticket, target, actor=world["manager"])
    assert str(caught.value)
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).status == start


@pytest.mark.parametrize(
    ("start", "target", "message"),
    [
        (CLOSED, IN_PROGRESS, "A closed ticket cannot move to in progress; reopen it first."),
        (RESOLVED, WAITING, "A resolved ticket cannot move to waiting (vendor/parts); reopen"),
        (CANCELLED, OPEN, "A cancelled ticket cannot be changed"),
        (OPEN, IN_PROGRESS, "A ticket that is open cannot move to in progress."),
        (IN_PROGRESS, CLOSED, "A ticket that is in progress cannot move to closed."),
        (WAITING, WAITING, "The ticket is already waiting (vendor/parts)."),
    ],
)
def test_refusals_say_why(world, new_ticket, start, target, message):
    ticket = bring(new_ticket(), start, world)
    with pytest.raises(TicketError, match=message.replace("(", r"\(").replace(")", r"\)")):
        services.move(ticket, target, actor=world["manager"])


def test_reopen_goes_back_to_the_assignee_or_the_queue(world, new_ticket):
    ticket = bring(new_ticket(), CLOSED, world)
    services.reopen(ticket, actor=world["manager"])
    assert ticket.status == ASSIGNED
    assert ticket.resolved_at is None and ticket.closed_at is None

    vendor_only = new_ticket(title="Vendor job")
    from inventory.vendors.models import Vendor

    vendor = Vendor(name="Shakti Infotech")
    db.session.add(vendor)
    services.assign(vendor_only, vendor=vendor, vendor_engineer="Manoj", actor=world["manager"])
    services.move(vendor_only, RESOLVED, actor=world["manager"])
    services.reopen(vendor_only, actor=world["manager"])
    assert vendor_only.status == ASSIGNED  # a vendor counts as someone working on it

    with pytest.raises(TicketError, match="A ticket that is assigned cannot move to closed"):
        services.move(ticket, CLOSED, actor=world["manager"])
    services.move(ticket, RESOLVED, actor=world["manager"])
    with pytest.raises(TicketError, match="A reopened ticket goes back"):
        services.move(ticket, OPEN, actor=world["manager"])  # it has an assignee


def test_a_cancelled_ticket_cannot_be_reopened(world, new_ticket):
    ticket = bring(new_ticket(), CANCELLED, world)
    with pytest.raises(TicketError, match="cancelled ticket cannot be changed"):
        services.reopen(ticket, actor=world["manager"])
    open_one = new_ticket()
    with pytest.raises(TicketError, match="Only a resolved or closed ticket can be reopened"):
        services.reopen(open_one, actor=world["manager"])


def test_a_note_on_a_move_becomes_a_comment(world, new_ticket):
    ticket = bring(new_ticket(), ASSIGNED, world)
    services.move(ticket, IN_PROGRESS, actor=world["engineer"], note="On my way to the site")
    db.session.commit()
    comment = db.session.scalar(
        sa.select(TicketComment).where(TicketComment.ticket_id == ticket.id)
    )
    assert comment.body == "On my way to the site"
    assert comment.author_id == world["engineer"].id
    assert not comment.is_system


# -- open_key --------------------------------------------------------------------------------


def test_open_key_is_cleared_on_leaving_and_restored_on_reopening(world, new_ticket):
    asset = world["asset"]
    ticket = new_ticket(cause="health:down")
    assert ticket.open_key == f"{asset.id}:health:down"
    bring_steps = ["assign", IN_PROGRESS, RESOLVED]
    for step in bring_steps:
        if step == "assign":
            services.assign(ticket, assignee=world["engineer"], actor=world["manager"])
        else:
            services.move(ticket, step, actor=world["manager"])
    assert ticket.open_key is None
    services.move(ticket, CLOSED, actor=world["manager"])
    db.session.commit()
    services.reopen(ticket, actor=world["manager"])
    db.session.commit()
    assert ticket.open_key == f"{asset.id}:health:down"
    services.move(ticket, CANCELLED, actor=world["manager"], note="Duplicate")
    assert ticket.open_key is None


def test_reopening_is_refused_when_a_newer_ticket_is_open_for_the_same_cause(world, new_ticket):
    first = new_ticket(cause="health:down")
    services.assign(first, assignee=world["engineer"], actor=world["manager"])
    services.move(first, RESOLVED, actor=world["manager"])
    db.session.commit()
    second = new_ticket(cause="health:down", title="Down again")
    assert second.open_key == first.open_key or first.open_key is None
    with pytest.raises(TicketError, match=rf"{second.number} is already open"):
        services.reopen(first, actor=world["manager"])
    db.session.rollback()
    assert db.session.get(Ticket, first.id).status == RESOLVED


# -- who may move ----------------------------------------------------------------------------


def test_the_assigned_engineer_works_the_ticket_but_does_not_close_it(world, new_ticket):
    ticket = bring(new_ticket(), ASSIGNED, world)
    engineer = world["engineer"]
    services.move(ticket, IN_PROGRESS, actor=engineer)
    services.move(ticket, WAITING, actor=engineer)
    services.move(ticket, IN_PROGRESS, actor=engineer)
    services.move(ticket, RESOLVED, actor=engineer)
    with pytest.raises(TicketPermissionError, match="Only a manager"):
        services.move(ticket, CLOSED, actor=engineer)
    with pytest.raises(TicketPermissionError, match="Only a manager"):
        services.reopen(ticket, actor=engineer)
    services.move(ticket, CLOSED, actor=world["manager"])


@pytest.mark.parametrize("who", ["other", "viewer"])
def test_others_cannot_move_a_ticket(world, new_ticket, who):
    ticket = bring(new_ticket(), ASSIGNED, world)
    with pytest.raises(TicketPermissionError):
        services.move(ticket, IN_PROGRESS, actor=world[who])
    with pytest.raises(TicketPermissionError):
        services.move(ticket, CANCELLED, actor=world["engineer"])  # cancelling is the manager's


def test_available_moves_follow_the_table_and_the_role(world, new_ticket):
    ticket = bring(new_ticket(), ASSIGNED, world)
    actions = {m.action for m in services.available_moves(ticket, world["engineer"])}
    assert actions == {"start", "resolve"}
    assert services.available_moves(ticket, world["other"]) == []
    assert services.available_moves(ticket, world["viewer"]) == []
    services.move(ticket, IN_PROGRESS, actor=world["engineer"])
    actions = {m.action for m in services.available_moves(ticket, world["manager"])}
    assert actions == {"wait", "resolve"}  # cancel has its own confirmation page
    services.move(ticket, RESOLVED, actor=world["engineer"])
    assert {m.action for m in services.available_moves(ticket, world["engineer"])} == set()
    assert {m.action for m in services.available_moves(ticket, world["manager"])} == {
        "close",
        "reopen",
    }


# -- assignment ------------------------------------------------------------------------------


def test_assigning_notifies_the_assignee(world, new_ticket):
    from inventory.notifications.models import Notification

    ticket = new_ticket()
    services.assign(ticket, assignee=world["engineer"], actor=world["manager"], note="Urgent")
    db.session.commit()
    assert ticket.status == ASSIGNED
    rows = db.session.scalars(
        sa.select(Notification).where(Notification.ticket_id == ticket.id)
    ).all()
    assert [(n.user_id, n.kind) for n in rows] == [(world["engineer"].id, "ticket_assigned")]
    assert ticket.number in rows[0].subject
    assert rows[0].url == f"/tickets/{ticket.id}"
    # the same assignee again: no second notification; a manager assigning themselves: none
    services.assign(ticket, assignee=world["engineer"], actor=world["manager"])
    services.assign(ticket, assignee=world["manager"], actor=world["manager"])
    db.session.commit()
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.ticket_id == ticket.id)
        )
        == 1
    )


def test_assignment_rules(world, new_ticket):
    ticket = new_ticket()
    with pytest.raises(TicketError, match="Only an active engineer"):
        services.assign(ticket, assignee=world["viewer"], actor=world["manager"])
    with pytest.raises(TicketError, match="Choose the vendor"):
        services.assign(ticket, vendor_engineer="Manoj", actor=world["manager"])
    with pytest.raises(TicketPermissionError):
        services.assign(ticket, assignee=world["engineer"], actor=world["engineer"])
    services.assign(ticket, assignee=world["engineer"], actor=world["manager"])
    services.move(ticket, IN_PROGRESS, actor=world["engineer"])
    with pytest.raises(TicketError, match="needs someone"):
        services.assign(ticket, assignee=None, actor=world["manager"])
    services.assign(ticket, assignee=world["other"], actor=world["manager"])
    assert ticket.status == IN_PROGRESS  # reassigning keeps the work's status
    services.move(ticket, RESOLVED, actor=world["other"])
    with pytest.raises(TicketError, match="reopen it first"):
        services.assign(ticket, assignee=world["engineer"], actor=world["manager"])


def test_unassigning_puts_an_assigned_ticket_back_in_the_queue(world, new_ticket):
    ticket = bring(new_ticket(), ASSIGNED, world)
    services.assign(ticket, assignee=None, actor=world["manager"])
    assert ticket.status == OPEN
    assert ticket.assignee_id is None


# -- the asset under repair ------------------------------------------------------------------


def _asset_history(asset_id):
    return db.session.scalars(
        sa.select(ChangeLog)
        .where(ChangeLog.object_type == "assets", ChangeLog.object_id == asset_id)
        .order_by(ChangeLog.id)
    ).all()


def test_the_asset_goes_under_repair_and_back_with_the_ticket_number(world, new_ticket):
    asset = world["asset"]
    ticket = bring(new_ticket(), ASSIGNED, world)
    services.move(ticket, IN_PROGRESS, actor=world["engineer"], mark_asset=True)
    db.session.commit()
    assert asset.status == "under_repair"
    assert ticket.repair_marked
    services.move(ticket, WAITING, actor=world["engineer"], mark_asset=True)  # already: no change
    with acting_as(world["engineer"]):  # as a request by the engineer would
        services.move(ticket, RESOLVED, actor=world["engineer"], mark_asset=True)
    db.session.commit()
    assert asset.status == "deployed"
    assert not ticket.repair_marked
    history = _asset_history(asset.id)
    changes = [row.changes for row in history if "status" in row.changes]
    assert changes[-2] == {"status": ["deployed", "under_repair"], "ticket": [None, ticket.number]}
    assert changes[-1] == {"status": ["under_repair", "deployed"], "ticket": [None, ticket.number]}
    assert history[-1].actor_name == world["engineer"].username


def test_without_the_checkbox_the_asset_is_left_alone(world, new_ticket):
    ticket = bring(new_ticket(), ASSIGNED, world)
    before = len(_asset_history(world["asset"].id))
    services.move(ticket, IN_PROGRESS, actor=world["engineer"])
    services.move(ticket, RESOLVED, actor=world["engineer"], mark_asset=True)  # not under repair
    db.session.commit()
    assert world["asset"].status == "deployed"
    assert len(_asset_history(world["asset"].id)) == before


def test_cancelling_can_set_the_asset_back(world, new_ticket):
    ticket = bring(new_ticket(), ASSIGNED, world)
    services.move(ticket, IN_PROGRESS, actor=world["engineer"], mark_asset=True)
    services.move(ticket, CANCELLED, actor=world["manager"], note="Reported twice", mark_asset=True)
    db.session.commit()
    assert world["asset"].status == "deployed"


def test_a_condemned_asset_is_not_marked(world, new_ticket, make_asset, district):
    condemned = make_asset(district["csc"], "DSK", status="condemned", serial="WF-C")
    ticket = new_ticket(asset=condemned)
    services.assign(ticket, assignee=world["engineer"], actor=world["manager"])
    with pytest.raises(TicketError, match="condemned"):
        services.move(ticket, IN_PROGRESS, actor=world["engineer"], mark_asset=True)
