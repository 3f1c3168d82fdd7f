"""The phone pages: /a/<tag> (what a QR label opens), /scan, reporting a fault, "Verified here".

Who sees what: every page here needs a signed-in user (the default of inventory.security).
An anonymous visitor who scans a label is sent to the login page with next=/a/<tag> and
sees nothing of the asset, not even whether the tag exists; after signing in, the login
page returns to the asset. Viewers see the asset; engineers and above may act on it.

The decoder (vendored qr-scanner) is served from a versioned URL with a one-year
Cache-Control, so a phone fetches it once: see inventory/field/decoder.py and
`scanner_assets`.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from inventory.assets.models import Asset
from inventory.choices import Role
from inventory.extensions import db
from inventory.field import decoder as decoder_files
from inventory.field import services
from inventory.field.decoder import (
    DECODER_FILES,  # noqa: F401 - verification views use it
    DECODER_SCRIPT,
    DecoderFiles,
    decoder_version,
)
from inventory.field.forms import FaultForm, TagForm, VerifyForm
from inventory.security import public, requires, role_allows

bp = Blueprint("field", __name__)

# CSP addition for pages that scan: qr-scanner starts its worker from a blob: URL.
SCANNER_WORKER_SRC = "worker-src 'self' blob:"


@bp.app_template_global()
def scanner_assets() -> Markup:
    """Script tags of the camera scanner (window.SampadaScanner), for any page that scans.

    Also marks the response so that its Content-Security-Policy lets the decoder start
    its worker. Call it in the page's <head>: ``{{ scanner_assets() }}``.
    """
    g.field_scanner_page = True
    return Markup('<script src="{}" defer data-decoder="{}"></script>').format(
        url_for("static", filename="js/scanner.js"),
        url_for("field.decoder", version=decoder_version(), filename=DECODER_SCRIPT),
    )


def _allow_scanner_worker(response):
    """Runs after the security headers are set: adds worker-src on the pages that scan."""
    if g.get("field_scanner_page"):
        policy = response.headers.get("Content-Security-Policy", "")
        if policy and "worker-src" not in policy:
            response.headers["Content-Security-Policy"] = f"{policy}; {SCANNER_WORKER_SRC}"
    return response


@bp.record_once
def _install(state) -> None:
    # After-request functions run last-registered first; at the front of the list this
    # one runs after inventory.security's, which sets the policy it extends.
    state.app.after_request_funcs.setdefault(None, []).insert(0, _allow_scanner_worker)
    # The decoder files, answered before Flask (see inventory/field/decoder.py).
    state.app.wsgi_app = DecoderFiles(state.app.wsgi_app)


def _ticket_url(ticket) -> str | None:
    """The ticket's page, when the tickets pages exist in this build."""
    if "tickets.detail" in current_app.view_functions:
        return url_for("tickets.detail", ticket_id=ticket.id)
    return None


def _asset_or_404(asset_id: int) -> Asset:
    return db.get_or_404(Asset, asset_id)


# --- pages ------------------------------------------------------------------------------


@bp.route("/a/<path:tag>")
def asset(tag: str):
    """The page a label's QR code opens: the asset, phone-sized."""
    found = services.find_asset(tag)
    if found is None:
        shown = services.tag_from_text(tag) or ""
        form = TagForm(formdata=None, data={"tag": shown})
        return render_template("field/not_found.html", tag=shown, form=form), 404
    if found.tag != tag:  # typed in lower case, with spaces, ...: one address per asset
        return redirect(url_for("field.asset", tag=found.tag))
    return render_template(
        "field/asset.html",
        asset=found,
        health=services.health_summary(found),
        tickets=services.open_tickets(found),
        can_act=role_allows(Role.ENGINEER),
        verify_form=VerifyForm(),
        ticket_url=_ticket_url,
    )


@bp.route("/scan")
def scan():
    """The camera scan page; ?tag=... (the manual entry, no JavaScript needed) opens an asset."""
    form = TagForm(request.args)
    status = 200
    not_found = None
    if "tag" in request.args:
        if form.validate():
            tag = services.tag_from_text(form.tag.data)
            found = services.find_asset(tag) if tag else None
            if found is not None:
                return redirect(url_for("field.asset", tag=found.tag))
            if tag is None:
                form.tag.errors.append(
                    _("That is not a tag. A tag looks like GON-PRJ-0001 (letters, digits, -).")
                )
                status = 400
            else:
                form.tag.data = tag
                not_found = tag
                status = 404
        else:
            status = 400
    return render_template("field/scan.html", form=form, not_found=not_found), status


@bp.route("/scan/decoder/<version>/<filename>")
@public
def decoder(version: str, filename: str):
    """The vendored QR decoder. The DecoderFiles layer answers these URLs before Flask (no
    session, so no "Vary: Cookie"); this rule names them for url_for, and answers the same
    if the layer is not installed."""
    return decoder_files.answer(request, version, filename)


# --- actions ----------------------------------------------------------------------------


@bp.route("/field/<int:asset_id>/fault", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def fault(asset_id: int):
    """Report a fault on the asset: a maintenance ticket with the asset and its site."""
    target = _asset_or_404(asset_id)
    form = FaultForm()
    if request.method == "GET":
        form.category.data = services.default_fault_category(target)
    if form.validate_on_submit():
        try:
            ticket, created = services.report_fault(
                target,
                title=form.title.data,
                description=form.description.data or "",
                category=form.category.data,
                priority=form.priority.data,
                reporter=current_user._get_current_object(),
            )
        except services.FieldError as exc:
            db.session.rollback()
            field = getattr(form, exc.field, None) if exc.field else None
            if field is not None:
                field.errors = [*field.errors, str(exc)]
            else:
                form.form_errors.append(str(exc))
        else:
            db.session.commit()
            if created:
                flash(_("Fault reported: ticket %(number)s.", number=ticket.number), "success")
            else:
                message = _("This fault was already reported as ticket %(n)s.", n=ticket.number)
                flash(message, "info")
            return redirect(url_for("field.asset", tag=target.tag) + "#tickets")
    status = 400 if request.method == "POST" else 200
    return render_template("field/fault.html", asset=target, form=form), status


@bp.route("/field/<int:asset_id>/verified", methods=["POST"])
@requires(Role.ENGINEER)
def verified(asset_id: int):
    """ "Verified here": the asset was seen at the site now."""
    target = _asset_or_404(asset_id)
    form = VerifyForm()
    if not form.validate_on_submit():
        flash(_("The confirmation could not be read. Try again."), "error")
        return redirect(url_for("field.asset", tag=target.tag))
    try:
        services.mark_verified(target)
    except services.FieldError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("field.asset", tag=target.tag))
    db.session.commit()
    flash(_("%(tag)s is confirmed at this site.", tag=target.tag), "success")
    return redirect(url_for("field.asset", tag=target.tag) + "#verified")
