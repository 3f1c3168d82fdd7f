"""Route table for vendors and AMC contracts (inventory.vendors); see tests/routing.py."""

from __future__ import annotations

from datetime import date

from routing import Route

ROUTES: dict[str, Route] = {
    # Everyone signed in reads vendors, contracts and their figures.
    "/vendors/": Route("vendors.index", "viewer", "/vendors/"),
    "/vendors/<int:vendor_id>": Route("vendors.detail", "viewer", "/vendors/{vendor_id}"),
    "/vendors/contracts/": Route("vendors.contracts", "viewer", "/vendors/contracts/"),
    "/vendors/contracts/<int:contract_id>": Route(
        "vendors.contract", "viewer", "/vendors/contracts/{contract_id}"
    ),
    # Managers keep them.
    "/vendors/new": Route("vendors.create", "manager", "/vendors/new", ("GET", "POST")),
    "/vendors/<int:vendor_id>/edit": Route(
        "vendors.edit", "manager", "/vendors/{vendor_id}/edit", ("GET", "POST")
    ),
    "/vendors/<int:vendor_id>/active": Route(
        "vendors.set_active",
        "manager",
        "/vendors/{vendor_id}/active",
        ("POST",),
        post_data={"active": "0"},
    ),
    "/vendors/<int:vendor_id>/delete": Route(
        "vendors.delete", "manager", "/vendors/{vendor_id}/delete", ("GET", "POST")
    ),
    "/vendors/contracts/new": Route(
        "vendors.contract_create", "manager", "/vendors/contracts/new", ("GET", "POST")
    ),
    "/vendors/contracts/<int:contract_id>/edit": Route(
        "vendors.contract_edit",
        "manager",
        "/vendors/contracts/{contract_id}/edit",
        ("GET", "POST"),
    ),
    "/vendors/contracts/<int:contract_id>/delete": Route(
        "vendors.contract_delete",
        "manager",
        "/vendors/contracts/{contract_id}/delete",
        ("GET", "POST"),
    ),
    "/vendors/contracts/<int:contract_id>/assets": Route(
        "vendors.contract_add_assets",
        "manager",
        "/vendors/contracts/{contract_id}/assets",
        ("POST",),
        post_data={"tags": "NO-SUCH-TAG"},
    ),
    "/vendors/contracts/<int:contract_id>/assets/<int:asset_id>/remove": Route(
        "vendors.contract_remove_asset",
        "manager",
        "/vendors/contracts/{contract_id}/assets/{asset_id}/remove",
        ("POST",),
    ),
    "/vendors/contracts/<int:contract_id>/rules": Route(
        "vendors.contract_add_rule",
        "manager",
        "/vendors/contracts/{contract_id}/rules",
        ("POST",),
    ),
    "/vendors/contracts/<int:contract_id>/rules/<int:rule_id>/remove": Route(
        "vendors.contract_remove_rule",
        "manager",
        "/vendors/contracts/{contract_id}/rules/{rule_id}/remove",
        ("POST",),
    ),
}


def make_objects(base: dict, n: int) -> dict:
    """A vendor nothing names (so that it can be deleted), and another vendor's contract
    listing the base asset and holding one rule."""
    from inventory.extensions import db
    from inventory.vendors import services

    vendor = services.create_vendor(name=f"Matrix vendor {n}", kind="service")
    holder = services.create_vendor(name=f"Matrix AMC vendor {n}", kind="amc")
    contract = services.create_contract(
        vendor_id=holder.id,
        reference=f"AMC/MATRIX/{n}",
        title="Matrix contract",
        start_date=date(2024, 4, 1),
        end_date=date(2030, 3, 31),
        value="125000",
        response_hours=8,
        resolution_hours=48,
    )
    services.add_assets(contract, [base["tag"]])
    rule = services.add_rule(contract, base["category_id"], base["site_id"])
    db.session.commit()
    return {"vendor_id": vendor.id, "contract_id": contract.id, "rule_id": rule.id}
