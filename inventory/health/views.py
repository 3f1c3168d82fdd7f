"""Health pages: the device list, sweep runs, events, chart data and "poll now"; plus the
template helpers that let the asset, site and overview pages include their health panels."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.choices import Role
from inventory.extensions import db
from inventory.health import reports
from inventory.health.models import SweepRun
from inventory.models_base import utcnow
from inventory.security import requires
from inventory.sites.models import Site

bp = Blueprint("health", __name__, url_prefix="/health")


def _page_args() -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    return max(page, 1), current_app.config["PAGE_SIZE"]


def _site_arg() -> Site | None:
    site_id = request.args.get("site", type=int)
    return db.session.get(Site, site_id) if site_id else None


@bp.route("/")
def index():
    """Monitored devices with their state, filtered by state, site (and below) and category."""
    site = _site_arg()
    category_id = request.args.get("category", type=int)
    flt = reports.HealthFilter(
        state=request.args.get("state", "") if request.args.get("state") in reports.STATES else "",
        site_id=site.id if site else None,
        category_id=category_id if category_id and db.session.get(Category, category_id) else None,
        site_only=bool(site) and request.args.get("here") == "1",
    )
    page = reports.health_page(flt, *_page_args())
    return render_template(
        "health/index.html",
        page=page,
        flt=flt,
        site=site,
        sites=reports.site_options(),
        categories=reports.category_options(),
    )


@bp.route("/runs")
def runs():
    return render_template("health/runs.html", page=reports.runs_page(*_page_args()))


@bp.route("/runs/<int:run_id>")
def run(run_id: int):
    sweep = db.get_or_404(SweepRun, run_id)
    outcome = request.args.get("outcome", "")
    if outcome not in reports.OUTCOMES:
        outcome = ""
    detail = reports.run_detail(sweep, outcome, *_page_args())
    return render_template("health/run.html", detail=detail, run=sweep, outcome=outcome)


@bp.route("/events")
def events():
    site = _site_arg()
    kind = request.args.get("kind", "")
    if kind not in reports.EVENT_KINDS:
        kind = ""
    asset_id = request.args.get("asset", type=int)
    asset = db.session.get(Asset, asset_id) if asset_id else None
    page = reports.events_page(
        kind, site.id if site else None, asset.id if asset else None, *_page_args()
    )
    return render_template(
        "health/events.html",
        page=page,
        kind=kind,
        site=site,
        asset=asset,
        sites=reports.site_options(),
    )


@bp.route("/assets/<int:asset_id>/chart.json")
def chart(asset_id: int):
    """Chart data for the asset page: ?range=24h|7d|30d|1y, and ?if=<ifIndex> for one
    interface's traffic instead of the device's figures."""
    asset = db.get_or_404(Asset, asset_id)
    range_key = request.args.get("range", reports.DEFAULT_RANGE)
    if range_key not in reports.RANGES:
        return jsonify(error="unknown range", ranges=list(reports.RANGES)), 400
    if "if" in request.args:
        if_index = request.args.get("if", type=int)
        if if_index is None:
            return jsonify(error="if must be an interface index"), 400
        if reports.interface_of(asset.id, if_index) is None:
            return jsonify(error="no such interface"), 404
        data = reports.interface_chart(asset.id, if_index, range_key)
    else:
        data = reports.device_chart(asset.id, range_key)
    data["tz"] = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    response = jsonify(data)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/assets/<int:asset_id>/poll", methods=["POST"])
@requires(Role.ENGINEER)
def poll_now(asset_id: int):
    """Poll one device at once (engineers and above) and say what happened."""
    asset = db.get_or_404(Asset, asset_id)
    # The sweep side (pysnmp) is loaded only when someone asks for a poll.
    from inventory.health import services

    back = url_for("assets.detail", asset_id=asset.id, _anchor="health")
    try:
        result = services.poll_now(asset.id, current_user._get_current_object())
    except services.HealthError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()  # "queued" made the asset due through this session
    message, category = _poll_message(result)
    flash(message, category)
    return redirect(back)


OUTCOME_LABELS = {
    "ok": _l("Answered"),
    "timeout": _l("Timed out"),
    "auth_failed": _l("Authentication failed"),
    "unreachable": _l("Unreachable"),
    "error": _l("Error"),
}


def _poll_message(result) -> tuple[str, str]:
    """The user's words for a poll-now result (the service's `message` is English)."""
    code = getattr(result, "code", "")
    outcome = getattr(result, "outcome", None)
    if code == "polled":
        label = OUTCOME_LABELS.get(outcome, outcome or "")
        return _("Polled now: %(outcome)s.", outcome=label), (
            "success" if outcome == "ok" else "warning"
        )
    if code == "queued":
        return _(
            "A sweep is running now; this device will be polled on the scheduler's next look."
        ), "info"
    if code == "not_monitored":
        return _(
            "This asset is not monitored: it needs a management address, an SNMP credentials "
            "profile and a deployed, under-repair or non-functional status."
        ), "warning"
    if code == "failed":
        return _("The poll did not finish: %(reason)s", reason=result.message), "error"
    return result.message, "success" if result.ran else "warning"


# --- helpers for the shared pages' templates ------------------------------------------


@bp.app_template_global()
def health_panel(asset: Asset):
    """The asset page's health panel data, or None when the asset is not monitored."""
    return reports.asset_panel(asset)


@bp.app_template_global()
def site_health(site: Site):
    return reports.site_health(site)


@bp.app_template_global()
def health_overview():
    return reports.district_overview()


@bp.app_template_filter("duration")
def duration(seconds) -> str:
    """A span as people say it: "3 days 4 hours", "5 hours 12 minutes", "40 seconds"."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [
        (days, lambda n: ngettext("%(num)d day", "%(num)d days", n)),
        (hours, lambda n: ngettext("%(num)d hour", "%(num)d hours", n)),
        (minutes, lambda n: ngettext("%(num)d minute", "%(num)d minutes", n)),
        (secs, lambda n: ngettext("%(num)d second", "%(num)d seconds", n)),
    ]
    for position, (value, _word) in enumerate(units):
        if value:
            shown = [word(v) for v, word in units[position : position + 2] if v]
            return " ".join(shown)
    return ngettext("%(num)d second", "%(num)d seconds", 0)


@bp.app_template_filter("ago")
def ago(moment: datetime | None) -> str:
    """How long since `moment` (a UTC datetime), as a duration."""
    if moment is None:
        return ""
    return duration((utcnow() - moment).total_seconds())


@bp.app_template_filter("bitrate")
def bitrate(bps) -> str:
    """Bits per second with a unit: 950 bit/s, 12.5 kbit/s, 100 Mbit/s, 1 Gbit/s."""
    if bps is None:
        return ""
    value = float(bps)
    for unit, size in (("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} bit/s"


@bp.app_template_filter("millis")
def millis(ms) -> str:
    """A duration in milliseconds as seconds ("8.2 s") or milliseconds ("350 ms")."""
    if ms is None:
        return ""
    if ms < 1000:
        return _("%(ms)d ms", ms=int(ms))
    return _("%(s)s s", s=f"{ms / 1000:.1f}")
