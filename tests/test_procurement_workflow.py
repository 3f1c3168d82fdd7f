"""The procurement workflow through its services: every legal step, the refusals and their
messages, self-approval, level order, rejection reasons, cancelling, the receipt statuses,
notifications and the recorded steps."""

from __future__ import annotations

import sys
import types
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from inventory.choices import ProcurementAction
from inventory.extensions import db
from inventory.notifications.models import Notification
from inventory.procurement import services
from inventory.procurement.models import ApprovalAction, ProcurementRequest
from inventory.vendors.models import Vendor


@pytest.fixture
def world(app, categories, district, make_user):
    """Budget heads, two approval levels (DIO, then CDO) with their approvers, a vendor."""
    from inventory.catalog.services import get_category_by_code

    services.ensure_default_budget_heads()
    requester = make_user("engineer", username="requester", full_name="Ram Engineer")
    manager = make_user("manager", username="manager")
    dio = make_user("viewer", username="dio", full_name="District IT Officer")
    cdo = make_user("manager", username="cdo", full_name="Chief Development Officer")
    admin = make_user("admin", username="admin")
    services.save_level(None, position=1, name="DIO", approver_ids=[dio.id])
    services.save_level(None, position=2, name="CDO", approver_ids=[cdo.id])
    vendor = Vendor(name="GeM seller Lucknow", kind="supplier")
    db.session.add(vendor)
    db.session.commit()
    return types.SimpleNamespace(
        requester=requester,
        manager=manager,
        dio=dio,
        cdo=cdo,
        admin=admin,
        vendor=vendor,
        head=services.budget_heads()[0],
        prj=get_category_by_code("PRJ"),
        ups=get_category_by_code("UPS") or get_category_by_code("OTH"),
        sites=district,
    )


def make_draft(w, requester=None, **changes):
    lines = changes.pop(
        "lines",
        [
            services.LineIn(
                category_id=w.prj.id,
                quantity=3,
                estimated_unit_cost="45,000",
                destinations=[(w.sites["tehsil"].id, 1), (w.sites["block"].id, 2)],
            ),
            services.LineIn(
                category_id=w.ups.id,
                quantity=1,
                estimated_unit_cost=Decimal("8000.50"),
                destinations=[(w.sites["csc"].id, 1)],
            ),
        ],
    )
    pr = services.create_request(
        requester=requester or w.requester,
        title=changes.pop("title", "Projectors for the tehsils"),
        budget_head_id=changes.pop("budget_head_id", w.head.id),
        lines=lines,
        **changes,
    )
    db.session.commit()
    return pr


def approved(w, pr):
    services.submit(pr, actor=w.manager)
    services.approve(pr, actor=w.dio)
    services.approve(pr, actor=w.cdo)
    db.session.commit()
    return pr


def ordered(w, pr):
    approved(w, pr)
    services.record_order(
        pr,
        actor=w.manager,
        order_reference="GEMC-511687712345678",
        vendor_id=w.vendor.id,
        order_date=services.local_today(),
        actual_costs={line.id: "42000" if line.position == 1 else "7999" for line in pr.lines},
    )
    db.session.commit()
    return pr


def steps(pr) -> list[tuple[str, int | None, str]]:
    rows = db.session.scalars(
        sa.select(ApprovalAction)
        .where(ApprovalAction.request_id == pr.id)
        .order_by(ApprovalAction.id)
    )
    return [(s.action, s.level_position, s.actor.username if s.actor else None) for s in rows]


# -- drafting ------------------------------------------------------------------------------


def test_a_draft_gets_a_number_of_its_financial_year_and_computed_totals(world):
    pr = make_draft(world)
    fy = services.current_financial_year()
    assert pr.number == f"PR-{fy}-0001"
    assert pr.financial_year == fy
    assert pr.status == "draft"
    assert [line.estimated_total for line in pr.lines] == [Decimal("135000.00"), Decimal("8000.50")]
    assert pr.estimated_total == Decimal("143000.50")
    assert pr.actual_total is None
    second = make_draft(world)
    assert second.number == f"PR-{fy}-0002"
    assert steps(pr) == [("created", None, "requester")]


def test_draft_lines_are_checked_all_at_once(world):
    bad = [
        services.LineIn(
            category_id=world.prj.id,
            quantity=3,
            estimated_unit_cost="abc",
            destinations=[(world.sites["tehsil"].id, 1)],
        ),
        services.LineIn(category_id=None, quantity=0, estimated_unit_cost="", destinations=[]),
    ]
    with pytest.raises(services.ProcurementError) as caught:
        make_draft(world, lines=bad)
    messages = [m for _f, m in caught.value.errors]
    assert "Line 1: the estimated unit cost is not an amount." in messages
    assert "Line 1: the destinations add up to 1 but the quantity is 3." in messages
    assert "Line 2: choose a category." in messages
    assert any(m.startswith("Line 2: the quantity must be a whole number") for m in messages)
    assert any(m.startswith("Line 2: say where they go") for m in messages)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 0


def test_a_site_named_twice_and_a_model_of_another_category_are_refused(world):
    from inventory.catalog.services import get_or_create_model

    desk_model = get_or_create_model("HP", "ProDesk 400", world.ups)
    lines = [
        services.LineIn(
            category_id=world.prj.id,
            model_id=desk_model.id,
            quantity=2,
            estimated_unit_cost="1",
            destinations=[(world.sites["csc"].id, 1), (world.sites["csc"].id, 1)],
        )
    ]
    with pytest.raises(services.ProcurementError) as caught:
        make_draft(world, lines=lines)
    messages = " ".join(m for _f, m in caught.value.errors)
    assert "is named twice" in messages
    assert "ProDesk 400 is not a" in messages


def test_editing_a_draft_changes_lines_in_place(world):
    pr = make_draft(world)
    first_line_id = pr.lines[0].id
    services.update_request(
        pr,
        actor=world.requester,
        title="Projectors for every tehsil",
        budget_head_id=world.head.id,
        financial_year="2025-26",
        lines=[
            services.LineIn(
                category_id=world.prj.id,
                quantity=4,
                estimated_unit_cost="40000",
                destinations=[(world.sites["tehsil"].id, 4)],
            )
        ],
    )
    db.session.commit()
    assert [line.id for line in pr.lines] == [first_line_id]
    assert pr.lines[0].quantity == 4
    assert [(d.site_id, d.quantity) for d in pr.lines[0].destinations] == [
        (world.sites["tehsil"].id, 4)
    ]
    assert pr.financial_year == "2025-26"
    assert pr.estimated_total == Decimal("160000.00")


def test_only_the_requester_or_a_manager_edits_and_only_a_draft(world, make_user):
    pr = make_draft(world)
    other = make_user("engineer")
    args = {"title": "x", "budget_head_id": world.head.id, "lines": []}
    with pytest.raises(services.ProcurementPermissionError):
        services.update_request(pr, actor=other, **args)
    services.submit(pr, actor=world.manager)
    with pytest.raises(services.ProcurementError, match="Only a draft can be edited"):
        services.update_request(pr, actor=world.manager, **args)


# -- the workflow --------------------------------------------------------------------------


def test_every_legal_step_from_draft_to_closed(world, monkeypatch):
    received: dict[int, int] = {}
    fake = types.ModuleType("inventory.procurement.receiving")
    fake.received_by_line = lambda request_id: dict(received)
    monkeypatch.setitem(sys.modules, "inventory.procurement.receiving", fake)

    pr = make_draft(world)
    services.submit(pr, actor=world.manager, remark="Urgent for the elections")
    assert (pr.status, pr.current_level_position) == ("submitted", 1)
    assert services.awaited_level(pr).name == "DIO"
    services.approve(pr, actor=world.dio, remark="Within the DeGS fund")
    assert (pr.status, pr.current_level_position) == ("submitted", 2)
    assert pr.approved_at is None
    services.approve(pr, actor=world.cdo)
    assert (pr.status, pr.current_level_position) == ("approved", None)
    assert pr.approved_at is not None
    services.record_order(
        pr,
        actor=world.manager,
        order_reference="GEMC-511687712345678",
        vendor_id=world.vendor.id,
        order_date=services.local_today(),
        actual_costs={pr.lines[0].id: "42,000", pr.lines[1].id: "7999.00"},
    )
    assert pr.status == "ordered"
    assert pr.actual_total == Decimal("133999.00")
    assert services.refresh_receipt_status(pr) == "ordered"
    received.update({pr.lines[0].id: 2})
    assert services.refresh_receipt_status(pr, actor=world.requester) == "partly_received"
    assert pr.received_at is None
    received.update({pr.lines[0].id: 3, pr.lines[1].id: 1})
    assert services.refresh_receipt_status(pr, actor=world.requester) == "received"
    assert pr.received_at is not None
    services.close(pr, actor=world.manager, remark="File complete")
    assert pr.status == "closed" and pr.closed_at is not None
    db.session.commit()
    assert steps(pr) == [
        ("created", None, "requester"),
        ("submitted", None, "manager"),
        ("approved", 1, "dio"),
        ("approved", 2, "cdo"),
        ("ordered", None, "manager"),
        ("partly_received", None, "requester"),
        ("received", None, "requester"),
        ("closed", None, "manager"),
    ]
    remarks = [s.remark for s in pr.actions]
    assert "Urgent for the elections" in remarks and "Within the DeGS fund" in remarks
    assert all(s.created_at is not None for s in pr.actions)


def test_nothing_received_without_the_receipt_module(world, monkeypatch):
    monkeypatch.setitem(sys.modules, "inventory.procurement.receiving", None)  # ImportError
    pr = ordered(world, make_draft(world))
    assert services.received_quantities(pr.id) == {}
    assert services.refresh_receipt_status(pr) == "ordered"


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("draft", "approve", "Only a submitted request can be approved or rejected"),
        ("draft", "order", "is not approved yet"),
        ("draft", "close", "Only a request whose goods have been received can be closed"),
        ("submitted", "submit", "has already been submitted"),
        ("submitted", "order", "is not approved yet"),
        ("approved", "submit", "has already been submitted"),
        ("approved", "approve", "Only a submitted request can be approved or rejected"),
        ("ordered", "order", "The order of PR-"),
        ("rejected", "submit", "was rejected and cannot be changed"),
        ("rejected", "cancel", "was rejected and cannot be changed"),
        ("cancelled", "submit", "was cancelled and cannot be changed"),
        ("partly_received", "cancel", "can no longer be cancelled"),
        ("received", "cancel", "can no longer be cancelled"),
        ("closed", "cancel", "is closed and cannot be changed"),
        ("closed", "close", "is closed and cannot be changed"),
    ],
)
def test_illegal_steps_are_refused_with_a_message(world, status, action, message):
    pr = make_draft(world)
    pr.status = status
    if status == "submitted":
        pr.current_level_position = 1
        pr.submitted_at = pr.created_at
    db.session.commit()
    calls = {
        "submit": lambda: services.submit(pr, actor=world.manager),
        "approve": lambda: services.approve(pr, actor=world.dio),
        "order": lambda: services.record_order(
            pr,
            actor=world.manager,
            order_reference="GEM-1",
            vendor_id=world.vendor.id,
            order_date=services.local_today(),
            actual_costs={},
        ),
        "cancel": lambda: services.cancel(pr, actor=world.manager, reason="No longer needed"),
        "close": lambda: services.close(pr, actor=world.manager),
    }
    with pytest.raises(services.ProcurementError) as caught:
        calls[action]()
    assert message in str(caught.value)
    db.session.rollback()
    assert db.session.get(ProcurementRequest, pr.id).status == status


def test_nobody_approves_their_own_request_not_even_an_admin_approver(world):
    services.save_level(
        services.level_at(1), position=1, name="DIO", approver_ids=[world.dio.id, world.admin.id]
    )
    pr = make_draft(world, requester=world.admin)
    services.submit(pr, actor=world.manager)
    assert not services.permitted(world.admin, "approve", pr)
    with pytest.raises(services.ProcurementPermissionError, match="your own request"):
        services.approve(pr, actor=world.admin)
    with pytest.raises(services.ProcurementPermissionError, match="your own request"):
        services.reject(pr, actor=world.admin, reason="Not needed")
    assert (pr.status, pr.current_level_position) == ("submitted", 1)
    services.approve(pr, actor=world.dio)
    assert pr.current_level_position == 2


def test_levels_go_in_order_and_only_the_named_approvers_decide(world):
    pr = make_draft(world)
    services.submit(pr, actor=world.manager)
    # The CDO cannot jump the queue, an administrator is not an approver by role.
    with pytest.raises(services.ProcurementPermissionError, match="waiting for level DIO"):
        services.approve(pr, actor=world.cdo)
    with pytest.raises(services.ProcurementPermissionError, match="District IT Officer"):
        services.approve(pr, actor=world.admin)
    services.approve(pr, actor=world.dio)
    with pytest.raises(services.ProcurementPermissionError, match="waiting for level CDO"):
        services.approve(pr, actor=world.dio)
    services.approve(pr, actor=world.cdo)
    assert pr.status == "approved"


def test_one_person_approves_at_one_level_only(world):
    services.save_level(
        services.level_at(2), position=2, name="CDO", approver_ids=[world.cdo.id, world.dio.id]
    )
    pr = make_draft(world)
    services.submit(pr, actor=world.manager)
    services.approve(pr, actor=world.dio)
    assert not services.permitted(world.dio, "approve", pr)
    with pytest.raises(services.ProcurementPermissionError, match="You already approved"):
        services.approve(pr, actor=world.dio)
    services.approve(pr, actor=world.cdo)
    assert pr.status == "approved"


def test_inactive_levels_are_skipped(world, make_user):
    dm = make_user("viewer", username="dm")
    services.save_level(None, position=3, name="DM", approver_ids=[dm.id], active=False)
    pr = make_draft(world)
    services.submit(pr, actor=world.manager)
    services.approve(pr, actor=world.dio)
    services.approve(pr, actor=world.cdo)
    assert pr.status == "approved"


def test_rejection_needs_a_reason_and_is_final(world):
    pr = make_draft(world)
    services.submit(pr, actor=world.manager)
    with pytest.raises(services.ProcurementError, match="Give the reason for rejecting"):
        services.reject(pr, actor=world.dio, reason="   ")
    assert pr.status == "submitted"
    services.approve(pr, actor=world.dio)
    services.reject(pr, actor=world.cdo, reason="Buy from the e-District project instead")
    db.session.commit()
    assert (pr.status, pr.rejection_reason) == (
        "rejected",
        "Buy from the e-District project instead",
    )
    assert steps(pr)[-1] == ("rejected", 2, "cdo")
    with pytest.raises(services.ProcurementError, match="copy it into a new draft"):
        services.submit(pr, actor=world.manager)
    copy = services.copy_request(pr, actor=world.requester)
    db.session.commit()
    assert copy.status == "draft" and copy.number != pr.number
    assert [(line.quantity, line.estimated_unit_cost) for line in copy.lines] == [
        (line.quantity, line.estimated_unit_cost) for line in pr.lines
    ]
    assert [[(d.site_id, d.quantity) for d in line.destinations] for line in copy.lines] == [
        [(d.site_id, d.quantity) for d in line.destinations] for line in pr.lines
    ]
    assert steps(pr)[-1][0] == "copied"
    assert pr.actions[-1].remark == f"Copied into {copy.number}."


def test_the_order_needs_reference_vendor_date_and_every_actual_cost(world):
    pr = approved(world, make_draft(world))
    with pytest.raises(services.ProcurementError) as caught:
        services.record_order(
            pr,
            actor=world.manager,
            order_reference=" ",
            vendor_id=None,
            order_date=None,
            actual_costs={pr.lines[0].id: "40000"},
        )
    fields = {f for f, _m in caught.value.errors}
    assert {"order_reference", "vendor_id", "order_date", f"cost-{pr.lines[1].id}"} <= fields
    assert f"cost-{pr.lines[0].id}" not in fields
    with pytest.raises(services.ProcurementError, match="cannot be in the future"):
        services.record_order(
            pr,
            actor=world.manager,
            order_reference="GEM-1",
            vendor_id=world.vendor.id,
            order_date=services.local_today() + timedelta(days=1),
            actual_costs={line.id: "1" for line in pr.lines},
        )
    db.session.rollback()
    pr = db.session.get(ProcurementRequest, pr.id)
    assert pr.status == "approved" and pr.order_reference == ""
    assert all(line.actual_unit_cost is None for line in pr.lines)


@pytest.mark.parametrize("status", ["draft", "submitted", "approved", "ordered"])
def test_cancel_at_any_point_before_anything_is_received(world, status):
    pr = make_draft(world)
    if status != "draft":
        services.submit(pr, actor=world.manager)
    if status in ("approved", "ordered"):
        services.approve(pr, actor=world.dio)
        services.approve(pr, actor=world.cdo)
    if status == "ordered":
        services.record_order(
            pr,
            actor=world.manager,
            order_reference="GEM-9",
            vendor_id=world.vendor.id,
            order_date=services.local_today(),
            actual_costs={line.id: "100" for line in pr.lines},
        )
    assert pr.status == status
    with pytest.raises(services.ProcurementError, match="Give the reason for cancelling"):
        services.cancel(pr, actor=world.manager, reason="")
    services.cancel(pr, actor=world.manager, reason="Funds withdrawn")
    assert (pr.status, pr.current_level_position) == ("cancelled", None)
    assert pr.cancelled_at is not None
    assert steps(pr)[-1] == ("cancelled", None, "manager")


def test_partly_received_cannot_be_cancelled(world, monkeypatch):
    fake = types.ModuleType("inventory.procurement.receiving")
    monkeypatch.setitem(sys.modules, "inventory.procurement.receiving", fake)
    pr = ordered(world, make_draft(world))
    fake.received_by_line = lambda request_id: {pr.lines[0].id: 1}
    assert services.refresh_receipt_status(pr) == "partly_received"
    assert "cancel" not in services.available_actions(pr, world.manager)
    with pytest.raises(services.ProcurementError, match="can no longer be cancelled"):
        services.cancel(pr, actor=world.manager, reason="Changed our minds")
    assert pr.status == "partly_received"


def test_the_requester_cancels_only_their_own_draft(world, make_user):
    pr = make_draft(world)
    with pytest.raises(services.ProcurementPermissionError):
        services.cancel(pr, actor=make_user("engineer"), reason="Mine now")
    services.submit(pr, actor=world.manager)
    with pytest.raises(services.ProcurementPermissionError):
        services.cancel(pr, actor=world.requester, reason="Not needed after all")
    other = make_draft(world)
    services.cancel(other, actor=world.requester, reason="Typed by mistake")
    assert other.status == "cancelled"


def test_submitting_needs_levels_with_approvers_other_than_the_requester(world):
    pr = make_draft(world, requester=world.dio)
    with pytest.raises(services.ProcurementError, match="Nobody other than the requester"):
        services.submit(pr, actor=world.manager)
    for level in services.approval_levels():
        services.save_level(level, position=level.position, name=level.name, active=False)
    with pytest.raises(services.ProcurementError, match="No approval levels are configured"):
        services.submit(pr, actor=world.manager)
    assert pr.status == "draft"


def test_deactivating_a_level_moves_waiting_requests_on(world):
    pr = make_draft(world)
    services.submit(pr, actor=world.manager)
    dio = services.level_at(1)
    with pytest.raises(services.ProcurementError, match="position cannot change"):
        services.save_level(dio, position=5, name="DIO", approver_ids=[world.dio.id])
    services.save_level(dio, position=1, name="DIO", approver_ids=[world.dio.id], active=False)
    assert pr.current_level_position == 2
    cdo = services.level_at(2)
    with pytest.raises(services.ProcurementError, match="no later level is active"):
        services.save_level(cdo, position=2, name="CDO", approver_ids=[world.cdo.id], active=False)


def test_roles(world, make_user):
    viewer = make_user("viewer")
    engineer = make_user("engineer")
    pr = make_draft(world)
    assert services.permitted(viewer, "view", pr)
    assert not services.permitted(viewer, "create")
    assert services.permitted(engineer, "create")
    assert services.permitted(world.requester, "edit", pr)
    assert not services.permitted(engineer, "edit", pr)
    assert services.permitted(world.manager, "edit", pr)
    for action in ("submit", "order", "close"):
        assert not services.permitted(world.requester, action, pr)
        assert services.permitted(world.manager, action, pr)
    assert not services.permitted(world.manager, "configure")
    assert services.permitted(world.admin, "configure")
    with pytest.raises(services.ProcurementPermissionError, match="Only a manager"):
        services.submit(pr, actor=world.requester)
    services.submit(pr, actor=world.manager)
    # A viewer named at the level approves there; the manager who submitted is not named.
    assert services.permitted(world.dio, "approve", pr)
    assert not services.permitted(world.manager, "approve", pr)
    assert services.available_actions(pr, world.dio) == ["approve", "reject"]
    assert "cancel" in services.available_actions(pr, world.manager)


def test_approvers_are_notified_level_by_level_and_the_requester_of_the_decision(world):
    pr = make_draft(world)
    services.submit(pr, actor=world.manager)
    services.approve(pr, actor=world.dio)
    services.approve(pr, actor=world.cdo)
    db.session.commit()
    rows = db.session.execute(
        sa.select(Notification.user_id, Notification.kind, Notification.url).order_by(
            Notification.id
        )
    ).all()
    url = f"/procurement/{pr.id}"
    assert rows == [
        (world.dio.id, "procurement_approval", url),
        (world.cdo.id, "procurement_approval", url),
        (world.requester.id, "procurement_decided", url),
    ]


def test_waiting_for_my_approval(world):
    services.save_level(
        services.level_at(2), position=2, name="CDO", approver_ids=[world.cdo.id, world.admin.id]
    )
    first = make_draft(world)
    second = make_draft(world, title="UPS batteries")
    mine = make_draft(world, requester=world.cdo, title="CDO's own")
    services.submit(first, actor=world.manager)
    services.submit(second, actor=world.manager)
    services.submit(mine, actor=world.manager)
    services.approve(second, actor=world.dio)
    services.approve(mine, actor=world.dio)
    db.session.commit()
    assert [r.id for r in services.waiting_for(world.dio)] == [first.id]
    assert services.waiting_count(world.dio) == 1
    # The CDO's own request waits at the CDO level but is never the CDO's to decide.
    assert [r.id for r in services.waiting_for(world.cdo)] == [second.id]
    assert services.waiting_count(world.cdo) == 1
    assert [r.id for r in services.waiting_for(world.admin)] == [second.id, mine.id]
    assert services.waiting_for(world.manager) == []
    assert services.waiting_count(world.manager) == 0


def test_order_date_before_the_approval_is_refused(world):
    pr = approved(world, make_draft(world))
    with pytest.raises(services.ProcurementError, match="before the approval"):
        services.record_order(
            pr,
            actor=world.manager,
            order_reference="GEM-2",
            vendor_id=world.vendor.id,
            order_date=date(2000, 1, 1),
            actual_costs={line.id: "1" for line in pr.lines},
        )


def test_history_has_the_steps_and_the_changes(world):
    pr = make_draft(world)
    services.update_request(
        pr,
        actor=world.requester,
        title="Projectors, revised",
        budget_head_id=world.head.id,
        lines=[
            services.LineIn(
                category_id=world.prj.id,
                quantity=3,
                estimated_unit_cost="44000",
                destinations=[(world.sites["tehsil"].id, 1), (world.sites["block"].id, 2)],
            )
        ],
    )
    services.submit(pr, actor=world.manager)
    db.session.commit()
    entries = services.timeline(pr)
    kinds = [(e.kind, e.step.action if e.step else e.change.object_type) for e in entries]
    assert ("step", ProcurementAction.SUBMITTED.value) in kinds
    assert ("change", "procurement_lines") in kinds
    assert ("change", "procurement_requests") in kinds
    titles = [
        e.change.changes.get("title")
        for e in entries
        if e.kind == "change" and e.change.action == "update"
    ]
    assert ["Projectors for the tehsils", "Projectors, revised"] in titles
