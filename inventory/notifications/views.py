"""The signed-in user's notifications: the list, marking read, and the bell's unread count."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from inventory.choices import OutboxStatus, Role
from inventory.extensions import db
from inventory.forms import ConfirmForm
from inventory.notifications import services
from inventory.security import requires

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

PER_PAGE = 30


@bp.app_context_processor
def _bell():
    """`unread_notifications()` for the header: one COUNT, only when a page asks for it."""

    def unread_notifications() -> int:
        if not (current_user and current_user.is_authenticated):
            return 0
        try:
            return services.unread_count(current_user.id)
        except sa.exc.SQLAlchemyError:  # an error page after a failed transaction still renders
            return 0

    return {"unread_notifications": unread_notifications}


@bp.route("/")
def index():
    unread_only = request.args.get("show") == "unread"
    page = db.paginate(
        services.notifications_query(current_user.id, unread_only=unread_only),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "notifications/index.html",
        page=page,
        unread_only=unread_only,
        unread=services.unread_count(current_user.id),
        form=ConfirmForm(),
    )


@bp.route("/<int:notification_id>/read", methods=["POST"])
def mark_read(notification_id: int):
    """Marks one read; with `open` in the form, goes on to what it is about."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    notification = services.get_own(current_user.id, notification_id)
    if notification is None:  # someone else's, or none at all: the same answer
        abort(404)
    services.mark_read(current_user.id, notification_id)
    db.session.commit()
    if request.form.get("open") and notification.url:
        return redirect(services.check_path(notification.url))
    return redirect(_back())


@bp.route("/read-all", methods=["POST"])
def mark_all_read():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    count = services.mark_all_read(current_user.id)
    db.session.commit()
    if count:
        flash(
            ngettext(
                "%(num)d notification marked as read.",
                "%(num)d notifications marked as read.",
                count,
            ),
            "success",
        )
    else:
        flash(_("Nothing was unread."), "info")
    return redirect(_back())


@bp.route("/outbox")
@requires(Role.ADMIN)
def outbox():
    """The email queue: what waits, what went, what failed and why (no secrets in it)."""
    status = request.args.get("status") or None
    if status not in OutboxStatus.values():
        status = None
    page = db.paginate(services.outbox_query(status), per_page=50, error_out=False)
    return render_template(
        "notifications/outbox.html",
        page=page,
        status=status,
        counts=services.outbox_counts(),
        email_on=services.email_enabled(),
        smtp_host=current_app.config.get("SMTP_HOST") or "",
        smtp_port=current_app.config.get("SMTP_PORT"),
        form=ConfirmForm(),
    )


@bp.route("/outbox/retry", methods=["POST"])
@requires(Role.ADMIN)
def retry_failed():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    count = services.retry_failed()
    db.session.commit()
    flash(
        ngettext(
            "%(num)d failed email will be tried again.",
            "%(num)d failed emails will be tried again.",
            count,
        ),
        "success" if count else "info",
    )
    return redirect(url_for("notifications.outbox"))


def _back() -> str:
    """Back to the list page the form came from (only this page's own query is kept)."""
    args = {}
    if request.form.get("show") == "unread":
        args["show"] = "unread"
    page = request.form.get("page", type=int)
    if page and page > 1:
        args["page"] = page
    return url_for("notifications.index", **args)
