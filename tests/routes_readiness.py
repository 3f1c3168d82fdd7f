"""Route table for the VC-readiness board (inventory.readiness); see tests/routing.py."""

from __future__ import annotations

from routing import Route

ROUTES: dict[str, Route] = {
    # Anyone signed in reads the board: the DM's office signs in as a viewer.
    "/vc/": Route("readiness.index", "viewer", "/vc/"),
    "/vc/print": Route("readiness.print_view", "viewer", "/vc/print"),
    # The matrix's site is a block: it joins the VC by its kind.
    "/vc/<int:site_id>": Route("readiness.office", "viewer", "/vc/{site_id}"),
}
