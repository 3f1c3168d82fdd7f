"""Route x role entries of the ticket pages (see tests/routing.py).

Pages that change one ticket are open to engineers by their decorator, but only for the
tickets assigned to them; the ticket made here is assigned to nobody, so an engineer is
refused (403) and the least role that passes here is manager. tests/test_tickets.py checks
that the assigned engineer gets through.
"""

from __future__ import annotations

from routing import Route

ROUTES: dict[str, Route] = {
    "/tickets/": Route("tickets.index", "viewer", "/tickets/"),
    "/tickets/reports": Route("tickets.reports_page", "viewer", "/tickets/reports"),
    "/tickets/<int:ticket_id>": Route("tickets.detail", "viewer", "/tickets/{ticket_id}"),
    "/tickets/new": Route("tickets.create", "engineer", "/tickets/new", ("GET", "POST")),
    "/tickets/<int:ticket_id>/edit": Route(
        "tickets.edit", "manager", "/tickets/{ticket_id}/edit", ("GET", "POST")
    ),
    "/tickets/<int:ticket_id>/move": Route(
        "tickets.move",
        "manager",
        "/tickets/{ticket_id}/move",
        ("POST",),
        post_data={"target": "in_progress"},
    ),
    "/tickets/<int:ticket_id>/comment": Route(
        "tickets.comment",
        "manager",
        "/tickets/{ticket_id}/comment",
        ("POST",),
        post_data={"body": "Checked the cable."},
    ),
    "/tickets/<int:ticket_id>/attach": Route(
        "tickets.attach", "manager", "/tickets/{ticket_id}/attach", ("POST",)
    ),
    "/tickets/<int:ticket_id>/assign": Route(
        "tickets.assign", "manager", "/tickets/{ticket_id}/assign", ("GET", "POST")
    ),
    "/tickets/<int:ticket_id>/cancel": Route(
        "tickets.cancel", "manager", "/tickets/{ticket_id}/cancel", ("GET", "POST")
    ),
    "/tickets/sla": Route("tickets.sla", "admin", "/tickets/sla", ("GET", "POST")),
}


def make_objects(base: dict, n: int) -> dict:
    """An open, unassigned ticket on the matrix's asset (at a site below base site_id)."""
    from inventory.assets.models import Asset
    from inventory.extensions import db
    from inventory.sites.models import Site
    from inventory.tickets.services import open_ticket

    ticket = open_ticket(
        site=db.session.get(Site, base["site_id"]),
        asset=db.session.get(Asset, base["asset_id"]),
        title=f"Matrix fault {n}",
    )
    db.session.commit()
    return {"ticket_id": ticket.id}
