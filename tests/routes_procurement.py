"""Route x role entries of the procurement pages (see tests/routing.py).

Editing and cancelling are open to engineers by their decorator, but only for their own
drafts; the draft made here belongs to another user, so an engineer is refused (403) and the
least role that passes is manager. tests/test_procurement.py checks that the requester gets
through. Deciding (approve/reject) needs no role at all, only being named at the level
waiting: anybody else is told why on the request page (a redirect), so it is listed as
"viewer"; tests/test_procurement_workflow.py checks the refusals.
"""

from __future__ import annotations

from routing import Route

ROUTES: dict[str, Route] = {
    "/procurement/": Route("procurement.index", "viewer", "/procurement/"),
    "/procurement/export.<fmt>": Route("procurement.export", "viewer", "/procurement/export.csv"),
    "/procurement/approvals": Route("procurement.approvals", "viewer", "/procurement/approvals"),
    "/procurement/budget": Route("procurement.budget", "viewer", "/procurement/budget"),
    "/procurement/<int:request_id>": Route(
        "procurement.detail", "viewer", "/procurement/{pr_draft_id}"
    ),
    "/procurement/new": Route(
        "procurement.create", "engineer", "/procurement/new", ("GET", "POST")
    ),
    "/procurement/<int:request_id>/edit": Route(
        "procurement.edit", "manager", "/procurement/{pr_draft_id}/edit", ("GET", "POST")
    ),
    "/procurement/<int:request_id>/copy": Route(
        "procurement.copy", "engineer", "/procurement/{pr_draft_id}/copy", ("POST",)
    ),
    "/procurement/<int:request_id>/submit": Route(
        "procurement.submit", "manager", "/procurement/{pr_draft_id}/submit", ("POST",)
    ),
    "/procurement/<int:request_id>/decide": Route(
        "procurement.decide",
        "viewer",
        "/procurement/{pr_approved_id}/decide",
        ("POST",),
        post_data={"decision": "approve"},
    ),
    "/procurement/<int:request_id>/close": Route(
        "procurement.close", "manager", "/procurement/{pr_approved_id}/close", ("POST",)
    ),
    "/procurement/<int:request_id>/cancel": Route(
        "procurement.cancel",
        "manager",
        "/procurement/{pr_draft_id}/cancel",
        ("GET", "POST"),
        post_data={"reason": "Bought from another scheme."},
    ),
    "/procurement/<int:request_id>/order": Route(
        "procurement.order", "manager", "/procurement/{pr_approved_id}/order", ("GET", "POST")
    ),
    "/procurement/<int:request_id>/attach": Route(
        "procurement.attach", "engineer", "/procurement/{pr_draft_id}/attach", ("POST",)
    ),
    "/procurement/settings": Route("procurement.settings", "admin", "/procurement/settings"),
    "/procurement/settings/defaults": Route(
        "procurement.settings_defaults", "admin", "/procurement/settings/defaults", ("POST",)
    ),
    "/procurement/settings/budget-heads/new": Route(
        "procurement.head_form",
        "admin",
        "/procurement/settings/budget-heads/new",
        ("GET", "POST"),
    ),
    "/procurement/settings/budget-heads/<int:head_id>/edit": Route(
        "procurement.head_form",
        "admin",
        "/procurement/settings/budget-heads/{pr_head_id}/edit",
        ("GET", "POST"),
    ),
    "/procurement/settings/levels/new": Route(
        "procurement.level_form", "admin", "/procurement/settings/levels/new", ("GET", "POST")
    ),
    "/procurement/settings/levels/<int:level_id>/edit": Route(
        "procurement.level_form",
        "admin",
        "/procurement/settings/levels/{pr_level_id}/edit",
        ("GET", "POST"),
    ),
}


def make_objects(base: dict, n: int) -> dict:
    """A budget head, an approval level, a draft and an approved request (by another user)."""
    from inventory.auth.services import create_user
    from inventory.extensions import db
    from inventory.models_base import utcnow
    from inventory.procurement import services
    from inventory.procurement.models import ApprovalLevel

    head = services.save_budget_head(None, name=f"Matrix head {n}")
    level = ApprovalLevel(position=n, name=f"Level {n}")
    db.session.add(level)
    requester = create_user(f"matrix-requester-{n}", "matrix-password-123", "engineer")

    def draft(title):
        return services.create_request(
            requester=requester,
            title=title,
            budget_head_id=head.id,
            lines=[
                services.LineIn(
                    category_id=base["category_id"],
                    quantity=2,
                    estimated_unit_cost="45000",
                    destinations=[(base["site_id"], 2)],
                )
            ],
        )

    pr_draft = draft(f"Matrix projectors {n}")
    pr_approved = draft(f"Matrix approved {n}")
    pr_approved.status = services.APPROVED
    pr_approved.submitted_at = pr_approved.approved_at = utcnow()
    db.session.commit()
    return {
        "pr_draft_id": pr_draft.id,
        "pr_approved_id": pr_approved.id,
        "pr_head_id": head.id,
        "pr_level_id": level.id,
    }
