"""Site pages: the tree, a site with its child sites and assets, create, edit, delete."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.audit.services import history_for
from inventory.choices import Role
from inventory.extensions import db
from inventory.forms import ConfirmForm, options
from inventory.security import requires
from inventory.sites import services
from inventory.sites.forms import SiteFilterForm, SiteForm
from inventory.sites.models import Site

bp = Blueprint("sites", __name__, url_prefix="/sites")


def _form_fields(form: SiteForm) -> dict:
    return {name: getattr(form, name).data for name in services.FIELDS}


@bp.route("/")
def index():
    filters = SiteFilterForm(request.args)
    filters.validate()
    rows = services.tree_rows(kind=filters.kind.data or None, query=filters.q.data or None)
    counts = services.asset_counts_by_site()
    return render_template("sites/index.html", rows=rows, counts=counts, filters=filters)


@bp.route("/<int:site_id>")
def detail(site_id: int):
    site = db.get_or_404(Site, site_id)
    page = db.paginate(
        sa.select(Asset).where(Asset.site_id == site.id).order_by(Asset.tag),
        per_page=50,
        error_out=False,
    )
    subtree_total = db.session.scalar(
        sa.select(sa.func.count()).where(services.subtree_condition(Asset.site_id, site.id))
    )
    counts = services.asset_counts_by_site()
    return render_template(
        "sites/detail.html",
        site=site,
        ancestors=services.ancestors(site),
        page=page,
        subtree_total=subtree_total,
        counts=counts,
        history=history_for("sites", site.id),
    )


def _prepare(form: SiteForm, site: Site | None) -> None:
    form.parent_id.choices = options(
        [(0, _("(none: a district headquarters)")), *services.parent_choices(exclude=site)]
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.MANAGER)
def create():
    form = SiteForm()
    if request.method == "GET" and request.args.get("parent", type=int):
        form.parent_id.data = request.args.get("parent", type=int)
    _prepare(form, None)
    if form.validate_on_submit():
        try:
            site = services.create_site(**_form_fields(form))
        except services.SiteError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Site %(code)s created.", code=site.code), "success")
            return redirect(url_for("sites.detail", site_id=site.id))
        return render_template("sites/form.html", form=form, site=None), 400
    return render_template("sites/form.html", form=form, site=None)


@bp.route("/<int:site_id>/edit", methods=["GET", "POST"])
@requires(Role.MANAGER)
def edit(site_id: int):
    site = db.get_or_404(Site, site_id)
    form = SiteForm(obj=site)
    if request.method == "GET":
        form.parent_id.data = site.parent_id or 0
    _prepare(form, site)
    if form.validate_on_submit():
        try:
            services.update_site(site, **_form_fields(form))
        except services.SiteError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Site %(code)s saved.", code=site.code), "success")
            return redirect(url_for("sites.detail", site_id=site.id))
        return render_template("sites/form.html", form=form, site=site), 400
    return render_template("sites/form.html", form=form, site=site)


@bp.route("/<int:site_id>/delete", methods=["GET", "POST"])
@requires(Role.MANAGER)
def delete(site_id: int):
    site = db.get_or_404(Site, site_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.delete_site(site)
        except services.SiteError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("sites.detail", site_id=site_id))
        db.session.commit()
        flash(_("Site deleted."), "success")
        return redirect(url_for("sites.index"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete site %(name)s?", name=site.name_en),
        cancel_url=url_for("sites.detail", site_id=site.id),
    )
