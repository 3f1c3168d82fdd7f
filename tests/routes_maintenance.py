"""Route table for preventive maintenance plans (inventory.maintenance); see tests/routing.py."""

from __future__ import annotations

from routing import Route

ROUTES: dict[str, Route] = {
    # Everyone signed in can see the plans and what is due.
    "/maintenance/": Route("maintenance.index", "viewer", "/maintenance/"),
    "/maintenance/<int:plan_id>": Route("maintenance.detail", "viewer", "/maintenance/{plan_id}"),
    # Administrators configure plans (issue 5, acceptance 8) and run them by hand.
    "/maintenance/new": Route("maintenance.create", "admin", "/maintenance/new", ("GET", "POST")),
    "/maintenance/<int:plan_id>/edit": Route(
        "maintenance.edit", "admin", "/maintenance/{plan_id}/edit", ("GET", "POST")
    ),
    "/maintenance/<int:plan_id>/active": Route(
        "maintenance.set_active",
        "admin",
        "/maintenance/{plan_id}/active",
        ("POST",),
        post_data={"active": "0"},
    ),
    "/maintenance/<int:plan_id>/run": Route(
        "maintenance.run_now", "admin", "/maintenance/{plan_id}/run", ("POST",)
    ),
    "/maintenance/<int:plan_id>/delete": Route(
        "maintenance.delete", "admin", "/maintenance/{plan_id}/delete", ("GET", "POST")
    ),
}


def make_objects(base: dict, n: int) -> dict:
    """An interval plan over the base asset's category, due at once (so "run now" opens)."""
    from inventory.extensions import db
    from inventory.maintenance import services
    from inventory.vendors.services import society_today

    plan = services.create_plan(
        name=f"Matrix plan {n}",
        category_id=base["category_id"],
        trigger="interval",
        interval_days=30,
        lead_days=7,
        first_due_date=society_today(),
    )
    db.session.commit()
    return {"plan_id": plan.id}
