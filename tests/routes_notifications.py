"""Route x role entries for notifications: every signed-in user has their own."""

from __future__ import annotations

from routing import Route

ROUTES: dict[str, Route] = {
    "/notifications/": Route("notifications.index", "viewer", "/notifications/"),
    # The matrix's notification belongs to another user: a signed-in visitor gets 404.
    "/notifications/<int:notification_id>/read": Route(
        "notifications.mark_read", "viewer", "/notifications/{notification_id}/read", ("POST",)
    ),
    "/notifications/read-all": Route(
        "notifications.mark_all_read", "viewer", "/notifications/read-all", ("POST",)
    ),
    # The email queue is the administrators'.
    "/notifications/outbox": Route("notifications.outbox", "admin", "/notifications/outbox"),
    "/notifications/outbox/retry": Route(
        "notifications.retry_failed", "admin", "/notifications/outbox/retry", ("POST",)
    ),
}


def make_objects(base: dict, n: int) -> dict:
    from inventory.auth.models import User
    from inventory.extensions import db
    from inventory.notifications.services import notify

    target = db.session.get(User, base["user_id"])
    (notification,) = notify(
        [target], kind="ticket_assigned", subject=f"Matrix {n}", body="", url="/"
    )
    db.session.commit()
    return {"notification_id": notification.id}
