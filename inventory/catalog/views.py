"""Catalogue pages: categories, manufacturers and models."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.catalog import services
from inventory.catalog.forms import AssetModelForm, CategoryForm, ManufacturerForm
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.choices import Role
from inventory.extensions import db
from inventory.forms import BaseForm, ConfirmForm, options
from inventory.security import requires

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

KINDS: dict[str, type] = {
    "category": Category,
    "manufacturer": Manufacturer,
    "model": AssetModel,
}


@bp.route("/")
def index():
    asset_counts = dict(
        db.session.execute(
            sa.select(Asset.category_id, sa.func.count()).group_by(Asset.category_id)
        ).all()
    )
    model_counts = dict(
        db.session.execute(
            sa.select(Asset.model_id, sa.func.count()).group_by(Asset.model_id)
        ).all()
    )
    return render_template(
        "catalog/index.html",
        categories=db.session.scalars(sa.select(Category).order_by(Category.group, Category.code)),
        manufacturers=db.session.scalars(sa.select(Manufacturer).order_by(Manufacturer.name)),
        models=db.session.scalars(
            sa.select(AssetModel).join(Manufacturer).order_by(Manufacturer.name, AssetModel.name)
        ),
        asset_counts=asset_counts,
        model_counts=model_counts,
    )


def _edit(form: BaseForm, title: str, save: Callable[[], object]):
    """Validate, save through the service, commit; re-render with the error otherwise."""
    if form.validate_on_submit():
        try:
            save()
        except services.CatalogError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            return render_template("catalog/form.html", form=form, title=title), 400
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("catalog.index"))
    return render_template("catalog/form.html", form=form, title=title)


def _model_choices(form: AssetModelForm) -> None:
    makers = db.session.scalars(sa.select(Manufacturer).order_by(Manufacturer.name))
    form.manufacturer_id.choices = options((m.id, m.name) for m in makers)
    categories = db.session.scalars(sa.select(Category).order_by(Category.code))
    form.category_id.choices = options((c.id, f"{c.name_en} ({c.code})") for c in categories)


@bp.route("/categories/new", methods=["GET", "POST"])
@bp.route("/categories/<int:item_id>/edit", methods=["GET", "POST"])
@requires(Role.MANAGER)
def category_form(item_id: int | None = None):
    category = db.get_or_404(Category, item_id) if item_id else None
    form = CategoryForm(obj=category)
    return _edit(
        form,
        _("Edit category") if category else _("New category"),
        lambda: services.save_category(
            category,
            code=form.code.data,
            name_en=form.name_en.data,
            name_hi=form.name_hi.data or "",
            group=form.group.data,
        ),
    )


@bp.route("/manufacturers/new", methods=["GET", "POST"])
@bp.route("/manufacturers/<int:item_id>/edit", methods=["GET", "POST"])
@requires(Role.MANAGER)
def manufacturer_form(item_id: int | None = None):
    maker = db.get_or_404(Manufacturer, item_id) if item_id else None
    form = ManufacturerForm(obj=maker)
    return _edit(
        form,
        _("Edit manufacturer") if maker else _("New manufacturer"),
        lambda: services.save_manufacturer(maker, form.name.data),
    )


@bp.route("/models/new", methods=["GET", "POST"])
@bp.route("/models/<int:item_id>/edit", methods=["GET", "POST"])
@requires(Role.MANAGER)
def model_form(item_id: int | None = None):
    model = db.get_or_404(AssetModel, item_id) if item_id else None
    form = AssetModelForm(obj=model)
    _model_choices(form)
    return _edit(
        form,
        _("Edit model") if model else _("New model"),
        lambda: services.save_model(
            model,
            manufacturer_id=form.manufacturer_id.data,
            name=form.name.data,
            category_id=form.category_id.data,
        ),
    )


@bp.route("/<kind>/<int:item_id>/delete", methods=["GET", "POST"])
@requires(Role.MANAGER)
def delete(kind: str, item_id: int):
    model_cls = KINDS.get(kind)
    if model_cls is None:
        return render_template("error.html", code=404, message=_("Unknown kind.")), 404
    item = db.get_or_404(model_cls, item_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.delete_catalog_item(item)
        except services.CatalogError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Deleted."), "success")
        return redirect(url_for("catalog.index"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete %(item)s?", item=str(item)),
        cancel_url=url_for("catalog.index"),
    )
