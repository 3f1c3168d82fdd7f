"""Ticket pages: lists, one ticket with its timeline, new/edit, assign, status changes, cancel,
comments, attachments, reports and the SLA settings.

Roles: the decorators set the least role of each page; the finer rule (an engineer works only
on tickets assigned to them) is services.permitted(), checked here before anything changes.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from inventory.assets.models import Asset
from inventory.assets.views import site_choices
from inventory.auth.models import User
from inventory.choices import (
    ReporterKind,
    Role,
    TicketCategory,
    TicketPriority,
    TicketStatus,
)
from inventory.extensions import db
from inventory.forms import options
from inventory.models_base import utcnow
from inventory.security import requires
from inventory.sites.models import Site
from inventory.tickets import reports, services
from inventory.tickets.forms import (
    AssignForm,
    AttachmentForm,
    CancelForm,
    CommentForm,
    MoveForm,
    SlaForm,
    TicketEditForm,
    TicketFilterForm,
    TicketForm,
)
from inventory.tickets.models import Ticket
from inventory.vendors.models import Vendor
from inventory.web import format_datetime

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

VIEW_LABELS = {
    "open": _l("Open"),
    "overdue": _l("Overdue"),
    "mine": _l("Assigned to me"),
    "reported": _l("Reported by me"),
    "all": _l("All"),
}
EMPTY_TEXT = {
    "open": _l("No open tickets. Everything reported has been dealt with."),
    "overdue": _l("No overdue tickets."),
    "mine": _l("No open tickets are assigned to you."),
    "reported": _l("You have not reported any tickets."),
    "all": _l("No tickets yet."),
}


def _refuse(exc: services.TicketError):
    return render_template("error.html", code=403, message=str(exc)), 403


def _denied(action: str, ticket: Ticket):
    """None when the signed-in user may do `action` to the ticket, else the 403 page."""
    try:
        services.require(current_user._get_current_object(), action, ticket)
    except services.TicketPermissionError as exc:
        return _refuse(exc)
    return None


def _status() -> int:
    """A form page shown again after a POST did not go through answers 400."""
    return 400 if request.method == "POST" else 200


def _ticket_or_404(ticket_id: int) -> Ticket:
    return db.get_or_404(Ticket, ticket_id)


def vendor_choices(blank: str, *, active_only: bool = False, keep: int | None = None) -> list:
    query = sa.select(Vendor.id, Vendor.name).order_by(Vendor.name)
    if active_only:
        query = query.where(sa.or_(Vendor.active.is_(True), Vendor.id == (keep or 0)))
    return options([(0, blank), *db.session.execute(query).all()])


def assignee_choices(blank: str) -> list:
    rows = [(u.id, f"{u.display_name} ({u.username})") for u in services.assignable_users()]
    return options([(0, blank), *rows])


# -- template helpers ------------------------------------------------------------------------

FIELD_LABELS = {
    "title": _l("Title"),
    "description": _l("Description"),
    "category": _l("Category"),
    "priority": _l("Priority"),
    "status": _l("Status"),
    "site_id": _l("Site"),
    "asset_id": _l("Asset"),
    "reporter_id": _l("Reported by"),
    "reporter_kind": _l("Reported through"),
    "assignee_id": _l("Assigned to"),
    "vendor_id": _l("Vendor"),
    "vendor_engineer": _l("Vendor's engineer"),
    "opened_at": _l("Opened"),
    "due_at": _l("Due"),
    "resolved_at": _l("Resolved"),
    "closed_at": _l("Closed"),
    "cause": _l("Cause"),
    "repair_marked": _l("Asset marked under repair"),
}
CHOICE_FIELDS = {
    "status": TicketStatus,
    "priority": TicketPriority,
    "category": TicketCategory,
    "reporter_kind": ReporterKind,
}
OBJECT_FIELDS = {
    "site_id": (Site, lambda s: f"{s.name_en} ({s.code})"),
    "asset_id": (Asset, lambda a: a.tag),
    "reporter_id": (User, lambda u: u.display_name),
    "assignee_id": (User, lambda u: u.display_name),
    "vendor_id": (Vendor, lambda v: v.name),
}


def _shown_value(key: str, value):
    if value is None or value == "":
        return None
    if key in CHOICE_FIELDS:
        return str(CHOICE_FIELDS[key].label_of(value))
    if key in OBJECT_FIELDS:
        model, label = OBJECT_FIELDS[key]
        obj = db.session.get(model, value)
        return label(obj) if obj is not None else f"#{value}"
    if key.endswith("_at"):
        try:
            return format_datetime(datetime.fromisoformat(value))
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def change_rows(change) -> list[tuple[str, str | None, str | None]]:
    """A change-log row of a ticket as (field label, before, after) for people to read."""
    rows = []
    for key, pair in (change.changes or {}).items():
        if change.action == "create" and key not in ("status", "priority", "due_at"):
            continue
        before, after = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        label = FIELD_LABELS.get(key, key)
        rows.append((str(label), _shown_value(key, before), _shown_value(key, after)))
    return rows


bp.add_app_template_global(change_rows, "ticket_change_rows")


@bp.app_template_global()
def ticket_panel(asset=None, site=None) -> dict | None:
    """Open tickets of an asset, or of a site and the sites below it (the detail pages)."""
    if asset is not None:
        rows = services.open_tickets_for_asset(asset.id)
        return {
            "tickets": rows[:20],
            "total": len(rows),
            "asset": asset,
            "site": None,
            "now": utcnow(),
        }
    if site is not None:
        rows, total = services.open_tickets_for_site(site.id)
        return {"tickets": rows, "total": total, "asset": None, "site": site, "now": utcnow()}
    return None


def _now():
    return utcnow()


# -- lists -----------------------------------------------------------------------------------


def _filter_from_request() -> tuple[TicketFilterForm, services.TicketFilter]:
    form = TicketFilterForm(request.args)
    form.site.choices = site_choices(_("All sites"))
    form.vendor.choices = vendor_choices(_("All vendors"))
    form.assignee.choices = assignee_choices(_("Anybody"))
    form.validate()
    view = request.args.get("view") or "open"
    sort = form.sort.data if form.sort.data in services.SORTS else "due"
    flt = services.TicketFilter(
        view=view if view in services.VIEWS else "open",
        q=(form.q.data or "").strip()[:100],
        status=form.status.data or "",
        priority=form.priority.data or "",
        category=form.category.data or "",
        site_id=form.site.data,
        vendor_id=form.vendor.data,
        assignee_id=form.assignee.data,
        asset_id=request.args.get("asset", type=int),
        overdue=bool(form.overdue.data),
        sort=sort,
        descending=form.dir.data == "desc",
    )
    return form, flt


@bp.route("/")
def index():
    form, flt = _filter_from_request()
    now = _now()
    per_page = min(
        request.args.get("per_page", current_app.config["PAGE_SIZE"], type=int) or 50,
        current_app.config["MAX_PAGE_SIZE"],
    )
    query = services.ticket_query(flt, user=current_user, now=now).options(
        selectinload(Ticket.site),
        selectinload(Ticket.asset),
        selectinload(Ticket.assignee),
        selectinload(Ticket.vendor),
    )
    page = db.paginate(
        query,
        page=max(request.args.get("page", 1, type=int), 1),
        per_page=max(per_page, 1),
        error_out=False,
    )
    filtered = any(
        (flt.q, flt.status, flt.priority, flt.category, flt.site_id, flt.vendor_id)
    ) or any((flt.assignee_id, flt.asset_id, flt.overdue))
    return render_template(
        "tickets/index.html",
        page=page,
        filters=form,
        flt=flt,
        now=now,
        counts=services.view_counts(current_user, now),
        view_labels=VIEW_LABELS,
        empty_text=_("No tickets match these filters.") if filtered else EMPTY_TEXT[flt.view],
        can_create=services.permitted(current_user, "create"),
    )


@bp.route("/reports")
def reports_page():
    now = _now()
    site_id = request.args.get("site", type=int) or None
    vendor_id = request.args.get("vendor", type=int) or None
    by_site, site_total = reports.ageing_by_site(now, site_id=site_id, vendor_id=vendor_id)
    by_vendor, vendor_total = reports.ageing_by_vendor(now, site_id=site_id, vendor_id=vendor_id)
    months, months_total = reports.sla_compliance(now, site_id=site_id, vendor_id=vendor_id)
    return render_template(
        "tickets/reports.html",
        buckets=reports.BUCKETS,
        by_site=by_site,
        site_total=site_total,
        by_vendor=by_vendor,
        vendor_total=vendor_total,
        months=months,
        months_total=months_total,
        sites=site_choices(_("All sites")),
        vendors=vendor_choices(_("All vendors")),
        site_id=site_id,
        vendor_id=vendor_id,
    )


# -- one ticket ------------------------------------------------------------------------------


@bp.route("/<int:ticket_id>")
def detail(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    move_form = MoveForm()
    move_form.mark_asset.data = ticket.repair_marked
    return render_template(
        "tickets/detail.html",
        ticket=ticket,
        now=_now(),
        timeline=services.timeline(ticket),
        attachments=services.attachments_of(ticket.id),
        moves=services.available_moves(ticket, current_user),
        move_form=move_form,
        comment_form=CommentForm(),
        attachment_form=AttachmentForm(),
        may={
            action: services.permitted(current_user, action, ticket)
            for action in ("edit", "comment", "attach", "assign", "cancel")
        },
        max_bytes=current_app.config.get("TICKET_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024),
        sla_days=services.sla_days(ticket.priority),
    )


def _resolve_asset(form: TicketForm) -> tuple[int | None, bool]:
    """The asset id the tag names (None for none); False when the tag is unknown."""
    tag = (form.asset_tag.data or "").strip().upper()
    if not tag:
        return None, True
    asset_id = db.session.scalar(sa.select(Asset.id).where(Asset.tag == tag))
    if asset_id is None:
        form.asset_tag.errors = [
            *form.asset_tag.errors,
            _("No asset has the tag %(tag)s.", tag=tag),
        ]
        return None, False
    return asset_id, True


def _apply_error(form, exc: services.TicketError) -> None:
    field_name = {"asset_id": "asset_tag"}.get(exc.field or "", exc.field or "")
    target = getattr(form, field_name, None) if field_name else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def create():
    form = TicketForm()
    form.site_id.choices = site_choices(_("Choose a site"))
    if request.method == "GET":
        asset = db.session.get(Asset, request.args.get("asset", type=int) or 0)
        if asset is not None:
            form.asset_tag.data = asset.tag
            form.site_id.data = asset.site_id
        else:
            form.site_id.data = request.args.get("site", type=int)
    if form.validate_on_submit():
        asset_id, known = _resolve_asset(form)
        if known:
            try:
                ticket = services.open_ticket(
                    site=db.session.get(Site, form.site_id.data),
                    asset=db.session.get(Asset, asset_id) if asset_id else None,
                    title=form.title.data,
                    description=form.description.data or "",
                    category=form.category.data,
                    priority=form.priority.data,
                    reporter=current_user._get_current_object(),
                    reporter_kind=ReporterKind.USER.value,
                )
            except services.TicketError as exc:
                db.session.rollback()
                _apply_error(form, exc)
            else:
                db.session.commit()
                flash(_("Ticket %(number)s opened.", number=ticket.number), "success")
                return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    return render_template("tickets/form.html", form=form, ticket=None), _status()


@bp.route("/<int:ticket_id>/edit", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def edit(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    if (denied := _denied("edit", ticket)) is not None:
        return denied
    form = TicketEditForm(obj=ticket)
    form.site_id.choices = site_choices(_("Choose a site"))
    may_recompute = services.permitted(current_user, "recompute_due", ticket)
    if request.method == "GET":
        form.asset_tag.data = ticket.asset.tag if ticket.asset else ""
    if form.validate_on_submit():
        asset_id, known = _resolve_asset(form)
        if known:
            try:
                services.update_ticket(
                    ticket,
                    actor=current_user._get_current_object(),
                    recompute_due=bool(form.recompute_due.data) and may_recompute,
                    title=form.title.data,
                    description=form.description.data or "",
                    category=form.category.data,
                    priority=form.priority.data,
                    site_id=form.site_id.data,
                    asset_id=asset_id,
                )
            except services.TicketError as exc:
                db.session.rollback()
                _apply_error(form, exc)
            else:
                db.session.commit()
                flash(_("Ticket %(number)s saved.", number=ticket.number), "success")
                return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    return render_template(
        "tickets/form.html", form=form, ticket=ticket, may_recompute=may_recompute
    ), _status()


@bp.route("/<int:ticket_id>/assign", methods=["GET", "POST"])
@requires(Role.MANAGER)
def assign(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = AssignForm(obj=ticket)
    form.assignee_id.choices = assignee_choices(_("(nobody)"))
    form.vendor_id.choices = vendor_choices(
        _("(no vendor)"), active_only=True, keep=ticket.vendor_id
    )
    if form.validate_on_submit():
        assignee = db.session.get(User, form.assignee_id.data) if form.assignee_id.data else None
        vendor = db.session.get(Vendor, form.vendor_id.data) if form.vendor_id.data else None
        try:
            services.assign(
                ticket,
                assignee=assignee,
                vendor=vendor,
                vendor_engineer=form.vendor_engineer.data or "",
                note=form.note.data or "",
                actor=current_user._get_current_object(),
            )
        except services.TicketPermissionError as exc:
            db.session.rollback()
            return _refuse(exc)
        except services.TicketError as exc:
            db.session.rollback()
            _apply_error(form, exc)
        else:
            db.session.commit()
            flash(_("Ticket %(number)s assigned.", number=ticket.number), "success")
            return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    return render_template("tickets/assign.html", form=form, ticket=ticket), _status()


@bp.route("/<int:ticket_id>/move", methods=["POST"])
@requires(Role.ENGINEER)
def move(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    if (denied := _denied("start", ticket)) is not None:  # the assigned engineer or a manager
        return denied
    form = MoveForm()
    back = redirect(url_for("tickets.detail", ticket_id=ticket.id))
    if not form.validate_on_submit():
        flash(_("The status change could not be read. Try again."), "error")
        return back
    target = form.target.data
    if target == services.CANCELLED:
        return redirect(url_for("tickets.cancel", ticket_id=ticket.id))
    try:
        if target == "reopen":
            services.reopen(
                ticket, actor=current_user._get_current_object(), note=form.note.data or ""
            )
        else:
            services.move(
                ticket,
                target,
                actor=current_user._get_current_object(),
                note=form.note.data or "",
                mark_asset=bool(form.mark_asset.data),
            )
    except services.TicketPermissionError as exc:
        db.session.rollback()
        return _refuse(exc)
    except services.TicketError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    flash(
        _(
            "Ticket %(number)s is now %(status)s.",
            number=ticket.number,
            status=TicketStatus.label_of(ticket.status),
        ),
        "success",
    )
    return back


@bp.route("/<int:ticket_id>/cancel", methods=["GET", "POST"])
@requires(Role.MANAGER)
def cancel(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = CancelForm()
    if request.method == "GET":
        form.mark_asset.data = ticket.repair_marked
    if not ticket.is_open:
        flash(services.refusal(ticket.status, services.CANCELLED), "error")
        return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    if form.validate_on_submit():
        try:
            services.move(
                ticket,
                services.CANCELLED,
                actor=current_user._get_current_object(),
                note=form.note.data,
                mark_asset=bool(form.mark_asset.data),
            )
        except services.TicketPermissionError as exc:
            db.session.rollback()
            return _refuse(exc)
        except services.TicketError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Ticket %(number)s cancelled.", number=ticket.number), "success")
            return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    return render_template("tickets/cancel.html", form=form, ticket=ticket), _status()


@bp.route("/<int:ticket_id>/comment", methods=["POST"])
@requires(Role.ENGINEER)
def comment(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    if (denied := _denied("comment", ticket)) is not None:
        return denied
    form = CommentForm()
    back = redirect(url_for("tickets.detail", ticket_id=ticket.id, _anchor="comment"))
    if not form.validate_on_submit():
        for message in form.body.errors or [_("The comment could not be read. Try again.")]:
            flash(_("Comment: %(error)s", error=message), "error")
        return back
    try:
        services.add_comment(ticket, author=current_user._get_current_object(), body=form.body.data)
    except services.TicketError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    flash(_("Comment added."), "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket.id, _anchor="timeline"))


@bp.route("/<int:ticket_id>/attach", methods=["POST"])
@requires(Role.ENGINEER)
def attach(ticket_id: int):
    from inventory.files.services import FileError

    ticket = _ticket_or_404(ticket_id)
    if (denied := _denied("attach", ticket)) is not None:
        return denied
    form = AttachmentForm()
    back = redirect(url_for("tickets.detail", ticket_id=ticket.id, _anchor="attachments"))
    if not form.validate_on_submit():
        flash(_("The upload could not be read. Try again."), "error")
        return back
    try:
        attachment = services.add_attachment(
            ticket, form.file.data, actor=current_user._get_current_object()
        )
    except (services.TicketError, FileError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    flash(_("%(name)s attached.", name=attachment.file.original_name), "success")
    return back


# -- settings --------------------------------------------------------------------------------


@bp.route("/sla", methods=["GET", "POST"])
@requires(Role.ADMIN)
def sla():
    form = SlaForm()
    current = services.sla_table()
    if request.method == "GET":
        for priority, days in current.items():
            getattr(form, SlaForm.field_name(priority)).data = days
    if form.validate_on_submit():
        values = {p: getattr(form, SlaForm.field_name(p)).data for p in TicketPriority.values()}
        try:
            changed = services.set_sla(values)
        except services.TicketError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            if changed:
                flash(
                    _("SLA saved. New tickets get the new due dates; open ones keep theirs."),
                    "success",
                )
            else:
                flash(_("Nothing changed."), "info")
            return redirect(url_for("tickets.sla"))
    return render_template("tickets/sla.html", form=form, current=current), _status()
