"""Verification pages: visits, the live visit page with its scan API, reports.

The scan API (POST /verify/visits/<id>/scans, JSON {client_id, tag, scanned_at}, CSRF token
in the X-CSRFToken header) is what static/js/verify.js drains its offline queue into. It is
idempotent by client_id: a scan sent again is answered as the first time (200 instead of
201) and stored once.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy.exc import IntegrityError

from inventory.assets.tabular import neutralise
from inventory.choices import AssetStatus, Role, ScanOutcome, SiteKind, VisitStatus
from inventory.extensions import db
from inventory.forms import ConfirmForm
from inventory.models_base import utcnow
from inventory.security import public, requires, role_allows
from inventory.sites.models import Site
from inventory.sites.services import get_site_by_code
from inventory.verification import services
from inventory.verification.forms import NotVerifiedForm, VisitFilterForm, VisitNotesForm
from inventory.verification.models import VerificationVisit
from inventory.web import current_locale, format_datetime

bp = Blueprint("verification", __name__, url_prefix="/verify")


class RowPage(SelectPagination):
    """One page of a multi-column select: whole rows, not only the first column."""

    def _query_items(self) -> list:
        select = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(select).all())


CSV_LIMIT = 100_000


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _stale_days() -> int:
    return int(current_app.config.get("VERIFY_STALE_DAYS", 90))


# --- presenting rows --------------------------------------------------------------------


def _site_name(ref: dict | None) -> str:
    if not ref:
        return ""
    if current_locale() == "hi" and ref.get("name_hi"):
        return ref["name_hi"]
    return ref.get("name_en", "")


def _present(visit: VerificationVisit, lists: dict) -> dict:
    """The lists with what a page or the JSON needs: localized names, links, labels."""
    hindi = current_locale() == "hi"
    can_move = visit.is_open and role_allows(Role.ENGINEER)

    def row(item: dict) -> dict:
        out = dict(item)
        out["category"] = (item.get("category_hi") if hindi else "") or item.get("category_en", "")
        if item.get("asset_id"):
            out["url"] = url_for("assets.detail", asset_id=item["asset_id"])
        if "status" in item:
            out["status_label"] = str(AssetStatus.label_of(item["status"]))
        ref = item.get("registered_site")
        if ref:
            out["registered_site_name"] = _site_name(ref)
            out["registered_site_code"] = ref.get("code", "")
            out["registered_site_url"] = url_for("sites.detail", site_id=ref["id"])
        if item.get("scan_id") and item.get("scanned_at"):
            out["scanned_at_text"] = format_datetime(datetime.fromisoformat(item["scanned_at"]))
        if (
            can_move
            and item.get("outcome") == ScanOutcome.UNEXPECTED.value
            and not item.get("moved_here")
            and item.get("asset_id")
        ):
            out["move_url"] = url_for(
                "verification.move", visit_id=visit.id, scan_id=item["scan_id"]
            )
        return out

    return {
        "counts": lists["counts"],
        **{
            name: [row(item) for item in lists.get(name, [])]
            for name in ("missing", "found", "unexpected", "unknown")
        },
    }


def _visit_json(visit: VerificationVisit) -> dict:
    return {
        "id": visit.id,
        "number": visit.number,
        "status": visit.status,
        "status_label": str(VisitStatus.label_of(visit.status)),
        "open": visit.is_open,
    }


def _scan_message(scan, asset_site: str) -> str:
    if scan.outcome == ScanOutcome.FOUND.value:
        return _("%(tag)s: found, registered here.", tag=scan.tag)
    if scan.outcome == ScanOutcome.UNEXPECTED.value:
        return _("%(tag)s is registered at %(site)s.", tag=scan.tag, site=asset_site)
    if scan.outcome == ScanOutcome.DUPLICATE.value:
        return _("%(tag)s was already scanned in this visit.", tag=scan.tag)
    return _("%(tag)s: no asset has this tag.", tag=scan.tag)


def _error(message: str, code: str, status: int):
    return jsonify({"error": message, "code": code}), status


# --- lists and reports ------------------------------------------------------------------


@bp.route("/")
def index():
    filters = VisitFilterForm(request.args)
    filters.validate()
    site = get_site_by_code(filters.site.data) if filters.site.data else None
    status = filters.status.data or None
    query = services.visits_query(site.id if site else None, status)
    if filters.site.data and site is None:
        query = query.where(sa.false())
    page = db.paginate(
        query, page=request.args.get("page", 1, type=int), per_page=_page_size(), error_out=False
    )
    open_visits = db.session.scalars(
        services.visits_query(status=VisitStatus.IN_PROGRESS.value).limit(50)
    ).all()
    return render_template(
        "verification/index.html", page=page, filters=filters, open_visits=open_visits
    )


def _not_verified_args() -> tuple[NotVerifiedForm, int, str | None, bool]:
    """The report's filters; a missing or invalid number of days means VERIFY_STALE_DAYS."""
    form = NotVerifiedForm(request.args)
    form.validate()
    days = form.days.data if form.days.data and not form.days.errors else _stale_days()
    if form.days.data is None and not form.days.errors:
        form.days.data = days
    kind = form.kind.data if form.kind.data in SiteKind.values() else None
    with_assets = form.holding.data != "all"
    return form, days, kind, with_assets


@bp.route("/not-verified")
def not_verified():
    """Sites not verified in the last N days (never verified first)."""
    form, days, kind, with_assets = _not_verified_args()
    query = services.not_verified_query(days, kind, with_assets)
    page = RowPage(
        page=max(request.args.get("page", 1, type=int) or 1, 1),
        per_page=_page_size(),
        error_out=False,
        select=query,
        session=db.session,
    )
    return render_template("verification/not_verified.html", form=form, page=page, days=days)


@bp.route("/not-verified.csv")
def not_verified_csv():
    _form, days, kind, with_assets = _not_verified_args()
    rows = db.session.execute(
        services.not_verified_query(days, kind, with_assets).limit(CSV_LIMIT)
    ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["site_code", "site_name_en", "site_name_hi", "kind", "parent", "assets", "last_verified"]
    )
    for site, last_at, assets in rows:
        writer.writerow(
            [
                neutralise(site.code),
                neutralise(site.name_en),
                neutralise(site.name_hi),
                site.kind,
                neutralise(site.parent.code if site.parent else ""),
                assets,
                last_at.isoformat() if last_at else "never",
            ]
        )
    name = f"sites-not-verified-{days}d-{date.today().isoformat()}.csv"
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- a visit ----------------------------------------------------------------------------


@bp.route("/sites/<int:site_id>/start", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def start(site_id: int):
    site = db.get_or_404(Site, site_id)
    existing = services.open_visit_at(site.id)
    form = VisitNotesForm()
    if existing is None and form.validate_on_submit():
        try:
            visit = services.start_visit(site, current_user, form.notes.data or "")
            db.session.commit()
        except (services.VerificationError, IntegrityError) as exc:
            db.session.rollback()
            existing = services.open_visit_at(site.id)
            if isinstance(exc, services.VerificationError):
                flash(str(exc), "error")
            if existing is not None:
                return redirect(url_for("verification.visit", visit_id=existing.id))
            return redirect(url_for("verification.start", site_id=site.id))
        flash(_("Verification visit %(number)s started.", number=visit.number), "success")
        return redirect(url_for("verification.visit", visit_id=visit.id))
    if existing is not None and request.method == "POST":
        flash(
            _(
                "A verification visit is already in progress at %(site)s (%(number)s). "
                "Continue it, or finish or abandon it first.",
                site=site.name_en,
                number=existing.number,
            ),
            "error",
        )
        return redirect(url_for("verification.visit", visit_id=existing.id))
    expected = services.expected_count(site.id)
    return render_template(
        "verification/start.html",
        site=site,
        form=form,
        existing=existing,
        expected=expected,
        last=services.last_finished(site.id),
    )


@bp.route("/visits/<int:visit_id>")
def visit(visit_id: int):
    visit = db.get_or_404(VerificationVisit, visit_id)
    lists = _present(visit, services.report_lists(visit))
    return render_template(
        "verification/visit.html",
        visit=visit,
        lists=lists,
        can_scan=visit.is_open and role_allows(Role.ENGINEER),
        rendered_at=utcnow().isoformat(),
    )


@bp.route("/visits/<int:visit_id>/state")
def state(visit_id: int):
    visit = db.session.get(VerificationVisit, visit_id)
    if visit is None:
        return _error(_("There is no such visit."), "not_found", 404)
    body = {
        "visit": _visit_json(visit),
        "generated_at": utcnow().isoformat(),
        **_present(visit, services.report_lists(visit)),
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/visits/<int:visit_id>/scans", methods=["POST"])
@requires(Role.ENGINEER)
def scan(visit_id: int):
    """Record one scan (JSON). 201: recorded; 200: this client_id was already recorded."""
    visit = db.session.get(VerificationVisit, visit_id)
    if visit is None:
        return _error(_("There is no such visit."), "not_found", 404)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("tag"), str):
        return _error(
            _("Send the scan as JSON with client_id, tag and scanned_at."), "invalid", 400
        )
    claimed = services.parse_client_time(data.get("scanned_at"))
    for attempt in range(3):
        try:
            scan, created = services.record_scan(
                visit,
                client_id=data.get("client_id"),
                tag=data["tag"],
                scanned_at=claimed,
                user=current_user,
            )
            site_name = _site_name(
                {"name_en": scan.registered_site.name_en, "name_hi": scan.registered_site.name_hi}
                if scan.registered_site
                else None
            )
            counts = services.visit_lists(visit)["counts"]
            db.session.commit()
            break
        except services.VerificationError as exc:
            db.session.rollback()
            status = 409 if exc.code == "closed" else 400
            return _error(str(exc), exc.code, status)
        except IntegrityError:
            # Another request recorded the same client_id or the same asset just now: read
            # again, and this attempt either finds that scan or records a duplicate.
            db.session.rollback()
            visit = db.session.get(VerificationVisit, visit_id)
            if attempt == 2:
                raise
    body = {
        "scan": {
            "id": scan.id,
            "client_id": scan.client_id,
            "tag": scan.tag,
            "outcome": scan.outcome,
            "outcome_label": str(ScanOutcome.label_of(scan.outcome)),
            "message": _scan_message(scan, site_name),
            "moved_here": scan.moved_here,
        },
        "counts": counts,
        "replayed": not created,
    }
    return jsonify(body), 201 if created else 200


def _open_or_back(visit: VerificationVisit):
    if visit.is_open:
        return None
    flash(_("This visit is already over."), "error")
    return redirect(url_for("verification.visit", visit_id=visit.id))


@bp.route("/visits/<int:visit_id>/scans/<int:scan_id>/move", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def move(visit_id: int, scan_id: int):
    visit = db.get_or_404(VerificationVisit, visit_id)
    scan = services.get_scan(visit, scan_id)
    if scan is None:
        return render_template("error.html", code=404, message=_("There is no such scan.")), 404
    back = redirect(url_for("verification.visit", visit_id=visit.id))
    if (gone := _open_or_back(visit)) is not None:
        return gone
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            asset = services.move_here(visit, scan)
            db.session.commit()
        except services.VerificationError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return back
        flash(
            _("%(tag)s is now registered at %(site)s.", tag=asset.tag, site=visit.site.name_en),
            "success",
        )
        return back
    if scan.outcome != ScanOutcome.UNEXPECTED.value or scan.asset is None or scan.moved_here:
        flash(_("Only an asset registered at another site can be moved here."), "error")
        return back
    return render_template(
        "verification/confirm_move.html", visit=visit, scan=scan, asset=scan.asset, form=form
    )


def _close(visit_id: int, finishing: bool):
    visit = db.get_or_404(VerificationVisit, visit_id)
    if (gone := _open_or_back(visit)) is not None:
        return gone
    form = VisitNotesForm()
    if request.method == "GET":
        form.notes.data = visit.notes
    if form.validate_on_submit():
        try:
            if finishing:
                services.finish_visit(visit, current_user, form.notes.data)
            else:
                services.abandon_visit(visit, current_user, form.notes.data)
            db.session.commit()
        except services.VerificationError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("verification.visit", visit_id=visit_id))
        if finishing:
            flash(
                _("Visit %(number)s finished; its report is saved.", number=visit.number), "success"
            )
        else:
            flash(_("Visit %(number)s abandoned.", number=visit.number), "success")
        return redirect(url_for("verification.visit", visit_id=visit_id))
    lists = _present(visit, services.report_lists(visit))
    return render_template(
        "verification/confirm_close.html",
        visit=visit,
        form=form,
        lists=lists,
        finishing=finishing,
    ), (400 if form.errors else 200)


@bp.route("/visits/<int:visit_id>/finish", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def finish(visit_id: int):
    return _close(visit_id, finishing=True)


@bp.route("/visits/<int:visit_id>/abandon", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def abandon(visit_id: int):
    return _close(visit_id, finishing=False)


# --- the offline page's service worker --------------------------------------------------

_SW_FILES = ("css/app.css", "css/verify.css", "js/app.js", "js/verify.js", "js/scanner.js")


def _static_version() -> tuple[str, list[str]]:
    """A version of the cached files (their content hash) and the URLs of those present."""
    folder = Path(current_app.static_folder)
    digest = hashlib.sha256()
    present = []
    for name in _SW_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
            present.append(url_for("static", filename=name))
    return digest.hexdigest()[:16], present


def _decoder_urls() -> tuple[str | None, list[str]]:
    """The camera decoder's folder URL and files, so that the camera also starts on a page
    reloaded offline. inventory/field serves them (versioned URLs) and names the main one
    in the scanner's script tag; the others are the vendored files beside it."""
    scanner_assets = current_app.jinja_env.globals.get("scanner_assets")
    match = re.search(r'data-decoder="([^"]+)"', str(scanner_assets())) if scanner_assets else None
    if match is None:
        return None, []
    url = html.unescape(match.group(1))
    folder = url.rsplit("/", 1)[0] + "/"
    vendored = Path(current_app.static_folder) / "vendor" / "qr-scanner"
    names = sorted(p.name for p in vendored.glob("*.js")) if vendored.is_dir() else []
    return folder, sorted({url, *(folder + name for name in names)})


@bp.route("/sw.js")
@public
def service_worker():
    """Keeps the visit page, its scripts and styles usable when the page is reloaded
    offline. Scope /verify/: it sees nothing of the rest of the app."""
    version, files = _static_version()
    decoder_folder, decoder_files = _decoder_urls()
    prefixes = [url_for("static", filename="")]
    if decoder_folder:
        prefixes.append(decoder_folder)
    digest = hashlib.sha256(f"{version} {decoder_files}".encode()).hexdigest()[:16]
    body = render_template(
        "verification/sw.js", version=digest, files=[*files, *decoder_files], prefixes=prefixes
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- for other pages --------------------------------------------------------------------


@bp.app_template_global()
def site_verification(site: Site) -> dict:
    """The site page's panel: the visit in progress, past visits, the last finished one."""
    return {
        "open": services.open_visit_at(site.id),
        "visits": services.site_visits(site.id, limit=10),
        "last": services.last_finished(site.id),
        "stale_days": _stale_days(),
    }
