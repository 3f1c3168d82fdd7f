"""Route table for the receipt of goods (inventory.procurement.receipt_views); see
tests/routing.py. Engineers and up receive goods; everybody signed in sees a receipt."""

from __future__ import annotations

from routing import Route

ROUTES: dict[str, Route] = {
    "/procurement/<int:request_id>/receive": Route(
        "procurement.receive",
        "engineer",
        "/procurement/{receipt_request_id}/receive",
        ("GET", "POST"),
    ),
    "/procurement/<int:request_id>/receive/import": Route(
        "procurement.receive_import",
        "engineer",
        "/procurement/{receipt_request_id}/receive/import",
        ("GET", "POST"),
    ),
    "/procurement/<int:request_id>/receive/import/commit": Route(
        "procurement.receive_import_commit",
        "engineer",
        "/procurement/{receipt_request_id}/receive/import/commit",
        ("POST",),
    ),
    "/procurement/<int:request_id>/receive/template.csv": Route(
        "procurement.receive_template",
        "engineer",
        "/procurement/{receipt_request_id}/receive/template.csv",
    ),
    "/procurement/receipts/<int:receipt_id>": Route(
        "procurement.receipt", "viewer", "/procurement/receipts/{receipt_id}"
    ),
}


def make_objects(base: dict, n: int) -> dict:
    """An ordered request for 3 of the base asset's model, all for the base site, with one
    unit received already (receipt R1), so two are still to come."""
    from datetime import date, timedelta
    from decimal import Decimal

    from inventory.auth.models import User
    from inventory.extensions import db
    from inventory.procurement import receiving
    from inventory.procurement.models import (
        BudgetHead,
        LineDestination,
        ProcurementRequest,
        RequestLine,
    )
    from inventory.vendors.services import create_vendor

    today = date.today()
    line = RequestLine(
        position=1,
        category_id=base["category_id"],
        model_id=base["model_id"],
        quantity=3,
        estimated_unit_cost=Decimal("50000.00"),
        actual_unit_cost=Decimal("47250.00"),
        destinations=[LineDestination(site_id=base["site_id"], quantity=3)],
    )
    request = ProcurementRequest(
        number=f"PR-MATRIX-{n:04d}",
        title=f"Matrix order {n}",
        requester=db.session.get(User, base["user_id"]),
        budget_head=BudgetHead(name=f"Matrix budget head {n}"),
        financial_year="2025-26",
        status="ordered",
        order_reference=f"GEMC-MATRIX-{n}",
        vendor=create_vendor(name=f"Matrix supplier {n}", kind="supplier"),
        order_date=today - timedelta(days=10),
        lines=[line],
    )
    db.session.add(request)
    db.session.flush()
    receipt = receiving.receive(
        request,
        [
            receiving.UnitIn(
                line.id, base["site_id"], f"RCV-MATRIX-{n}", today + timedelta(days=365)
            )
        ],
        received_on=today,
        challan=f"CH-{n}",
    )
    db.session.commit()
    return {"receipt_request_id": request.id, "receipt_id": receipt.id}
