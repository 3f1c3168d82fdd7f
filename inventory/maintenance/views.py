"""Preventive maintenance pages: plans, one plan with its assets, create, edit, run now."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from inventory.assets.models import Asset
from inventory.assets.views import category_choices, site_rows
from inventory.audit.services import history_for
from inventory.catalog.models import AssetModel, Manufacturer
from inventory.choices import PmTrigger, Role
from inventory.extensions import db
from inventory.forms import ConfirmForm, options
from inventory.maintenance import services
from inventory.maintenance.forms import PlanFilterForm, PlanForm
from inventory.maintenance.models import MaintenancePlan
from inventory.models_base import utcnow
from inventory.security import requires
from inventory.vendors.services import society_today, vendor_choices
from inventory.web import current_locale

bp = Blueprint("maintenance", __name__, url_prefix="/maintenance")


def _page_args() -> tuple[int, int]:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return page, current_app.config["PAGE_SIZE"]


@bp.route("/")
def index():
    form = PlanFilterForm(request.args)
    form.validate()
    active = form.active.data if form.active.data in ("yes", "no", "all") else "yes"
    flt = services.PlanFilter(
        q=(form.q.data or "").strip()[:100],
        trigger=form.trigger.data or "",
        active="" if active == "all" else active,
    )
    number, per_page = _page_args()
    page = db.paginate(services.plan_query(flt), page=number, per_page=per_page, error_out=False)
    return render_template(
        "maintenance/index.html",
        page=page,
        filters=form,
        summaries=services.plan_summaries(page.items, society_today()),
    )


@bp.route("/<int:plan_id>")
def detail(plan_id: int):
    plan = db.get_or_404(MaintenancePlan, plan_id)
    page = services.plan_assets_page(plan, *_page_args())
    return render_template(
        "maintenance/detail.html",
        plan=plan,
        page=page,
        today=society_today(),
        in_scope=page.total,
        run_form=ConfirmForm(),
        history=history_for("maintenance_plans", plan.id),
    )


def _prepare(form: PlanForm, plan: MaintenancePlan | None) -> None:
    form.category_id.choices = category_choices(_("(choose)"))
    models = db.session.scalars(
        sa.select(AssetModel).join(Manufacturer).order_by(Manufacturer.name, AssetModel.name)
    )
    form.model_id.choices = options(
        [(0, _("(choose)"))]
        + [(m.id, f"{m.manufacturer.name} {m.name} ({m.category.code})") for m in models]
    )
    form.site_id.choices = options([(0, _("Every site")), *site_rows()])
    keep = plan.vendor_id if plan is not None else None
    form.vendor_id.choices = options(
        [(0, _("(none: our own staff)")), *vendor_choices(include=keep)]
    )


def _load(form: PlanForm, plan: MaintenancePlan) -> None:
    """Fill the form's target choice and asset tag from a plan (GET of the edit page)."""
    form.target.data = "asset" if plan.asset_id else ("model" if plan.model_id else "category")
    form.asset_tag.data = plan.asset.tag if plan.asset is not None else ""


def _fields(form: PlanForm) -> dict | None:
    """The service's fields from the form, or None when the asset tag is unknown."""
    fields = {
        name: getattr(form, name).data
        for name in services.PLAN_FIELDS
        if name not in ("asset_id",) and hasattr(form, name)
    }
    target = form.target.data
    fields["category_id"] = form.category_id.data if target == "category" else None
    fields["model_id"] = form.model_id.data if target == "model" else None
    fields["asset_id"] = None
    if target == "asset":
        tag = (form.asset_tag.data or "").strip().upper()
        asset_id = db.session.scalar(sa.select(Asset.id).where(Asset.tag == tag)) if tag else None
        if asset_id is None:
            message = (
                _("No asset has the tag %(tag)s.", tag=tag) if tag else _("Enter the asset's tag.")
            )
            form.asset_tag.errors = [*form.asset_tag.errors, message]
            return None
        fields["asset_id"] = asset_id
        fields["site_id"] = None
    if form.trigger.data == PmTrigger.COUNTER.value:
        fields["lead_days"] = 0
    return fields


def _error(form: PlanForm, exc: services.MaintenanceError) -> None:
    field = exc.field
    if field == "target":
        field = {"category": "category_id", "model": "model_id", "asset": "asset_tag"}.get(
            form.target.data
        )
    if field == "asset_id":
        field = "asset_tag"
    target = getattr(form, field, None) if field else None
    if target is not None:
        target.errors = [*target.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def _form_page(form: PlanForm, plan: MaintenancePlan | None, status: int = 200):
    return render_template("maintenance/form.html", form=form, plan=plan), status


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def create():
    form = PlanForm()
    _prepare(form, None)
    if request.method == "GET":
        for key in ("category", "model"):
            value = request.args.get(key, type=int)
            if value:
                form.target.data = key
                getattr(form, f"{key}_id").data = value
        if request.args.get("asset"):
            form.target.data = "asset"
            form.asset_tag.data = request.args.get("asset", "").strip().upper()[:32]
    if form.validate_on_submit():
        fields = _fields(form)
        if fields is not None:
            try:
                plan = services.create_plan(**fields)
            except services.MaintenanceError as exc:
                db.session.rollback()
                _error(form, exc)
            else:
                db.session.commit()
                flash(
                    _(
                        "Plan %(name)s created. The scheduler opens its tickets; use "
                        "'Run now' to see them at once.",
                        name=plan.name,
                    ),
                    "success",
                )
                return redirect(url_for("maintenance.detail", plan_id=plan.id))
    if form.is_submitted():
        return _form_page(form, None, 400)
    return _form_page(form, None)


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@requires(Role.ADMIN)
def edit(plan_id: int):
    plan = db.get_or_404(MaintenancePlan, plan_id)
    form = PlanForm(obj=plan)
    _prepare(form, plan)
    if request.method == "GET":
        _load(form, plan)
    if form.validate_on_submit():
        fields = _fields(form)
        if fields is not None:
            try:
                services.update_plan(plan, today=society_today(), **fields)
            except services.MaintenanceError as exc:
                db.session.rollback()
                _error(form, exc)
            else:
                db.session.commit()
                flash(_("Plan %(name)s saved.", name=plan.name), "success")
                return redirect(url_for("maintenance.detail", plan_id=plan.id))
    if form.is_submitted():
        return _form_page(form, plan, 400)
    return _form_page(form, plan)


@bp.route("/<int:plan_id>/active", methods=["POST"])
@requires(Role.ADMIN)
def set_active(plan_id: int):
    plan = db.get_or_404(MaintenancePlan, plan_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("maintenance.detail", plan_id=plan.id))
    active = request.form.get("active") == "1"
    services.set_plan_active(plan, active)
    db.session.commit()
    if active:
        flash(_("Plan %(name)s is active again.", name=plan.name), "success")
    else:
        flash(_("Plan %(name)s is paused: it opens no new tickets.", name=plan.name), "success")
    return redirect(url_for("maintenance.detail", plan_id=plan.id))


@bp.route("/<int:plan_id>/run", methods=["POST"])
@requires(Role.ADMIN)
def run_now(plan_id: int):
    plan = db.get_or_404(MaintenancePlan, plan_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("maintenance.detail", plan_id=plan.id))
    if not plan.active:
        flash(_("The plan is paused. Activate it first."), "error")
        return redirect(url_for("maintenance.detail", plan_id=plan.id))
    result = services.run_plan(plan, utcnow())
    db.session.commit()
    if result.opened:
        flash(
            ngettext("%(num)d ticket opened.", "%(num)d tickets opened.", len(result.opened)),
            "success",
        )
    else:
        flash(_("Nothing is due yet: no ticket opened."), "info")
    return redirect(url_for("maintenance.detail", plan_id=plan.id))


@bp.route("/<int:plan_id>/delete", methods=["GET", "POST"])
@requires(Role.ADMIN)
def delete(plan_id: int):
    plan = db.get_or_404(MaintenancePlan, plan_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_plan(plan)
        db.session.commit()
        flash(_("Plan deleted."), "success")
        return redirect(url_for("maintenance.index"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete plan %(name)s?", name=plan.name),
        text=_("Tickets it has opened stay as they are. To stop it for a while, pause it."),
        cancel_url=url_for("maintenance.detail", plan_id=plan.id),
    )


# --- helpers for other pages' templates -------------------------------------------------


@bp.app_template_global()
def maintenance_for_asset(asset: Asset):
    """The plans that take in the asset, with its state under each (for the asset page)."""
    return services.plans_for_asset(asset)


@bp.app_template_global()
def plan_target(plan: MaintenancePlan) -> str:
    return services.target_label(plan, current_locale())


@bp.app_template_global()
def counter_name(counter: str) -> str:
    return services.counter_label(counter)


@bp.app_template_global()
def in_maintenance_service(asset: Asset) -> bool:
    """Whether plans open tickets for the asset (only assets out in the field)."""
    return asset.status in services.PM_STATUSES
