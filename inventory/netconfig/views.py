"""Pages of network devices over SSH: the devices list (host keys changed first), managing
an asset over SSH, fetch now, accepting a changed host key, updating the register from the
facts, and the configuration history with diffs. The asset page's panel comes from
`netconfig_panel` (a template global)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.choices import Role, SshOutcome
from inventory.extensions import db
from inventory.forms import ConfirmForm
from inventory.netconfig import services
from inventory.netconfig.forms import DeviceForm
from inventory.netconfig.models import ConfigVersion, SshCheck, SshDevice, SshHostKey
from inventory.security import requires

bp = Blueprint("netconfig", __name__, url_prefix="/netconfig")


def _page_args() -> tuple[int, int]:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return page, current_app.config["PAGE_SIZE"]


def _asset_url(asset: Asset) -> str:
    return url_for("assets.detail", asset_id=asset.id, _anchor="ssh")


@bp.app_template_global()
def netconfig_panel(asset: Asset) -> dict:
    """What the asset page shows about SSH management."""
    device = services.device_of(asset.id)
    check = services.check_of(asset.id)
    return {
        "device": device,
        "host_key": services.host_key_of(asset.id),
        "check": check,
        "mismatches": services.facts_mismatches(asset, check) if device else [],
        "latest": services.latest_version(asset.id) if device else None,
        "events": db.session.scalars(services.events_query(asset.id).limit(5)).all(),
        "blocked": services.why_not_manageable(asset),
        "form": ConfirmForm(),
    }


@bp.route("/")
def index():
    """Every managed device with its last result; changed host keys first."""
    number, per_page = _page_args()
    state = request.args.get("state", "")
    query = (
        sa.select(SshDevice)
        .join(Asset, Asset.id == SshDevice.asset_id)
        .outerjoin(SshCheck, SshCheck.asset_id == SshDevice.asset_id)
        .outerjoin(SshHostKey, SshHostKey.asset_id == SshDevice.asset_id)
    )
    if state in SshOutcome.values():
        query = query.where(SshCheck.outcome == state)
    elif state == "never":
        query = query.where(SshCheck.id.is_(None))
    query = query.order_by(SshHostKey.pending_key.is_(None), SshCheck.outcome == "ok", Asset.tag)
    page = db.paginate(query, page=number, per_page=per_page, error_out=False)
    ids = [device.asset_id for device in page.items]
    checks = {
        c.asset_id: c
        for c in db.session.scalars(sa.select(SshCheck).where(SshCheck.asset_id.in_(ids)))
    }
    keys = {
        k.asset_id: k
        for k in db.session.scalars(sa.select(SshHostKey).where(SshHostKey.asset_id.in_(ids)))
    }
    rows = [
        (device, device.asset, checks.get(device.asset_id), keys.get(device.asset_id))
        for device in page.items
    ]
    pending = db.session.execute(services.pending_host_keys_query().limit(50)).all()
    events = db.session.scalars(services.events_query().limit(20)).all()
    return render_template(
        "netconfig/index.html", page=page, rows=rows, pending=pending, events=events, state=state
    )


@bp.route("/assets/<int:asset_id>/manage", methods=["GET", "POST"])
@requires(Role.MANAGER)
def manage(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    device = services.device_of(asset.id)
    form = DeviceForm(obj=device)
    if request.method == "GET" and device is None:
        form.device_type.data = services.default_device_type(asset)
    if form.validate_on_submit():
        try:
            services.manage_device(asset, form.device_type.data, form.port.data, form.enabled.data)
        except services.NetconfigError as exc:
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("%(tag)s is managed over SSH.", tag=asset.tag), "success")
            return redirect(_asset_url(asset))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "netconfig/manage.html",
            asset=asset,
            device=device,
            form=form,
            blocked=services.why_not_manageable(asset),
        ),
        status,
    )


@bp.route("/assets/<int:asset_id>/unmanage", methods=["GET", "POST"])
@requires(Role.MANAGER)
def unmanage(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    if services.device_of(asset.id) is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.stop_managing(asset)
        db.session.commit()
        flash(_("%(tag)s is no longer managed over SSH.", tag=asset.tag), "success")
        return redirect(_asset_url(asset))
    return render_template(
        "netconfig/confirm.html",
        form=form,
        title=_("Stop managing %(tag)s over SSH?", tag=asset.tag),
        text=_("Stored configurations and the host key are kept; no more backups are made."),
        button=_("Stop managing"),
        cancel_url=_asset_url(asset),
    )


@bp.route("/assets/<int:asset_id>/fetch", methods=["POST"])
@requires(Role.ENGINEER)
def fetch(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        check = services.fetch_now(asset, current_app.config["NETCONFIG_TIMEOUT_SECONDS"])
    except services.NetconfigError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(_asset_url(asset))
    db.session.commit()
    if check.outcome == SshOutcome.OK.value:
        flash(_("Facts and configuration fetched."), "success")
    else:
        flash(
            _(
                "Fetching failed: %(outcome)s. %(error)s",
                outcome=SshOutcome.label_of(check.outcome),
                error=check.error,
            ),
            "error",
        )
    return redirect(_asset_url(asset))


@bp.route("/assets/<int:asset_id>/accept-key", methods=["GET", "POST"])
@requires(Role.ADMIN)
def accept_key(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    stored = services.host_key_of(asset.id)
    if stored is None or not stored.pending_key:
        flash(_("There is no new host key waiting to be accepted."), "error")
        return redirect(_asset_url(asset))
    form = ConfirmForm()
    if form.validate_on_submit():
        services.accept_pending_key(asset.id)
        db.session.commit()
        flash(_("The new host key of %(tag)s is trusted.", tag=asset.tag), "success")
        return redirect(_asset_url(asset))
    return render_template("netconfig/accept_key.html", asset=asset, stored=stored, form=form)


@bp.route("/assets/<int:asset_id>/apply-facts", methods=["GET", "POST"])
@requires(Role.MANAGER)
def apply_facts(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    mismatches = services.facts_mismatches(asset, services.check_of(asset.id))
    if not mismatches:
        flash(_("The register already agrees with the device's facts."), "info")
        return redirect(_asset_url(asset))
    form = ConfirmForm()
    error = None
    if form.validate_on_submit():
        try:
            services.apply_facts(asset)
        except services.NetconfigError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(
                _("The register of %(tag)s is updated from the device.", tag=asset.tag), "success"
            )
            return redirect(_asset_url(asset))
    return (
        render_template(
            "netconfig/apply_facts.html",
            asset=asset,
            mismatches=mismatches,
            form=form,
            error=error,
        ),
        422 if error else 200,
    )


@bp.route("/assets/<int:asset_id>/configs")
def configs(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    number, per_page = _page_args()
    page = db.paginate(
        services.versions_query(asset.id), page=number, per_page=per_page, error_out=False
    )
    events = db.session.scalars(services.events_query(asset.id).limit(100)).all()
    return render_template(
        "netconfig/configs.html",
        asset=asset,
        page=page,
        events=events,
        device=services.device_of(asset.id),
    )


def _version(asset: Asset, number: int | None) -> ConfigVersion:
    if number is None:
        abort(404)
    version = db.session.scalar(
        sa.select(ConfigVersion).where(
            ConfigVersion.asset_id == asset.id, ConfigVersion.number == number
        )
    )
    if version is None:
        abort(404)
    return version


@bp.route("/assets/<int:asset_id>/configs/<int:number>")
def version(asset_id: int, number: int):
    asset = db.get_or_404(Asset, asset_id)
    return render_template("netconfig/version.html", asset=asset, version=_version(asset, number))


@bp.route("/assets/<int:asset_id>/diff")
def diff(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    latest = services.latest_version(asset.id)
    new_number = request.args.get("to", type=int) or (latest.number if latest else None)
    old_number = request.args.get("from", type=int) or (
        new_number - 1 if new_number and new_number > 1 else None
    )
    if new_number is None or old_number is None:
        flash(_("Two versions are needed for a comparison."), "info")
        return redirect(url_for("netconfig.configs", asset_id=asset.id))
    old, new = _version(asset, old_number), _version(asset, new_number)
    numbers = db.session.scalars(
        sa.select(ConfigVersion.number)
        .where(ConfigVersion.asset_id == asset.id)
        .order_by(ConfigVersion.number.desc())
    ).all()
    return render_template(
        "netconfig/diff.html",
        asset=asset,
        old=old,
        new=new,
        lines=services.diff_versions(old, new),
        numbers=numbers,
    )
