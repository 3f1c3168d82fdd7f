"""The district-wide change log (read only: history cannot be edited or deleted)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from inventory.audit.services import recent_changes
from inventory.choices import Role
from inventory.extensions import db
from inventory.security import requires

bp = Blueprint("audit", __name__, url_prefix="/history")

OBJECT_TYPES = (
    "assets",
    "sites",
    "users",
    "credential_profiles",
    "categories",
    "manufacturers",
    "asset_models",
)


@bp.route("/")
@requires(Role.MANAGER)
def index():
    object_type = request.args.get("type", "")
    if object_type not in OBJECT_TYPES:
        object_type = ""
    page = db.paginate(recent_changes(object_type or None), per_page=50, error_out=False)
    return render_template(
        "audit/index.html", page=page, object_type=object_type, object_types=OBJECT_TYPES
    )
