"""QR codes of assets (PNG, SVG) and the label print form (PDF sheets)."""

from __future__ import annotations

import hashlib
import re
from datetime import date

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

from inventory.assets.models import Asset
from inventory.assets.services import AssetFilter, count_assets
from inventory.assets.views import filter_from_request
from inventory.catalog.models import Category
from inventory.choices import AssetStatus, Role
from inventory.extensions import db
from inventory.forms import ConfirmForm
from inventory.labels import services
from inventory.labels.forms import LAYOUT_NAMES, LabelForm
from inventory.labels.qr import public_asset_url, qr_png, qr_svg
from inventory.labels.sheets import LAYOUTS
from inventory.security import requires
from inventory.sites.models import Site
from inventory.web import localized

bp = Blueprint("labels", __name__)
bp.add_app_template_global(public_asset_url, "public_asset_url")

# The asset list's query arguments that make a selection (see assets.views.filter_from_request).
SELECTION_ARGS = ("ids", "q", "site", "site_id", "category", "status", "expiring", "within")
ORDER_ARGS = ("sort", "dir")
MAX_IDS = 1000  # selected rows come from one page of the list (at most MAX_PAGE_SIZE)
UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_-]+")


def _filename_part(text: str) -> str:
    return UNSAFE_IN_FILENAME.sub("-", text).strip("-")[:40] or "assets"


# --- QR codes ---------------------------------------------------------------------------


@bp.route("/assets/<int:asset_id>/qr.<fmt>")
def qr(asset_id: int, fmt: str):
    """The asset's QR code; ?download=1 saves it as <tag>-qr.png/svg."""
    if fmt not in ("png", "svg"):
        abort(404)
    tag = db.session.scalar(sa.select(Asset.tag).where(Asset.id == asset_id))
    if tag is None:
        abort(404)
    url = public_asset_url(tag)
    etag = hashlib.sha256(f"{fmt}\n{url}".encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        body = b""  # make_conditional answers 304
    else:
        body = qr_png(url) if fmt == "png" else qr_svg(url).encode()
    response = Response(body, mimetype="image/png" if fmt == "png" else "image/svg+xml")
    response.set_etag(etag)
    # The tag or PUBLIC_BASE_URL may change: the browser asks again each time (a 304).
    response.headers["Cache-Control"] = "private, no-cache"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{_filename_part(tag)}-qr.{fmt}"'
        )
    return response.make_conditional(request)


# --- the print form ---------------------------------------------------------------------


def _selection() -> tuple[AssetFilter, dict, dict]:
    """What the query string selects: rows (`ids`), a site with the sites below it (`site`,
    or `site_id`), or any of the asset list's filters. Returns the filter, the arguments to
    carry into the form's own address, and a description for the page."""
    ids = sorted({int(i) for i in request.args.getlist("ids") if i.isdigit()})[:MAX_IDS]
    if ids:
        return AssetFilter(ids=ids), {"ids": ids}, {"kind": "ids", "ids": ids}
    _form, flt = filter_from_request()
    if not flt.site_id and request.args.get("site_id", type=int):
        flt.site_id = request.args.get("site_id", type=int)
    carry = {
        key: request.args.getlist(key)
        for key in (*SELECTION_ARGS, *ORDER_ARGS)
        if key != "ids" and request.args.get(key)
    }
    site = db.session.get(Site, flt.site_id) if flt.site_id else None
    category = db.session.get(Category, flt.category_id) if flt.category_id else None
    active = []
    if flt.q:
        active.append((_("Search"), flt.q))
    if site is not None:
        active.append((_("Site"), _("%(site)s and the sites below it", site=localized(site))))
    elif flt.site_id:
        active.append((_("Site"), _("unknown site")))
    if category is not None:
        active.append((_("Category"), localized(category)))
    if flt.status:
        active.append((_("Status"), str(AssetStatus.label_of(flt.status))))
    if flt.expiring in ("warranty", "amc"):
        what = _("Warranty") if flt.expiring == "warranty" else _("AMC")
        active.append(
            (_("Expiring"), _("%(what)s within %(n)d days", what=what, n=flt.within_days))
        )
    kind = "site" if site is not None and len(active) == 1 else "filter"
    return flt, carry, {"kind": kind, "active": active, "site": site}


def _download_name(flt: AssetFilter, about: dict, layout: str) -> str:
    if about["kind"] == "ids" and len(flt.ids) == 1:
        tag = db.session.scalar(sa.select(Asset.tag).where(Asset.id == flt.ids[0]))
        what = _filename_part(tag or "asset")
    elif about["kind"] == "ids":
        what = "selected"
    elif about.get("site") is not None:
        what = _filename_part(about["site"].code)
    else:
        what = "assets"
    return f"labels-{what}-{layout}-{date.today().isoformat()}.pdf"


@bp.route("/labels/", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def index():
    flt, carry, about = _selection()
    limit = int(current_app.config["LABELS_MAX"])
    count = count_assets(flt)
    form = LabelForm()
    if request.method == "GET":
        default = current_app.config["LABELS_DEFAULT_LAYOUT"]
        form.layout.data = default if default in LAYOUTS else next(iter(LAYOUTS))
        form.placeholders()
    problem = None
    try:
        services.check_count(count, limit)
    except services.LabelError as exc:
        problem = str(exc)
    if form.validate_on_submit() and problem is None:
        society = services.Society(
            current_app.config["SOCIETY_NAME"], current_app.config["SOCIETY_NAME_HI"]
        )
        try:
            pdf, _count = services.labels_pdf(
                flt,
                form.stock,
                form.margins(),
                start=form.start_position(),
                outlines=form.outlines.data,
                base_url=current_app.config["PUBLIC_BASE_URL"],
                society=society,
                limit=limit,
            )
        except services.LabelError as exc:
            form.form_errors.append(str(exc))
        else:
            name = _download_name(flt, about, form.stock.key)
            response = Response(pdf, mimetype="application/pdf")
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
            response.headers["Cache-Control"] = "no-store"
            return response
    status = 400 if request.method == "POST" else 200
    stocks = [(layout, LAYOUT_NAMES[key], layout.pages(count)) for key, layout in LAYOUTS.items()]
    return render_template(
        "labels/index.html",
        form=form,
        count=count,
        limit=limit,
        problem=problem,
        about=about,
        carry=carry,
        preview=services.preview_tags(flt) if count else [],
        stocks=stocks,
    ), status


@bp.route("/labels/selected", methods=["POST"])
@requires(Role.ENGINEER)
def selected():
    """Rows ticked in the asset list, handed over to the print form (its address names them)."""
    form = ConfirmForm()
    ids = sorted({int(i) for i in request.form.getlist("ids") if i.isdigit()})
    back = request.form.get("back") or url_for("assets.index")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("assets.index")
    if not form.validate_on_submit():
        flash(_("The form expired. Reload the page and try again."), "error")
        return redirect(back)
    if not ids:
        flash(_("Select at least one asset."), "error")
        return redirect(back)
    if len(ids) > MAX_IDS:
        flash(
            _(
                "Select at most %(n)d rows, or print the whole filtered list instead.",
                n=MAX_IDS,
            ),
            "error",
        )
        return redirect(back)
    return redirect(url_for("labels.index", ids=ids), code=303)
