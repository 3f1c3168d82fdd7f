"""Route x role entries for verification visits (inventory.verification); see tests/routing.py."""

from __future__ import annotations

from routing import Route

VISIT = "/verify/visits/<int:visit_id>"

ROUTES: dict[str, Route] = {
    # The offline worker is a static script with no data: anybody may fetch it.
    "/verify/sw.js": Route("verification.service_worker", "public", "/verify/sw.js"),
    # Anyone signed in reads visits and reports.
    "/verify/": Route("verification.index", "viewer", "/verify/"),
    "/verify/not-verified": Route("verification.not_verified", "viewer", "/verify/not-verified"),
    "/verify/not-verified.csv": Route(
        "verification.not_verified_csv", "viewer", "/verify/not-verified.csv"
    ),
    VISIT: Route("verification.visit", "viewer", "/verify/visits/{visit_id}"),
    VISIT + "/state": Route("verification.state", "viewer", "/verify/visits/{visit_id}/state"),
    # Engineers verify: start, scan, move here, finish, abandon. The matrix's site already
    # has a visit in progress, so a start shows (GET) or redirects to (POST) that visit.
    "/verify/sites/<int:site_id>/start": Route(
        "verification.start", "engineer", "/verify/sites/{site_id}/start", ("GET", "POST")
    ),
    # The matrix posts a form, not JSON: the API answers 400.
    VISIT + "/scans": Route(
        "verification.scan", "engineer", "/verify/visits/{visit_id}/scans", ("POST",)
    ),
    VISIT + "/scans/<int:scan_id>/move": Route(
        "verification.move",
        "engineer",
        "/verify/visits/{visit_id}/scans/{visit_scan_id}/move",
        ("GET", "POST"),
    ),
    VISIT + "/finish": Route(
        "verification.finish", "engineer", "/verify/visits/{visit_id}/finish", ("GET", "POST")
    ),
    VISIT + "/abandon": Route(
        "verification.abandon", "engineer", "/verify/visits/{visit_id}/abandon", ("GET", "POST")
    ),
}


def make_objects(base: dict, n: int) -> dict:
    """A visit in progress at the matrix's block, with one scan of the CSC's asset (an
    asset registered elsewhere, so "move it here" has something to move)."""
    import uuid

    from inventory.extensions import db
    from inventory.sites.models import Site
    from inventory.verification.services import record_scan, start_visit

    visit = start_visit(db.session.get(Site, base["site_id"]), None)
    scan, _created = record_scan(visit, client_id=str(uuid.uuid4()), tag=base["tag"])
    db.session.commit()
    return {"visit_id": visit.id, "visit_scan_id": scan.id}
