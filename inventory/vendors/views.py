"""Vendor and AMC contract pages: lists, details with figures, create, edit, coverage."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.routing import BuildError

from inventory.assets.models import Asset
from inventory.assets.views import category_choices, site_rows
from inventory.audit.models import ChangeLog
from inventory.audit.services import history_for
from inventory.choices import ContractState, Role
from inventory.extensions import db
from inventory.forms import ConfirmForm, options
from inventory.models_base import utcnow
from inventory.security import requires
from inventory.vendors import reports, services
from inventory.vendors.forms import (
    PERIODS,
    AddAssetsForm,
    AddRuleForm,
    ContractFilterForm,
    ContractForm,
    PeriodForm,
    VendorFilterForm,
    VendorForm,
)
from inventory.vendors.models import AmcContract, Vendor

bp = Blueprint("vendors", __name__, url_prefix="/vendors")

RECENT_TICKETS = 20


def _page_args() -> tuple[int, int]:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return page, current_app.config["PAGE_SIZE"]


def _field_error(form, exc) -> None:
    target = getattr(form, exc.field, None) if getattr(exc, "field", None) else None
    if target is not None:
        target.errors = [*target.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


# --- vendors ----------------------------------------------------------------------------


@bp.route("/")
def index():
    form = VendorFilterForm(request.args)
    form.validate()
    active = form.active.data if form.active.data in ("yes", "no", "all") else "yes"
    flt = services.VendorFilter(
        q=(form.q.data or "").strip()[:100],
        kind=form.kind.data or "",
        active="" if active == "all" else active,
    )
    number, per_page = _page_args()
    page = db.paginate(services.vendor_query(flt), page=number, per_page=per_page, error_out=False)
    today = services.society_today()
    days = services.notice_days()
    return render_template(
        "vendors/index.html",
        page=page,
        filters=form,
        contracts_in_force=services.contract_counts_by_vendor(today),
        open_tickets=reports.open_tickets_by_vendor(),
        expiring=services.contracts_expiring(days, today),
        notice_days=days,
        today=today,
    )


@bp.route("/<int:vendor_id>")
def detail(vendor_id: int):
    vendor = db.get_or_404(Vendor, vendor_id)
    period_form = PeriodForm(request.args)
    days = int(period_form.period.data) if period_form.period.data in dict(PERIODS) else 90
    now = utcnow()
    today = services.society_today(now)
    start = services.day_start(today - timedelta(days=days - 1))
    metrics = reports.vendor_metrics(vendor, start, now + timedelta(seconds=1), now)
    contracts = vendor.contracts.order_by(AmcContract.end_date.desc()).all()
    tickets = db.session.scalars(reports.vendor_tickets_query(vendor).limit(RECENT_TICKETS)).all()
    return render_template(
        "vendors/detail.html",
        vendor=vendor,
        period_form=period_form,
        metrics=metrics,
        contracts=contracts,
        tickets=tickets,
        today=today,
        notice_days=services.notice_days(),
        references=services.vendor_references(vendor),
        history=history_for("vendors", vendor.id),
    )


def _vendor_fields(form: VendorForm) -> dict:
    return {name: getattr(form, name).data for name in services.VENDOR_FIELDS}


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.MANAGER)
def create():
    form = VendorForm()
    if form.validate_on_submit():
        try:
            vendor = services.create_vendor(**_vendor_fields(form))
        except services.VendorError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Vendor %(name)s added.", name=vendor.name), "success")
            return redirect(url_for("vendors.detail", vendor_id=vendor.id))
    if form.is_submitted():
        return render_template("vendors/form.html", form=form, vendor=None), 400
    return render_template("vendors/form.html", form=form, vendor=None)


@bp.route("/<int:vendor_id>/edit", methods=["GET", "POST"])
@requires(Role.MANAGER)
def edit(vendor_id: int):
    vendor = db.get_or_404(Vendor, vendor_id)
    form = VendorForm(obj=vendor)
    if form.validate_on_submit():
        try:
            services.update_vendor(vendor, **_vendor_fields(form))
        except services.VendorError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Vendor %(name)s saved.", name=vendor.name), "success")
            return redirect(url_for("vendors.detail", vendor_id=vendor.id))
    if form.is_submitted():
        return render_template("vendors/form.html", form=form, vendor=vendor), 400
    return render_template("vendors/form.html", form=form, vendor=vendor)


@bp.route("/<int:vendor_id>/active", methods=["POST"])
@requires(Role.MANAGER)
def set_active(vendor_id: int):
    vendor = db.get_or_404(Vendor, vendor_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("vendors.detail", vendor_id=vendor.id))
    active = request.form.get("active") == "1"
    services.set_vendor_active(vendor, active)
    db.session.commit()
    if active:
        flash(_("%(name)s is active again.", name=vendor.name), "success")
    else:
        flash(
            _(
                "%(name)s is deactivated: its records stay, but it is no longer offered for "
                "new contracts, plans or tickets.",
                name=vendor.name,
            ),
            "success",
        )
    return redirect(url_for("vendors.detail", vendor_id=vendor.id))


@bp.route("/<int:vendor_id>/delete", methods=["GET", "POST"])
@requires(Role.MANAGER)
def delete(vendor_id: int):
    vendor = db.get_or_404(Vendor, vendor_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.delete_vendor(vendor)
        except services.VendorError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("vendors.detail", vendor_id=vendor_id))
        db.session.commit()
        flash(_("Vendor deleted."), "success")
        return redirect(url_for("vendors.index"))
    refs = services.vendor_references(vendor)
    if refs.total:
        flash(services.in_use_message(vendor, refs), "error")
        return redirect(url_for("vendors.detail", vendor_id=vendor.id))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete vendor %(name)s?", name=vendor.name),
        cancel_url=url_for("vendors.detail", vendor_id=vendor.id),
    )


# --- contracts --------------------------------------------------------------------------


@bp.route("/contracts/")
def contracts():
    form = ContractFilterForm(request.args)
    form.vendor.choices = options(
        [(0, _("All vendors"))]
        + [(v.id, v.name) for v in db.session.scalars(sa.select(Vendor).order_by(Vendor.name))]
    )
    form.validate()
    today = services.society_today()
    within = form.within.data if form.within.data is not None and not form.within.errors else None
    asset_id = request.args.get("asset", type=int)
    flt = services.ContractFilter(
        q=(form.q.data or "").strip()[:100],
        vendor_id=form.vendor.data,
        state=form.state.data if form.state.data in ContractState.values() else "",
        within_days=within,
        asset_id=asset_id,
    )
    page = db.paginate(
        services.contract_query(flt, today),
        page=_page_args()[0],
        per_page=_page_args()[1],
        error_out=False,
    )
    return render_template(
        "vendors/contracts.html",
        page=page,
        filters=form,
        today=today,
        notice_days=services.notice_days(),
        asset=db.session.get(Asset, asset_id) if asset_id else None,
    )


def _contract_history(contract: AmcContract) -> list[ChangeLog]:
    """The contract's own changes and those of its coverage (labelled "#<id> ...")."""
    prefix = f"#{contract.id} "
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return db.session.scalars(
        sa.select(ChangeLog)
        .where(
            sa.or_(
                sa.and_(
                    ChangeLog.object_type == "amc_contracts", ChangeLog.object_id == contract.id
                ),
                sa.and_(
                    ChangeLog.object_type.in_(("amc_contract_assets", "amc_contract_rules")),
                    ChangeLog.object_label.like(escaped + "%", escape="\\"),
                ),
            )
        )
        .order_by(ChangeLog.id.desc())
        .limit(200)
    ).all()


def _rule_form() -> AddRuleForm:
    form = AddRuleForm()
    form.category_id.choices = category_choices(_("Every category"))
    form.site_id.choices = options([(0, _("The whole district")), *site_rows()])
    return form


@bp.route("/contracts/<int:contract_id>")
def contract(contract_id: int):
    contract = db.get_or_404(AmcContract, contract_id)
    now = utcnow()
    page = services.covered_assets_page(contract, *_page_args())
    tickets = db.session.scalars(
        reports.contract_tickets_query(contract).limit(RECENT_TICKETS)
    ).all()
    return render_template(
        "vendors/contract.html",
        contract=contract,
        state=services.contract_state(contract, services.society_today(now)),
        metrics=reports.contract_metrics(contract, now),
        page=page,
        listed=services.listed_asset_ids(contract),
        tickets=tickets,
        assets_form=AddAssetsForm(formdata=None),
        rule_form=_rule_form(),
        remove_form=ConfirmForm(),
        history=_contract_history(contract),
    )


def _contract_prepare(form: ContractForm, include: int | None) -> None:
    form.vendor_id.choices = options(
        [(0, _("(choose)")), *services.vendor_choices(include=include)]
    )


def _contract_fields(form: ContractForm) -> dict:
    return {name: getattr(form, name).data for name in services.CONTRACT_FIELDS}


@bp.route("/contracts/new", methods=["GET", "POST"])
@requires(Role.MANAGER)
def contract_create():
    form = ContractForm()
    _contract_prepare(form, None)
    if request.method == "GET" and request.args.get("vendor", type=int):
        form.vendor_id.data = request.args.get("vendor", type=int)
    if form.validate_on_submit():
        try:
            contract = services.create_contract(**_contract_fields(form))
        except services.VendorError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(
                _(
                    "Contract %(reference)s added. Now say what it covers.",
                    reference=contract.reference,
                ),
                "success",
            )
            return redirect(url_for("vendors.contract", contract_id=contract.id))
    if form.is_submitted():
        return render_template("vendors/contract_form.html", form=form, contract=None), 400
    return render_template("vendors/contract_form.html", form=form, contract=None)


@bp.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
@requires(Role.MANAGER)
def contract_edit(contract_id: int):
    contract = db.get_or_404(AmcContract, contract_id)
    form = ContractForm(obj=contract)
    _contract_prepare(form, contract.vendor_id)
    if form.validate_on_submit():
        try:
            services.update_contract(contract, **_contract_fields(form))
        except services.VendorError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Contract %(reference)s saved.", reference=contract.reference), "success")
            return redirect(url_for("vendors.contract", contract_id=contract.id))
    if form.is_submitted():
        return render_template("vendors/contract_form.html", form=form, contract=contract), 400
    return render_template("vendors/contract_form.html", form=form, contract=contract)


@bp.route("/contracts/<int:contract_id>/delete", methods=["GET", "POST"])
@requires(Role.MANAGER)
def contract_delete(contract_id: int):
    contract = db.get_or_404(AmcContract, contract_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        vendor_id = contract.vendor_id
        services.delete_contract(contract)
        db.session.commit()
        flash(_("Contract deleted."), "success")
        return redirect(url_for("vendors.detail", vendor_id=vendor_id))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete contract %(reference)s?", reference=contract.reference),
        text=_(
            "Its coverage goes with it. Tickets stay with the vendor, but no longer count "
            "for this contract."
        ),
        cancel_url=url_for("vendors.contract", contract_id=contract.id),
    )


@bp.route("/contracts/<int:contract_id>/assets", methods=["POST"])
@requires(Role.MANAGER)
def contract_add_assets(contract_id: int):
    contract = db.get_or_404(AmcContract, contract_id)
    form = AddAssetsForm()
    if not form.validate_on_submit():
        flash(_("Enter at least one asset tag."), "error")
        return redirect(url_for("vendors.contract", contract_id=contract.id))
    try:
        added = services.add_assets(contract, services.split_tags(form.tags.data))
    except services.VendorError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("vendors.contract", contract_id=contract.id))
    db.session.commit()
    flash(
        ngettext(
            "%(num)d asset added to the contract.", "%(num)d assets added to the contract.", added
        ),
        "success",
    )
    return redirect(url_for("vendors.contract", contract_id=contract.id))


@bp.route("/contracts/<int:contract_id>/assets/<int:asset_id>/remove", methods=["POST"])
@requires(Role.MANAGER)
def contract_remove_asset(contract_id: int, asset_id: int):
    contract = db.get_or_404(AmcContract, contract_id)
    form = ConfirmForm()
    if form.validate_on_submit() and services.remove_asset(contract, asset_id):
        db.session.commit()
        flash(_("Asset taken off the contract."), "success")
    else:
        flash(_("That asset is not listed on the contract."), "error")
    return redirect(url_for("vendors.contract", contract_id=contract.id))


@bp.route("/contracts/<int:contract_id>/rules", methods=["POST"])
@requires(Role.MANAGER)
def contract_add_rule(contract_id: int):
    contract = db.get_or_404(AmcContract, contract_id)
    form = _rule_form()
    if not form.validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("vendors.contract", contract_id=contract.id))
    try:
        services.add_rule(contract, form.category_id.data, form.site_id.data)
    except services.VendorError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("vendors.contract", contract_id=contract.id))
    db.session.commit()
    flash(_("Coverage rule added."), "success")
    return redirect(url_for("vendors.contract", contract_id=contract.id))


@bp.route("/contracts/<int:contract_id>/rules/<int:rule_id>/remove", methods=["POST"])
@requires(Role.MANAGER)
def contract_remove_rule(contract_id: int, rule_id: int):
    contract = db.get_or_404(AmcContract, contract_id)
    form = ConfirmForm()
    if form.validate_on_submit() and services.remove_rule(contract, rule_id):
        db.session.commit()
        flash(_("Coverage rule removed."), "success")
    else:
        flash(_("That rule is not on the contract."), "error")
    return redirect(url_for("vendors.contract", contract_id=contract.id))


# --- helpers for other pages' templates -------------------------------------------------


@bp.app_template_global()
def amc_coverage(asset: Asset) -> list[AmcContract]:
    """The contracts covering the asset today (for the asset page)."""
    return services.contracts_covering(asset, services.society_today())


@bp.app_template_global()
def contract_state_of(contract: AmcContract):
    return services.contract_state(contract, services.society_today())


@bp.app_template_global()
def ticket_href(ticket) -> str | None:
    """The ticket's page, once the tickets pages exist (None until then)."""
    try:
        return url_for("tickets.detail", ticket_id=ticket.id)
    except BuildError:
        return None


@bp.app_template_global()
def tickets_list_href(**args) -> str | None:
    """The tickets list with filters, once the tickets pages exist (None until then)."""
    try:
        return url_for("tickets.index", **args)
    except BuildError:
        return None
