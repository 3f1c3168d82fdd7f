"""Route entries of the phone pages (inventory/field): see tests/routing.py."""

from __future__ import annotations

from routing import Route

from inventory.field.decoder import decoder_version

ROUTES: dict[str, Route] = {
    # The label URL: any signed-in user sees the asset; anonymous visitors go to the login
    # page with next=/a/<tag> (checked for every non-public route by the matrix).
    "/a/<path:tag>": Route("field.asset", "viewer", "/a/{tag}"),
    "/scan": Route("field.scan", "viewer", "/scan"),
    # The vendored QR decoder: a static library, nothing sensitive, cached for a year.
    # (Answered before Flask by inventory/field/decoder.py; the rule names it for url_for.)
    "/scan/decoder/<version>/<filename>": Route(
        "field.decoder",
        "public",
        f"/scan/decoder/{decoder_version()}/qr-scanner-worker.min.js",
    ),
    "/field/<int:asset_id>/fault": Route(
        "field.fault",
        "engineer",
        "/field/{asset_id}/fault",
        ("GET", "POST"),
        post_data={"title": "Lamp does not light", "category": "projector", "priority": "normal"},
    ),
    "/field/<int:asset_id>/verified": Route(
        "field.verified", "engineer", "/field/{asset_id}/verified", ("POST",)
    ),
}
