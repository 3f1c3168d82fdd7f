"""Spreadsheet import of assets: upload, preview (dry run), then an all-or-nothing commit."""

from __future__ import annotations

from flask import render_template

from inventory.assets.views import bp
from inventory.choices import Role
from inventory.security import requires


@bp.route("/import", methods=["GET", "POST"])
@requires(Role.MANAGER)
def import_upload():
    return render_template("error.html", code=501, message="import: being written"), 501
