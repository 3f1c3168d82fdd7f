"""The demo's partly received procurement request: ordered, its first delivery taken in through
the receipt service (tagged assets in store), the rest still to come; a second load adds
nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from inventory.assets.models import Asset
from inventory.audit.models import ChangeLog
from inventory.demo import asset_plan
from inventory.extensions import db
from inventory.procurement import receiving, reports, services
from inventory.procurement.demo import (
    FIRST_DELIVERY,
    PARTLY_RECEIVED_TITLE,
    SERIAL_PREFIX,
)
from inventory.procurement.models import ApprovalAction, ProcurementRequest
from inventory.procurement.receiving import Receipt, ReceiptUnit


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _snapshot() -> dict:
    models = (ProcurementRequest, ApprovalAction, Receipt, ReceiptUnit, Asset, ChangeLog)
    return {model.__name__: _count(model) for model in models}


def _demo(runner) -> str:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_demo_has_a_partly_received_request_and_loads_it_once(runner, client, make_user, login):
    _demo(runner)
    pr = db.session.scalar(
        sa.select(ProcurementRequest).where(ProcurementRequest.title == PARTLY_RECEIVED_TITLE)
    )
    assert pr is not None
    assert pr.status == services.PARTLY_RECEIVED
    assert pr.received_at is None
    (line,) = pr.lines
    assert (line.quantity, line.category.code, line.model.name) == (10, "DSK", "Pro Tower 280 G9")
    assert pr.budget_head.name == "e-District project"
    assert line.actual_unit_cost == Decimal("51490")

    # 6 of 10 received, all at Sadar and Colonelganj; Tarabganj and Mankapur wait for 2 each.
    assert receiving.received_by_line(pr.id) == {line.id: 6}
    (progress,) = receiving.progress(pr)
    assert (progress.ordered, progress.received, progress.remaining) == (10, 6, 4)
    assert {d.site.code: (d.received, d.remaining) for d in progress.destinations} == {
        "TEH-SDR": (3, 0),
        "TEH-CLG": (3, 0),
        "TEH-TRB": (0, 2),
        "TEH-MNK": (0, 2),
    }
    assert receiving.can_receive(pr)

    # One receipt of six units, each an asset in store at its tehsil, tied to the line.
    (receipt,) = receiving.receipts_of(pr.id)
    _destinations, days_ago, challan, _remarks = FIRST_DELIVERY
    assert (receipt.sequence, receipt.challan, receipt.received_by.username) == (
        1,
        challan,
        "engineer",
    )
    assert receipt.received_on == date.today() - timedelta(days=days_ago)
    assert receipt.received_on >= pr.order_date
    asset_ids = receiving.asset_ids_of(receipt)
    assets = [db.session.get(Asset, i) for i in asset_ids]
    assert len(assets) == 6
    serials = [a.serial for a in assets]
    assert serials == [f"{SERIAL_PREFIX}{n:03d}" for n in range(1, 7)]
    assert {a.status for a in assets} == {"in_store"}
    assert {a.procurement_line_id for a in assets} == {line.id}
    assert sorted(a.site.code for a in assets) == ["TEH-CLG"] * 3 + ["TEH-SDR"] * 3
    assert {a.warranty_end for a in assets} == {
        receipt.received_on.replace(year=receipt.received_on.year + 3) - timedelta(days=1)
    }
    assert {a.purchase_cost for a in assets} == {Decimal("51490")}
    assert {a.order_reference for a in assets} == {pr.order_reference}
    # The demo register's serials follow other patterns: none is one of these.
    register = {e["fields"]["serial"] for e in asset_plan(receipt.received_on)}
    assert not register & set(serials)

    # The "partly received" step is dated the day the goods came, after the order.
    steps = [s.action for s in pr.actions]
    assert steps[-2:] == ["ordered", "partly_received"]
    came = services.local_today(pr.actions[-1].created_at)
    assert came == receipt.received_on
    assert pr.actions[-1].created_at > pr.actions[-2].created_at

    # The budget view's received amount counts the six (6 x 51,490).
    view = reports.budget_view(pr.financial_year, pr.budget_head_id)
    (row,) = view.rows
    figures = next(f for f in row.requests if f.request.id == pr.id)
    assert figures.received == Decimal("308940")
    assert row.received >= Decimal("308940")

    # The pages: the request with its receipt, the receipt with its assets and label sheet.
    login(make_user("engineer", username="storekeeper"))
    page = client.get(f"/procurement/{pr.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'href="/procurement/receipts/{receipt.id}"' in body and challan in body
    assert "Receive a delivery" in body  # the rest can still come
    page = client.get(f"/procurement/receipts/{receipt.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for asset in assets:
        assert asset.tag in body and asset.serial in body
    assert "Print the labels of these 6 assets" in body
    assert all(f"ids={i}" in body for i in asset_ids)
    budget = client.get(f"/procurement/budget?financial_year={pr.financial_year}")
    assert budget.status_code == 200
    assert "3,08,940" in budget.get_data(as_text=True)

    # A second load adds nothing: no request, step, receipt, unit, asset or change.
    before = _snapshot()
    assert "nothing changed" in _demo(runner)
    db.session.expire_all()
    assert _snapshot() == before
    assert db.session.get(ProcurementRequest, pr.id).status == services.PARTLY_RECEIVED
