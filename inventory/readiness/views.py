"""The VC-readiness board, its printable version and each office's page."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from inventory.choices import Readiness
from inventory.devices.services import recent_test_calls
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.readiness import services
from inventory.sites.models import Site

bp = Blueprint("readiness", __name__, url_prefix="/vc")


def _rules() -> services.Rules:
    return services.Rules.from_config(current_app.config)


def _filtered(board: services.Board) -> tuple[list[services.Office], dict]:
    """The offices the board's filters keep: ?state= (ready, not_ready, unknown), ?tehsil=."""
    state = request.args.get("state", "")
    state = state if state in Readiness.values() else ""
    tehsil = request.args.get("tehsil", type=int)
    offices = [
        o
        for o in board.offices
        if (not state or o.state == state) and (not tehsil or (o.tehsil and o.tehsil.id == tehsil))
    ]
    tehsils = {o.tehsil.id: o.tehsil for o in board.offices if o.tehsil}
    return offices, {"state": state, "tehsil": tehsil, "tehsils": list(tehsils.values())}


@bp.route("/")
def index():
    board = services.board(_rules(), utcnow())
    offices, filters = _filtered(board)
    return render_template("readiness/board.html", board=board, offices=offices, filters=filters)


@bp.route("/print")
def print_view():
    board = services.board(_rules(), utcnow())
    offices, filters = _filtered(board)
    return render_template(
        "readiness/print.html", board=board, offices=offices, filters=filters, user=current_user
    )


@bp.route("/<int:site_id>")
def office(site_id: int):
    site = db.get_or_404(Site, site_id)
    rules = _rules()
    if not site.joins_vc(rules.expected_kinds):
        abort(404)
    board = services.board(rules, utcnow(), site_ids=[site.id])
    office = board.offices[0]
    calls = {a.id: recent_test_calls(a.id, limit=3) for a in office.parts[services.ENDPOINT]}
    days = office.history.days if office.history else []
    grid = _hour_grid(office, rules) if office.history else []
    return render_template(
        "readiness/office.html",
        board=board,
        office=office,
        calls=calls,
        days=days,
        grid=grid,
        parts=[
            (services.ENDPOINT, _("VC endpoints")),
            (services.DISPLAY, _("Displays")),
            (services.PROJECTOR, _("Projectors")),
            (services.NETWORK, _("Network")),
            (services.UPS, _("UPS")),
            ("vc_other", _("Other VC equipment")),
        ],
    )


def _hour_grid(office: services.Office, rules: services.Rules) -> list[tuple]:
    """The office's hours as rows of local days, newest first: [(day, [(local start, state)])];
    an hour belongs to the local day of its middle, as in the day squares."""
    zone = ZoneInfo(rules.timezone)
    rows: dict = {}
    for hour, state in office.history.hours:
        day = (hour + services.HOUR / 2).astimezone(zone).date()
        rows.setdefault(day, []).append((hour.astimezone(zone), state))
    return sorted(rows.items(), reverse=True)
