"""Register pages: the list with search, filters, sorting and bulk change; one asset; edits."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from inventory.assets import services
from inventory.assets.forms import AssetFilterForm, AssetForm, BulkForm
from inventory.assets.models import Asset
from inventory.audit.services import history_for
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.choices import Role
from inventory.credentials.models import CredentialProfile
from inventory.extensions import db
from inventory.forms import ConfirmForm, options
from inventory.security import requires, role_allows
from inventory.sites.models import Site
from inventory.web import current_locale, localized

bp = Blueprint("assets", __name__, url_prefix="/assets")


def site_rows() -> list[tuple[int, str]]:
    """Every site as (id, label), in hierarchy order and indented by depth.

    The walk of sites.services.tree_rows over five plain columns instead of full objects:
    the register list needs a district's ~600 sites on every request, and loading them as
    objects cost more than the list's own queries.
    """
    hindi = current_locale() == "hi"
    columns = (Site.id, Site.parent_id, Site.code, Site.name_en, Site.name_hi)
    by_parent: dict[int | None, list] = {}
    for site in db.session.execute(sa.select(*columns).order_by(Site.name_en)):
        by_parent.setdefault(site.parent_id, []).append(site)
    rows: list[tuple[int, str]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for site in by_parent.get(parent_id, ()):
            name = site.name_hi if hindi and site.name_hi else site.name_en
            rows.append((site.id, "— " * depth + f"{name} ({site.code})"))
            walk(site.id, depth + 1)

    walk(None, 0)
    return rows


def site_choices(blank: str | None = None, rows: list[tuple[int, str]] | None = None) -> list:
    rows = site_rows() if rows is None else rows
    return options(([(0, blank)] if blank is not None else []) + rows)


def category_choices(blank: str | None = None) -> list[tuple]:
    rows = [
        (c.id, f"{localized(c)} ({c.code})")
        for c in db.session.scalars(sa.select(Category).order_by(Category.group, Category.code))
    ]
    return options(([(0, blank)] if blank is not None else []) + rows)


def filter_from_request(sites: list | None = None) -> tuple[AssetFilterForm, services.AssetFilter]:
    """Read the list's query string into a form (for the page) and a filter (for the query)."""
    form = AssetFilterForm(request.args)
    form.site.choices = site_choices(_("All sites"), sites)
    form.category.choices = category_choices(_("All categories"))
    form.validate()
    within = form.within.data if form.within.data is not None and not form.within.errors else 90
    flt = services.AssetFilter(
        q=(form.q.data or "").strip()[:100],
        site_id=form.site.data,
        category_id=form.category.data,
        status=form.status.data or "",
        expiring=form.expiring.data or "",
        within_days=within,
        sort=form.sort.data if form.sort.data in services.SORTS else "tag",
        descending=form.dir.data == "desc",
    )
    return form, flt


@bp.route("/")
def index():
    sites = site_rows()  # ~600 in a district: read once for the filter and the bulk change
    form, flt = filter_from_request(sites)
    per_page = min(
        request.args.get("per_page", current_app.config["PAGE_SIZE"], type=int) or 50,
        current_app.config["MAX_PAGE_SIZE"],
    )
    page = services.asset_page(flt, request.args.get("page", 1, type=int), per_page)
    bulk = BulkForm()
    if role_allows(Role.MANAGER):  # the only ones shown the bulk change
        bulk.site_id.choices = site_choices(_("(unchanged)"), sites)
    return render_template("assets/index.html", page=page, filters=form, flt=flt, bulk=bulk)


@bp.route("/bulk", methods=["POST"])
@requires(Role.MANAGER)
def bulk():
    form = BulkForm()
    form.site_id.choices = site_choices(_("(unchanged)"))
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    back = request.form.get("back") or url_for("assets.index")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("assets.index")
    if not form.validate_on_submit():
        flash(_("The bulk change could not be read. Try again."), "error")
        return redirect(back)
    if not ids:
        flash(_("Select at least one asset."), "error")
        return redirect(back)
    if not form.status.data and not form.site_id.data:
        flash(_("Choose a new status or a site."), "error")
        return redirect(back)
    try:
        count = services.bulk_update(
            ids, status=form.status.data or None, site_id=form.site_id.data
        )
    except services.AssetError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()
    flash(_("%(n)d assets changed.", n=count), "success")
    return redirect(back)


@bp.route("/<int:asset_id>")
def detail(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    return render_template(
        "assets/detail.html", asset=asset, history=history_for("assets", asset.id)
    )


@bp.route("/tag/<tag>")
def by_tag(tag: str):
    asset = db.first_or_404(sa.select(Asset).where(Asset.tag == tag.strip().upper()))
    return redirect(url_for("assets.detail", asset_id=asset.id))


def _prepare(form: AssetForm) -> None:
    form.category_id.choices = category_choices()
    form.site_id.choices = site_choices()
    models = db.session.scalars(
        sa.select(AssetModel).join(Manufacturer).order_by(Manufacturer.name, AssetModel.name)
    )
    form.model_id.choices = options(
        [(0, _("(no model)"))]
        + [(m.id, f"{m.manufacturer.name} {m.name} ({m.category.code})") for m in models]
    )
    profiles = db.session.scalars(sa.select(CredentialProfile).order_by(CredentialProfile.name))
    form.credential_profile_id.choices = options(
        [(0, _("(none)"))] + [(p.id, p.name) for p in profiles]
    )


def _save(form: AssetForm, asset: Asset | None):
    fields = {name: getattr(form, name).data for name in services.FIELDS}
    try:
        if asset is None:
            asset = services.create_asset(**fields)
        else:
            services.update_asset(asset, **fields)
    except services.AssetError as exc:
        db.session.rollback()
        target = getattr(form, exc.field, None) if exc.field else None
        if target is not None:
            target.errors = [*target.errors, str(exc)]
        else:
            form.form_errors.append(str(exc))
        return None
    db.session.commit()
    return asset


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def create():
    form = AssetForm()
    _prepare(form)
    if request.method == "GET":
        form.site_id.data = request.args.get("site", type=int)
    if form.validate_on_submit():
        asset = _save(form, None)
        if asset is not None:
            flash(_("Asset %(tag)s registered.", tag=asset.tag), "success")
            return redirect(url_for("assets.detail", asset_id=asset.id))
        return render_template("assets/form.html", form=form, asset=None), 400
    return render_template("assets/form.html", form=form, asset=None)


@bp.route("/<int:asset_id>/edit", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def edit(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    form = AssetForm(obj=asset)
    _prepare(form)
    if form.validate_on_submit():
        if _save(form, asset) is not None:
            flash(_("Asset %(tag)s saved.", tag=asset.tag), "success")
            return redirect(url_for("assets.detail", asset_id=asset.id))
        return render_template("assets/form.html", form=form, asset=asset), 400
    return render_template("assets/form.html", form=form, asset=asset)


@bp.route("/<int:asset_id>/delete", methods=["GET", "POST"])
@requires(Role.MANAGER)
def delete(asset_id: int):
    asset = db.get_or_404(Asset, asset_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.delete_asset(asset)
        except services.AssetError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("assets.detail", asset_id=asset_id))
        db.session.commit()
        flash(_("Asset deleted. Its history is kept."), "success")
        return redirect(url_for("assets.index"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete asset %(tag)s?", tag=asset.tag),
        text=_(
            "Deleting is for records made by mistake. An asset that is written off should be "
            "marked condemned instead."
        ),
        cancel_url=url_for("assets.detail", asset_id=asset.id),
    )


EXPORT_LIMIT = 100_000


@bp.route("/export.<fmt>")
def export(fmt: str):
    """The current filtered list as CSV or XLSX."""
    from datetime import date

    from flask import Response

    from inventory.assets import tabular

    if fmt not in ("csv", "xlsx"):
        return render_template("error.html", code=404, message=_("Unknown format.")), 404
    _form, flt = filter_from_request()
    assets = db.session.scalars(services.asset_query(flt).limit(EXPORT_LIMIT))
    name = f"assets-{date.today().isoformat()}.{fmt}"
    if fmt == "csv":
        body = "\ufeff" + tabular.to_csv(assets)  # BOM: Excel then reads Hindi as UTF-8
        mimetype = "text/csv; charset=utf-8"
    else:
        body = tabular.to_xlsx(assets)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
