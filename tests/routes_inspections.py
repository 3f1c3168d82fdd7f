"""Route table for inspections (inventory.inspections); see tests/routing.py."""

from __future__ import annotations

from datetime import UTC, datetime

from routing import Route

I = "/inspections"  # noqa: E741

ROUTES: dict[str, Route] = {
    # Anyone signed in reads inspections and the quota reports
    f"{I}/": Route("inspections.index", "viewer", f"{I}/"),
    f"{I}/<int:inspection_id>": Route("inspections.detail", "viewer", f"{I}/{{inspection_id}}"),
    f"{I}/report": Route("inspections.report", "viewer", f"{I}/report"),
    f"{I}/report/weeks": Route("inspections.report_weeks", "viewer", f"{I}/report/weeks"),
    # Engineers record them
    f"{I}/new": Route("inspections.create", "engineer", f"{I}/new", ("GET", "POST")),
    # Managers correct and delete them
    f"{I}/<int:inspection_id>/edit": Route(
        "inspections.edit", "manager", f"{I}/{{inspection_id}}/edit", ("GET", "POST")
    ),
    f"{I}/<int:inspection_id>/delete": Route(
        "inspections.delete", "manager", f"{I}/{{inspection_id}}/delete", ("GET", "POST")
    ),
    # Administrators keep the checklist
    f"{I}/checklist": Route("inspections.checklist", "admin", f"{I}/checklist", ("GET", "POST")),
    f"{I}/checklist/defaults": Route(
        "inspections.checklist_defaults", "admin", f"{I}/checklist/defaults", ("POST",)
    ),
    f"{I}/checklist/<int:item_id>/edit": Route(
        "inspections.checklist_edit",
        "admin",
        f"{I}/checklist/{{checklist_item_id}}/edit",
        ("GET", "POST"),
    ),
    f"{I}/checklist/<int:item_id>/move": Route(
        "inspections.checklist_move",
        "admin",
        f"{I}/checklist/{{checklist_item_id}}/move",
        ("POST",),
        post_data={"direction": "up"},
    ),
    f"{I}/checklist/<int:item_id>/active": Route(
        "inspections.checklist_active",
        "admin",
        f"{I}/checklist/{{checklist_item_id}}/active",
        ("POST",),
        post_data={"active": "0"},
    ),
    f"{I}/checklist/<int:item_id>/delete": Route(
        "inspections.checklist_delete",
        "admin",
        f"{I}/checklist/{{unused_item_id}}/delete",
        ("GET", "POST"),
    ),
}


def make_objects(base: dict, n: int) -> dict:
    from inventory.auth.models import User
    from inventory.extensions import db
    from inventory.inspections import services

    services.ensure_default_checklist()
    items = services.active_items()
    inspection = services.record_inspection(
        site_id=base["site_id"],
        inspector=db.session.get(User, base["user_id"]),
        inspected_at=datetime(2025, 1, 6, 5, 0, tzinfo=UTC),
        answers={item.id: ("yes", "") for item in items},
        remarks=f"Matrix visit {n}",
    )
    unused = services.create_item(f"Matrix question {n}", "")
    db.session.commit()
    return {
        "inspection_id": inspection.id,
        "checklist_item_id": items[-1].id,
        "unused_item_id": unused.id,
    }
