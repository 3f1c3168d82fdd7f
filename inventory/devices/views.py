"""Device pages: the asset panel (projector state, VC reachability and test calls), the
"test call done" form and the test call list."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from inventory.assets.models import Asset
from inventory.assets.views import site_choices
from inventory.choices import Role
from inventory.devices import services
from inventory.devices.forms import TestCallFilterForm, TestCallForm
from inventory.devices.models import VcTestCall
from inventory.extensions import db
from inventory.probes.pjlink import ERROR_CATEGORIES, describe_input
from inventory.security import requires, role_allows

bp = Blueprint("devices", __name__, url_prefix="/devices")


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _local_now() -> datetime:
    return datetime.now(_tz()).replace(tzinfo=None, second=0, microsecond=0)


@bp.app_template_global()
def device_panel(asset: Asset) -> dict | None:
    """What the asset page shows for a projector or a VC endpoint (None for the rest)."""
    if services.is_projector(asset):
        state = services.projector_state(asset.id)
        return {
            "kind": "projector",
            "state": state,
            "input_label": describe_input(state.input) if state else None,
            "categories": ERROR_CATEGORIES,
            "addressed": bool(asset.management_address),
        }
    if services.is_vc_endpoint(asset):
        form = None
        if role_allows(Role.ENGINEER):
            form = TestCallForm(formdata=None)
            form.at.data = _local_now()
        return {
            "kind": "vc",
            "state": services.vc_reachability(asset.id),
            "calls": services.recent_test_calls(asset.id),
            "ports": list(current_app.config["VC_PORTS"]),
            "form": form,
            "addressed": bool(asset.management_address),
        }
    return None


@bp.route("/test-calls")
def test_calls():
    filters = TestCallFilterForm(request.args)
    filters.site.choices = site_choices(_("All sites"))
    filters.validate()
    asset_id = request.args.get("asset", type=int)
    asset = db.session.get(Asset, asset_id) if asset_id else None
    query = services.test_call_query(
        services.TestCallFilter(
            asset_id=asset.id if asset else None,
            site_id=filters.site.data or None if not filters.site.errors else None,
            result=filters.result.data or None if not filters.result.errors else None,
        )
    ).options(
        selectinload(VcTestCall.asset),
        selectinload(VcTestCall.site),
        selectinload(VcTestCall.logged_by),
    )
    page = db.paginate(
        query,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    filtered = any(request.args.get(key) for key in ("site", "result", "asset"))
    return render_template(
        "devices/test_calls.html", page=page, filters=filters, filtered=filtered, asset=asset
    )


@bp.route("/<int:asset_id>/test-calls/new", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def log_test_call(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    if not services.is_vc_endpoint(asset):
        abort(404)
    form = TestCallForm()
    if request.method == "GET":
        form.at.data = _local_now()
    if form.validate_on_submit():
        try:
            services.log_test_call(
                asset,
                at=form.at.data.replace(tzinfo=_tz()).astimezone(UTC),
                result=form.result.data,
                remarks=form.remarks.data or "",
                logged_by=current_user,
            )
        except services.DeviceError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Test call recorded."), "success")
            return redirect(url_for("assets.detail", asset_id=asset.id))
    status = 400 if request.method == "POST" else 200
    return render_template("devices/test_call_form.html", form=form, asset=asset), status
