"""Route x role entries for QR codes and label sheets (inventory/labels)."""

from __future__ import annotations

from routing import Route

ROUTES: dict[str, Route] = {
    # Any signed-in user sees and downloads an asset's QR code.
    "/assets/<int:asset_id>/qr.<fmt>": Route("labels.qr", "viewer", "/assets/{asset_id}/qr.png"),
    # Engineers print labels (the form, the PDF, and rows handed over from the asset list).
    "/labels/": Route(
        "labels.index",
        "engineer",
        "/labels/",
        ("GET", "POST"),
        post_data={"layout": "a4-3x7"},
    ),
    "/labels/selected": Route("labels.selected", "engineer", "/labels/selected", ("POST",)),
}
