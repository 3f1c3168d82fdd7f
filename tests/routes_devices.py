"""Route table for devices (inventory.devices: projectors, VC endpoints); see tests/routing.py."""

from __future__ import annotations

from routing import Route

D = "/devices"

ROUTES: dict[str, Route] = {
    # Anyone signed in reads the test calls
    f"{D}/test-calls": Route("devices.test_calls", "viewer", f"{D}/test-calls"),
    # Engineers log them
    f"{D}/<int:asset_id>/test-calls/new": Route(
        "devices.log_test_call",
        "engineer",
        f"{D}/{{vc_asset_id}}/test-calls/new",
        ("GET", "POST"),
        post_data={"at": "2025-01-06T10:30", "result": "ok", "remarks": "Matrix call"},
    ),
}


def make_objects(base: dict, n: int) -> dict:
    from inventory.assets.services import create_asset
    from inventory.catalog.services import get_category_by_code
    from inventory.extensions import db

    asset = create_asset(
        category_id=get_category_by_code("VCC").id, site_id=base["site_id"], status="deployed"
    )
    db.session.commit()
    return {"vc_asset_id": asset.id}
