"""Procurement pages: the list (filters, export), "waiting for my approval", the budget view,
one request with its history, drafting, the workflow steps, the order, attachments, and the
administrators' settings (budget heads, approval levels and their approvers).

Roles: the decorators set the least role of each page; the finer rules (an engineer edits or
cancels only their own draft; only the approvers named at the level waiting decide) are
services.permitted(), checked by the services. A refused decision (not an approver at the
level waiting, one's own request) is shown on the request page with the reason, since the
approver "role" belongs to a level, not to an account.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from inventory.assets.views import site_choices
from inventory.auth.models import User
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.choices import ProcurementAction, ProcurementStatus, Role
from inventory.extensions import db
from inventory.forms import ConfirmForm, options
from inventory.procurement import reports, services
from inventory.procurement.forms import (
    NEW_DESTINATIONS,
    NEW_LINES,
    AttachmentForm,
    BudgetFilterForm,
    BudgetHeadForm,
    CancelForm,
    DecisionForm,
    LevelForm,
    OrderForm,
    RemarkForm,
    RequestFilterForm,
    RequestForm,
    int_or_blank,
)
from inventory.procurement.models import (
    ApprovalLevel,
    BudgetHead,
    ProcurementRequest,
)
from inventory.security import requires
from inventory.sites.models import Site
from inventory.vendors.models import Vendor
from inventory.web import current_locale, format_date, format_datetime, format_inr

bp = Blueprint("procurement", __name__, url_prefix="/procurement")

EXPORT_LIMIT = 10000


def _user() -> User:
    return current_user._get_current_object()


def _status() -> int:
    """A form page shown again after a POST did not go through answers 400."""
    return 400 if request.method == "POST" else 200


def _request_or_404(request_id: int) -> ProcurementRequest:
    return db.get_or_404(ProcurementRequest, request_id)


def _back(pr: ProcurementRequest, anchor: str | None = None):
    return redirect(url_for("procurement.detail", request_id=pr.id, _anchor=anchor))


def _refuse(exc: services.ProcurementError):
    return render_template("error.html", code=403, message=str(exc)), 403


def _apply_errors(form, exc: services.ProcurementError) -> None:
    """Each problem on its field when the form has it, and all of them above the form."""
    for name, message in exc.errors:
        target = _field(form, name) if name else None
        if target is not None and hasattr(target, "errors"):
            if isinstance(target.errors, tuple):
                target.errors = list(target.errors)
            target.errors.append(message)
        form.form_errors.append(message)


def _field(form, name: str):
    """A (nested) form field by its flat name: "lines-1-quantity"."""
    parts = name.split("-")
    target = form
    try:
        while parts:
            part = parts.pop(0)
            if part.isdigit():
                target = target.entries[int(part)]
                target = getattr(target, "form", target)
            else:
                target = target[part] if hasattr(target, "__getitem__") else getattr(target, part)
    except (KeyError, IndexError, AttributeError, TypeError):
        return None
    return target


# -- template helpers ------------------------------------------------------------------------


@bp.app_template_global()
def procurement_waiting_count() -> int:
    """Requests waiting for the signed-in user's decision (the nav's count)."""
    if not current_user.is_authenticated:
        return 0
    return services.waiting_count(_user())


def named(obj) -> str:
    """A budget head's or level's name in the page's language."""
    return obj.display_name(current_locale()) if obj is not None else ""


FIELD_LABELS = {
    "title": _l("Title"),
    "justification": _l("Justification"),
    "status": _l("Status"),
    "budget_head_id": _l("Budget head"),
    "financial_year": _l("Financial year"),
    "requester_id": _l("Requester"),
    "current_level_position": _l("Waiting at level"),
    "rejection_reason": _l("Reason for rejection"),
    "order_reference": _l("Order reference"),
    "vendor_id": _l("Vendor"),
    "order_date": _l("Order date"),
    "category_id": _l("Category"),
    "model_id": _l("Model"),
    "description": _l("Description"),
    "quantity": _l("Quantity"),
    "estimated_unit_cost": _l("Estimated unit cost"),
    "actual_unit_cost": _l("Actual unit cost"),
    "site_id": _l("Site"),
    "position": _l("Line"),
    "number": _l("Number"),
}
# Not shown in the history's change rows: the workflow steps above them say it (status,
# level, reason and times), or they are internal.
HIDDEN_FIELDS = {
    "status",
    "current_level_position",
    "rejection_reason",
    "submitted_at",
    "approved_at",
    "ordered_at",
    "received_at",
    "closed_at",
    "cancelled_at",
    "request_id",
    "line_id",
    "number",
}
OBJECT_FIELDS = {
    "budget_head_id": (BudgetHead, lambda h: h.name),
    "requester_id": (User, lambda u: u.display_name),
    "vendor_id": (Vendor, lambda v: v.name),
    "category_id": (Category, lambda c: f"{c.name_en} ({c.code})"),
    "model_id": (AssetModel, lambda m: m.name),
    "site_id": (Site, lambda s: f"{s.name_en} ({s.code})"),
}


def _shown_value(key: str, value):
    if value is None or value == "":
        return None
    if key == "status":
        return str(ProcurementStatus.label_of(value))
    if key in OBJECT_FIELDS:
        model, label = OBJECT_FIELDS[key]
        obj = db.session.get(model, value)
        return label(obj) if obj is not None else f"#{value}"
    if key in ("estimated_unit_cost", "actual_unit_cost"):
        try:
            return format_inr(value)
        except (ArithmeticError, ValueError, TypeError):
            return str(value)
    if key == "order_date":
        try:
            return format_date(date.fromisoformat(value))
        except (TypeError, ValueError):
            return str(value)
    if key.endswith("_at"):
        try:
            return format_datetime(datetime.fromisoformat(value))
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def change_rows(change) -> list[tuple[str, str | None, str | None]]:
    """A change-log row of a request, line or destination as (label, before, after)."""
    rows = []
    for key, pair in (change.changes or {}).items():
        if key in HIDDEN_FIELDS:
            continue
        before, after = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        if change.action == "create":
            before = None
        if change.action == "delete":
            after = None
        rows.append(
            (str(FIELD_LABELS.get(key, key)), _shown_value(key, before), _shown_value(key, after))
        )
    return rows


def change_subject(change) -> str:
    """What a change-log row is about: the request, "line 2" or "line 2 @ CSC-001"."""
    if change.object_type == ProcurementRequest.__tablename__:
        return ""
    label = change.object_label or ""
    _number, _sep, rest = label.partition(" · ")
    return _("Line %(what)s", what=rest) if rest else label


bp.add_app_template_global(change_rows, "procurement_change_rows")
bp.add_app_template_global(change_subject, "procurement_change_subject")
bp.add_app_template_global(named, "procurement_named")


# -- choices ---------------------------------------------------------------------------------


def head_choices(blank: str | None, *, active_only: bool = False, keep: int | None = None):
    heads = services.budget_heads(active_only=active_only, keep=keep)
    rows = [(h.id, named(h) + ("" if h.active else f" ({_('not in use')})")) for h in heads]
    return options(([(0, blank)] if blank is not None else []) + rows)


def year_choices(blank: str | None, *extra: str):
    rows = [(y, y) for y in services.financial_year_choices(*extra)]
    return options(([("", blank)] if blank is not None else []) + rows)


def category_choices(blank: str):
    rows = db.session.execute(
        sa.select(Category.id, Category.name_en, Category.name_hi, Category.code).order_by(
            Category.group, Category.code
        )
    ).all()
    hindi = current_locale() == "hi"
    return options(
        [(0, blank)] + [(i, f"{(hi if hindi and hi else en)} ({code})") for i, en, hi, code in rows]
    )


def model_choices(blank: str):
    rows = db.session.execute(
        sa.select(AssetModel.id, Manufacturer.name, AssetModel.name, Category.code)
        .join(Manufacturer, AssetModel.manufacturer_id == Manufacturer.id)
        .join(Category, AssetModel.category_id == Category.id)
        .order_by(Category.code, Manufacturer.name, AssetModel.name)
    ).all()
    return options([(0, blank)] + [(i, f"{code}: {maker} {name}") for i, maker, name, code in rows])


def vendor_choices(blank: str, keep: int | None = None):
    query = (
        sa.select(Vendor.id, Vendor.name)
        .where(sa.or_(Vendor.active.is_(True), Vendor.id == (keep or 0)))
        .order_by(Vendor.name)
    )
    return options([(0, blank), *db.session.execute(query).all()])


# -- lists -----------------------------------------------------------------------------------

VIEWS = {"all": _l("All requests"), "mine": _l("Requested by me")}


def _filter_from_request() -> tuple[RequestFilterForm, services.RequestFilter, str]:
    form = RequestFilterForm(request.args)
    form.budget_head.choices = head_choices(_("All budget heads"))
    form.year.choices = year_choices(_("All years"))
    form.site.choices = site_choices(_("All sites"))
    form.validate()
    view = request.args.get("view") or "all"
    view = view if view in VIEWS else "all"
    status = form.status.data if form.status.data in ProcurementStatus.values() else ""
    year = form.year.data if services.valid_financial_year(form.year.data) else ""
    flt = services.RequestFilter(
        q=(form.q.data or "").strip()[:100],
        status=status,
        budget_head_id=form.budget_head.data,
        financial_year=year,
        site_id=form.site.data,
        requester_id=current_user.id if view == "mine" else None,
        sort=form.sort.data if form.sort.data in services.SORTS else "number",
        descending=form.dir.data != "asc",
    )
    return form, flt, view


@bp.route("/")
def index():
    form, flt, view = _filter_from_request()
    per_page = min(
        request.args.get("per_page", current_app.config["PAGE_SIZE"], type=int) or 50,
        current_app.config["MAX_PAGE_SIZE"],
    )
    query = services.request_query(flt).options(
        selectinload(ProcurementRequest.lines),
        selectinload(ProcurementRequest.budget_head),
        selectinload(ProcurementRequest.requester),
    )
    page = db.paginate(
        query,
        page=max(request.args.get("page", 1, type=int), 1),
        per_page=max(per_page, 1),
        error_out=False,
    )
    filtered = any((flt.q, flt.status, flt.budget_head_id, flt.financial_year, flt.site_id))
    return render_template(
        "procurement/index.html",
        page=page,
        filters=form,
        flt=flt,
        view=view,
        views=VIEWS,
        filtered=filtered,
        export_args={
            k: v for k, v in request.args.to_dict().items() if k not in ("page", "per_page", "fmt")
        },
        waiting=services.waiting_count(_user()),
        can_create=services.permitted(_user(), "create"),
    )


@bp.route("/export.<fmt>")
def export(fmt: str):
    """The current filtered list as CSV or XLSX (text cells made inert for spreadsheets)."""
    if fmt not in ("csv", "xlsx"):
        return render_template("error.html", code=404, message=_("Unknown format.")), 404
    _form, flt, _view = _filter_from_request()
    rows = db.session.scalars(reports.export_query(flt).limit(EXPORT_LIMIT))
    name = f"procurement-{services.local_today().isoformat()}.{fmt}"
    if fmt == "csv":
        body = "\ufeff" + reports.to_csv(rows)  # BOM: Excel then reads Hindi as UTF-8
        mimetype = "text/csv; charset=utf-8"
    else:
        body = reports.to_xlsx(rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.route("/approvals")
def approvals():
    """Requests waiting for the signed-in user's decision."""
    user = _user()
    return render_template(
        "procurement/approvals.html",
        requests=services.waiting_for(user),
        levels=services.levels_of(user),
    )


@bp.route("/budget")
def budget():
    form = BudgetFilterForm(request.args)
    form.year.choices = year_choices(_("All years"))
    form.budget_head.choices = head_choices(_("All budget heads"))
    form.validate()
    year = form.year.data if services.valid_financial_year(form.year.data) else ""
    view = reports.budget_view(year, form.budget_head.data)
    return render_template(
        "procurement/budget.html", view=view, filters=form, year=year, reports=reports
    )


# -- one request -----------------------------------------------------------------------------


def _level_progress(pr: ProcurementRequest) -> list[dict]:
    """The active levels with what happened at each in this round (approved by whom, waiting,
    rejected, to come)."""
    steps = {
        step.level_position: step
        for step in pr.actions
        if step.level_position is not None
        and step.action in (ProcurementAction.APPROVED.value, ProcurementAction.REJECTED.value)
    }
    waiting = services.awaited_level(pr)
    rows = []
    for level in services.approval_levels(active_only=True):
        step = steps.get(level.position)
        if step is not None:
            state = step.action
        elif waiting is not None and level.id == waiting.id:
            state = "waiting"
        elif pr.status in (services.DRAFT, services.SUBMITTED):
            state = "later"
        else:
            state = "none"
        rows.append({"level": level, "step": step, "state": state})
    return rows


@bp.route("/<int:request_id>")
def detail(request_id: int):
    pr = _request_or_404(request_id)
    user = _user()
    received = services.received_quantities(pr.id)
    return render_template(
        "procurement/detail.html",
        pr=pr,
        actions=services.available_actions(pr, user),
        awaited=services.awaited_level(pr),
        progress=_level_progress(pr),
        timeline=services.timeline(pr),
        received=received,
        received_value=reports.received_value(pr, received),
        remark_form=RemarkForm(),
        decision_form=DecisionForm(),
        attachment_form=AttachmentForm(),
        action_form=ConfirmForm(),
        may_attach=services.permitted(user, "attach", pr)
        and pr.status not in (services.CLOSED, services.CANCELLED),
        max_bytes=current_app.config.get("PROCUREMENT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        decision_refusal=_decision_refusal(pr, user),
    )


def _decision_refusal(pr: ProcurementRequest, user: User) -> str | None:
    """For an approver of some level looking at a submitted request they cannot decide on:
    why (their own request, another level, already approved)."""
    if pr.status != services.SUBMITTED or services.permitted(user, "approve", pr):
        return None
    if not services.levels_of(user) and pr.requester_id != user.id:
        return None
    try:
        services.require(user, "approve", pr)
    except services.ProcurementError as exc:
        return str(exc)
    return None


# -- drafting --------------------------------------------------------------------------------


def _set_choices(form: RequestForm, pr: ProcurementRequest | None) -> None:
    form.budget_head_id.choices = head_choices(
        _("Choose a budget head"), active_only=True, keep=pr.budget_head_id if pr else None
    )
    form.financial_year.choices = year_choices(None, form.financial_year.data or "")
    categories = category_choices(_("Choose a category"))
    models = model_choices(_("(any model)"))
    sites = site_choices(_("Choose a site"))
    for line in form.lines:
        line.form.category_id.choices = categories
        line.form.model_id.choices = models
        for dest in line.form.destinations:
            dest.form.site_id.choices = sites


def _add_blank_line(form: RequestForm) -> None:
    entry = form.lines.append_entry()
    while len(entry.form.destinations) < NEW_DESTINATIONS:
        entry.form.destinations.append_entry()


def _lines_from(form: RequestForm) -> list[services.LineIn]:
    lines = []
    for entry in form.lines:
        line = entry.form
        if line.is_blank():
            continue
        lines.append(
            services.LineIn(
                category_id=line.category_id.data,
                model_id=line.model_id.data,
                description=line.description.data or "",
                quantity=int_or_blank(line.quantity.data),
                estimated_unit_cost=line.estimated_unit_cost.data,
                destinations=[
                    (d.form.site_id.data, int_or_blank(d.form.quantity.data))
                    for d in line.destinations
                ],
            )
        )
    return lines


def _form_data(pr: ProcurementRequest) -> dict:
    return {
        "title": pr.title,
        "justification": pr.justification,
        "budget_head_id": pr.budget_head_id,
        "financial_year": pr.financial_year,
        "lines": [
            {
                "category_id": line.category_id,
                "model_id": line.model_id,
                "description": line.description,
                "quantity": str(line.quantity),
                "estimated_unit_cost": f"{line.estimated_unit_cost:.2f}",
                "destinations": [
                    {"site_id": d.site_id, "quantity": str(d.quantity)} for d in line.destinations
                ],
            }
            for line in pr.lines
        ],
    }


def _grow(form: RequestForm) -> bool:
    """Handle "add a line" / "add a destination" (no save). True when one was pressed."""
    if "add_line" in request.form:
        _add_blank_line(form)
        return True
    which = request.form.get("add_destination")
    if which is not None:
        try:
            entry = form.lines.entries[int(which)]
        except (ValueError, IndexError):
            return True
        entry.form.destinations.append_entry()
        return True
    return False


def _render_form(form: RequestForm, pr: ProcurementRequest | None, status: int):
    _set_choices(form, pr)
    return render_template("procurement/form.html", form=form, pr=pr), status


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def create():
    form = RequestForm()
    if request.method == "GET":
        form.financial_year.data = services.current_financial_year()
        heads = services.budget_heads(active_only=True)
        if len(heads) == 1:
            form.budget_head_id.data = heads[0].id
        first = form.lines.entries[0].form
        while len(first.destinations) < NEW_DESTINATIONS:
            first.destinations.append_entry()
        while len(form.lines) < NEW_LINES:
            _add_blank_line(form)
        return _render_form(form, None, 200)
    if _grow(form):
        return _render_form(form, None, 200)
    if form.validate_on_submit():
        try:
            pr = services.create_request(
                requester=_user(),
                title=form.title.data,
                justification=form.justification.data or "",
                budget_head_id=form.budget_head_id.data,
                financial_year=form.financial_year.data,
                lines=_lines_from(form),
            )
        except services.ProcurementError as exc:
            db.session.rollback()
            _apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Draft %(number)s saved.", number=pr.number), "success")
            return _back(pr)
    return _render_form(form, None, 400)


@bp.route("/<int:request_id>/edit", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def edit(request_id: int):
    pr = _request_or_404(request_id)
    user = _user()
    try:
        services.require(user, "edit", pr)
    except services.ProcurementPermissionError as exc:
        return _refuse(exc)
    if pr.status != services.DRAFT:
        flash(services.refusal(pr, "edit"), "error")
        return _back(pr)
    if request.method == "GET":
        form = RequestForm(data=_form_data(pr))
        for entry in form.lines:
            entry.form.destinations.append_entry()
        _add_blank_line(form)
        return _render_form(form, pr, 200)
    form = RequestForm()
    if _grow(form):
        return _render_form(form, pr, 200)
    if form.validate_on_submit():
        try:
            services.update_request(
                pr,
                actor=user,
                title=form.title.data,
                justification=form.justification.data or "",
                budget_head_id=form.budget_head_id.data,
                financial_year=form.financial_year.data,
                lines=_lines_from(form),
            )
        except services.ProcurementPermissionError as exc:
            db.session.rollback()
            return _refuse(exc)
        except services.ProcurementError as exc:
            db.session.rollback()
            _apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Draft %(number)s saved.", number=pr.number), "success")
            return _back(pr)
    return _render_form(form, pr, 400)


@bp.route("/<int:request_id>/copy", methods=["POST"])
@requires(Role.ENGINEER)
def copy(request_id: int):
    pr = _request_or_404(request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        new = services.copy_request(pr, actor=_user())
    except services.ProcurementPermissionError as exc:
        db.session.rollback()
        return _refuse(exc)
    db.session.commit()
    flash(
        _("%(number)s copied into the new draft %(new)s.", number=pr.number, new=new.number),
        "success",
    )
    return redirect(url_for("procurement.edit", request_id=new.id))


# -- workflow steps --------------------------------------------------------------------------


def _step(pr: ProcurementRequest, fn, success: str, **kwargs):
    """Run a workflow service; a refusal is flashed (or 403 for a role), success flashed."""
    try:
        fn(pr, actor=_user(), **kwargs)
    except services.ProcurementPermissionError as exc:
        db.session.rollback()
        return _refuse(exc)
    except services.ProcurementError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(pr, "workflow")
    db.session.commit()
    flash(success, "success")
    return _back(pr)


def _remark_step(request_id: int, fn, success: str):
    """A workflow step whose form carries only a remark; `success` takes %(number)s."""
    pr = _request_or_404(request_id)
    form = RemarkForm()
    if not form.validate_on_submit():
        flash(_("The form could not be read. Try again."), "error")
        return _back(pr, "workflow")
    return _step(pr, fn, success % {"number": pr.number}, remark=form.remark.data or "")


@bp.route("/<int:request_id>/submit", methods=["POST"])
@requires(Role.MANAGER)
def submit(request_id: int):
    return _remark_step(request_id, services.submit, _("%(number)s submitted for approval."))


@bp.route("/<int:request_id>/decide", methods=["POST"])
def decide(request_id: int):
    """Approve or reject at the level waiting (the approvers named there)."""
    pr = _request_or_404(request_id)
    form = DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in ("approve", "reject"):
        for message in form.remark.errors or [_("The decision could not be read. Try again.")]:
            flash(message, "error")
        return _back(pr, "workflow")
    user = _user()
    try:
        if form.decision.data == "approve":
            level = services.awaited_level(pr)
            services.approve(pr, actor=user, remark=form.remark.data or "")
            message = (
                _("%(number)s is approved.", number=pr.number)
                if pr.status == services.APPROVED
                else _(
                    "Approved at level %(level)s; %(number)s now waits for level %(next)s.",
                    level=level.name if level else "",
                    number=pr.number,
                    next=named(services.awaited_level(pr)),
                )
            )
        else:
            services.reject(pr, actor=user, reason=form.remark.data or "")
            message = _("%(number)s is rejected.", number=pr.number)
    except services.ProcurementError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(pr, "workflow")
    db.session.commit()
    flash(message, "success")
    return _back(pr)


@bp.route("/<int:request_id>/close", methods=["POST"])
@requires(Role.MANAGER)
def close(request_id: int):
    return _remark_step(request_id, services.close, _("%(number)s is closed."))


@bp.route("/<int:request_id>/cancel", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def cancel(request_id: int):
    pr = _request_or_404(request_id)
    user = _user()
    if not services.can(pr, "cancel"):
        flash(services.refusal(pr, "cancel"), "error")
        return _back(pr)
    try:
        services.require(user, "cancel", pr)
    except services.ProcurementPermissionError as exc:
        return _refuse(exc)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            services.cancel(pr, actor=user, reason=form.reason.data)
        except services.ProcurementPermissionError as exc:
            db.session.rollback()
            return _refuse(exc)
        except services.ProcurementError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("%(number)s cancelled.", number=pr.number), "success")
            return _back(pr)
    return render_template("procurement/cancel.html", form=form, pr=pr), _status()


@bp.route("/<int:request_id>/order", methods=["GET", "POST"])
@requires(Role.MANAGER)
def order(request_id: int):
    pr = _request_or_404(request_id)
    if not services.can(pr, "order"):
        flash(services.refusal(pr, "order"), "error")
        return _back(pr)
    form = OrderForm()
    form.vendor_id.choices = vendor_choices(_("Choose the vendor"), keep=pr.vendor_id)
    costs = {line.id: request.form.get(f"cost-{line.id}", "") for line in pr.lines}
    cost_errors: dict[str, list[str]] = {}
    if request.method == "GET":
        form.order_date.data = services.local_today()
    if form.validate_on_submit():
        try:
            services.record_order(
                pr,
                actor=_user(),
                order_reference=form.order_reference.data,
                vendor_id=form.vendor_id.data,
                order_date=form.order_date.data,
                actual_costs=costs,
                remark=form.remark.data or "",
            )
        except services.ProcurementPermissionError as exc:
            db.session.rollback()
            return _refuse(exc)
        except services.ProcurementError as exc:
            db.session.rollback()
            for name, message in exc.errors:
                if name and name.startswith("cost-"):
                    cost_errors.setdefault(name, []).append(message)
            _apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The order of %(number)s is recorded.", number=pr.number), "success")
            return _back(pr)
    return render_template(
        "procurement/order.html", form=form, pr=pr, costs=costs, cost_errors=cost_errors
    ), _status()


@bp.route("/<int:request_id>/attach", methods=["POST"])
@requires(Role.ENGINEER)
def attach(request_id: int):
    from inventory.files.services import FileError

    pr = _request_or_404(request_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        flash(_("The upload could not be read. Try again."), "error")
        return _back(pr, "attachments")
    try:
        attachment = services.add_attachment(pr, form.file.data, kind=form.kind.data, actor=_user())
    except services.ProcurementPermissionError as exc:
        db.session.rollback()
        return _refuse(exc)
    except (services.ProcurementError, FileError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(pr, "attachments")
    db.session.commit()
    flash(_("%(name)s attached.", name=attachment.file.original_name), "success")
    return _back(pr, "attachments")


# -- settings (administrators) ---------------------------------------------------------------


@bp.route("/settings")
@requires(Role.ADMIN)
def settings():
    heads = services.budget_heads()
    used = dict(
        db.session.execute(
            sa.select(ProcurementRequest.budget_head_id, sa.func.count()).group_by(
                ProcurementRequest.budget_head_id
            )
        ).all()
    )
    waiting = dict(
        db.session.execute(
            sa.select(ProcurementRequest.current_level_position, sa.func.count())
            .where(ProcurementRequest.status == services.SUBMITTED)
            .group_by(ProcurementRequest.current_level_position)
        ).all()
    )
    return render_template(
        "procurement/settings.html",
        heads=heads,
        used=used,
        levels=services.approval_levels(),
        waiting=waiting,
        action=ConfirmForm(),
    )


@bp.route("/settings/defaults", methods=["POST"])
@requires(Role.ADMIN)
def settings_defaults():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    added = services.ensure_default_budget_heads()
    db.session.commit()
    if added:
        flash(_("The usual budget heads were added (%(n)d).", n=added), "success")
    else:
        flash(_("There are budget heads already; nothing was added."), "info")
    return redirect(url_for("procurement.settings"))


@bp.route("/settings/budget-heads/new", methods=["GET", "POST"])
@bp.route("/settings/budget-heads/<int:head_id>/edit", methods=["GET", "POST"])
@requires(Role.ADMIN)
def head_form(head_id: int | None = None):
    head = db.get_or_404(BudgetHead, head_id) if head_id is not None else None
    form = BudgetHeadForm(obj=head)
    if form.validate_on_submit():
        try:
            services.save_budget_head(
                head,
                name=form.name.data,
                name_hi=form.name_hi.data or "",
                active=bool(form.active.data),
                position=form.position.data,
            )
        except services.ProcurementError as exc:
            db.session.rollback()
            _apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Budget head %(name)s saved.", name=form.name.data), "success")
            return redirect(url_for("procurement.settings"))
    return render_template("procurement/head_form.html", form=form, head=head), _status()


def _approver_choices():
    users = db.session.scalars(
        sa.select(User).where(User.is_active.is_(True)).order_by(User.full_name, User.username)
    )
    return [(u.id, f"{u.display_name} ({u.username}, {Role.label_of(u.role)})") for u in users]


@bp.route("/settings/levels/new", methods=["GET", "POST"])
@bp.route("/settings/levels/<int:level_id>/edit", methods=["GET", "POST"])
@requires(Role.ADMIN)
def level_form(level_id: int | None = None):
    level = db.get_or_404(ApprovalLevel, level_id) if level_id is not None else None
    form = LevelForm(obj=level)
    choices = _approver_choices()
    if level is not None:
        known = {i for i, _label in choices}
        choices += [(u.id, f"{u.display_name} ({u.username})") for u in level.approvers
                    if u.id not in known]  # fmt: skip
    form.approver_ids.choices = choices
    if request.method == "GET":
        if level is not None:
            form.approver_ids.data = [u.id for u in level.approvers]
        else:
            levels = services.approval_levels()
            form.position.data = (levels[-1].position + 1) if levels else 1
    if form.validate_on_submit():
        try:
            services.save_level(
                level,
                position=form.position.data,
                name=form.name.data,
                name_hi=form.name_hi.data or "",
                active=bool(form.active.data),
                approver_ids=form.approver_ids.data or [],
            )
        except services.ProcurementError as exc:
            db.session.rollback()
            _apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Approval level %(name)s saved.", name=form.name.data), "success")
            return redirect(url_for("procurement.settings"))
    return render_template("procurement/level_form.html", form=form, level=level), _status()
