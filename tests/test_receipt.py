"""Receipt of goods (issue 6, point 3): serials in, tagged assets "in store" out.

The request is built with the procurement models directly (an ordered request with known
dates and costs); one test walks the real workflow services from draft to received.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from markupsafe import escape
from openpyxl import Workbook

from inventory.assets.models import Asset
from inventory.audit.models import ChangeLog
from inventory.catalog.services import get_category_by_code, get_or_create_model
from inventory.extensions import db
from inventory.procurement import receiving
from inventory.procurement.models import (
    BudgetHead,
    LineDestination,
    ProcurementRequest,
    RequestLine,
)
from inventory.procurement.receiving import Receipt, ReceiptError, ReceiptUnit, UnitIn
from inventory.vendors.services import create_vendor

ORDER_DATE = date(2026, 1, 12)
RECEIVED_ON = date(2026, 2, 2)
WARRANTY = date(2029, 2, 1)
HOSTILE = '<script>alert("x")</script>&<b>'


@pytest.fixture
def order(app, categories, district, make_user):
    """An ordered request: line 1 = 3 Epson projectors (2 to the tehsil, 1 to the block) at
    ₹45,500.00; line 2 = 2 UPS without a model, both to the CSC, at ₹8,250.50."""
    projector = get_category_by_code("PRJ")
    ups = get_category_by_code("UPS")
    model = get_or_create_model("Epson", "EB-X51", projector)
    head = BudgetHead(name="e-District project", position=1)
    vendor = create_vendor(name="Awadh Computers & Sons", kind="supplier")
    requester = make_user("engineer", username="requester")
    request = ProcurementRequest(
        number="PR-2025-26-0007",
        title="Projectors for Mankapur",
        requester=requester,
        budget_head=head,
        financial_year="2025-26",
        status="ordered",
        order_reference="GEMC-511687712345678",
        vendor=vendor,
        order_date=ORDER_DATE,
    )
    line1 = RequestLine(
        position=1,
        category_id=projector.id,
        model_id=model.id,
        description="Projector, 3500 lumens",
        quantity=3,
        estimated_unit_cost=Decimal("48000.00"),
        actual_unit_cost=Decimal("45500.00"),
    )
    line1.destinations = [
        LineDestination(site_id=district["tehsil"].id, quantity=2),
        LineDestination(site_id=district["block"].id, quantity=1),
    ]
    line2 = RequestLine(
        position=2,
        category_id=ups.id,
        model_id=None,
        description="UPS 1 kVA",
        quantity=2,
        estimated_unit_cost=Decimal("9000.00"),
        actual_unit_cost=Decimal("8250.50"),
    )
    line2.destinations = [LineDestination(site_id=district["csc"].id, quantity=2)]
    request.lines = [line1, line2]
    db.session.add(request)
    db.session.commit()
    return {
        "request": request,
        "line1": line1,
        "line2": line2,
        "model": model,
        "vendor": vendor,
        "head": head,
        **district,
    }


def _units(order, spec):
    """(line key, site key, serial[, warranty]) tuples as UnitIns."""
    units = []
    for n, item in enumerate(spec, 1):
        line, site, serial, *rest = item
        units.append(
            UnitIn(
                order[line].id,
                order[site].id,
                serial,
                rest[0] if rest else WARRANTY,
                row=n,
            )
        )
    return units


def _receive(order, spec, **kwargs):
    kwargs.setdefault("received_on", RECEIVED_ON)
    return receiving.receive(order["request"], _units(order, spec), **kwargs)


def _counts():
    db.session.rollback()
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Asset)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Receipt)),
        db.session.scalar(sa.select(sa.func.count()).select_from(ReceiptUnit)),
    )


FULL = [
    ("line1", "tehsil", "EPS-001"),
    ("line1", "tehsil", "EPS-002"),
    ("line1", "block", "EPS-003"),
    ("line2", "csc", "UPS-100", date(2028, 1, 31)),
    ("line2", "csc", "UPS-101", date(2028, 1, 31)),
]


# --- the service ------------------------------------------------------------------------


def test_receipt_creates_exactly_the_right_assets(order, make_user, app):
    keeper = make_user("engineer", username="storekeeper")
    receipt = _receive(
        order, FULL, received_by=keeper, challan="CH/118", remarks="All boxes sealed"
    )
    db.session.commit()

    assets = db.session.scalars(sa.select(Asset).order_by(Asset.id)).all()
    assert len(assets) == 5
    by_serial = {a.serial: a for a in assets}
    projector, ups = get_category_by_code("PRJ"), get_category_by_code("UPS")
    expected = {
        "EPS-001": (order["tehsil"], projector, order["model"].id, order["line1"], WARRANTY),
        "EPS-002": (order["tehsil"], projector, order["model"].id, order["line1"], WARRANTY),
        "EPS-003": (order["block"], projector, order["model"].id, order["line1"], WARRANTY),
        "UPS-100": (order["csc"], ups, None, order["line2"], date(2028, 1, 31)),
        "UPS-101": (order["csc"], ups, None, order["line2"], date(2028, 1, 31)),
    }
    tag_pattern = re.compile(r"^GON-(PRJ|UPS)-\d{4}$")
    for serial, (site, category, model_id, line, warranty) in expected.items():
        asset = by_serial[serial]
        assert asset.status == "in_store"
        assert asset.site_id == site.id
        assert asset.category_id == category.id
        assert asset.model_id == model_id
        assert asset.procurement_line_id == line.id
        assert asset.purchase_cost == line.actual_unit_cost
        assert asset.purchase_date == RECEIVED_ON
        assert asset.supplier == "Awadh Computers & Sons"
        assert asset.order_reference == "GEMC-511687712345678"
        assert asset.budget_head == "e-District project"
        assert asset.warranty_end == warranty
        assert tag_pattern.match(asset.tag), asset.tag
        assert asset.tag.split("-")[1] == category.code
    assert len({a.tag for a in assets}) == 5

    assert receipt.number == "PR-2025-26-0007/R1"
    assert receipt.received_by_id == keeper.id
    assert (receipt.challan, receipt.remarks) == ("CH/118", "All boxes sealed")
    units = receipt.units
    assert [u.serial for u in units] == [s[2] for s in FULL]
    assert sorted(u.asset_id for u in units) == sorted(a.id for a in assets)
    assert receiving.asset_ids_of(receipt) == [u.asset_id for u in units]
    assert receiving.received_by_line(order["request"].id) == {
        order["line1"].id: 3,
        order["line2"].id: 2,
    }
    assert order["request"].status == "received"
    # The register's history has each asset's creation.
    created = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ChangeLog)
        .where(ChangeLog.object_type == "assets", ChangeLog.action == "create")
    )
    assert created == 5


def test_partial_then_complete_delivery(order):
    request = order["request"]
    _receive(order, FULL[:2])
    db.session.commit()
    assert request.status == "partly_received"
    progress = {p.line.id: p for p in receiving.progress(request)}
    line1 = progress[order["line1"].id]
    assert (line1.ordered, line1.received, line1.remaining) == (3, 2, 1)
    assert [(d.site.code, d.ordered, d.received, d.remaining) for d in line1.destinations] == [
        ("TEH-MNK", 2, 2, 0),
        ("BLK-MNK", 1, 0, 1),
    ]
    assert progress[order["line2"].id].received == 0
    # What the form is prefilled with: the 3 units still to come.
    expected = receiving.expected_units(request)
    assert [(u.line_id, u.site_id, u.row) for u in expected] == [
        (order["line1"].id, order["block"].id, 1),
        (order["line2"].id, order["csc"].id, 2),
        (order["line2"].id, order["csc"].id, 3),
    ]

    second = _receive(order, FULL[2:], received_on=RECEIVED_ON + timedelta(days=5))
    db.session.commit()
    assert second.sequence == 2
    assert request.status == "received"
    assert request.received_at is not None
    assert receiving.expected_units(request) == []
    # The workflow recorded both steps.
    assert [a.action for a in request.actions][-2:] == ["partly_received", "received"]
    # Nothing more can be received.
    with pytest.raises(ReceiptError, match="only for an ordered request"):
        _receive(order, [("line1", "block", "EPS-999")])


@pytest.mark.parametrize(
    "spec, message",
    [
        # Four projectors on a line of three (the tehsil's two, the block's one, one more).
        (
            [*FULL[:3], ("line1", "block", "EPS-004")],
            "More units than ordered: line 1 is for 3, 0 already received, so at most 3 more.",
        ),
        # Three for the tehsil, which gets two.
        (
            [*FULL[:2], ("line1", "tehsil", "EPS-009")],
            "More units than ordered for TEH-MNK: line 1 sends 2 there, 0 already received, "
            "so at most 2 more.",
        ),
    ],
)
def test_over_receipt_is_refused_and_nothing_written(order, spec, message):
    before = _counts()
    with pytest.raises(ReceiptError) as caught:
        _receive(order, spec)
    assert caught.value.problems == {len(spec): [message]}
    assert _counts() == before == (0, 0, 0)
    assert db.session.get(ProcurementRequest, order["request"].id).status == "ordered"


def test_over_receipt_counts_earlier_receipts(order):
    _receive(order, FULL[:2])
    db.session.commit()
    with pytest.raises(ReceiptError) as caught:
        _receive(order, [("line1", "tehsil", "EPS-010")])
    assert caught.value.problems == {
        1: [
            "More units than ordered for TEH-MNK: line 1 sends 2 there, 2 already received, "
            "so at most 0 more."
        ]
    }
    assert _counts() == (2, 1, 2)


def test_every_problem_is_reported_with_its_row(order, make_asset):
    make_asset(order["hq"], "PRJ", model=("Epson", "EB-X51"), serial="EPS-OLD")
    before = _counts()
    units = [
        *_units(order, [("line1", "tehsil", "EPS-001"), ("line1", "tehsil", "EPS-OLD")]),
        UnitIn(order["line1"].id, order["csc"].id, "EPS-001", WARRANTY, row=3),
        UnitIn(order["line2"].id, order["csc"].id, "", None, row=4),
        UnitIn(order["line2"].id, order["csc"].id, "UPS-1", ORDER_DATE - timedelta(days=1), 5),
        UnitIn(999999, order["csc"].id, "X-1", WARRANTY, row=6),
        UnitIn(order["line2"].id, order["csc"].id, "bad\nserial", WARRANTY, row=7),
        UnitIn(order["line2"].id, order["csc"].id, "U" * 65, date(2099, 1, 1), row=8),
    ]
    with pytest.raises(ReceiptError) as caught:
        receiving.receive(order["request"], units, received_on=RECEIVED_ON)
    problems = caught.value.problems
    assert str(caught.value) == "7 of 8 units have problems. Nothing has been received."
    assert 1 not in problems
    assert problems[2] == ["Serial EPS-OLD of this model is already registered as GON-PRJ-0001."]
    assert problems[3] == [
        "CSC-001 is not a destination of line 1; its destinations are: TEH-MNK, BLK-MNK.",
        "Serial EPS-001 is entered twice: row 1 has it too.",
    ]
    assert problems[4] == ["The serial number is missing.", "The warranty end date is missing."]
    assert problems[5] == ["The warranty ends (11-01-2026) before the order date (12-01-2026)."]
    assert problems[6] == ["There is no line 999999 on request PR-2025-26-0007."]
    # Rows 4, 5, 7 and 8 are four units of line 2, which has two: every row is meant as a unit.
    too_many = "More units than ordered: line 2 is for 2, 0 already received, so at most 2 more."
    assert problems[7] == [
        "The serial number contains a line break or another control character.",
        too_many,
    ]
    assert problems[8] == [
        "The serial number is longer than 64 characters.",
        "The warranty end 01-01-2099 is more than 20 years away; check the year.",
        too_many,
    ]
    assert _counts() == before


def test_serial_without_a_model_is_unique_within_its_category(order):
    _receive(order, [("line2", "csc", "UPS-100")])
    db.session.commit()
    with pytest.raises(ReceiptError) as caught:
        _receive(order, [("line2", "csc", "UPS-100")])
    assert caught.value.problems == {
        1: ["Serial UPS-100 of this model is already registered as GON-UPS-0001."]
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"received_on": None}, "Give the date the goods were received."),
        ({"received_on": ORDER_DATE - timedelta(days=1)}, "before the order date (12-01-2026)"),
        ({"received_on": date.today() + timedelta(days=3)}, "cannot be in the future"),
        ({"challan": "C" * 81}, "The challan number is longer than 80 characters."),
        ({"max_units": 4}, "At most 4 units can be received at once."),
    ],
)
def test_receipt_level_problems(order, kwargs, message):
    with pytest.raises(ReceiptError, match=re.escape(message)) as caught:
        _receive(order, FULL, **kwargs)
    assert caught.value.problems == {}
    assert _counts() == (0, 0, 0)


def test_an_empty_receipt_is_refused(order):
    with pytest.raises(ReceiptError, match="at least one unit"):
        receiving.receive(order["request"], [], received_on=RECEIVED_ON)


@pytest.mark.parametrize("status", ["draft", "submitted", "approved", "cancelled", "closed"])
def test_only_ordered_requests_receive(order, status):
    order["request"].status = status
    db.session.commit()
    with pytest.raises(ReceiptError, match="only for an ordered request"):
        _receive(order, FULL[:1])
    assert _counts() == (0, 0, 0)


def test_dry_run_writes_nothing(order):
    assert _receive(order, FULL, dry_run=True) is None
    db.session.commit()
    assert _counts() == (0, 0, 0)
    assert db.session.get(ProcurementRequest, order["request"].id).status == "ordered"
    # The tag sequence was not used up either: the real receipt starts at 0001.
    receipt = _receive(order, FULL[:1])
    db.session.commit()
    assert receipt.units[0].asset.tag == "GON-PRJ-0001"


def test_a_partly_received_order_closes_short_only_with_a_reason(order, make_user):
    from inventory.procurement import services as procurement

    request = order["request"]
    _receive(order, FULL[:2])
    db.session.commit()
    assert request.status == "partly_received"
    manager = make_user("manager")
    with pytest.raises(procurement.ProcurementError, match="why the rest of the order"):
        procurement.close(request, actor=manager, remark="  ")
    procurement.close(request, actor=manager, remark="Vendor cannot supply the last projector")
    db.session.commit()
    assert request.status == "closed"
    # The two assets received stay; nothing more can be received.
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(Asset.procurement_line_id == order["line1"].id)
        )
        == 2
    )
    with pytest.raises(ReceiptError):
        _receive(order, FULL[2:3])


def test_long_order_reference_and_budget_head_fit_the_register(order):
    order["request"].order_reference = "G" * 80
    order["head"].name = "H" * 120
    db.session.commit()
    receipt = _receive(order, FULL[:1])
    db.session.commit()
    asset = receipt.units[0].asset
    assert asset.order_reference == "G" * 64
    assert asset.budget_head == "H" * 100


def test_deleting_a_received_asset_keeps_the_unit_counted(order):
    from inventory.assets.services import delete_asset

    receipt = _receive(order, FULL[:1])
    db.session.commit()
    delete_asset(receipt.units[0].asset)
    db.session.commit()
    db.session.expire_all()
    assert receipt.units[0].asset_id is None
    assert receiving.received_by_line(order["request"].id) == {order["line1"].id: 1}
    with pytest.raises(ReceiptError) as caught:
        _receive(order, [*FULL[1:2], ("line1", "tehsil", "A"), ("line1", "block", "B")])
    assert sorted(caught.value.problems) == [2, 3]
    assert "1 already received, so at most 2 more." in caught.value.problems[3][0]


def test_two_receipts_at_once_never_exceed_the_order(app, order):
    """Two storekeepers enter the last projector for the block at the same moment, each on
    their own connection: one receipt is saved, the other is refused."""
    _receive(order, FULL[:2])
    db.session.commit()
    request_id, line_id, site_id = order["request"].id, order["line1"].id, order["block"].id
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def worker(serial: str) -> None:
        try:
            with app.app_context():
                request = db.session.get(ProcurementRequest, request_id)
                request.lines  # noqa: B018 - loaded before the race, as a page would have
                barrier.wait(timeout=30)
                try:
                    receiving.receive(
                        request,
                        [UnitIn(line_id, site_id, serial, WARRANTY, row=1)],
                        received_on=RECEIVED_ON,
                    )
                    db.session.commit()
                    outcomes.append("saved")
                except ReceiptError as exc:
                    db.session.rollback()
                    messages = [m for found in exc.problems.values() for m in found]
                    outcomes.append(" ".join(messages) or str(exc))
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"EPS-RACE-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(outcomes)[1] == "saved", outcomes
    assert "at most 0 more" in sorted(outcomes)[0] or "only for an ordered" in sorted(outcomes)[0]
    assert _counts() == (3, 2, 3)
    assert receiving.received_by_line(request_id) == {line_id: 3}


def test_a_unit_slot_is_taken_once(order):
    """The key behind "never more than ordered": one row per line, site and slot."""
    receipt = _receive(order, FULL[3:4])
    db.session.commit()
    unit = receipt.units[0]
    assert unit.slot == 1
    db.session.add(
        ReceiptUnit(
            receipt_id=receipt.id,
            line_id=unit.line_id,
            site_id=unit.site_id,
            slot=1,
            serial="UPS-TWIN",
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    second = _receive(order, FULL[4:5])
    db.session.commit()
    assert second.units[0].slot == 2


def test_the_workflow_from_draft_to_received(app, categories, district, make_user):
    """Through the procurement services: drafted, approved, ordered, then received in two
    deliveries, and closed."""
    from inventory.procurement import services

    services.ensure_default_budget_heads()
    requester = make_user("engineer", username="indenter")
    manager = make_user("manager", username="manager")
    dio = make_user("viewer", username="dio")
    services.save_level(None, position=1, name="DIO", approver_ids=[dio.id])
    projector = get_category_by_code("PRJ")
    head = db.session.scalar(sa.select(BudgetHead).order_by(BudgetHead.id))
    request = services.create_request(
        requester=requester,
        title="VC projectors",
        budget_head_id=head.id,
        lines=[
            services.LineIn(
                category_id=projector.id,
                quantity=2,
                estimated_unit_cost="52000",
                destinations=[(district["tehsil"].id, 1), (district["block"].id, 1)],
            )
        ],
    )
    services.submit(request, actor=manager)
    services.approve(request, actor=dio)
    supplier = create_vendor(name="GeM seller", kind="supplier")
    today = receiving.society_today()
    services.record_order(
        request,
        actor=manager,
        order_reference="GEMC-511687799999999",
        vendor_id=supplier.id,
        order_date=today,
        actual_costs={request.lines[0].id: "49999.50"},
    )
    db.session.commit()
    line = request.lines[0]
    first = receiving.receive(
        request,
        [UnitIn(line.id, district["tehsil"].id, "VC-1", today + timedelta(days=1095))],
        received_by=requester,
        received_on=today,
    )
    db.session.commit()
    assert request.status == "partly_received"
    assert services.received_quantity(line) == 1
    receiving.receive(
        request,
        [UnitIn(line.id, district["block"].id, "VC-2", today + timedelta(days=1095))],
        received_by=requester,
        received_on=today,
    )
    db.session.commit()
    assert request.status == "received"
    services.close(request, actor=manager)
    db.session.commit()
    assert request.status == "closed"
    asset = first.units[0].asset
    assert (asset.purchase_cost, asset.supplier, asset.order_reference, asset.budget_head) == (
        Decimal("49999.50"),
        "GeM seller",
        "GEMC-511687799999999",
        head.name,
    )
    steps = [a.action for a in request.actions]
    assert steps[-3:] == ["partly_received", "received", "closed"]
    received_step = request.actions[-2]
    assert received_step.actor_id == requester.id


# --- the pages --------------------------------------------------------------------------


def _text(response) -> str:
    return response.get_data(as_text=True)


def _form_rows(page: str) -> list[tuple[str, str]]:
    """(line id, site id) of each row of the receipt form, in order."""
    lines = re.findall(r'name="units-(\d+)-line_id"[^>]*value="(\d+)"', page)
    sites = re.findall(r'name="units-(\d+)-site_id"[^>]*value="(\d+)"', page)
    assert [i for i, _v in lines] == [i for i, _v in sites]
    return [(line, site) for (_i, line), (_j, site) in zip(lines, sites, strict=True)]


def _post_form(client, order, serials, **fields):
    """The receipt form as a browser sends it: every prefilled row, serials typed in some."""
    page = _text(client.get(f"/procurement/{order['request'].id}/receive"))
    data = {"received_on": RECEIVED_ON.isoformat(), "challan": "", "remarks": ""}
    data.update(fields)
    for i, (line, site) in enumerate(_form_rows(page)):
        serial, warranty = serials.get(i + 1, ("", ""))
        data.update(
            {
                f"units-{i}-line_id": line,
                f"units-{i}-site_id": site,
                f"units-{i}-serial": serial,
                f"units-{i}-warranty_end": warranty,
            }
        )
    return client.post(f"/procurement/{order['request'].id}/receive", data=data)


def test_the_form_has_a_row_per_unit_to_come_and_receives_some(order, as_role):
    client = as_role("engineer")
    page = _text(client.get(f"/procurement/{order['request'].id}/receive"))
    t, b, c = (str(order[k].id) for k in ("tehsil", "block", "csc"))
    l1, l2 = str(order["line1"].id), str(order["line2"].id)
    assert _form_rows(page) == [(l1, t), (l1, t), (l1, b), (l2, c), (l2, c)]
    assert f'value="{receiving.society_today().isoformat()}"' in page  # today by default

    response = _post_form(
        client,
        order,
        {1: ("EPS-001", "2029-02-01"), 3: ("EPS-003", "")},
        warranty_default="2029-03-31",
        challan="CH/7",
    )
    assert response.status_code == 302, _text(response)[:2000]
    db.session.expire_all()
    receipt = db.session.scalar(sa.select(Receipt))
    assert response.location.endswith(f"/procurement/receipts/{receipt.id}")
    assets = {a.serial: a for a in db.session.scalars(sa.select(Asset))}
    assert set(assets) == {"EPS-001", "EPS-003"}
    assert assets["EPS-001"].site_id == order["tehsil"].id
    assert assets["EPS-001"].warranty_end == date(2029, 2, 1)
    assert assets["EPS-003"].site_id == order["block"].id
    assert assets["EPS-003"].warranty_end == date(2029, 3, 31)  # the default
    assert db.session.get(ProcurementRequest, order["request"].id).status == "partly_received"

    # The request page's receipt section: per line and destination, and the receipt.
    page = _text(client.get(f"/procurement/{order['request'].id}"))
    section = page[page.index('id="receipts"') :]
    assert "Receive a delivery" in section
    assert f"/procurement/receipts/{receipt.id}" in section
    progress = section[: section.index("<h3>")]
    cells = re.findall(r'<td class="num">(?:<strong>)?(\d+)', progress)
    # Tehsil 2/1/1, block 1/1 (complete), line 1 3/2/1; CSC 2/0/2, line 2 2/0/2.
    assert cells == ["2", "1", "1", "1", "1", "3", "2", "1", "2", "0", "2", "2", "0", "2"]
    # The form now has the three units still to come.
    page = _text(client.get(f"/procurement/{order['request'].id}/receive"))
    assert _form_rows(page) == [(l1, t), (l2, c), (l2, c)]


def test_the_form_shows_every_problem_on_its_row_and_writes_nothing(order, as_role):
    client = as_role("engineer")
    response = _post_form(
        client,
        order,
        {1: ("EPS-001", "2029-02-01"), 2: ("EPS-001", "31-13-2029"), 4: ("UPS-9", "")},
    )
    assert response.status_code == 400
    page = _text(response)
    assert "2 of 3 units have problems. Nothing has been received." in page
    assert 'id="unit-2"' in page
    row2 = page[page.index('id="unit-2"') : page.index('id="unit-3"')]
    assert "Serial EPS-001 is entered twice: row 1 has it too." in row2
    assert "Bad warranty end date: 31-13-2029." in row2
    row4 = page[page.index('id="unit-4"') : page.index('id="unit-5"')]
    assert "The warranty end date is missing." in row4
    start = page.index('id="unit-1"')
    assert "errors" not in page[start : page.index("</tr>", start)]
    assert '<tr class="" id="unit-1">' in page
    assert 'value="EPS-001"' in row2  # what was typed is kept
    assert _counts() == (0, 0, 0)


def test_a_tampered_form_cannot_receive_more_than_ordered(order, as_role):
    client = as_role("engineer")
    data = {"received_on": RECEIVED_ON.isoformat()}
    for i in range(4):  # four projectors for the tehsil, which gets two
        data.update(
            {
                f"units-{i}-line_id": str(order["line1"].id),
                f"units-{i}-site_id": str(order["tehsil"].id),
                f"units-{i}-serial": f"EPS-{i}",
                f"units-{i}-warranty_end": "2029-01-01",
            }
        )
    response = client.post(f"/procurement/{order['request'].id}/receive", data=data)
    assert response.status_code == 400
    page = _text(response)
    assert "2 of 4 units have problems" in page
    assert "More units than ordered for TEH-MNK" in page
    assert _counts() == (0, 0, 0)


def test_receiving_is_refused_once_everything_came(order, as_role):
    _receive(order, FULL)
    db.session.commit()
    client = as_role("engineer")
    response = client.get(f"/procurement/{order['request'].id}/receive")
    assert response.status_code == 302
    assert response.location.endswith(f"/procurement/{order['request'].id}#receipts")
    page = _text(client.get(response.location))
    assert "Goods can be received only for an ordered request" in page
    assert "Receive a delivery" not in page


def test_roles(order, as_role, make_user, login, client):
    receipt = _receive(order, FULL[:1])
    db.session.commit()
    viewer = as_role("viewer")
    assert viewer.get(f"/procurement/{order['request'].id}/receive").status_code == 403
    assert viewer.post(f"/procurement/{order['request'].id}/receive").status_code == 403
    assert viewer.get(f"/procurement/{order['request'].id}/receive/import").status_code == 403
    page = _text(viewer.get(f"/procurement/receipts/{receipt.id}"))
    assert receipt.units[0].asset.tag in page
    assert "/labels/" not in page  # printing labels is for engineers
    request_page = _text(viewer.get(f"/procurement/{order['request'].id}"))
    assert 'id="receipts"' in request_page
    assert "Receive a delivery" not in request_page
    engineer = login(make_user("engineer"), target_client=client.application.test_client())
    assert engineer.get(f"/procurement/{order['request'].id}/receive").status_code == 200
    assert "/labels/" in _text(engineer.get(f"/procurement/receipts/{receipt.id}"))


def test_the_label_link_covers_exactly_the_receipts_assets(order, as_role, make_asset):
    make_asset(order["hq"], "PRJ", serial="OTHER-1")  # in the register, not in the receipt
    _receive(order, FULL[:2])
    db.session.commit()
    second = _receive(order, FULL[2:])
    db.session.commit()
    client = as_role("engineer")
    page = _text(client.get(f"/procurement/receipts/{second.id}"))
    href = re.search(r'href="(/labels/\?[^"]+)"', page).group(1).replace("&amp;", "&")
    ids = sorted(int(i) for i in parse_qs(urlsplit(href).query)["ids"])
    assert ids == sorted(u.asset_id for u in second.units)
    assert len(ids) == 3
    assert "Print the labels of these 3 assets" in page
    for unit in second.units:
        assert f'href="/assets/{unit.asset_id}"' in page
    # The print form takes exactly them.
    form = _text(client.get(href))
    assert "GON-PRJ-0004" in form and "GON-UPS-0001" in form and "GON-UPS-0002" in form
    assert "GON-PRJ-0001" not in form  # the other asset and the first receipt's are not
    pdf = client.post(href, data={"layout": "a4-3x7", "start": "1"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_the_asset_page_names_its_request_line(order, as_role):
    receipt = _receive(order, FULL[3:4])
    db.session.commit()
    page = _text(as_role("viewer").get(f"/assets/{receipt.units[0].asset_id}"))
    assert "Procured under" in page
    assert f'href="/procurement/{order["request"].id}#receipts">PR-2025-26-0007</a>, line 2' in page


# --- import -----------------------------------------------------------------------------


def _csv(rows, header=("line", "site", "serial", "warranty_end")) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _upload(client, order, data: bytes, name="serials.csv", **fields):
    form = {
        "file": (io.BytesIO(data), name),
        "received_on": RECEIVED_ON.isoformat(),
        "challan": "CH/42",
        "remarks": "",
        **fields,
    }
    return client.post(
        f"/procurement/{order['request'].id}/receive/import",
        data=form,
        content_type="multipart/form-data",
    )


def _confirm(client, order, page: str):
    fields = dict(
        re.findall(
            r'<input [^>]*name="(token|received_on|challan|remarks)"[^>]*value="([^"]*)"', page
        )
    )
    return client.post(f"/procurement/{order['request'].id}/receive/import/commit", data=fields)


GOOD_ROWS = [
    ("1", "TEH-MNK", "EPS-001", "2029-02-01"),
    ("line 1", "teh-mnk", "EPS-002", "01-02-2029"),
    ("#2", "CSC-001", "UPS-100", "31/01/2028"),
]


def test_import_preview_then_commit(order, as_role):
    client = as_role("engineer")
    response = _upload(client, order, _csv(GOOD_ROWS))
    assert response.status_code == 200
    page = _text(response)
    assert "All 3 rows are correct. Nothing has been written yet." in page
    assert _counts() == (0, 0, 0)  # the preview wrote nothing
    committed = _confirm(client, order, page)
    assert committed.status_code == 302, _text(committed)[:3000]
    db.session.expire_all()
    receipt = db.session.scalar(sa.select(Receipt))
    assert receipt.challan == "CH/42"
    assert receipt.received_on == RECEIVED_ON
    assert [(u.serial, u.site_id, u.warranty_end) for u in receipt.units] == [
        ("EPS-001", order["tehsil"].id, date(2029, 2, 1)),
        ("EPS-002", order["tehsil"].id, date(2029, 2, 1)),
        ("UPS-100", order["csc"].id, date(2028, 1, 31)),
    ]
    assert _counts() == (3, 1, 3)
    # One upload imports once.
    again = _confirm(client, order, page)
    assert again.status_code == 400
    assert "This import is not known or has expired" in _text(again)
    assert _counts() == (3, 1, 3)


def test_import_preview_shows_every_rows_problems(order, as_role, make_asset):
    make_asset(order["hq"], "PRJ", model=("Epson", "EB-X51"), serial="EPS-OLD")
    client = as_role("engineer")
    rows = [
        ("1", "TEH-MNK", "EPS-001", "2029-02-01"),
        ("1", "TEH-MNK", "EPS-001", "2029-02-01"),
        ("7", "TEH-MNK", "EPS-003", "2029-02-01"),
        ("2", "NOWHERE", "UPS-1", "2029-02-01"),
        ("1", "BLK-MNK", "EPS-OLD", "someday"),
        ("2", "CSC-001", "UPS-2", "2029-02-01", "extra"),
    ]
    response = _upload(client, order, _csv(rows))
    assert response.status_code == 200
    page = _text(response)
    assert "5 of 6 units have problems. Nothing has been received." in page
    assert "Serial EPS-001 is entered twice: row 2 has it too." in page
    assert "There is no line 7 on request PR-2025-26-0007." in page
    assert "Unknown site: NOWHERE." in page
    assert "Serial EPS-OLD of this model is already registered as GON-PRJ-0001." in page
    assert "Bad warranty end date: someday." in page
    assert "This row has more cells than the first row has column names." in page
    assert "receive/import/commit" not in page  # nothing to confirm
    assert _counts() == (1, 0, 0)


def test_import_commit_is_all_or_nothing(order, as_role):
    """Between the preview and the confirmation another delivery took the tehsil's units:
    the commit checks again and writes nothing."""
    client = as_role("engineer")
    page = _text(_upload(client, order, _csv(GOOD_ROWS)))
    _receive(order, [("line1", "tehsil", "EPS-777"), ("line1", "tehsil", "EPS-778")])
    db.session.commit()
    before = _counts()
    response = _confirm(client, order, page)
    assert response.status_code == 400
    text = _text(response)
    assert "2 of 3 units have problems. Nothing has been received." in text
    assert "More units than ordered for TEH-MNK" in text
    assert _counts() == before == (2, 1, 2)


def test_import_xlsx(order, as_role):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["line", "item", "site", "serial", "warranty_end"])
    sheet.append([2, "UPS 1 kVA", "CSC-001", "UPS-100", date(2028, 1, 31)])
    sheet.append([2, "UPS 1 kVA", "CSC-001", 1234567890123, date(2028, 1, 31)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    client = as_role("engineer")
    page = _text(_upload(client, order, buffer.getvalue(), name="serials.xlsx"))
    assert "All 2 rows are correct." in page
    assert _confirm(client, order, page).status_code == 302
    db.session.expire_all()
    assert {a.serial for a in db.session.scalars(sa.select(Asset))} == {"UPS-100", "1234567890123"}
    assert db.session.get(ProcurementRequest, order["request"].id).status == "partly_received"


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "a.csv", "The file is empty"),
        (
            b"line,site,serial\n1,TEH-MNK,X\n",
            "a.csv",
            "A required column is missing: warranty_end.",
        ),
        (b"line,site,serial,warranty_end,colour\n", "a.csv", "Unknown column: colour."),
        (b"line,site,serial,warranty_end\n", "a.csv", "no rows of units"),
        (b"hello", "a.txt", "Upload a CSV or XLSX file"),
        (
            b"line,site,serial,warranty_end\n" + b"1,TEH-MNK,X,2029-01-01\n" * 5,
            "a.csv",
            "more than 4 rows",
        ),
        (b"x" * 3000, "a.csv", "The file is too large: the limit is 2 KB."),
    ],
)
def test_import_refuses_bad_files(order, as_role, app, data, name, message):
    app.config["IMPORT_MAX_BYTES"] = 2048
    app.config["RECEIPT_MAX_UNITS"] = 4
    response = _upload(as_role("engineer"), order, data, name=name)
    assert response.status_code == 400
    assert message in _text(response)
    assert _counts() == (0, 0, 0)


def test_import_refuses_a_bad_receipt_date(order, as_role):
    response = _upload(
        as_role("engineer"),
        order,
        _csv(GOOD_ROWS),
        received_on=(ORDER_DATE - timedelta(days=1)).isoformat(),
    )
    assert response.status_code == 400
    assert "The date received is before the order date (12-01-2026)." in _text(response)


def test_template_lists_the_units_to_come_with_inert_cells(order, as_role):
    get_category_by_code("UPS").name_en = '=HYPERLINK("http://evil")'
    db.session.commit()
    _receive(order, FULL[:2])
    db.session.commit()
    response = as_role("engineer").get(f"/procurement/{order['request'].id}/receive/template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="receipt-PR-2025-26-0007.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(_text(response).lstrip("\ufeff"))))
    assert rows[0] == ["line", "item", "site", "serial", "warranty_end"]
    assert [(r[0], r[2], r[3], r[4]) for r in rows[1:]] == [
        ("1", "BLK-MNK", "", ""),
        ("2", "CSC-001", "", ""),
        ("2", "CSC-001", "", ""),
    ]
    assert rows[2][1].startswith("'=HYPERLINK")  # not a formula in a spreadsheet
    assert "Projector, 3500 lumens" in rows[1][1]


def test_template_filled_in_imports_back(order, as_role):
    client = as_role("engineer")
    template = _text(client.get(f"/procurement/{order['request'].id}/receive/template.csv"))
    rows = list(csv.reader(io.StringIO(template.lstrip("\ufeff"))))
    for n, row in enumerate(rows[1:], 1):
        row[3], row[4] = f"SN-{n}", "2029-01-31"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    page = _text(_upload(client, order, buffer.getvalue().encode()))
    assert "All 5 rows are correct." in page
    assert _confirm(client, order, page).status_code == 302
    db.session.expire_all()
    assert db.session.get(ProcurementRequest, order["request"].id).status == "received"


# --- untrusted text ---------------------------------------------------------------------


def test_hostile_serials_and_notes_are_escaped(order, as_role):
    order["line1"].description = HOSTILE
    db.session.commit()
    client = as_role("engineer")
    serial = '"><img src=x onerror=alert(1)>'
    receipt = _receive(
        order,
        [("line1", "tehsil", serial), ("line1", "tehsil", HOSTILE[:64])],
        challan=HOSTILE,
        remarks=HOSTILE,
    )
    db.session.commit()
    pages = [
        _text(client.get(f"/procurement/receipts/{receipt.id}")),
        _text(client.get(f"/procurement/{order['request'].id}")),
        _text(client.get(f"/procurement/{order['request'].id}/receive")),
        _text(client.get(f"/assets/{receipt.units[0].asset_id}")),
    ]
    for page in pages:
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "<b>" not in page
    assert escape(HOSTILE) in pages[0]  # challan, remarks, the line, the serial
    assert escape(serial) in pages[0]
    assert escape(HOSTILE) in pages[1]
    # In the preview of a file, too.
    page = _text(_upload(client, order, _csv([("1", HOSTILE, serial, HOSTILE)])))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert escape(serial) in page


# --- in a real browser (CSRF on, as in production) ---------------------------------------


def test_receiving_in_a_browser(order, make_user, page, tmp_path):
    keeper = make_user("engineer", username="store-keeper")
    tab = page(keeper, path=f"/procurement/{order['request'].id}")
    tab.click("text=Receive a delivery")
    tab.fill("#units-0-serial", "EPS-001")
    tab.fill("#units-1-serial", "EPS-001")  # typed twice by mistake
    tab.fill("#warranty_default", "2029-03-31")
    tab.click("main button[type=submit]")
    tab.wait_for_selector("text=Serial EPS-001 is entered twice: row 1 has it too.")
    assert _counts() == (0, 0, 0)
    tab.fill("#units-1-serial", "EPS-002")
    tab.click("main button[type=submit]")
    tab.wait_for_url("**/procurement/receipts/*")
    tab.wait_for_selector("text=Received 2 units")
    db.session.expire_all()
    assert _counts() == (2, 1, 2)

    # The rest from a file: preview, then confirm.
    tab.goto(f"/procurement/{order['request'].id}/receive/import")
    upload = tmp_path / "serials.csv"
    upload.write_bytes(
        _csv([("1", "BLK-MNK", "EPS-003", "2029-03-31"), ("2", "CSC-001", "UPS-1", "2028-01-31")])
    )
    tab.set_input_files("#file", str(upload))
    tab.fill("#challan", "CH/99")
    tab.click("main button[type=submit]")
    tab.wait_for_selector("text=All 2 rows are correct.")
    tab.click("text=Receive 2 units")
    tab.wait_for_url("**/procurement/receipts/*")
    db.session.expire_all()
    assert _counts() == (4, 2, 4)
    second = db.session.scalar(sa.select(Receipt).where(Receipt.sequence == 2))
    assert second.challan == "CH/99"
    assert second.received_by_id == keeper.id
